"""Function tools from annotated Python functions, and JSON Schema from Python types.

::

    @function_tool
    async def get_weather(city: str, unit: Literal["c", "f"] = "c") -> dict[str, float]:
        '''Current weather for a city.

        Args:
            city: City name, e.g. "Paris".
            unit: Temperature unit.
        '''

    get_weather.definition      # the Tool sent in ``tools`` (name, description, JSON Schema)
    await get_weather.invoke('{"city": "Paris"}')   # parse, check, convert, call

Why it is built this way:

* One mapping from Python types to JSON Schema (:func:`json_schema_for`) serves tool parameters
  and structured outputs alike. The same schema then checks what the model sent back
  (``_structured.schema_errors``) *before* the SDK's one converter builds the Python values:
  the converter is forgiving on purpose (``str(5)`` is a fine ``str`` to it), while model
  output must be held to the schema we promised.
* Objects built from classes (attrs, dataclasses, TypedDict) and from function signatures get
  ``additionalProperties: false``: a key we did not ask for is a mistake worth reporting.
* Nested classes are written inline (portable across providers); only a class that contains
  itself goes to ``$defs`` and is referenced with ``$ref``.
* ``strict=True`` produces the subset OpenAI-style strict mode accepts: every property is listed
  in ``required`` (a parameter with a default must still be sent; make it ``X | None`` to let the
  model send ``null``) and ``default`` keywords are left out.

Type mapping: ``str`` → string, ``int`` → integer, ``float`` → number, ``bool`` → boolean,
``None`` → null, ``Any``/``object`` → any value, ``Literal[...]`` and ``Enum`` → ``enum`` of
their values, ``X | Y``/``Optional[X]`` → ``anyOf`` (or a list of ``type`` names),
``list``/``Sequence``/``tuple[X, ...]`` → array, ``set``/``frozenset`` → array with unique items,
``tuple[X, Y]`` → fixed-length array (``prefixItems``), ``dict[str, X]``/``Mapping`` → object with
``additionalProperties``, attrs classes / dataclasses / TypedDicts → objects (fields without a
default are required), pydantic models → pydantic's own ``model_json_schema()`` (their values
are then validated by pydantic, not by the schema check), ``NewType`` → its base type.
``Annotated[X, "text"]`` adds a description; ``Annotated[X, {"minimum": 0}]`` merges extra
schema keywords. Anything else raises
:class:`~openrouter_async.RequestValidationError` when the schema is built.

Descriptions come from docstrings: a function's (or class's) text before its first section is
the description; parameters (or fields) are described by a Google-style ``Args:`` /
``Attributes:`` section, a NumPy-style ``Parameters`` section, or Sphinx ``:param x:`` lines.
An attrs / dataclass field's ``metadata={"description": ...}`` wins over the docstring.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import re
from collections.abc import Callable, Mapping
from typing import Any, Generic, ParamSpec, TypeVar, overload

import attrs
import orjson

from ._convert import structure, unstructure
from ._errors import StructuredOutputError
from ._pydantic import contains_model
from ._pydantic import validate as validate_model
from ._schema import SchemaBuilder, SchemaField, json_schema_for, parse_docstring, schema_error
from ._structured import schema_errors
from .types.responses import parse_tool_arguments
from .types.tools import Tool

__all__ = ["FunctionTool", "function_tool", "json_schema_for", "tool_schema"]

P = ParamSpec("P")
R = TypeVar("R")

_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")


# --- function tools -------------------------------------------------------------------------------


@attrs.frozen
class _Param:
    name: str
    annotation: Any
    positional_only: bool


def _signature(func: Callable[..., Any], name: str) -> inspect.Signature:
    try:
        return inspect.signature(func, eval_str=True)
    except (NameError, TypeError, SyntaxError) as exc:
        schema_error(
            f"cannot read the signature of {name!r} ({exc}); types named in annotations must "
            "be importable from the function's module",
            name,
        )
    except ValueError as exc:
        schema_error(f"cannot read the signature of {name!r}: {exc}", name)


def _function_name(func: Callable[..., Any]) -> str | None:
    target: Any = func
    while isinstance(target, functools.partial):
        target = target.func
    name = getattr(target, "__name__", None)
    return name if isinstance(name, str) else None


def _build(
    func: Callable[..., Any],
    name: str | None,
    description: str | None,
    strict: bool | None,
) -> tuple[Tool, tuple[_Param, ...]]:
    tool_name = name if name is not None else _function_name(func)
    if tool_name is None or _NAME.fullmatch(tool_name) is None:
        schema_error(
            f"a tool name must match [a-zA-Z0-9_-]{{1,64}}, got {tool_name!r}; pass name=...",
            "name",
        )
    signature = _signature(func, tool_name)
    doc_target: Any = func
    while isinstance(doc_target, functools.partial):
        doc_target = doc_target.func
    summary, docs = parse_docstring(inspect.getdoc(doc_target))
    fields: list[SchemaField] = []
    params: list[_Param] = []
    for p in signature.parameters.values():
        path = f"{tool_name}.{p.name}"
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            schema_error(
                "*args and **kwargs cannot be described to a model; name each parameter", path
            )
        if p.annotation is p.empty:
            schema_error(f"parameter {p.name!r} has no type annotation", path)
        required = p.default is p.empty
        fields.append(
            SchemaField(
                p.name, p.annotation, required, p.default if not required else attrs.NOTHING
            )
        )
        params.append(_Param(p.name, p.annotation, p.kind is p.POSITIONAL_ONLY))
    builder = SchemaBuilder(strict=bool(strict))
    schema: dict[str, Any] = {"type": "object"}
    schema.update(builder.properties(fields, docs, tool_name))
    if builder.defs:
        schema["$defs"] = builder.defs
    tool = Tool.define(
        tool_name,
        description if description is not None else summary,
        schema,
        strict=strict,
    )
    return tool, tuple(params)


def _check_schema(schema: Mapping[str, Any], params: tuple[_Param, ...]) -> Mapping[str, Any]:
    """The schema the arguments are checked against before conversion: parameters whose type
    involves a pydantic model accept any value here, because pydantic validates them itself."""
    own = [p.name for p in params if contains_model(p.annotation)]
    if not own:
        return schema
    properties = dict(schema["properties"])
    properties.update({name: {} for name in own})
    return {**schema, "properties": properties}


class FunctionTool(Generic[P, R]):
    """A Python function the model can call: its :class:`~openrouter_async.Tool` definition
    plus the function.

    Calling the object calls the function unchanged. :meth:`invoke` is what the tool loop uses:
    it parses the model's JSON arguments, checks them against the schema, converts them to the
    annotated types (attrs classes, enums…) and calls the function — a sync one in a worker
    thread (``asyncio.to_thread``), an async one awaited.
    """

    __slots__ = ("_check", "_params", "definition", "function")

    definition: Tool
    function: Callable[P, R]

    def __init__(
        self,
        function: Callable[P, R],
        *,
        name: str | None = None,
        description: str | None = None,
        strict: bool | None = None,
    ) -> None:
        self.function = function
        self.definition, self._params = _build(function, name, description, strict)
        self._check = _check_schema(self.parameters, self._params)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"FunctionTool(name={self.name!r}, function={self.function!r})"

    @property
    def name(self) -> str:
        return self.definition.function.name

    @property
    def description(self) -> str | None:
        return self.definition.function.description

    @property
    def parameters(self) -> Mapping[str, Any]:
        """The JSON Schema of the arguments."""
        schema = self.definition.function.parameters
        assert schema is not None
        return schema

    def parse_arguments(self, arguments: str | Mapping[str, Any] | None) -> dict[str, Any]:
        """The model's arguments as keyword values of the annotated types.

        Raises :class:`~openrouter_async.StructuredOutputError` (``raw`` = the text) when the
        arguments are not a JSON object, do not match the schema, or cannot be converted.
        """
        raw = arguments if isinstance(arguments, str) or arguments is None else None
        if isinstance(arguments, Mapping):
            data: Any = dict(arguments)
            raw = orjson.dumps(data, default=str).decode()
        else:
            data = parse_tool_arguments(arguments, name=self.name)
        errors = schema_errors(data, self._check)
        if errors:
            raise StructuredOutputError(
                f"arguments for tool {self.name!r} do not match its schema: " + "; ".join(errors),
                raw=raw,
            )
        values: dict[str, Any] = {}
        for param in self._params:
            if param.name not in data:
                continue
            try:
                if contains_model(param.annotation):
                    values[param.name] = validate_model(param.annotation, data[param.name])
                else:
                    values[param.name] = structure(data[param.name], param.annotation)
            except Exception as exc:
                raise StructuredOutputError(
                    f"argument {param.name!r} of tool {self.name!r} cannot be converted to "
                    f"{param.annotation!r}: {exc}",
                    raw=raw,
                ) from exc
        return values

    async def invoke(self, arguments: str | Mapping[str, Any] | None) -> Any:
        """Parse and check ``arguments`` (JSON text or a mapping), then run the function.

        Returns what the function returns (awaited when it is a coroutine). Exceptions from the
        function propagate; argument problems raise ``StructuredOutputError``.
        """
        values = self.parse_arguments(arguments)
        args = [values.pop(p.name) for p in self._params if p.positional_only and p.name in values]
        function: Callable[..., Any] = self.function
        call_method = getattr(function, "__call__", None)  # noqa: B004 - async callable objects
        if inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(call_method):
            result = await function(*args, **values)
        else:
            result = await asyncio.to_thread(function, *args, **values)
        if inspect.isawaitable(result):
            result = await result
        return result


@overload
def function_tool(
    func: Callable[P, R],
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    strict: bool | None = None,
) -> FunctionTool[P, R]: ...


@overload
def function_tool(
    *,
    name: str | None = None,
    description: str | None = None,
    strict: bool | None = None,
) -> Callable[[Callable[P, R]], FunctionTool[P, R]]: ...


def function_tool(
    func: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    strict: bool | None = None,
) -> FunctionTool[P, R] | Callable[[Callable[P, R]], FunctionTool[P, R]]:
    """Make a :class:`FunctionTool` from an annotated function (sync or async).

    Use as ``@function_tool``, ``@function_tool(name="x", strict=True)`` or
    ``function_tool(func)``. The name defaults to the function's ``__name__``, the description
    to its docstring's text before the first section; parameter descriptions come from the
    docstring's ``Args:`` section (or ``Annotated[T, "text"]``). Every parameter needs a type
    annotation; ``*args``/``**kwargs`` are refused. Raises ``RequestValidationError`` at once
    when the function cannot be described.
    """
    if func is None:

        def decorate(f: Callable[P, R]) -> FunctionTool[P, R]:
            return FunctionTool(f, name=name, description=description, strict=strict)

        return decorate
    return FunctionTool(func, name=name, description=description, strict=strict)


def tool_schema(
    func: FunctionTool[Any, Any] | Callable[..., Any],
    *,
    name: str | None = None,
    description: str | None = None,
    strict: bool | None = None,
) -> dict[str, Any]:
    """The wire form of the tool for ``func``:
    ``{"type": "function", "function": {"name", "description", "parameters", "strict"?}}``.

    Handy for code that builds request bodies by hand; :func:`function_tool` gives the typed
    :class:`~openrouter_async.Tool` (``.definition``) and the callable together.
    """
    if isinstance(func, FunctionTool):
        if name is None and description is None and strict is None:
            tool = func.definition
        else:
            tool = FunctionTool(
                func.function, name=name, description=description, strict=strict
            ).definition
    else:
        tool = FunctionTool(func, name=name, description=description, strict=strict).definition
    data: dict[str, Any] = unstructure(tool)
    return data
