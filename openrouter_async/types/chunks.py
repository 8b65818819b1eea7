"""Typed mirrors of raw streaming chunks (``chat.completion.chunk``).

The decoder works on the parsed dict and yields events (``types.events``); these are built only
for ``stream.chunks()``, by :func:`chunk_from_wire`. Being wire mirrors, list fields are ``None``
when absent and ids/indices may be missing or empty, exactly as providers send them. A value of
the wrong JSON type (``"delta": null`` or ``[]``, a string ``created``...) never fails a chunk
that the event path accepts: the field keeps its default and the value moves to ``extra``.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from functools import cache
from typing import Any, TypeVar

import attrs

from .._convert import NO_EXTRA, response_model, structure
from .responses import ChoiceError, ChoiceLogprobs, CompletionUsage

__all__ = [
    "ChatCompletionChunk",
    "chunk_from_wire",
    "ChoiceDelta",
    "ChunkChoice",
    "FunctionFragment",
    "ToolCallFragment",
]


@response_model
@attrs.frozen(kw_only=True)
class FunctionFragment:
    name: str | None = None
    arguments: str | None = None
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)


@response_model
@attrs.frozen(kw_only=True)
class ToolCallFragment:
    """A piece of a tool call. ``index`` may be missing/``None`` and ``id`` ``""`` on some
    providers; the decoder normalizes both."""

    index: int | None = None
    id: str | None = None
    type: str | None = None
    function: FunctionFragment | None = None
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)


@response_model
@attrs.frozen(kw_only=True)
class ChoiceDelta:
    role: str | None = None
    content: str | None = None
    reasoning: str | None = None
    reasoning_details: list[dict[str, Any]] | None = None
    refusal: str | None = None
    tool_calls: list[ToolCallFragment] | None = None
    annotations: list[dict[str, Any]] | None = None
    images: list[dict[str, Any]] | None = None
    audio: dict[str, Any] | None = None
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)


@response_model
@attrs.frozen(kw_only=True)
class ChunkChoice:
    index: int = 0
    delta: ChoiceDelta = attrs.field(factory=ChoiceDelta)
    finish_reason: str | None = None
    native_finish_reason: str | None = None
    logprobs: ChoiceLogprobs | None = None
    #: legacy ``/completions`` chunks carry their text here instead of in ``delta``
    text: str | None = None
    error: ChoiceError | None = None
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)


@response_model
@attrs.frozen(kw_only=True)
class ChatCompletionChunk:
    id: str | None = None
    object: str | None = None
    created: int | None = None
    model: str | None = None
    provider: str | None = None
    system_fingerprint: str | None = None
    service_tier: str | None = None
    choices: list[ChunkChoice] | None = None
    usage: CompletionUsage | None = None
    #: a mid-stream error (the decoder raises ``StreamError`` for it)
    error: ChoiceError | None = None
    openrouter_metadata: dict[str, Any] | None = None
    debug: dict[str, Any] | None = None
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)


T = TypeVar("T")


def chunk_from_wire(data: Mapping[str, Any]) -> ChatCompletionChunk:
    """A parsed chunk as a :class:`ChatCompletionChunk`, whatever its fields hold."""
    try:
        return structure(data, ChatCompletionChunk)
    except Exception:  # the rare malformed chunk: field by field
        return _tolerant(ChatCompletionChunk, data)


@cache
def _fields(cls: type[Any]) -> tuple[tuple[str, str, Any], ...]:
    """(attribute, wire name, resolved type) of each field but ``extra``."""
    hints = typing.get_type_hints(cls)
    return tuple(
        (f.name, f.metadata.get("json", f.name), hints[f.name])
        for f in attrs.fields(cls)
        if f.name != "extra"
    )


def _tolerant(cls: type[T], data: Mapping[str, Any]) -> T:
    fields = _fields(cls)  # type: ignore[arg-type]  # a class is hashable
    kwargs: dict[str, Any] = {}
    extra = {k: v for k, v in data.items() if k not in {w for _, w, _ in fields}}
    for name, wire, tp in fields:
        if wire not in data:
            continue
        value = data[wire]
        try:
            kwargs[name] = structure(value, tp)
        except Exception:
            model, many = _model_of(tp)
            if model is not None and not many and isinstance(value, Mapping):
                kwargs[name] = _tolerant(model, value)
            elif model is not None and many and isinstance(value, list):
                kwargs[name] = [_tolerant(model, v) for v in value if isinstance(v, Mapping)]
                if len(kwargs[name]) != len(value):
                    extra[wire] = value  # items that are not objects: the whole list, as sent
            else:
                extra[wire] = value
    obj = cls(**kwargs)
    if extra:
        object.__setattr__(obj, "extra", extra)
    return obj


def _model_of(tp: Any) -> tuple[type[Any] | None, bool]:
    """The attrs class in ``X``, ``X | None`` or ``list[X] | None``, and whether it is a list."""
    args = [a for a in typing.get_args(tp) if a is not type(None)] or [tp]
    inner = args[0] if len(args) == 1 else None
    if typing.get_origin(inner) is list:
        (item,) = typing.get_args(inner)
        return (item, True) if attrs.has(item) else (None, True)
    return (inner, False) if inner is not None and attrs.has(inner) else (None, False)
