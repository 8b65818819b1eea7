"""A shortcut for the commonest request: plain keyword arguments, simple text messages.

``create(model=..., messages=[{"role": "user", "content": "..."}], max_tokens=...)`` is what
a batch job sends thousands of times. Building the full :class:`ChatRequest` (about a hundred
converter and validator calls) and unstructuring it again measured as the largest cost of a
non-streaming request after aiohttp itself, and loading the request-model graph at all costs
a batch process about a megabyte. This module produces the *same bytes* for that shape without
either, and refuses everything else.

It never decides validity on its own: each scalar goes through the very validator that
``ChatRequest`` attaches to the field (:mod:`._scalar_rules`), and a message is taken only in
the one form every message class accepts unchanged (``role`` system, developer or user with a
``str`` content, nothing else). On anything unexpected (an unknown key, a richer message, a
failing check) it returns ``None`` and the caller takes the full path, which then raises the
precise error. Parity with the full path is tested on generated requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from .._errors import RequestValidationError
from ._scalar_rules import SCALAR_RULES

__all__ = ["fast_chat_body"]

_SIMPLE_ROLES = frozenset({"system", "developer", "user"})


class _Field:
    """Stands in for the attrs field a validator names in its error (never shown here)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


_CHECKS = {name: (_Field(name), check) for name, check in SCALAR_RULES.items()}
# The full path writes messages first, then the set fields in ChatRequest's field order.
_ORDER = {name: index for index, name in enumerate(SCALAR_RULES)}


def fast_chat_body(kwargs: Mapping[str, Any], *, stream: bool | None = None) -> bytes | None:
    """The request body for plain keyword arguments, or ``None`` to use the full path."""
    messages = kwargs.get("messages")
    if type(messages) is not list or not messages:
        return None
    out_messages = []
    for message in messages:
        if type(message) is not dict or len(message) != 2:
            return None
        role = message.get("role")
        content = message.get("content")
        if role not in _SIMPLE_ROLES or type(content) is not str:
            return None
        out_messages.append({"role": role, "content": content})
    others = []
    try:
        for name, value in kwargs.items():
            if name == "messages" or value is None:
                continue
            check = _CHECKS.get(name)
            if check is None:
                return None
            field, validator = check
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
