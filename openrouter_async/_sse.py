"""Sans-IO parser for Server-Sent Events (WHATWG ``text/event-stream``): bytes in, events out.

Why it is built this way:

* **No I/O.** :meth:`SSEParser.feed` takes whatever bytes the network produced (``b""`` means end of
  input) and returns the events those bytes completed. The async layer is a short loop around it,
  and every edge case is testable without an event loop.
* **Lines are split on bytes, per chunk.** Only the bytes ``\\r`` and ``\\n`` end a line, so U+2028,
  U+2029 and U+0085 inside a value stay where they are (``bytes.splitlines`` splits on exactly CR,
  LF and CRLF; ``str.splitlines`` would not). Each chunk is split once; its unterminated tail is
  kept as a list of pieces and joined once when its line ends, so feeding one byte at a time stays
  linear and nothing already searched is searched again. A CR that ends a chunk is a complete line
  end; a LF opening the next chunk is then dropped rather than read as an empty line.
* **Decoding happens per complete line, with replacement.** Values are decoded only after their line
  is complete, so a multi-byte character split across chunks is never damaged. Invalid UTF-8 becomes
  U+FFFD (``errors="replace"``), as the WHATWG decoder does: arbitrary bytes never raise. ``data``
  values are kept as bytes and decoded once per event; since CR, LF, ``:`` and space are ASCII and
  never part of a multi-byte sequence, this gives exactly the per-line result.
* **The buffer is bounded.** The bytes held for one unfinished event (its ``data`` values plus the
  current line) may not exceed ``max_event_bytes``; past that, :class:`ProtocolError`. Whether the
  cap trips does not depend on how the stream was chunked. :class:`ProtocolError` is the only
  exception ``feed`` raises, for any input.
* **The common case is a fast path.** OpenRouter sends ``data: {json}``, a blank line, and now and
  then a ``: OPENROUTER PROCESSING`` comment. A chunk without a line end costs two ``memchr``
  calls and an append; a ``data: `` line followed by a blank line becomes an event straight away
  (one slice, one decode, no list of values); the general field logic (``event``, ``id``,
  ``retry``, ``data:`` without its space, multi-line data) runs only for other lines; and the
  size cap is checked per line only when a chunk could possibly exceed it.
  ``benchmarks/parser_micro.py`` keeps it within 2x of a bare ``find(b"\\n\\n")`` loop. In payload
  mode a chunk that is only such events (and the start of the next line) is split whole, in C:
  no Python runs per event at all.
* **A stream that needs only the data can skip the event object.** With ``payloads=True`` an
  event whose block set no ``event``, ``id`` or ``retry`` field is dispatched as its raw ``data``
  bytes (lines joined with LF, not decoded): a JSON parser takes the bytes directly, and an
  ``SSEEvent`` plus a decode per event were a third of the parser's cost per streamed token.
  Events with fields are still :class:`SSEEvent`; ``last_event_id`` keeps the id either way.
"""

from __future__ import annotations

from typing import Any, NoReturn, final

from ._errors import ProtocolError

__all__ = ["SSEComment", "SSEEvent", "SSEParser"]

_BOM = b"\xef\xbb\xbf"
_MAX_RETRY_DIGITS = 18


@final
class SSEEvent:
    """One dispatched event.

    ``data`` is the event's ``data`` lines joined with ``"\\n"``; ``event`` is its type
    (``"message"`` when it had no ``event`` field); ``id`` is the stream's last event id at dispatch
    (it persists across events); ``retry`` is the reconnection time in milliseconds given by a valid
    ``retry`` field inside this event's block, else ``None``.

    Treat it as read-only. It is a plain slotted class rather than a frozen one because the parser
    builds one per event on the streaming hot path, and a frozen ``__init__`` costs several times
    as much; like any mutable value with ``==``, it is unhashable.
    """

    __slots__ = ("data", "event", "id", "retry")

    __match_args__ = ("data", "event", "id", "retry")

    data: str
    event: str
    id: str | None
    retry: int | None

    def __init__(
        self,
        data: str = "",
        event: str = "message",
        id: str | None = None,
        retry: int | None = None,
    ) -> None:
        self.data = data
        self.event = event
        self.id = id
        self.retry = retry

    def __eq__(self, other: object) -> bool:
        if type(other) is not SSEEvent:
            return NotImplemented
        return (self.data, self.event, self.id, self.retry) == (
            other.data,
            other.event,
            other.id,
            other.retry,
        )

    def __repr__(self) -> str:
        return (
            f"SSEEvent(data={self.data!r}, event={self.event!r}, id={self.id!r}, "
            f"retry={self.retry!r})"
        )


@final
class SSEComment:
    """A comment line (it starts with ``:``); servers send them as keep-alives.

    ``text`` is what follows the colon, with one leading space removed.
    """

    __slots__ = ("text",)

    __match_args__ = ("text",)

    text: str

    def __init__(self, text: str = "") -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        if type(other) is not SSEComment:
            return NotImplemented
        return self.text == other.text

    def __repr__(self) -> str:
        return f"SSEComment(text={self.text!r})"


class SSEParser:
    """Incremental ``text/event-stream`` parser.

    Call :meth:`feed` with each chunk of the response body and once with ``b""`` at the end. An
    event left unfinished at the end of input is discarded, as the standard requires.

    ``payloads=True``: an event with no ``event``, ``id`` or ``retry`` field in its block comes
    out as its undecoded ``data`` bytes instead of an :class:`SSEEvent` (``event`` would be
    ``"message"``, ``retry`` ``None``, ``data`` those bytes decoded with replacement).
    """

    __slots__ = (
        "_at_start",
        "_closed",
        "_data",
        "_event_fields",
        "_event_retry",
        "_event_type",
        "_held",
        "_last_event_id",
        "_max",
        "_payloads",
        "_pending",
        "_pending_len",
        "_retry",
        "_skip_lf",
    )

    def __init__(self, *, max_event_bytes: int = 32 * 1024 * 1024, payloads: bool = False) -> None:
        if max_event_bytes < 1:
            raise ValueError("max_event_bytes must be positive")
        self._max = max_event_bytes
        self._payloads = payloads
        # Unterminated tail of the input: pieces joined once, when their line ends.
        self._pending: list[bytes] = []
        self._pending_len = 0
        # Still looking at the first bytes of the stream for a byte order mark.
        self._at_start = True
        # The previous chunk ended in CR: a LF opening the next one belongs to that line end.
        self._skip_lf = False
        self._closed = False
        # The event being built: raw ``data`` values and their total size, its type and retry.
        self._data: list[bytes] = []
        self._held = 0
        self._event_type = "message"
        self._event_retry: int | None = None
        # An ``event``, ``id`` or ``retry`` field was seen since the last blank line.
        self._event_fields = False
        self._last_event_id: str | None = None
        self._retry: int | None = None

    @property
    def last_event_id(self) -> str | None:
        """The last event id the stream set (``None`` until an ``id`` field arrives)."""
        return self._last_event_id

    @property
    def retry(self) -> int | None:
        """The latest reconnection time (ms) the stream asked for, dispatched or not."""
        return self._retry

    def feed(self, data: bytes) -> list[SSEEvent | SSEComment | bytes]:
        """Parse ``data``; return the events and comments it completed, in order.

        ``b""`` marks the end of input. Raises :class:`ProtocolError` when an unfinished event
        grows past ``max_event_bytes``, or when called again after the end of input or an error.
        """
        if self._closed:
            raise ProtocolError("SSE parser was fed after the end of the stream")
        if not data:
            return self._end()
        if self._skip_lf:
            self._skip_lf = False
            if data[0] == 0x0A:
                data = data[1:]
                if not data:
                    return []
        if self._at_start:
            data = self._strip_bom(data)
            if not data:
                return []

        if self._payloads and not (self._data or self._event_fields):
            out = self._payload_run(data)
            if out is not None:
                return out
        return self._feed_lines(data)

    # -- internals ---------------------------------------------------------------------------

    def _feed_lines(self, data: bytes) -> list[SSEEvent | SSEComment | bytes]:
        """The line loop: any non-empty chunk, in any state."""
        pending = self._pending
        # (Membership of an int is a plain memchr; of a bytes needle it is far slower.)
        if 0x0A not in data and 0x0D not in data:
            # No line ends here: only remember the bytes (joined once, when the line ends).
            pending.append(data)
            self._pending_len += len(data)
            if self._held + self._pending_len > self._max:
                self._fail()
            return []
        lines = data.splitlines()
        last = data[-1]
        tail = None
        if last == 0x0D:
            self._skip_lf = True
        elif last != 0x0A:
            tail = lines.pop()  # the chunk ends inside a line
        size = len(data)
        if pending:
            # The first line of this chunk finishes the line earlier chunks began.
            size += self._pending_len
            pending.append(lines[0])
            lines[0] = b"".join(pending)
            pending.clear()
            self._pending_len = 0
        out = self._lines(lines, size)
        if tail is not None:
            pending.append(tail)
            self._pending_len += len(tail)
            if self._held + self._pending_len > self._max:
                self._fail()
        return out

    def _payload_run(self, data: bytes) -> list[SSEEvent | SSEComment | bytes] | None:
        """The whole chunk in a few C calls when it is a run of ``data: value`` + blank line
        events, then at most an unterminated line; ``None`` (nothing consumed) otherwise.

        Called only in payload mode between events (no data, ``event``, ``id`` or ``retry``
        field held), with the BOM and a CR line end behind us. The result is exactly what the
        line loop gives: the run splits on ``\\n\\ndata: ``, and no value then holds a LF,
        the chunk no CR and its tail no line end (so the tail is what ``pending`` holds in the
        line loop too). The per-event Python of the line loop was two thirds of its cost.
        """
        end = data.rfind(b"\n\n")
        if end < 0 or 0x0D in data or 0x0A in data[end + 2 :]:
            return None
        pending = self._pending
        if not pending and data[:6] != b"data: ":
            # Comments (keep-alives) or another event first: the line loop takes them, up to
            # the blank line before the first data line, and the run goes on from there.
            start = data.find(b"\n\ndata: ") + 2
            if start < 2:
                return None
            out = self._feed_lines(data[:start])
            data = data[start:]
            rest_out = None
            if not (self._data or self._event_fields or self._pending):
                rest_out = self._payload_run(data)
            return out + (self._feed_lines(data) if rest_out is None else rest_out)
        run = data[:end]
        if pending:
            run = b"".join(pending) + run
        if len(run) > self._max:
            return None  # the line loop applies the cap event by event
        values: list[Any] = run.split(b"\n\ndata: ")
        first = values[0]
        if first[:6] != b"data: ":
            return None
        values[0] = first[6:]
        if 0x0A in b"".join(values):
            return None  # some event is more than one ``data: `` line
        pending.clear()
        rest = data[end + 2 :]
        self._pending_len = len(rest)
        if rest:
            pending.append(rest)
            if self._held + self._pending_len > self._max:
                self._fail()
        return values

    def _strip_bom(self, data: bytes) -> bytes:
        # The BOM may arrive split over the first chunks: hold up to two bytes until it is clear.
        if self._pending:
            data = b"".join(self._pending) + data
            self._pending.clear()
            self._pending_len = 0
        if len(data) < 3 and _BOM.startswith(data):
            self._pending.append(data)
            self._pending_len = len(data)
            return b""
        self._at_start = False
        if data.startswith(_BOM):
            return data[3:]
        return data

    def _fail(self) -> NoReturn:
        self._closed = True
        self._pending.clear()
        self._data.clear()
        raise ProtocolError(f"SSE event exceeds max_event_bytes ({self._max} bytes)")

    def _end(self) -> list[SSEEvent | SSEComment | bytes]:
        # Per the standard, a partial line and an undispatched event at the end are dropped.
        self._closed = True
        self._pending.clear()
        self._pending_len = 0
        self._data.clear()
        self._held = 0
        return []

    def _lines(self, lines: list[bytes], size: int) -> list[SSEEvent | SSEComment | bytes]:
        """Apply complete lines (terminators removed) to the parser state.

        ``size`` bounds the bytes of ``lines``: when the event held so far plus ``size`` fits the
        cap, no line can break it, and the per-line checks are skipped.
        """
        out: list[SSEEvent | SSEComment | bytes] = []
        parts = self._data
        cap = self._max
        held = self._held
        check = held + size > cap
        start = len(parts)  # parts[start:] were added by this call
        payloads = self._payloads
        append = out.append
        lines_iter = iter(lines)
        for line in lines_iter:
            if not parts and line[:6] == b"data: ":
                # Fast path: ``data: value`` then a blank line, the whole of a typical event.
                if check and len(line) > cap:
                    self._fail()
                following = next(lines_iter, None)
                if following == b"":
                    if self._event_fields:
                        append(self._event(line[6:]))
                    elif payloads:
                        append(line[6:])
                    else:
                        append(
                            SSEEvent(
                                line[6:].decode("utf-8", "replace"),
                                "message",
                                self._last_event_id,
                            )
                        )
                    continue
                value = line[6:]
                parts.append(value)
                if check:
                    held += len(value)
                if following is None:
                    break
                line = following  # not blank: handle it below
            if not line:
                # A blank line dispatches the event, when it has data.
                if parts:
                    data = parts[0] if len(parts) == 1 else b"\n".join(parts)
                    parts.clear()
                    held = start = 0
                    if payloads and not self._event_fields:
                        out.append(data)
                    else:
                        out.append(self._event(data))
                elif self._event_fields:
                    self._reset_event_fields()
                continue
            if check and held + len(line) > cap:
                self._fail()
            if line[:6] == b"data: ":
                value = line[6:]
            elif line[0] == 0x3A:  # ":" opens a comment
                comment = line[2:] if line[1:2] == b" " else line[1:]
                out.append(SSEComment(comment.decode("utf-8", "replace")))
                continue
            else:
                colon = line.find(b":")
                if colon < 0:
                    name = line
                    value = b""
                else:
                    name = line[:colon]
                    colon += 1
                    value = line[colon + 1 :] if line[colon : colon + 1] == b" " else line[colon:]
                if name != b"data":
                    self._field(name, value)
                    continue
            parts.append(value)
            if check:
                held += len(value)
        if parts and not check:
            held += sum(map(len, parts[start:]) if start else map(len, parts))
        self._held = held if parts else 0
        return out

    def _event(self, data: bytes) -> SSEEvent:
        """Dispatch the event being built, with its fields (and reset them)."""
        event = SSEEvent(
            data.decode("utf-8", "replace"),
            self._event_type,
            self._last_event_id,
            self._event_retry,
        )
        if self._event_fields:
            self._reset_event_fields()
        return event

    def _reset_event_fields(self) -> None:
        self._event_fields = False
        self._event_type = "message"
        self._event_retry = None

    def _field(self, name: bytes, value: bytes) -> None:
        if name == b"event":
            self._event_type = value.decode("utf-8", "replace") or "message"
            self._event_fields = True
        elif name == b"id":
            if 0 not in value:
                self._last_event_id = value.decode("utf-8", "replace")
                self._event_fields = True
        elif name == b"retry" and value.isdigit():  # bytes.isdigit: ASCII only, never empty
            digits = value.lstrip(b"0") or b"0"
            # More than 18 digits (~30 million years) means nothing a client could honour, and
            # int() refuses past 4,300 digits: such a value is ignored like a malformed one.
            if len(digits) <= _MAX_RETRY_DIGITS:
                self._retry = self._event_retry = int(digits)
                self._event_fields = True
        # Any other field name is ignored, as the standard says.
