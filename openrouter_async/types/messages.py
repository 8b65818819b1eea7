"""Chat messages, discriminated by ``role``.

``content`` takes a plain string or a list of parts (attrs objects or wire-shaped dicts). An
assistant message's ``reasoning_details`` are kept as the raw dicts the API sent, so that echoing
them back on the next turn sends them unmodified and in order (signed / encrypted reasoning).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs

from .._convert import request_model
from .._errors import RequestValidationError
from ._validators import (
    check_json_object,
    coerce_model,
    coerce_models,
    constant,
    dispatch,
    extra_field,
    fail,
    optional_choice,
    optional_json_object,
    optional_str,
    required_str,
    reraise_under,
    to_tuple,
)
from .content import (
    ContentPart,
    ImagePart,
    ImageURL,
    OtherPart,
    TextPart,
    to_content,
    to_image_url,
    to_optional_content,
    to_text_content,
)
from .responses import ChatMessage

__all__ = [
    "AssistantImage",
    "AssistantMessage",
    "DeveloperMessage",
    "Message",
    "SystemMessage",
    "ToolCall",
    "ToolCallFunction",
    "ToolMessage",
    "UserMessage",
]


@request_model
@attrs.frozen(kw_only=True)
class SystemMessage:
    """``{"role": "system", "content": str | [text parts], "name"?}``."""

    role: Literal["system"] = attrs.field(default="system", validator=constant("system"))
    content: str | tuple[TextPart | OtherPart, ...] = attrs.field(converter=to_text_content)
    name: str | None = attrs.field(default=None, validator=optional_str())
    extra: Mapping[str, Any] | None = extra_field()


@request_model
@attrs.frozen(kw_only=True)
class DeveloperMessage:
    """``{"role": "developer", ...}``: same shape as a system message."""

    role: Literal["developer"] = attrs.field(default="developer", validator=constant("developer"))
    content: str | tuple[TextPart | OtherPart, ...] = attrs.field(converter=to_text_content)
    name: str | None = attrs.field(default=None, validator=optional_str())
    extra: Mapping[str, Any] | None = extra_field()


@request_model
@attrs.frozen(kw_only=True)
class UserMessage:
    """``{"role": "user", "content": str | [parts], "name"?}``: ``UserMessage(content="Hi")``."""

    role: Literal["user"] = attrs.field(default="user", validator=constant("user"))
    content: str | tuple[ContentPart, ...] = attrs.field(converter=to_content)
    name: str | None = attrs.field(default=None, validator=optional_str())
    extra: Mapping[str, Any] | None = extra_field()


@request_model
@attrs.frozen(kw_only=True)
class ToolCallFunction:
    name: str = attrs.field(validator=required_str())
    arguments: str = attrs.field(validator=required_str())
    """The arguments exactly as the model produced them: a JSON-encoded string."""
    extra: Mapping[str, Any] | None = extra_field()


def _to_tool_call_function(value: ToolCallFunction | Mapping[str, Any]) -> ToolCallFunction:
    return coerce_model(ToolCallFunction, value, "function")


@request_model
@attrs.frozen(kw_only=True)
class ToolCall:
    """A tool call made by the assistant, echoed back in the conversation history."""

    id: str = attrs.field(validator=required_str())
    type: Literal["function"] = attrs.field(default="function", validator=constant("function"))
    function: ToolCallFunction = attrs.field(converter=_to_tool_call_function)
    extra: Mapping[str, Any] | None = extra_field()


def _tool_call(value: object, path: str) -> ToolCall:
    return coerce_model(ToolCall, value, path)


def _to_tool_calls(
    value: Sequence[ToolCall | Mapping[str, Any]] | None,
) -> tuple[ToolCall, ...] | None:
    if value is None:
        return None
    return coerce_models(value, "tool_calls", _tool_call, what="tool calls")


@request_model
@attrs.frozen(kw_only=True)
class AssistantImage:
    """A generated image echoed back in an assistant message: ``{"image_url": {"url": ...}}``,
    as the API returns it (``type`` is optional here; the url may be raw base64)."""

    type: Literal["image_url"] | None = attrs.field(
        default=None, validator=optional_choice("image_url")
    )
    image_url: ImageURL = attrs.field(converter=to_image_url)
    extra: Mapping[str, Any] | None = extra_field()


def _image(value: object, path: str) -> AssistantImage | ImagePart:
    # With a "type" it is an ordinary image part; without one it is sent without one too.
    if isinstance(value, ImagePart) or (isinstance(value, Mapping) and "type" in value):
        return coerce_model(ImagePart, value, path)
    return coerce_model(AssistantImage, value, path, what="an AssistantImage, an ImagePart")


def _to_images(
    value: Sequence[AssistantImage | ImagePart | Mapping[str, Any]] | None,
) -> tuple[AssistantImage | ImagePart, ...] | None:
    if value is None:
        return None
    return coerce_models(value, "images", _image, what="images")


def _to_reasoning_details(
    value: Sequence[Mapping[str, Any]] | None,
) -> tuple[Mapping[str, Any], ...] | None:
    result: tuple[Mapping[str, Any], ...] | None = to_tuple(value)
    return result


def _check_reasoning_details(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, tuple):
        fail(f"must be a list of objects, got {type(value).__name__}", attribute.name)
    for i, item in enumerate(value):
        check_json_object(item, f"{attribute.name}[{i}]")


@request_model
@attrs.frozen(kw_only=True)
class AssistantMessage:
    """A previous assistant turn, or a trailing prefill the model continues.

    Every field but ``role`` is optional, as the API documents. ``reasoning_details`` and
    ``audio`` are sent exactly as given; ``model`` (the model that wrote the turn) is kept when a
    response message is echoed back.
    """

    role: Literal["assistant"] = attrs.field(default="assistant", validator=constant("assistant"))
    content: str | tuple[ContentPart, ...] | None = attrs.field(
        default=None, converter=to_optional_content
    )
    name: str | None = attrs.field(default=None, validator=optional_str())
    tool_calls: tuple[ToolCall, ...] | None = attrs.field(default=None, converter=_to_tool_calls)
    refusal: str | None = attrs.field(default=None, validator=optional_str())
    reasoning: str | None = attrs.field(default=None, validator=optional_str())
    reasoning_details: tuple[Mapping[str, Any], ...] | None = attrs.field(
        default=None, converter=_to_reasoning_details, validator=_check_reasoning_details
    )
    images: tuple[AssistantImage | ImagePart, ...] | None = attrs.field(
        default=None, converter=_to_images
    )
    audio: Mapping[str, Any] | None = attrs.field(default=None, validator=optional_json_object)
    model: str | None = attrs.field(default=None, validator=optional_str())
    extra: Mapping[str, Any] | None = extra_field()

    @classmethod
    def from_response(cls, message: ChatMessage) -> AssistantMessage:
        """The assistant turn of a completion, ready to send back in the next request.

        Tool calls, ``reasoning`` and the raw ``reasoning_details`` (unmodified, in order) are
        kept, so tool loops preserve signed or encrypted reasoning. ``messages`` accepts a
        response message directly and calls this.
        """
        content: Any = message.content
        if content is None and message.content_parts:
            content = message.content_parts
        tool_calls = [
            ToolCall(
                id=call.id,
                function=ToolCallFunction(
                    name=call.function.name, arguments=call.function.arguments
                ),
            )
            for call in message.tool_calls
        ]
        return cls(
            content=content,
            tool_calls=tool_calls or None,
            refusal=message.refusal,
            reasoning=message.reasoning,
            reasoning_details=message.reasoning_details or None,
            images=message.images or None,
            audio=message.audio,
        )


@request_model
@attrs.frozen(kw_only=True)
class ToolMessage:
    """The result of a tool call: ``tool_call_id`` names the call it answers."""

    role: Literal["tool"] = attrs.field(default="tool", validator=constant("tool"))
    content: str | tuple[ContentPart, ...] = attrs.field(converter=to_content)
    tool_call_id: str = attrs.field(validator=required_str())
    name: str | None = attrs.field(default=None, validator=optional_str())
    extra: Mapping[str, Any] | None = extra_field()


Message = SystemMessage | DeveloperMessage | UserMessage | AssistantMessage | ToolMessage
"""Any chat message."""

_MESSAGE_CLASSES: tuple[type, ...] = (
    SystemMessage,
    DeveloperMessage,
    UserMessage,
    AssistantMessage,
    ToolMessage,
)
_MESSAGES: dict[str, type[Any]] = {
    "system": SystemMessage,
    "developer": DeveloperMessage,
    "user": UserMessage,
    "assistant": AssistantMessage,
    "tool": ToolMessage,
}


def _reasoning_alias(value: Mapping[str, Any], path: str) -> Mapping[str, Any]:
    """Accept ``reasoning_content`` (an input alias OpenRouter documents) as ``reasoning``."""
    data = dict(value)
    alias = data.pop("reasoning_content")
    if data.get("reasoning", alias) != alias:
        fail("conflicts with reasoning; set only one of them", f"{path}.reasoning_content")
    data["reasoning"] = alias
    return data


def _message(value: object, path: str) -> Message:
    if isinstance(value, ChatMessage):
        try:
            return AssistantMessage.from_response(value)
        except RequestValidationError as exc:
            reraise_under(path, exc)
    if (
        isinstance(value, Mapping)
        and "reasoning_content" in value
        and value.get("role") == "assistant"
    ):
        value = _reasoning_alias(value, path)
    message: Message = dispatch(
        value, path, key="role", table=_MESSAGES, accept=_MESSAGE_CLASSES, what="a message"
    )
    return message


def to_messages(
    value: Sequence[Message | ChatMessage | Mapping[str, Any]],
) -> tuple[Message, ...]:
    """Field converter for ``messages``: a non-empty list of messages or message dicts (an
    assistant message from a completion is accepted too)."""
    return coerce_models(value, "messages", _message, what="messages", nonempty=True)
