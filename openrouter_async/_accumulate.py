"""Pure fold: stream events -> the completion ``create()`` would have returned.

Why it is built this way: folding must stay O(total output), so every text-like field is a list
of pieces joined once, in :meth:`Accumulator.snapshot`; nothing is concatenated per event. The
fold trusts the decoder's normalization (distinct tool calls have distinct indices) and applies
the documented repairs on the way out: empty tool arguments become ``"{}"``, and a finish reason
of ``"stop"`` / unknown / missing becomes ``"tool_calls"`` when tool calls were made.

One fold: the decoder writes its streamed text and tool pieces straight into this state (no
event dispatch per token), but a stream's final completion is exactly what folding the events
it yielded with :meth:`Accumulator.add` gives, except for what no event carries: the envelope
(``id``, ``model``, ``created``, ``provider``, ``system_fingerprint``, ``service_tier``,
``openrouter_metadata``), ``logprobs``, ``audio``, and choices that produced no event.
``tests/unit/test_fold.py`` holds the two equal for any chunk sequence.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._convert import structure
from .types.events import (
    AnnotationsDelta,
    Finish,
    ImagesDelta,
    KeepAlive,
    ReasoningDelta,
    RefusalDelta,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallDone,
    Usage,
)
from .types.responses import (
    ChatCompletion,
    ChatMessage,
    Choice,
    ChoiceLogprobs,
    CompletionUsage,
    FunctionCall,
    ToolCall,
)

__all__ = ["Accumulator", "KNOWN_FINISH_REASONS", "effective_finish_reason"]

#: Finish reasons the SDK knows; anything else is passed through but counts as "unknown".
KNOWN_FINISH_REASONS = frozenset(
    {"stop", "length", "tool_calls", "content_filter", "error", "function_call"}
)


def effective_finish_reason(reason: str | None, has_tool_calls: bool) -> str | None:
    """The finish reason to report: ``"tool_calls"`` when tool calls were made and the provider
    said ``"stop"``, nothing, or something unknown (Gemini with thought signatures says "stop")."""
    if has_tool_calls and (
        reason is None or reason == "stop" or reason not in KNOWN_FINISH_REASONS
    ):
        return "tool_calls"
    return reason


_AUDIO_STREAMED = frozenset({"data", "transcript"})


class _Pieces(list[str]):
    """Audio ``data``/``transcript`` pieces, joined at snapshot (unlike raw list values)."""

    __slots__ = ()


class _Discard(list[Any]):
    """Stands in for a text list when the caller chose not to keep streamed text."""

    __slots__ = ()

    def append(self, item: Any) -> None:
        pass

    def extend(self, items: Any) -> None:
        pass


_MERGED_FIELD = {"reasoning.text": "text", "reasoning.summary": "summary"}


class _ReasoningDetails:
    """``reasoning_details`` as they stream in, merged back into whole blocks.

    A provider streams one reasoning block as many fragments (same ``type`` and ``index``, the
    text split across them, the signature on the last). Echoed back as fragments, a signed
    block would no longer match its signature, so consecutive fragments of one text or summary
    block are joined into one item; everything else (encrypted blocks, other types, a new
    index or id) starts a new item, and the order is kept. Text pieces are joined once at
    the end, so the cost stays linear in the reasoning length.
    """

    __slots__ = ("_items", "_open")

    def __init__(self) -> None:
        self._items: list[dict[str, Any]] = []
        self._open: tuple[str, list[str]] | None = None  # (field, pieces) of the last item

    def extend(self, items: Any) -> None:
        for item in items:
            self._add(item)

    def _add(self, item: Any) -> None:
        if not isinstance(item, dict):
            return  # not a reasoning block (the decoder drops these too): nothing to echo back
        field = _MERGED_FIELD.get(item.get("type"))  # type: ignore[arg-type]
        if field is not None and self._continues(item):
            last = self._items[-1]
            assert self._open is not None
            self._open[1].append(item.get(field) or "")
            for key, value in item.items():
                if key != field and value is not None:
                    last[key] = value
            return
        self._close()
        copy = dict(item)
        self._items.append(copy)
        if field is not None:
            self._open = (field, [copy.get(field) or ""])

    def _continues(self, item: dict[str, Any]) -> bool:
        if self._open is None or not self._items:
            return False
        last = self._items[-1]
        return (
            last.get("type") == item.get("type")
            and last.get("index") == item.get("index")
            and item.get("id") in (None, last.get("id"))
            and not last.get("signature")  # a signature ends its block
        )

    def _close(self) -> None:
        if self._open is not None and self._items:
            field, pieces = self._open
            if len(pieces) > 1:
                self._items[-1][field] = "".join(pieces)
        self._open = None

    def build(self) -> list[dict[str, Any]]:
        self._close_copy_safe()
        return [dict(item) for item in self._items]

    def _close_copy_safe(self) -> None:
        # Join pending pieces but keep the block open for later fragments.
        if self._open is not None and self._items:
            field, pieces = self._open
            if len(pieces) > 1:
                joined = "".join(pieces)
                self._items[-1][field] = joined
                self._open = (field, [joined])


class CallState:
    __slots__ = ("arguments", "id", "name", "parts")

    def __init__(self) -> None:
        self.id = ""
        self.name = ""
        self.parts: list[str] = []
        self.arguments: str | None = None  # set by ToolCallDone: authoritative


class ChoiceState:
    __slots__ = (
        "annotations",
        "audio",
        "calls",
        "finish_reason",
        "images",
        "logprobs_content",
        "logprobs_refusal",
        "native_finish_reason",
        "reasoning",
        "reasoning_details",
        "refusal",
        "text",
    )

    def __init__(self, keep_text: bool = True) -> None:
        self.text: list[str] = [] if keep_text else _Discard()
        self.reasoning: list[str] = [] if keep_text else _Discard()
        self.reasoning_details = _ReasoningDetails()
        self.refusal: list[str] = []
        self.calls: dict[int, CallState] = {}
        self.annotations: list[dict[str, Any]] = []
        self.images: list[dict[str, Any]] = [] if keep_text else _Discard()
        self.finish_reason: str | None = None
        self.native_finish_reason: str | None = None
        self.logprobs_content: list[Any] | None = None
        self.logprobs_refusal: list[Any] | None = None
        self.audio: dict[str, Any] | None = None

    def call(self, index: int) -> CallState:
        call = self.calls.get(index)
        if call is None:
            call = self.calls[index] = CallState()
        return call


_META_FIELDS = (
    "id",
    "model",
    "created",
    "provider",
    "system_fingerprint",
    "service_tier",
    "openrouter_metadata",
)


class Accumulator:
    """Folds :data:`~openrouter_async.types.events.StreamEvent` values into a
    :class:`~openrouter_async.types.responses.ChatCompletion`.

    ``object_name`` is the ``object`` of the result (``"chat.completion"``; the decoder passes
    ``"text_completion"`` for the legacy ``/completions`` endpoint). With ``keep_text=False``
    text, reasoning and images are not kept (for streams too large to hold); tool calls,
    finish reasons, usage and metadata still are.
    """

    def __init__(self, *, object_name: str = "chat.completion", keep_text: bool = True) -> None:
        self._object = object_name
        self._keep_text = keep_text
        self._choices: dict[int, ChoiceState] = {}
        self._usage: CompletionUsage | None = None
        self._meta: dict[str, Any] = {}

    # ------------------------------------------------------------------ folding

    def choice(self, index: int) -> ChoiceState:
        """The mutable state of choice ``index`` (created on first use). For the decoder."""
        state = self._choices.get(index)
        if state is None:
            state = self._choices[index] = ChoiceState(self._keep_text)
        return state

    def add(self, event: StreamEvent) -> None:
        """Fold one event. Unknown objects are ignored, so callers may pass anything they match."""
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)

    def _add_text(self, event: TextDelta) -> None:
        self.choice(event.choice_index).text.append(event.text)

    def _add_reasoning(self, event: ReasoningDelta) -> None:
        state = self.choice(event.choice_index)
        if event.text:
            state.reasoning.append(event.text)
        if event.details:
            state.reasoning_details.extend(event.details)

    def _add_refusal(self, event: RefusalDelta) -> None:
        self.choice(event.choice_index).refusal.append(event.text)

    def _add_tool_delta(self, event: ToolCallDelta) -> None:
        call = self.choice(event.choice_index).call(event.index)
        if event.id is not None:
            call.id = event.id
        if event.name is not None and not call.name:
            call.name = event.name
        if event.arguments:
            call.arguments = None  # more pieces after a Done: the pieces are authoritative again
            call.parts.append(event.arguments)

    def _add_tool_done(self, event: ToolCallDone) -> None:
        call = self.choice(event.choice_index).call(event.index)
        call.id = event.id
        call.name = event.name
        call.arguments = event.arguments

    def _add_finish(self, event: Finish) -> None:
        state = self.choice(event.choice_index)
        if state.finish_reason is None:
            state.finish_reason = event.finish_reason
            state.native_finish_reason = event.native_finish_reason

    def _add_usage(self, event: Usage) -> None:
        self._usage = event.usage

    def _add_annotations(self, event: AnnotationsDelta) -> None:
        self.choice(event.choice_index).annotations.extend(event.annotations)

    def _add_images(self, event: ImagesDelta) -> None:
        self.choice(event.choice_index).images.extend(event.images)

    def add_logprobs(self, choice_index: int, logprobs: Mapping[str, Any]) -> None:
        """Fold a chunk's raw ``choices[i].logprobs`` (token lists are concatenated)."""
        state = self.choice(choice_index)
        content = logprobs.get("content")
        if isinstance(content, list):
            if state.logprobs_content is None:
                state.logprobs_content = []
            state.logprobs_content.extend(content)
        refusal = logprobs.get("refusal")
        if isinstance(refusal, list):
            if state.logprobs_refusal is None:
                state.logprobs_refusal = []
            state.logprobs_refusal.extend(refusal)

    def add_audio(self, choice_index: int, audio: Mapping[str, Any]) -> None:
        """Fold a raw ``delta.audio`` piece: ``data`` and ``transcript`` are concatenated, other
        keys keep their first value."""
        state = self.choice(choice_index)
        if state.audio is None:
            state.audio = {}
        merged = state.audio
        for key, value in audio.items():
            if value is None:
                continue
            if key in _AUDIO_STREAMED and isinstance(value, str):
                pieces = merged.get(key)
                if isinstance(pieces, _Pieces):
                    pieces.append(value)
                else:
                    merged[key] = _Pieces([value])
            else:
                merged.setdefault(key, value)

    def set_meta(
        self,
        *,
        id: str | None = None,
        model: str | None = None,
        created: int | None = None,
        provider: str | None = None,
        system_fingerprint: str | None = None,
        service_tier: str | None = None,
        openrouter_metadata: dict[str, Any] | None = None,
    ) -> None:
        """Record envelope fields; for each, the first non-null value wins."""
        meta = self._meta
        values = (
            id,
            model,
            created,
            provider,
            system_fingerprint,
            service_tier,
            openrouter_metadata,
        )
        for name, value in zip(_META_FIELDS, values, strict=True):
            if value is not None and name not in meta:
                meta[name] = value

    # ------------------------------------------------------------------ result

    @property
    def usage(self) -> CompletionUsage | None:
        return self._usage

    def snapshot(self) -> ChatCompletion:
        """The completion so far. Cheap enough to call on error paths; O(output) each call."""
        choices = [
            _build_choice(index, self._choices[index], self._object)
            for index in sorted(self._choices)
        ]
        meta = self._meta
        return ChatCompletion(
            id=_str_or(meta.get("id"), ""),
            object=self._object,
            created=_int_or_zero(meta.get("created")),
            model=_str_or(meta.get("model"), ""),
            provider=_str_or(meta.get("provider"), None),
            system_fingerprint=_str_or(meta.get("system_fingerprint"), None),
            choices=choices,
            usage=self._usage,
            service_tier=_str_or(meta.get("service_tier"), None),
            openrouter_metadata=_dict_or_none(meta.get("openrouter_metadata")),
        )


def _str_or(value: Any, default: str | None) -> Any:
    if value is None:
        return default
    return value if isinstance(value, str) else str(value)


def _int_or_zero(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    return 0


def _dict_or_none(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _build_choice(index: int, state: ChoiceState, object_name: str) -> Choice:
    tool_calls = [_build_call(state.calls[i]) for i in sorted(state.calls)]
    message = ChatMessage(
        role="assistant",
        content="".join(state.text) if state.text else None,
        tool_calls=tool_calls,
        reasoning="".join(state.reasoning) if state.reasoning else None,
        reasoning_details=state.reasoning_details.build(),
        refusal="".join(state.refusal) if state.refusal else None,
        annotations=list(state.annotations),
        images=list(state.images),
        audio=_build_audio(state.audio),
    )
    logprobs = None
    if state.logprobs_content is not None or state.logprobs_refusal is not None:
        logprobs = _build_logprobs(state.logprobs_content, state.logprobs_refusal)
    return Choice(
        index=index,
        message=message,
        finish_reason=effective_finish_reason(state.finish_reason, bool(tool_calls)),
        native_finish_reason=state.native_finish_reason,
        logprobs=logprobs,
    )


def _build_call(call: CallState) -> ToolCall:
    arguments = call.arguments if call.arguments is not None else "".join(call.parts)
    if not arguments.strip():
        arguments = "{}"
    return ToolCall(id=call.id, function=FunctionCall(name=call.name, arguments=arguments))


def _build_audio(audio: dict[str, Any] | None) -> dict[str, Any] | None:
    if audio is None:
        return None
    return {k: "".join(v) if isinstance(v, _Pieces) else v for k, v in audio.items()}


def _build_logprobs(content: list[Any] | None, refusal: list[Any] | None) -> ChoiceLogprobs:
    # Once per snapshot and only when logprobs were requested: the converter is fine here.
    return structure({"content": content, "refusal": refusal}, ChoiceLogprobs)


_HANDLERS: dict[type, Callable[[Accumulator, Any], None]] = {
    TextDelta: Accumulator._add_text,
    ReasoningDelta: Accumulator._add_reasoning,
    RefusalDelta: Accumulator._add_refusal,
    ToolCallDelta: Accumulator._add_tool_delta,
    ToolCallDone: Accumulator._add_tool_done,
    Finish: Accumulator._add_finish,
    Usage: Accumulator._add_usage,
    AnnotationsDelta: Accumulator._add_annotations,
    ImagesDelta: Accumulator._add_images,
    KeepAlive: lambda _acc, _event: None,
}
