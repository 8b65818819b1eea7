"""Pure decoding: SSE data payloads -> typed events (response bodies: see ``_parse``).

Why it is built this way: :meth:`StreamDecoder.feed` runs once per streamed token, so it works on
the dict ``orjson`` returns, with ``dict.get`` and local variables, and builds nothing but the
events it yields (cattrs is used once per stream, for the usage block). Every provider quirk the
API reference lists (§4, §7) is absorbed here, so the layers above see one clean event sequence:

* usage may come in a chunk with ``choices: []``, with a dummy choice, or on a duplicate finish
  chunk; only the first non-null finish reason per choice counts;
* ``"role"`` repeats and ``"content": ""`` carry nothing and produce nothing;
* tool-call fragments are keyed by ``index``; a different non-empty id, or a new name, on a known
  index starts a new call; a fragment without an index continues the last call; missing and
  duplicate ids are synthesized (``call_<generation>_<n>``) so every call has a unique id;
* ``reasoning`` and ``reasoning_details`` carry the same text: one event per delta;
* a top-level ``error`` raises :class:`StreamError` with everything received so far; the
  output events of that same chunk wait in ``unreturned`` for the stream to deliver first;
* odd shapes never raise: ``reasoning_details`` items that are not objects are dropped,
  objects where strings belong become JSON text (``_json.dumps``: any depth).

No asyncio, no aiohttp: the streaming layer feeds payloads from the SSE parser and forwards events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import orjson

from ._accumulate import Accumulator
from ._accumulate import CallState as _AccCall
from ._accumulate import ChoiceState as _AccChoice
from ._convert import descriptor_setter, structure
from ._envelope import learn as learn_envelope
from ._error_body import error_from_payload
from ._errors import (
    IncompleteStreamError,
    ProtocolError,
    StreamError,
)
from ._json import ObjectScan, as_text
from ._parse import IdSynth, parse_chat_completion
from ._sse import SSEComment, SSEEvent
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
from .types.responses import ChatCompletion, CompletionUsage, text_of_parts

__all__ = ["StreamDecoder", "parse_chat_completion"]  # parse_chat_completion: re-exported

_loads = orjson.loads


def _setters(cls: type, *names: str) -> tuple[Any, ...]:
    return tuple(descriptor_setter(cls, name) for name in names)


# The per-token events (text, reasoning, tool-argument pieces) are built through their slot
# descriptors: half the cost of the frozen attrs __init__, which goes through a bound
# object.__setattr__ per field. Same objects (still frozen afterwards); tests pin equality.
_new = object.__new__
_set_text, _set_choice_index = _setters(TextDelta, "text", "choice_index")
_RD_TEXT, _RD_DETAILS, _RD_CHOICE = _setters(ReasoningDelta, "text", "details", "choice_index")
_TD_INDEX, _TD_ID, _TD_NAME, _TD_ARGUMENTS, _TD_CHOICE = _setters(
    ToolCallDelta, "index", "id", "name", "arguments", "choice_index"
)
_JSONDecodeError = orjson.JSONDecodeError
# head, tail, len(head), the shortest payload that can hold a string, choice state and index
_Envelope = tuple[bytes, bytes, int, int, "_Choice", int]
_LEARN_ATTEMPTS = 8  # typical chunks whose envelope is searched, per stream
_UNPARSED: Any = object()  # _feed's "parse the payload yourself"
_PREVIEW = 120


# =========================================================================== errors
#
# Error objects are read by ``_error_body.error_from_payload`` (one reading of the envelope for
# HTTP errors, 200-with-error bodies, failed choices and stream error chunks alike).


def _preview(text: str, limit: int = _PREVIEW) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _stream_error(error: Any, generation_id: str | None, partial: ChatCompletion) -> StreamError:
    if not isinstance(error, Mapping):
        error = {"message": error if isinstance(error, str) else None}
    message = error.get("message")
    if not isinstance(message, str) or not message:
        error = {**error, "message": "The stream reported an error"}
    parsed = error_from_payload(200, {"error": error})
    code = error.get("code")
    if isinstance(code, bool) or not isinstance(code, (int, str)):
        code = None
    return StreamError(
        parsed.message,
        code=code,
        metadata=parsed.metadata,
        generation_id=generation_id,
        partial=partial,
    )


# =========================================================================== streaming


class _Call:
    """The decoder's view of one tool call; its id, name and pieces live in ``acc``."""

    __slots__ = ("acc", "done", "index", "scan", "wire_id")

    def __init__(self, index: int, wire_id: str | None, acc: _AccCall) -> None:
        self.index = index
        self.wire_id = wire_id
        self.acc = acc
        self.done = False
        self.scan: ObjectScan | None = None  # made on first need: most calls never need it

    def is_complete_object(self) -> bool:
        """Whether the argument pieces so far are one complete JSON object."""
        scan = self.scan
        if scan is None:
            scan = self.scan = ObjectScan()
        return scan.complete(self.acc.parts)


class _Choice:
    __slots__ = ("acc", "by_wire_id", "by_wire_index", "calls", "current", "finish")

    def __init__(self, acc: _AccChoice) -> None:
        self.acc = acc  # the accumulator's state for this choice: text is appended directly
        self.finish: str | None = None
        self.calls: list[_Call] = []
        self.by_wire_index: dict[int, _Call] = {}
        self.by_wire_id: dict[str, _Call] = {}
        self.current: _Call | None = None


def _reasoning_text(details: tuple[Any, ...]) -> str:
    pieces = []
    for item in details:
        if isinstance(item, dict):
            text = item.get("text")
            if not isinstance(text, str):
                text = item.get("summary")
            if isinstance(text, str) and text:
                pieces.append(text)
    return "".join(pieces)


_META = (
    "id",
    "model",
    "created",
    "provider",
    "system_fingerprint",
    "service_tier",
    "openrouter_metadata",
)


class StreamDecoder:
    """Turns one stream's SSE ``data`` payloads into :data:`StreamEvent` lists, and folds them.

    Feed each payload to :meth:`feed`; call :meth:`finish` if the body ends without ``[DONE]``.
    ``kind="completion"`` reads legacy ``/completions`` chunks, whose text is ``choices[i].text``.
    ``accumulate=False`` keeps no text, reasoning or images in the running completion.
    """

    def __init__(
        self, *, kind: Literal["chat", "completion"] = "chat", accumulate: bool = True
    ) -> None:
        self.kind = kind
        self._chat = kind == "chat"
        self.last_chunk: dict[str, Any] | None = None
        #: The output events (text, reasoning, tool calls...) of the chunk whose ``error``
        #: made :meth:`feed` raise.
        self.unreturned: list[StreamEvent] = []
        self.done = False
        self.finished = False
        self._closed = False
        self._count = 0
        self._acc = Accumulator(
            object_name="text_completion" if kind == "completion" else "chat.completion",
            keep_text=accumulate,
        )
        self._choices: dict[int, _Choice] = {}
        self._meta: dict[str, Any] = {}
        self._meta_missing: tuple[str, ...] = _META
        self._ids = IdSynth(None)
        # The learned byte envelope of this stream's token chunks (see _envelope), and how many
        # more typical chunks may be searched for one.
        self._envelope: _Envelope | None = None
        self._learning = _LEARN_ATTEMPTS

    # ------------------------------------------------------------------ public state

    @property
    def generation_id(self) -> str | None:
        value = self._meta.get("id")
        return value if isinstance(value, str) else None

    @property
    def model(self) -> str | None:
        value = self._meta.get("model")
        return value if isinstance(value, str) else None

    def partial(self) -> ChatCompletion:
        """The completion assembled from everything received so far."""
        return self._acc.snapshot()

    def final(self) -> ChatCompletion:
        """The whole completion, once the stream is over (the same fold as :meth:`partial`)."""
        return self._acc.snapshot()

    def keep_alive(self, comment: str) -> KeepAlive:
        """The event for an SSE comment line (``: OPENROUTER PROCESSING``)."""
        return KeepAlive(comment=comment.strip())

    # ------------------------------------------------------------------ feeding

    def feed(self, data: str | bytes) -> list[StreamEvent]:
        """Decode one SSE event's ``data`` payload into events (often exactly one).

        ``data`` may be the raw bytes (as ``SSEParser(payloads=True)`` gives them): valid UTF-8
        reads exactly as its text would; invalid UTF-8 reads as its replacement-decoded text.
        ``last_chunk`` becomes the chunk's JSON object (``None`` for ``[DONE]`` and the like).
        """
        out: list[StreamEvent] = []
        self.last_chunk = self._feed(data, out)
        return out

    def feed_items(self, items: list[SSEEvent | SSEComment | bytes], out: list[Any]) -> bool:
        """Decode an ``SSEParser``'s output in order, appending the events to ``out``.

        Keep-alive comments become :class:`KeepAlive` events; decoding stops after ``[DONE]``.
        Returns whether a data event was decoded. When a chunk's ``error`` raises
        :class:`StreamError`, the events of earlier items are in ``out``, and so is the error
        chunk's own output (also in ``unreturned``). ``last_chunk`` is not kept: this is the
        per-token path of a stream that reads events, not chunks. Events, state and errors are
        exactly those of :meth:`feed` on each payload (``tests/unit/test_fold.py`` holds them
        equal for any chunk sequence).
        """
        got = False
        append = out.append
        known = self._choices
        chat = self._chat
        typical = 0  # chunks decoded inline, not yet in self._count (added before _feed runs)
        envelope = self._envelope
        state: _Choice | None
        for item in items:
            state = None  # set when the item is a typical token chunk (content, ci: its text)
            if envelope is not None and item.__class__ is bytes:
                # A token chunk in the learned envelope: only its text is parsed (_envelope).
                head, tail, cut, shortest, in_state, in_index = envelope
                if len(item) > shortest and item.startswith(head) and item.endswith(tail):
                    try:
                        content = _loads(item[cut : len(item) - len(tail)])
                    except _JSONDecodeError:
                        content = None
                    if content.__class__ is str:
                        state, ci = in_state, in_index
            if state is None:
                if item.__class__ is not bytes:
                    if item.__class__ is SSEComment:
                        append(self.keep_alive(item.text))
                        continue
                    got = True
                    self._count += typical
                    typical = 0
                    self._feed(item.data, out)  # type: ignore[union-attr]
                    if self.done:
                        break
                    continue
                got = True
                try:
                    chunk = _loads(item)
                except _JSONDecodeError as exc:
                    self._count += typical + 1
                    typical = 0
                    self._not_json(item, exc, out)  # [DONE], invalid UTF-8 or an error
                    if self.done:
                        break
                    continue
                # The typical token chunk is decoded inline (one choice, a content delta,
                # perhaps the role again, no finish, logprobs, usage, error or new envelope
                # field); every other chunk goes through _feed, which gives the same result for
                # this one too. Subscripts (not .get) and ``in``: a missing key or a wrong type
                # is an exception, free in the try when it does not happen, and sends the chunk
                # the full way.
                try:
                    choices = chunk["choices"]
                    choice = choices[0]
                    delta = choice["delta"]
                    content = delta["content"]
                    ci = choice["index"]
                except (KeyError, IndexError, TypeError):
                    pass
                else:
                    size = len(delta)
                    if (
                        chat
                        and content.__class__ is str
                        and ci.__class__ is int
                        and len(choices) == 1
                        and (size == 1 or (size == 2 and "role" in delta))
                        and choice.get("finish_reason") is None
                        and choice.get("logprobs") is None
                        and "usage" not in chunk
                        and "error" not in chunk
                    ):
                        state = known.get(ci)
                        if state is not None:
                            for name in self._meta_missing:
                                if name in chunk:
                                    state = None
                                    break
                if state is None:
                    self._count += typical
                    typical = 0
                    self._feed(item, out, chunk)
                    continue
                if self._learning:
                    envelope = self._learn(item, chunk, content, ci, state)
            got = True
            typical += 1
            if content:
                state.acc.text.append(content)
                # TextDelta(text=content, choice_index=ci): see _setters
                event = _new(TextDelta)
                _set_text(event, content)
                _set_choice_index(event, ci)
                append(event)
        self._count += typical
        return got

    def _learn(
        self, payload: bytes, chunk: dict[str, Any], content: str, ci: int, state: _Choice
    ) -> _Envelope | None:
        """Learn the envelope of this typical chunk (a new one replaces the old)."""
        self._learning -= 1
        found = learn_envelope(payload, chunk, content)
        if found is not None:
            head, tail = found
            self._envelope = (head, tail, len(head), len(head) + len(tail) + 1, state, ci)
        return self._envelope

    def _feed(self, data: str | bytes, out: list[Any], chunk: Any = _UNPARSED) -> Any:
        """Decode one payload (``chunk``: its JSON, when already parsed); return the chunk
        object, or ``None`` for ``[DONE]`` and other payloads that are no chunk."""
        self._count += 1
        if chunk is _UNPARSED:
            try:
                chunk = _loads(data)
            except _JSONDecodeError as exc:
                return self._not_json(data, exc, out)
        if chunk.__class__ is not dict:
            if data.__class__ is bytes:
                data = data.decode("utf-8", "replace")
            raise ProtocolError(
                f"stream event #{self._count} is JSON {type(chunk).__name__}, expected an "
                f"object: {_preview(data)!r}",  # type: ignore[arg-type]
                generation_id=self.generation_id,
            )
        missing = self._meta_missing
        if missing:
            for name in missing:
                if chunk.get(name) is not None:
                    self._take_meta(chunk)
                    break
        start = len(out)  # this chunk's events, should its error need them
        choices = chunk.get("choices")
        if choices and choices.__class__ is list:
            for position, choice in enumerate(choices):
                if choice.__class__ is dict:
                    self._choice(choice, position, out)
        usage = chunk.get("usage")
        if usage is not None and usage.__class__ is dict:
            event = Usage(usage=_structure_usage(usage))
            self._acc.add(event)
            out.append(event)
        error = chunk.get("error")
        if error is not None:
            # The chunk's own output is already in the partial completion: it stays in ``out``
            # for a caller that delivers it before the error (the finish and usage are the
            # error's), and in ``unreturned``.
            kept = [ev for ev in out[start:] if type(ev) is not Finish and type(ev) is not Usage]
            out[start:] = kept
            self.unreturned = kept
            raise _stream_error(error, self.generation_id, self._acc.snapshot())
        return chunk

    def finish(self) -> list[StreamEvent]:
        """The body ended. Without ``[DONE]`` this succeeds only if a finish reason arrived;
        otherwise it raises :class:`IncompleteStreamError` carrying the partial completion."""
        if self._closed:
            return []
        if not self.done and not self.finished:
            raise IncompleteStreamError(
                "the stream ended without [DONE] and without a finish reason",
                generation_id=self.generation_id,
                partial=self._acc.snapshot(),
            )
        self._closed = True
        out: list[StreamEvent] = []
        self._flush_all(out)
        return out

    # ------------------------------------------------------------------ internals

    def _not_json(self, data: str | bytes, exc: Exception, out: list[Any]) -> Any:
        """A payload orjson refused (already counted): ``[DONE]``, a rewrapped comment,
        nothing, or an error. Bytes with invalid UTF-8 are read as their replacement-decoded
        text, as a text decoder would have handed them over. Returns the chunk, if that text
        is one."""
        if data.__class__ is bytes:
            text = data.decode("utf-8", "replace")
            if "\ufffd" in text:  # not valid UTF-8 (or U+FFFD itself): the text may parse
                try:
                    chunk = _loads(text)
                except _JSONDecodeError as exc_text:
                    exc = exc_text
                else:
                    self._count -= 1  # _feed counts it again
                    return self._feed(text, out, chunk)
            data = text
        self._special(data, exc, out)  # type: ignore[arg-type]
        return None

    def _special(self, data: str, exc: Exception, out: list[Any]) -> None:
        # [DONE], a comment or nothing: no chunk
        text = data.strip()
        if text == "[DONE]":
            self.done = True
            if not self._closed:
                self._closed = True
                self._flush_all(out)
            return
        if text.startswith(":"):  # a keep-alive comment that a proxy rewrapped as data
            out.append(KeepAlive(comment=text[1:].strip()))
            return
        if not text:  # an empty data field carries nothing
            return
        raise ProtocolError(
            f"stream event #{self._count} is not valid JSON ({exc}): {_preview(data)!r}",
            generation_id=self.generation_id,
        ) from exc

    def _take_meta(self, chunk: dict[str, Any]) -> None:
        found = {}
        for name in self._meta_missing:
            value = chunk.get(name)
            if value is not None:
                found[name] = value
        if found:
            self._meta.update(found)
            self._acc.set_meta(**found)
            self._meta_missing = tuple(n for n in self._meta_missing if n not in found)
            if "id" in found and self._ids.generation is None:
                gid = found["id"]
                self._ids.generation = gid if isinstance(gid, str) else as_text(gid)

    def _choice(self, choice: dict[str, Any], position: int, out: list[StreamEvent]) -> None:
        ci = choice.get("index", position)
        if ci.__class__ is not int:
            ci = position
        state = self._choices.get(ci)
        if state is None:
            state = self._choices[ci] = _Choice(self._acc.choice(ci))
        if self._chat:
            delta = choice.get("delta")
            if delta and delta.__class__ is dict:
                self._delta(delta, ci, state, out)
        else:
            text = choice.get("text")
            if text and text.__class__ is str:
                state.acc.text.append(text)
                out.append(TextDelta(text=text, choice_index=ci))
        logprobs = choice.get("logprobs")
        if logprobs and logprobs.__class__ is dict:
            self._acc.add_logprobs(ci, logprobs)
        reason = choice.get("finish_reason")
        if reason is not None and state.finish is None:
            self._finish(choice, reason, ci, state, out)

    def _delta(
        self, delta: dict[str, Any], ci: int, state: _Choice, out: list[StreamEvent]
    ) -> None:
        get = delta.get
        acc = state.acc
        rest = len(delta) - ("role" in delta)
        if "reasoning" in delta or "reasoning_details" in delta:
            rest -= ("reasoning" in delta) + ("reasoning_details" in delta)
            self._reasoning(get("reasoning"), get("reasoning_details"), ci, acc, out)
        if "content" in delta:
            rest -= 1
            content = delta["content"]
            if content:
                if content.__class__ is not str:
                    content = (
                        text_of_parts(content) if content.__class__ is list else as_text(content)
                    )
                if content:
                    acc.text.append(content)
                    out.append(TextDelta(text=content, choice_index=ci))
        if not rest:
            return
        if "tool_calls" in delta:
            rest -= 1
            tool_calls = delta["tool_calls"]
            if tool_calls and tool_calls.__class__ is list:
                for fragment in tool_calls:
                    if fragment.__class__ is dict:
                        self._tool_fragment(fragment, ci, state, out)
            if not rest:
                return
        refusal = get("refusal")
        if refusal and refusal.__class__ is str:
            acc.refusal.append(refusal)
            out.append(RefusalDelta(text=refusal, choice_index=ci))
        annotations = get("annotations")
        if annotations and annotations.__class__ is list:
            items = tuple(annotations)
            acc.annotations.extend(items)
            out.append(AnnotationsDelta(annotations=items, choice_index=ci))
        images = get("images")
        if images and images.__class__ is list:
            items = tuple(images)
            acc.images.extend(items)
            out.append(ImagesDelta(images=items, choice_index=ci))
        audio = get("audio")
        if audio and audio.__class__ is dict:
            self._acc.add_audio(ci, audio)

    def _reasoning(
        self, reasoning: Any, details: Any, ci: int, acc: _AccChoice, out: list[StreamEvent]
    ) -> None:
        items: tuple[dict[str, Any], ...] = ()
        if details and details.__class__ is list:
            items = tuple(details)
            for item in items:
                if item.__class__ is not dict:
                    # Only objects are reasoning blocks; anything else carries nothing to echo.
                    items = tuple([i for i in items if i.__class__ is dict])
                    break
        text = reasoning if reasoning and reasoning.__class__ is str else _reasoning_text(items)
        if text or items:
            if text:
                acc.reasoning.append(text)
            if items:
                acc.reasoning_details.extend(items)
            event = _new(ReasoningDelta)  # ReasoningDelta(text=, details=, choice_index=)
            _RD_TEXT(event, text)
            _RD_DETAILS(event, items)
            _RD_CHOICE(event, ci)
            out.append(event)

    def _finish(
        self, choice: dict[str, Any], reason: Any, ci: int, state: _Choice, out: list[StreamEvent]
    ) -> None:
        reason = reason if reason.__class__ is str else as_text(reason)
        state.finish = reason
        self.finished = True
        self._flush_choice(state, ci, out)
        native = choice.get("native_finish_reason")
        if native is not None and native.__class__ is not str:
            native = as_text(native)
        event = Finish(finish_reason=reason, native_finish_reason=native, choice_index=ci)
        self._acc.add(event)
        out.append(event)

    # ---- tool calls
    #
    # The decoder's _Call shares its argument pieces with the accumulator's record of the same
    # call (``call.acc``), so a fragment is stored once and folded without a dispatch.

    def _tool_fragment(
        self, fragment: dict[str, Any], ci: int, state: _Choice, out: list[StreamEvent]
    ) -> None:
        wire_index = fragment.get("index")
        if wire_index.__class__ is not int:
            wire_index = None
        wire_id = fragment.get("id")
        if not wire_id:
            wire_id = None
        elif wire_id.__class__ is not str:
            wire_id = as_text(wire_id)
        name = arguments = None
        function = fragment.get("function")
        if function.__class__ is dict:
            name = function.get("name") or None
            if name is not None and name.__class__ is not str:
                name = as_text(name)
            arguments = function.get("arguments")
        if arguments is None:
            arguments = ""
        elif arguments.__class__ is not str:  # some providers send the object itself
            arguments = as_text(arguments)

        call: _Call | None
        if wire_index is not None:
            call = state.by_wire_index.get(wire_index)
        else:
            call = state.by_wire_id.get(wire_id) if wire_id else None
            if call is None:
                call = state.current
        if (
            call is not None
            and (wire_id is not None or name is not None)
            and _starts_new_call(call, wire_id, name, arguments)
        ):
            call = None

        event: ToolCallDelta
        if call is None:
            self._flush_choice(state, ci, out)  # a new call: the previous ones are whole
            call_id = self._ids.unique(wire_id)
            acc_call = state.acc.call(len(state.calls))
            acc_call.id = call_id
            acc_call.name = name or ""
            call = _Call(len(state.calls), wire_id if call_id == wire_id else None, acc_call)
            state.calls.append(call)
            if wire_index is not None:
                state.by_wire_index[wire_index] = call
            if call.wire_id is not None:
                state.by_wire_id[call.wire_id] = call
            event = ToolCallDelta(
                index=call.index, id=call_id, name=name, arguments=arguments, choice_index=ci
            )
        else:
            acc_call = call.acc
            new_id = new_name = None
            if wire_id is not None and call.wire_id is None and wire_id not in self._ids.used:
                # the provider names the call late: adopt its id
                self._ids.used.add(wire_id)
                acc_call.id = call.wire_id = new_id = wire_id
                state.by_wire_id[wire_id] = call
            if name is not None and not acc_call.name:
                acc_call.name = new_name = name
            if not arguments and new_id is None and new_name is None:
                return  # a repeat of what we know (e.g. the id again, empty arguments)
            if call.done:  # fragments after a Done re-open the call; a new Done follows
                call.done = False
                acc_call.arguments = None
            event = _new(ToolCallDelta)  # ToolCallDelta(index=, id=, name=, arguments=, ...)
            _TD_INDEX(event, call.index)
            _TD_ID(event, new_id)
            _TD_NAME(event, new_name)
            _TD_ARGUMENTS(event, arguments)
            _TD_CHOICE(event, ci)
        if arguments:
            acc_call.parts.append(arguments)
        state.current = call
        out.append(event)

    def _flush_choice(self, state: _Choice, ci: int, out: list[StreamEvent]) -> None:
        for call in state.calls:
            if not call.done:
                call.done = True
                acc_call = call.acc
                arguments = "".join(acc_call.parts)
                if not arguments.strip():
                    arguments = "{}"
                event = ToolCallDone(
                    index=call.index,
                    id=acc_call.id,
                    name=acc_call.name,
                    arguments=arguments,
                    choice_index=ci,
                )
                acc_call.arguments = arguments
                out.append(event)

    def _flush_all(self, out: list[Any]) -> None:
        for ci in sorted(self._choices):
            self._flush_choice(self._choices[ci], ci, out)


def _starts_new_call(call: _Call, wire_id: str | None, name: str | None, arguments: str) -> bool:
    """Whether a fragment that maps onto ``call`` actually begins a different call."""
    if wire_id is not None and call.wire_id is not None:
        return wire_id != call.wire_id
    known = call.acc.name
    if name is not None and known:
        if name != known:
            return True
        # Same name again, no distinguishing id: a second call to the same tool if the first
        # one's arguments are already a complete object and this fragment brings more.
        return bool(arguments) and call.is_complete_object()
    return False


def _structure_usage(usage: dict[str, Any]) -> CompletionUsage:
    try:
        return structure(usage, CompletionUsage)  # null means the default, in the hook
    except Exception:
        # A malformed usage block must not sink a stream whose text already arrived: keep it raw.
        return CompletionUsage(extra=dict(usage))
