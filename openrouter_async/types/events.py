"""Typed stream events: one class per kind of delta, so users ``match`` on type.

Each event is a frozen, slotted attrs class built with keywords. ``__match_args__`` is declared
by hand (attrs leaves it empty for keyword-only classes) so positional class patterns work too::

    match event:
        case TextDelta(text): ...
        case ToolCallDone(index, id, name, arguments): ...

``choice_index`` is the position of the choice the event belongs to (always 0 unless ``n > 1``).
Events are produced by the pure decoder in ``_decode`` and folded by ``_accumulate``.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import attrs

from .responses import CompletionUsage, parse_tool_arguments

__all__ = [
    "AnnotationsDelta",
    "Finish",
    "ImagesDelta",
    "KeepAlive",
    "ReasoningDelta",
    "RefusalDelta",
    "StreamEvent",
    "TextDelta",
    "ToolCallDelta",
    "ToolCallDone",
    "Usage",
]


@attrs.frozen(kw_only=True, match_args=False)
class TextDelta:
    """A piece of the assistant's text (never empty)."""

    __match_args__ = ("text", "choice_index")
    text: str
    choice_index: int = 0


@attrs.frozen(kw_only=True, match_args=False)
class ReasoningDelta:
    """A piece of the model's reasoning.

    ``text`` comes from ``delta.reasoning`` or, when that is absent, from the text/summary of
    ``delta.reasoning_details``; the server sends the same text in both, so there is at most one
    event per delta. ``details`` are that delta's raw ``reasoning_details`` items (possibly
    encrypted, in which case ``text`` may be empty).
    """

    __match_args__ = ("text", "details", "choice_index")
    text: str
    details: tuple[dict[str, Any], ...] = ()
    choice_index: int = 0


@attrs.frozen(kw_only=True, match_args=False)
class RefusalDelta:
    """A piece of a refusal message."""

    __match_args__ = ("text", "choice_index")
    text: str
    choice_index: int = 0


@attrs.frozen(kw_only=True, match_args=False)
class ToolCallDelta:
    """One tool-call fragment.

    ``index`` is the call's position within the choice after normalization (distinct calls
    always get distinct indices, even when the provider reused or omitted them). ``id`` is set
    only on the fragment that starts a call (synthesized when the provider sent none), ``name``
    when the fragment carries it; ``arguments`` is the piece of JSON text to append.
    """

    __match_args__ = ("index", "id", "name", "arguments", "choice_index")
    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""
    choice_index: int = 0


@attrs.frozen(kw_only=True, match_args=False)
class ToolCallDone:
    """A tool call whose arguments are complete.

    Emitted when the next call on the same choice starts, when the choice finishes (before its
    :class:`Finish`), or at the end of the stream. Empty arguments are reported as ``"{}"``.
    (Should a provider interleave fragments of parallel calls, a call that receives more pieces
    after its Done is re-opened and gets a second, complete Done later.)
    """

    __match_args__ = ("index", "id", "name", "arguments", "choice_index")
    index: int
    id: str
    name: str
    arguments: str
    choice_index: int = 0

    def parsed_arguments(self) -> dict[str, Any]:
        """``arguments`` parsed as a JSON object. Raises ``StructuredOutputError`` if it is not."""
        return parse_tool_arguments(self.arguments, name=self.name)


@attrs.frozen(kw_only=True, match_args=False)
class Finish:
    """The first finish reason seen for a choice (later duplicates are suppressed).

    ``finish_reason`` is exactly what the provider reported; the accumulated completion upgrades
    it to ``"tool_calls"`` when tool calls were emitted under ``"stop"`` or an unknown reason.
    """

    __match_args__ = ("finish_reason", "native_finish_reason", "choice_index")
    finish_reason: str
    native_finish_reason: str | None = None
    choice_index: int = 0


@attrs.frozen(kw_only=True, match_args=False)
class Usage:
    """Token usage and cost for the whole generation (usually once, just before ``[DONE]``)."""

    __match_args__ = ("usage", "choice_index")
    usage: CompletionUsage
    choice_index: int = 0

    @property
    def prompt_tokens(self) -> int:
        return self.usage.prompt_tokens

    @property
    def completion_tokens(self) -> int:
        return self.usage.completion_tokens

    @property
    def total_tokens(self) -> int:
        return self.usage.total_tokens

    @property
    def cost(self) -> float | None:
        return self.usage.cost


@attrs.frozen(kw_only=True, match_args=False)
class KeepAlive:
    """An SSE comment (``: OPENROUTER PROCESSING``): the server is alive but has no token yet."""

    __match_args__ = ("comment", "choice_index")
    comment: str
    choice_index: int = 0


@attrs.frozen(kw_only=True, match_args=False)
class AnnotationsDelta:
    """Annotations (URL citations, file annotations) attached by this delta, raw."""

    __match_args__ = ("annotations", "choice_index")
    annotations: tuple[dict[str, Any], ...]
    choice_index: int = 0


@attrs.frozen(kw_only=True, match_args=False)
class ImagesDelta:
    """Generated images carried by this delta, raw (``{"type": "image_url", ...}``)."""

    __match_args__ = ("images", "choice_index")
    images: tuple[dict[str, Any], ...]
    choice_index: int = 0


StreamEvent: TypeAlias = (
    TextDelta
    | ReasoningDelta
    | RefusalDelta
    | ToolCallDelta
    | ToolCallDone
    | Finish
    | Usage
    | KeepAlive
    | AnnotationsDelta
    | ImagesDelta
)
