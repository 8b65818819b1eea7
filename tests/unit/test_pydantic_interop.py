"""pydantic models as structured-output classes and tool argument types: schemas come from
``model_json_schema()``, values are validated by pydantic, and the SDK never imports pydantic
itself (pydantic is in the ``pydantic`` and ``dev`` extras only)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import attrs
import orjson
import pydantic
import pytest

from openrouter_async import RequestValidationError, StructuredOutputError
from openrouter_async._pydantic import contains_model, is_model, strict_schema
from openrouter_async._structured import parse_json, response_format_for
from openrouter_async.tools import function_tool, json_schema_for


class Address(pydantic.BaseModel):
    city: str
    zip_code: str = pydantic.Field(pattern=r"^\d{5}$")


class Person(pydantic.BaseModel):
    """Someone to write to."""

    name: str
    age: int = pydantic.Field(ge=0)
    address: Address
    nickname: str | None = None

    @pydantic.field_validator("name")
    @classmethod
    def _title(cls, value: str) -> str:
        return value.title()


@attrs.frozen
class Envelope:
    to: Person
    stamps: int


PERSON_JSON = (
    '{"name": "ada lovelace", "age": 36, "address": {"city": "London", "zip_code": "01234"}}'
)


def test_detection_needs_pydantic_loaded_and_a_model_class(monkeypatch: pytest.MonkeyPatch) -> None:
    assert is_model(Person)
    assert not is_model(Person(name="a", age=1, address=Address(city="c", zip_code="12345")))
    assert not is_model(Envelope)
    assert contains_model(list[Person]) and contains_model(Person | None)
    assert not contains_model(list[int])
    monkeypatch.delitem(sys.modules, "pydantic")
    assert not is_model(Person)
    assert not contains_model(list[Person])


def test_the_sdk_never_imports_pydantic_itself() -> None:
    # Tools, schemas and structured outputs over plain classes must work without pydantic loaded.
    script = textwrap.dedent(
        """
        import dataclasses, sys
        import openrouter_async as ora
        from openrouter_async._structured import parse_json, response_format_for
        from openrouter_async.tools import function_tool

        @dataclasses.dataclass
        class Point:
            x: int

        def move(point: Point) -> int:
            return point.x

        function_tool(move).parse_arguments('{"point": {"x": 1}}')
        response_format_for(Point)
        parse_json('{"x": 2}', Point)
        ora.ChatRequest(messages=[{"role": "user", "content": "hi"}])
        assert "pydantic" not in sys.modules, "pydantic was imported"
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def test_schema_is_pydantics_own() -> None:
    assert json_schema_for(Person) == Person.model_json_schema()


def test_strict_schema_requires_every_property_and_drops_defaults() -> None:
    schema = response_format_for(Person).json_schema.schema
    assert schema is not None
    assert schema["required"] == ["name", "age", "address", "nickname"]
    assert schema["additionalProperties"] is False
    assert "default" not in orjson.dumps(schema).decode()
    address = schema["$defs"]["Address"]
    assert address["required"] == ["city", "zip_code"]
    assert address["additionalProperties"] is False
    assert schema["properties"]["address"] == {"$ref": "#/$defs/Address"}
    assert strict_schema({"type": "string", "default": "x"}) == {"type": "string"}


def test_parse_json_validates_with_pydantic() -> None:
    person = parse_json(PERSON_JSON, Person)
    assert isinstance(person, Person)
    assert person.name == "Ada Lovelace"  # the model's own validator ran
    assert person.address == Address(city="London", zip_code="01234")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('{"name": "a", "age": -1, "address": {"city": "c", "zip_code": "12345"}}', "age"),
        ('{"name": "a", "age": 1, "address": {"city": "c", "zip_code": "x"}}', "zip_code"),
        ('{"name": "a", "age": 1}', "address"),
    ],
)
def test_parse_json_reports_pydantic_errors_with_the_raw_text(text: str, fragment: str) -> None:
    with pytest.raises(StructuredOutputError) as info:
        parse_json(text, Person)
    assert fragment in info.value.message
    assert "does not match Person" in info.value.message
    assert info.value.raw == text


def test_a_pydantic_model_nested_in_an_attrs_class() -> None:
    schema = json_schema_for(Envelope)
    assert schema["properties"]["to"]["title"] == "Person"
    assert schema["$defs"]["Address"] == Address.model_json_schema()


@function_tool
def send_letter(to: Person, copies: list[Address], urgent: bool = False) -> dict[str, Any]:
    """Send a letter.

    Args:
        to: The addressee.
        copies: Where copies go.
        urgent: Express delivery.
    """
    return {"to": to, "copies": copies, "urgent": urgent}


async def test_tool_arguments_are_pydantic_models() -> None:
    schema = send_letter.parameters
    to = dict(schema["properties"]["to"])
    assert to.pop("description") == "Someone to write to."
    assert to == {
        k: v for k, v in Person.model_json_schema().items() if k not in ("$defs", "description")
    }
    assert schema["properties"]["copies"]["items"] == Address.model_json_schema()
    assert schema["$defs"] == {"Address": Address.model_json_schema()}
    arguments = orjson.dumps(
        {
            "to": orjson.loads(PERSON_JSON),
            "copies": [{"city": "Paris", "zip_code": "75001"}],
            # pydantic's lax mode takes "7" for an int: validation is pydantic's, not ours
        }
    ).decode()
    result = await send_letter.invoke(arguments.replace('"age":36', '"age":"36"'))
    assert isinstance(result["to"], Person)
    assert result["to"].age == 36
    assert result["to"].name == "Ada Lovelace"
    assert result["copies"] == [Address(city="Paris", zip_code="75001")]
    assert result["urgent"] is False


def test_tool_argument_errors_come_from_pydantic() -> None:
    bad = '{"to": {"name": "a", "age": 1, "address": {"city": "c", "zip_code": "x"}}, "copies": []}'
    with pytest.raises(StructuredOutputError) as info:
        send_letter.parse_arguments(bad)
    assert "argument 'to'" in info.value.message
    assert "zip_code" in info.value.message
    assert info.value.raw == bad
    # The non-pydantic parameters are still held to the schema.
    with pytest.raises(StructuredOutputError, match="urgent"):
        send_letter.parse_arguments({"to": {}, "copies": [], "urgent": "yes"})


def test_two_different_models_with_one_name_are_refused() -> None:
    with pytest.raises(RequestValidationError, match="'Item'"):
        function_tool(_clashing)


_FirstItem = pydantic.create_model("Item", a=(int, ...))
_SecondItem = pydantic.create_model("Item", b=(str, ...))
_Holder = pydantic.create_model("Holder", x=(_FirstItem, ...))
_OtherHolder = pydantic.create_model("OtherHolder", y=(_SecondItem, ...))


def _clashing(one: _Holder, two: _OtherHolder) -> None:  # type: ignore[valid-type]
    return None
