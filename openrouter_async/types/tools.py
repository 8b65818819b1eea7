"""Tools, ``tool_choice``, ``response_format`` and ``prediction``.

``tools`` holds function tools (:class:`Tool`, the client executes the call) and OpenRouter
server tools (:class:`ServerTool`, e.g. ``openrouter:web_search``, executed by OpenRouter). Server
tool types are an open, growing set, so they are plain strings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs

from .._convert import request_model
from .._errors import RequestValidationError
from ._validators import (
    check_json_object,
    check_name,
    check_open_choice,
    check_str,
    coerce_model,
    coerce_models,
    constant,
    dispatch,
    extra_field,
    fail,
    optional_bool,
    optional_choice,
    optional_json_object,
    optional_str,
    required_str,
    reraise_under,
    to_tuple,
    type_name,
)
from .content import CacheControl, OtherPart, TextPart, to_cache_control, to_text_content

__all__ = [
    "AllowedToolsChoice",
    "AnyTool",
    "FunctionDefinition",
    "FunctionName",
    "JSONSchemaSpec",
    "NamedToolChoice",
    "Prediction",
    "ResponseFormat",
    "ResponseFormatGrammar",
    "ResponseFormatJSONObject",
    "ResponseFormatJSONSchema",
    "ResponseFormatPython",
    "ResponseFormatText",
    "ServerTool",
    "ServerToolChoice",
    "Tool",
    "ToolChoice",
]


def _check_name(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_name(value, attribute.name)


# --- tools ---------------------------------------------------------------------------------------


@request_model
@attrs.frozen(kw_only=True)
class FunctionDefinition:
    """A function the model may call: ``name`` is ``[a-zA-Z0-9_-]{1,64}``; ``parameters`` is a
    JSON Schema object."""

    name: str = attrs.field(validator=_check_name)
    description: str | None = attrs.field(default=None, validator=optional_str())
    parameters: Mapping[str, Any] | None = attrs.field(default=None, validator=optional_json_object)
    strict: bool | None = attrs.field(default=None, validator=optional_bool)
    extra: Mapping[str, Any] | None = extra_field()


def _to_function_definition(value: FunctionDefinition | Mapping[str, Any]) -> FunctionDefinition:
    return coerce_model(FunctionDefinition, value, "function")


@request_model
@attrs.frozen(kw_only=True)
class Tool:
    """A function tool: ``{"type": "function", "function": {...}, "cache_control"?}``.

    ``defer_loading=True`` withholds the tool from the model until the
    ``openrouter:tool_search`` server tool finds it (at least one tool must stay non-deferred).
    """

    type: Literal["function"] = attrs.field(default="function", validator=constant("function"))
    function: FunctionDefinition = attrs.field(converter=_to_function_definition)
    cache_control: CacheControl | None = attrs.field(default=None, converter=to_cache_control)
    defer_loading: bool | None = attrs.field(default=None, validator=optional_bool)
    extra: Mapping[str, Any] | None = extra_field()

    @classmethod
    def define(
        cls,
        name: str,
        description: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        *,
        strict: bool | None = None,
        cache_control: CacheControl | None = None,
    ) -> Tool:
        """``Tool.define("get_weather", "Current weather", {"type": "object", ...})``."""
        try:
            function = FunctionDefinition(
                name=name, description=description, parameters=parameters, strict=strict
            )
        except RequestValidationError as exc:
            reraise_under("function", exc)
        return cls(function=function, cache_control=cache_control)


def _check_server_tool_type(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_str(value, attribute.name, nonempty=True)
    if value == "function":
        fail("'function' is a function tool: use Tool, not ServerTool", attribute.name)


@request_model
@attrs.frozen(kw_only=True)
class ServerTool:
    """A tool OpenRouter runs itself: ``{"type": "openrouter:web_search", "parameters"?: {...}}``.

    Also ``openrouter:web_fetch``, ``openrouter:datetime``, ``openrouter:image_generation``, ...;
    OpenAI-style ``web_search_preview`` is accepted by OpenRouter too. The set grows, so ``type``
    is any non-empty string other than ``"function"``. Options given beside ``type`` (the
    ``web_search`` shorthand's ``engine``, ``max_results``, ...) are kept in ``extra``.
    """

    type: str = attrs.field(validator=_check_server_tool_type)
    parameters: Mapping[str, Any] | None = attrs.field(default=None, validator=optional_json_object)
    extra: Mapping[str, Any] | None = extra_field()


AnyTool = Tool | ServerTool
"""An entry of ``tools``."""

_TOOLS: dict[str, type[Any]] = {"function": Tool}


def _tool(value: object, path: str) -> AnyTool:
    tool: AnyTool = dispatch(
        value,
        path,
        key="type",
        table=_TOOLS,
        accept=(Tool, ServerTool),
        what="a tool",
        fallback=ServerTool,
        fallback_hint=" or a server tool type such as 'openrouter:web_search'",
    )
    return tool


def to_tools(value: Sequence[AnyTool | Mapping[str, Any]] | None) -> tuple[AnyTool, ...] | None:
    """Field converter for ``tools``."""
    if value is None:
        return None
    return coerce_models(value, "tools", _tool, what="tools")


# --- tool_choice ---------------------------------------------------------------------------------


@request_model
@attrs.frozen(kw_only=True)
class FunctionName:
    name: str = attrs.field(validator=required_str())
    extra: Mapping[str, Any] | None = extra_field()


def _to_function_name(value: FunctionName | Mapping[str, Any] | str) -> FunctionName:
    if isinstance(value, str):
        try:
            return FunctionName(name=value)
        except RequestValidationError as exc:
            reraise_under("function", exc)
    return coerce_model(FunctionName, value, "function", what="a FunctionName, a name string")


@request_model
@attrs.frozen(kw_only=True)
class NamedToolChoice:
    """Force one function: ``NamedToolChoice(function="get_weather")`` sends
    ``{"type": "function", "function": {"name": "get_weather"}}``."""

    type: Literal["function"] = attrs.field(default="function", validator=constant("function"))
    function: FunctionName = attrs.field(converter=_to_function_name)
    extra: Mapping[str, Any] | None = extra_field()


_TOOL_CHOICE_MODES = ("none", "auto", "required")


def _check_server_tool_choice(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    # The API types this as any string; only "function" is certainly wrong here (it needs the
    # function's name: NamedToolChoice).
    check_str(value, attribute.name)
    if value == "function":
        fail("'function' is not a server tool type (use NamedToolChoice)", attribute.name)


@request_model
@attrs.frozen(kw_only=True)
class ServerToolChoice:
    """Force a server tool: ``{"type": "openrouter:web_search"}``."""

    type: str = attrs.field(validator=_check_server_tool_choice)
    extra: Mapping[str, Any] | None = extra_field()


def _to_allowed_tools(value: Sequence[Mapping[str, Any]]) -> tuple[Mapping[str, Any], ...]:
    result: tuple[Mapping[str, Any], ...] = to_tuple(value)
    return result


def _check_allowed_tools(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, tuple):
        fail(f"must be a list of tool objects, got {type_name(value)}", attribute.name)
    for i, item in enumerate(value):
        check_json_object(item, f"{attribute.name}[{i}]")


@request_model
@attrs.frozen(kw_only=True)
class AllowedToolsChoice:
    """Restrict the model to some of ``tools``: ``{"type": "allowed_tools", "mode": "auto",
    "tools": [{"type": "function", "name": "get_weather"}]}`` (what the tool-search server tool
    relies on; the listed tools are sent as given)."""

    type: Literal["allowed_tools"] = attrs.field(
        default="allowed_tools", validator=constant("allowed_tools")
    )
    mode: Literal["auto", "required"] = attrs.field(
        default="auto", validator=optional_choice("auto", "required")
    )
    tools: tuple[Mapping[str, Any], ...] = attrs.field(
        converter=_to_allowed_tools, validator=_check_allowed_tools
    )
    extra: Mapping[str, Any] | None = extra_field()


ToolChoice = (
    Literal["none", "auto", "required"] | NamedToolChoice | ServerToolChoice | AllowedToolsChoice
)
"""``"none" | "auto" | "required"``, a named function, a server tool type, or allowed tools."""

_TOOL_CHOICES: dict[str, type[Any]] = {
    "function": NamedToolChoice,
    "allowed_tools": AllowedToolsChoice,
}


def to_tool_choice(value: ToolChoice | Mapping[str, Any] | None) -> ToolChoice | None:
    """Field converter for ``tool_choice``."""
    if value is None:
        return None
    if isinstance(value, str):
        check_open_choice(value, "tool_choice", _TOOL_CHOICE_MODES)
        return value
    choice: ToolChoice = dispatch(
        value,
        "tool_choice",
        key="type",
        table=_TOOL_CHOICES,
        accept=(NamedToolChoice, ServerToolChoice, AllowedToolsChoice),
        what="'none', 'auto', 'required', a named tool choice",
        fallback=ServerToolChoice,
        fallback_hint=" or a server tool type such as 'openrouter:web_search'",
    )
    return choice


# --- response_format -----------------------------------------------------------------------------


@request_model
@attrs.frozen(kw_only=True)
class ResponseFormatText:
    type: Literal["text"] = attrs.field(default="text", validator=constant("text"))
    extra: Mapping[str, Any] | None = extra_field()


@request_model
@attrs.frozen(kw_only=True)
class ResponseFormatJSONObject:
    """JSON mode; also tell the model (in the prompt) to answer in JSON."""

    type: Literal["json_object"] = attrs.field(
        default="json_object", validator=constant("json_object")
    )
    extra: Mapping[str, Any] | None = extra_field()


@request_model
@attrs.frozen(kw_only=True)
class JSONSchemaSpec:
    """``name`` is ``[a-zA-Z0-9_-]{1,64}``; ``schema`` is the JSON Schema the output must match."""

    name: str = attrs.field(validator=_check_name)
    description: str | None = attrs.field(default=None, validator=optional_str())
    schema: Mapping[str, Any] | None = attrs.field(default=None, validator=optional_json_object)
    strict: bool | None = attrs.field(default=None, validator=optional_bool)
    extra: Mapping[str, Any] | None = extra_field()


def _to_json_schema_spec(value: JSONSchemaSpec | Mapping[str, Any]) -> JSONSchemaSpec:
    return coerce_model(JSONSchemaSpec, value, "json_schema")


@request_model
@attrs.frozen(kw_only=True)
class ResponseFormatJSONSchema:
    """Structured outputs: ``{"type": "json_schema", "json_schema": {"name", "schema", ...}}``."""

    type: Literal["json_schema"] = attrs.field(
        default="json_schema", validator=constant("json_schema")
    )
    json_schema: JSONSchemaSpec = attrs.field(converter=_to_json_schema_spec)
    extra: Mapping[str, Any] | None = extra_field()


@request_model
@attrs.frozen(kw_only=True)
class ResponseFormatGrammar:
    """OpenRouter: constrain output with a grammar (provider-specific syntax)."""

    type: Literal["grammar"] = attrs.field(default="grammar", validator=constant("grammar"))
    grammar: str = attrs.field(validator=required_str())
    extra: Mapping[str, Any] | None = extra_field()


@request_model
@attrs.frozen(kw_only=True)
class ResponseFormatPython:
    """OpenRouter: constrain output to Python code."""

    type: Literal["python"] = attrs.field(default="python", validator=constant("python"))
    extra: Mapping[str, Any] | None = extra_field()


ResponseFormat = (
    ResponseFormatText
    | ResponseFormatJSONObject
    | ResponseFormatJSONSchema
    | ResponseFormatGrammar
    | ResponseFormatPython
)

_RESPONSE_FORMATS: dict[str, type[Any]] = {
    "text": ResponseFormatText,
    "json_object": ResponseFormatJSONObject,
    "json_schema": ResponseFormatJSONSchema,
    "grammar": ResponseFormatGrammar,
    "python": ResponseFormatPython,
}
_RESPONSE_FORMAT_CLASSES: tuple[type, ...] = tuple(_RESPONSE_FORMATS.values())


def to_response_format(value: ResponseFormat | Mapping[str, Any] | None) -> ResponseFormat | None:
    """Field converter for ``response_format``."""
    if value is None:
        return None
    response_format: ResponseFormat = dispatch(
        value,
        "response_format",
        key="type",
        table=_RESPONSE_FORMATS,
        accept=_RESPONSE_FORMAT_CLASSES,
        what="a response format",
    )
    return response_format


# --- prediction ----------------------------------------------------------------------------------


@request_model
@attrs.frozen(kw_only=True)
class Prediction:
    """Predicted output (cuts latency when most of the answer is known in advance)."""

    type: Literal["content"] = attrs.field(default="content", validator=constant("content"))
    content: str | tuple[TextPart | OtherPart, ...] = attrs.field(converter=to_text_content)
    extra: Mapping[str, Any] | None = extra_field()


def to_prediction(value: Prediction | Mapping[str, Any] | None) -> Prediction | None:
    """Field converter for ``prediction``."""
    if value is None:
        return None
    return coerce_model(Prediction, value, "prediction")
