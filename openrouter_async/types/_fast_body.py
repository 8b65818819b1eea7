"""A shortcut for the commonest request: plain keyword arguments, simple text messages.

``create(model=..., messages=[{"role": "user", "content": "..."}], max_tokens=...)`` is what
a batch job sends thousands of times. Building the full :class:`ChatRequest` (about a hundred
converter and validator calls) and unstructuring it again measured as the largest cost of a
non-streaming request after aiohttp itself. This module produces the *same bytes* for that
shape without the round trip, and refuses everything else.

It never decides validity on its own: each scalar goes through the very validator attached to
the ``ChatRequest`` field, and each message is built with its real class. On anything
unexpected (an unknown key, a richer message, a failing check) it returns ``None`` and the
caller takes the full path, which then raises the precise error. Parity with the full path is
tested on generated requests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs
import orjson

from .._errors import RequestValidationError
from .chat_request import ChatRequest
from .messages import DeveloperMessage, SystemMessage, UserMessage

__all__ = ["fast_chat_body"]

_MESSAGE_CLASSES: dict[str, Callable[..., Any]] = {
    "system": SystemMessage,
    "developer": DeveloperMessage,
    "user": UserMessage,
}

# Scalar fields with no converter and no cross-field rule (see ChatRequest.__attrs_post_init__).
_SCALARS = (
    "model",
    "max_tokens",
    "max_completion_tokens",
    "temperature",
    "top_p",
    "top_k",
    "frequency_penalty",
    "presence_penalty",
    "repetition_penalty",
    "min_p",
    "top_a",
    "seed",
    "parallel_tool_calls",
    "include_reasoning",
    "verbosity",
    "route",
    "user",
    "session_id",
    "service_tier",
    "prompt_cache_key",
)

_FIELDS = {field.name: field for field in attrs.fields(ChatRequest)}
_CHECKS: dict[str, tuple[attrs.Attribute[Any], Any]] = {}
for _name in _SCALARS:
    _field = _FIELDS[_name]
    assert _field.converter is None, _name  # a converter would change the sent value
    _CHECKS[_name] = (_field, _field.validator)
# The full path writes the always-sent fields first (messages), then the rest in field order.
_ORDER = {name: index for index, name in enumerate(_FIELDS)}


def fast_chat_body(kwargs: Mapping[str, Any], *, stream: bool | None = None) -> bytes | None:
    """The request body for plain keyword arguments, or ``None`` to use the full path."""
    messages = kwargs.get("messages")
    if type(messages) is not list or not messages:
        return None
    out_messages = []
    try:
        for message in messages:
            if type(message) is not dict or len(message) != 2:
                return None
            role = message.get("role")
            content = message.get("content")
            cls = _MESSAGE_CLASSES.get(role)  # type: ignore[arg-type]
            if cls is None or type(content) is not str:
                return None
            cls(content=content)  # the real class validates
            out_messages.append({"role": role, "content": content})
        others = []
        for name, value in kwargs.items():
            if name == "messages" or value is None:
                continue
            check = _CHECKS.get(name)
            if check is None:
                return None
            field, validator = check
            if validator is not None:
                validator(None, field, value)
            others.append(name)
    except RequestValidationError:
        return None
    body: dict[str, Any] = {"messages": out_messages}
    if len(others) > 1:
        others.sort(key=_ORDER.__getitem__)
    for name in others:
        body[name] = kwargs[name]
    if stream is not None:
        body["stream"] = stream
    return orjson.dumps(body)
