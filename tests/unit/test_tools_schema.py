"""JSON Schema from Python types and function signatures (``openrouter_async.tools``)."""

from __future__ import annotations

import dataclasses
import enum
import functools
import sys
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, NewType, Optional, TypedDict, Union

import attrs
import orjson
import pytest

import openrouter_async as ora
from openrouter_async._convert import unstructure
from openrouter_async._schema import parse_docstring
from openrouter_async.tools import (
    FunctionTool,
    function_tool,
    json_schema_for,
    tool_schema,
)
from openrouter_async.types.chat_request import ChatRequest, chat_request_body

# --- types used below (module level: annotations are resolved against module globals) ----------


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    """How loud."""

    LOW = 1
    HIGH = 2


UserId = NewType("UserId", int)


@attrs.frozen
class Point:
    """A point on the plane.

    Attributes:
        x: Horizontal position.
        y: Vertical position.
    """

    x: float
    y: float = 0.0


@attrs.frozen
class Shape:
    name: str = attrs.field(metadata={"description": "Shape name"})
    points: list[Point] = attrs.field(factory=list)
    color: Color = Color.RED
    kind: Literal["polygon", "line"] = "polygon"
    _hidden: int = attrs.field(default=0, init=False)


@attrs.frozen
class Tree:
    value: int
    children: list[Tree] = attrs.field(factory=list)


@dataclasses.dataclass
class Box:
    width: int
    label: str | None = None
    tags: list[str] = dataclasses.field(default_factory=list)


class Movie(TypedDict):
    """A film."""

    title: str
    year: int


class PartialMovie(TypedDict, total=False):
    title: str
    rating: float


# --- primitives and containers ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tp", "schema"),
    [
        (str, {"type": "string"}),
        (int, {"type": "integer"}),
        (float, {"type": "number"}),
        (bool, {"type": "boolean"}),
        (type(None), {"type": "null"}),
        (None, {"type": "null"}),
        (Any, {}),
        (object, {}),
        (UserId, {"type": "integer"}),
        (Optional[int], {"type": ["integer", "null"]}),  # noqa: UP045 - the old spelling on purpose
        (int | None, {"type": ["integer", "null"]}),
        (Union[int, str], {"type": ["integer", "string"]}),  # noqa: UP007
        (list[int], {"type": "array", "items": {"type": "integer"}}),
        (Sequence[str], {"type": "array", "items": {"type": "string"}}),
        (list, {"type": "array"}),
        (set[str], {"type": "array", "uniqueItems": True, "items": {"type": "string"}}),
        (frozenset[int], {"type": "array", "uniqueItems": True, "items": {"type": "integer"}}),
        (tuple[int, ...], {"type": "array", "items": {"type": "integer"}}),
        (
            tuple[int, str],
            {
                "type": "array",
                "prefixItems": [{"type": "integer"}, {"type": "string"}],
                "minItems": 2,
                "maxItems": 2,
            },
        ),
        (dict[str, int], {"type": "object", "additionalProperties": {"type": "integer"}}),
        (Mapping[str, Any], {"type": "object"}),
        (dict, {"type": "object"}),
        (Literal["a", "b"], {"type": "string", "enum": ["a", "b"]}),
        (Literal[1, 2], {"type": "integer", "enum": [1, 2]}),
        (Literal[1, 2.5], {"type": "number", "enum": [1, 2.5]}),
        (Literal["a", 1], {"enum": ["a", 1]}),
        (Literal["only"], {"type": "string", "enum": ["only"]}),
        (Color, {"type": "string", "enum": ["red", "green"]}),
        (Level, {"type": "integer", "enum": [1, 2], "description": "How loud."}),
        (Annotated[str, "A city"], {"type": "string", "description": "A city"}),
        (
            Annotated[int, {"minimum": 0, "maximum": 9}],
            {"type": "integer", "minimum": 0, "maximum": 9},
        ),
        (
            list[Color] | None,
            {
                "anyOf": [
                    {"type": "array", "items": {"type": "string", "enum": ["red", "green"]}},
                    {"type": "null"},
                ]
            },
        ),
    ],
    ids=repr,
)
def test_type_schemas(tp: Any, schema: dict[str, Any]) -> None:
    assert json_schema_for(tp) == schema


@pytest.mark.parametrize(
    "tp",
    [bytes, complex, dict[int, str], Literal[b"x"], type, list[bytes]],
    ids=repr,
)
def test_unsupported_types_raise_request_validation_error(tp: Any) -> None:
    with pytest.raises(ora.RequestValidationError):
        json_schema_for(tp)


def test_unsupported_field_names_its_path() -> None:
    @attrs.frozen
    class Bad:
        data: bytes

    with pytest.raises(ora.RequestValidationError) as info:
        json_schema_for(Bad)
    assert info.value.path == "Bad.data"


# --- classes ------------------------------------------------------------------------------------


def test_attrs_class_fields_defaults_descriptions() -> None:
    assert json_schema_for(Shape) == {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "Shape name"},
            "points": {
                "type": "array",
                "items": {
                    "type": "object",
                    "description": "A point on the plane.",
                    "properties": {
                        "x": {"type": "number", "description": "Horizontal position."},
                        "y": {
                            "type": "number",
                            "description": "Vertical position.",
                            "default": 0.0,
                        },
                    },
                    "required": ["x"],
                    "additionalProperties": False,
                },
            },
            "color": {"type": "string", "enum": ["red", "green"], "default": "red"},
            "kind": {"type": "string", "enum": ["polygon", "line"], "default": "polygon"},
        },
        "required": ["name"],
        "additionalProperties": False,
    }


def test_strict_mode_requires_everything_and_drops_defaults() -> None:
    schema = json_schema_for(Shape, strict=True)
    assert schema["required"] == ["name", "points", "color", "kind"]
    assert "default" not in orjson.dumps(schema).decode()
    inner = schema["properties"]["points"]["items"]
    assert inner["required"] == ["x", "y"]


def test_recursive_class_goes_to_defs() -> None:
    schema = json_schema_for(Tree)
    assert schema["properties"]["children"] == {"type": "array", "items": {"$ref": "#/$defs/Tree"}}
    assert schema["$defs"]["Tree"]["properties"]["value"] == {"type": "integer"}
    assert schema["type"] == "object"
    assert schema["required"] == ["value"]


def test_dataclass_ignores_generated_docstring() -> None:
    assert json_schema_for(Box) == {
        "type": "object",
        "properties": {
            "width": {"type": "integer"},
            "label": {"type": ["string", "null"], "default": None},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["width"],
        "additionalProperties": False,
    }


def test_typeddict_required_keys() -> None:
    assert json_schema_for(Movie) == {
        "type": "object",
        "description": "A film.",
        "properties": {"title": {"type": "string"}, "year": {"type": "integer"}},
        "required": ["title", "year"],
        "additionalProperties": False,
    }
    assert json_schema_for(PartialMovie)["required"] == []


if sys.version_info >= (3, 11):
    from typing import NotRequired

    class WithOptional(TypedDict):
        a: int
        b: NotRequired[str]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="typing.NotRequired is 3.11+")
def test_typeddict_not_required_marker() -> None:
    schema = json_schema_for(WithOptional)
    assert schema["required"] == ["a"]
    assert schema["properties"]["b"] == {"type": "string"}


# --- docstrings ---------------------------------------------------------------------------------


def test_google_docstring() -> None:
    summary, params = parse_docstring(
        """Find flights.

        Searches every airline; results are
        sorted by price.

        Args:
            origin (str): IATA code of the
                departure airport.
            when: Date, ISO format.
            *extra: ignored name style.

        Returns:
            A list.
        """
    )
    assert summary == "Find flights.\n\nSearches every airline; results are sorted by price."
    assert params == {
        "origin": "IATA code of the departure airport.",
        "when": "Date, ISO format.",
        "extra": "ignored name style.",
    }


def test_numpy_docstring() -> None:
    summary, params = parse_docstring(
        """Scale a vector.

        Parameters
        ----------
        vector : list of float
            The values.
        factor : float, optional
            Multiplier,
            defaults to 2.

        Returns
        -------
        list
            Scaled values.
        """
    )
    assert summary == "Scale a vector."
    assert params == {"vector": "The values.", "factor": "Multiplier, defaults to 2."}


def test_sphinx_docstring() -> None:
    summary, params = parse_docstring(
        """Send mail.

        :param to: Recipient address.
        :param str subject: Subject
            line.
        :returns: nothing
        """
    )
    assert summary == "Send mail."
    assert params == {"to": "Recipient address.", "subject": "Subject line."}


def test_docstring_without_sections_or_text() -> None:
    assert parse_docstring(None) == (None, {})
    assert parse_docstring("   ") == (None, {})
    assert parse_docstring("Just a line.") == ("Just a line.", {})


# --- function tools -----------------------------------------------------------------------------


async def search(
    query: Annotated[str, "What to look for"],
    limit: int = 10,
    sort: Literal["relevance", "date"] = "relevance",
    near: Point | None = None,
) -> list[str]:
    """Search the catalogue.

    Args:
        query: overridden by Annotated.
        limit: Maximum number of hits.
        near: Only results near this point.
    """
    return []


def test_function_tool_definition() -> None:
    tool = function_tool(search)
    assert isinstance(tool, FunctionTool)
    assert tool.name == "search"
    assert tool.description == "Search the catalogue."
    params = tool.parameters
    assert params["required"] == ["query"]
    assert params["additionalProperties"] is False
    assert params["properties"]["query"] == {"type": "string", "description": "What to look for"}
    assert params["properties"]["limit"] == {
        "type": "integer",
        "description": "Maximum number of hits.",
        "default": 10,
    }
    assert params["properties"]["sort"]["enum"] == ["relevance", "date"]
    near = params["properties"]["near"]
    assert near["anyOf"][1] == {"type": "null"}
    assert near["anyOf"][0]["required"] == ["x"]
    assert near["description"] == "Only results near this point."


def test_tool_schema_is_the_wire_shape_and_goes_into_a_request() -> None:
    wire = tool_schema(search)
    assert wire["type"] == "function"
    assert wire["function"]["name"] == "search"
    assert wire["function"]["parameters"]["required"] == ["query"]
    assert "strict" not in wire["function"]
    request = ChatRequest(
        messages=[{"role": "user", "content": "hi"}], tools=[function_tool(search).definition]
    )
    body = orjson.loads(chat_request_body(request))
    assert body["tools"] == [wire]


def test_decorator_forms_and_overrides() -> None:
    @function_tool
    def plain(a: int) -> int:
        return a * 2

    @function_tool(name="renamed", description="Custom text.", strict=True)
    def with_options(a: int, b: str = "x") -> str:
        """Ignored."""
        return b * a

    assert plain(4) == 8  # still callable as the function
    assert plain.name == "plain"
    assert plain.description is None
    assert with_options.name == "renamed"
    assert with_options.description == "Custom text."
    assert with_options.definition.function.strict is True
    assert with_options.parameters["required"] == ["a", "b"]  # strict: every parameter
    assert "default" not in with_options.parameters["properties"]["b"]
    assert with_options(2, "ab") == "abab"
    assert tool_schema(plain, name="other")["function"]["name"] == "other"


def test_no_parameters() -> None:
    def now() -> str:
        """The time."""
        return "noon"

    assert function_tool(now).parameters == {
        "type": "object",
        "properties": {},
        "required": [],
        "additionalProperties": False,
    }


def test_partial_and_bound_method() -> None:
    def scaled(value: float, factor: float) -> float:
        """Scale."""
        return value * factor

    class Calculator:
        def add(self, a: int, b: int) -> int:
            """Add two numbers."""
            return a + b

    part = function_tool(functools.partial(scaled, factor=2.0))
    assert part.name == "scaled"
    assert part.parameters["required"] == ["value"]
    method = function_tool(Calculator().add)
    assert method.name == "add"
    assert list(method.parameters["properties"]) == ["a", "b"]


def test_recursive_parameter_type_uses_defs() -> None:
    def walk(tree: Tree) -> int:
        return tree.value

    params = function_tool(walk).parameters
    assert params["properties"]["tree"] == {"$ref": "#/$defs/Tree"}
    assert params["$defs"]["Tree"]["properties"]["children"]["items"] == {"$ref": "#/$defs/Tree"}
    assert "Tree" in params["$defs"]


@pytest.mark.parametrize(
    ("source", "path"),
    [
        ("def f(*args: int) -> None: ...", "f.args"),
        ("def f(**kw: int) -> None: ...", "f.kw"),
        ("def f(a) -> None: ...", "f.a"),
        ("def f(a: bytes) -> None: ...", "f.a"),
    ],
)
def test_functions_that_cannot_be_described(source: str, path: str) -> None:
    namespace: dict[str, Any] = {}
    exec(source, namespace)
    with pytest.raises(ora.RequestValidationError) as info:
        function_tool(namespace["f"])
    assert info.value.path == path


def test_bad_names() -> None:
    with pytest.raises(ora.RequestValidationError, match="pass name"):
        function_tool(lambda x: x)
    with pytest.raises(ora.RequestValidationError):
        function_tool(search, name="has space")
    with pytest.raises(ora.RequestValidationError):
        function_tool(search, name="x" * 65)
    assert function_tool(lambda: 1, name="ok-name_1").name == "ok-name_1"


def test_unresolvable_annotation_is_reported() -> None:
    namespace: dict[str, Any] = {}
    exec("from __future__ import annotations\ndef f(a: Missing) -> None: ...", namespace)
    with pytest.raises(ora.RequestValidationError, match="importable"):
        function_tool(namespace["f"])


def test_definition_round_trips_through_the_converter() -> None:
    tool = function_tool(search)
    wire = unstructure(tool.definition)
    assert ora.Tool(function=wire["function"]) == tool.definition
