"""Typed mirrors of raw streaming chunks (``chat.completion.chunk``).

The stream itself never builds these: the decoder works on the parsed dict and yields events
(``types.events``). They exist for users who want typed raw chunks, e.g.
``structure(decoder.last_chunk, ChatCompletionChunk)``. Being wire mirrors, list fields are
``None`` when absent and ids/indices may be missing or empty, exactly as providers send them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .._convert import NO_EXTRA, response_model
from .responses import ChoiceError, ChoiceLogprobs, CompletionUsage

__all__ = [
    "ChatCompletionChunk",
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
