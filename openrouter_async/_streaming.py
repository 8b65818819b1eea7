"""The stream object: an async iterator and async context manager over typed delta events.

Pull-based by construction: bytes are read from the socket only inside ``__anext__``, when the
consumer asks and nothing decoded is pending. There is no background reader and no queue, so a
slow consumer leaves bytes in the kernel, aiohttp pauses the transport, and TCP pushes back on
the server. Everything decoded from one network read (a few events at most) is all we hold.

Timeouts are one lazily re-armed timer rather than a ``wait_for`` per read: the hot path only
stores a float, and the timer, when it fires, checks whether its deadline really passed.
Keep-alive comments never move the first-event or idle deadlines.

Cleanup is synchronous (``response.close()``) so it works from ``finally`` under cancellation,
from ``__aexit__`` and from ``__del__``; a half-read connection is always discarded, and only a
body read to its end goes back to the pool.
"""

from __future__ import annotations

import asyncio
import time
import warnings
import weakref
from collections.abc import AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from ._config import RetryPolicy, Timeouts
from ._deadline import DeadlineScope
from ._decode import StreamDecoder
from ._errors import (
    APIError,
    APIStatusError,
    APITimeoutError,
    ClientClosedError,
    ProtocolError,
    StreamError,
)
from ._hooks import CallInfo, Hooks
from ._http import Response, Send, generation_id
from ._retry import Retrier
from ._sse import SSEComment, SSEParser
from ._transport import read_error_body, translate_exception
from .types.chunks import ChatCompletionChunk, chunk_from_wire
from .types.events import KeepAlive, StreamEvent, TextDelta
from .types.responses import ChatCompletion, ResponseInfo, new_response_info

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["ChatStream", "ChunkStream", "Stream"]

E = TypeVar("E")

_NEW, _OPEN, _DONE, _CLOSED = "new", "open", "done", "closed"
#: After [DONE] we read the (tiny) rest of the body so the connection can be reused, but never
#: longer than this, and never more than _DRAIN_BYTES.
_DRAIN_SECONDS = 0.25
_DRAIN_BYTES = 64 * 1024


def _on_timer(ref: weakref.ReferenceType[Stream[Any]]) -> None:
    # A weak reference: a timer must never keep an abandoned stream (and its socket) alive.
    stream = ref()
    if stream is not None:
        stream._timer_fired()


class Stream(Generic[E]):
    """A server-sent event stream of typed events (see :class:`ChatStream`)."""

    # Slots, not a __dict__: a server holding thousands of streams open pays per stream.
    __slots__ = (
        "__weakref__",
        "_accumulate",
        "_call",
        "_deadline",
        "_deadline_kind",
        "_decoder",
        "_deferred",
        "_describe",
        "_emit_chunks",
        "_end_error",
        "_ended",
        "_expired",
        "_first_data_at",
        "_first_data_seen",
        "_hooks",
        "_idle_since",
        "_kind",
        "_loop",
        "_opened_at",
        "_parser",
        "_pending",
        "_response",
        "_retrier",
        "_retry",
        "_send",
        "_state",
        "_timeouts",
        "_timer",
        "_total_deadline",
        "_total_loop",
        "_waiter",
        "response",
    )

    def __init__(
        self,
        send: Send,
        *,
        timeouts: Timeouts,
        retry: RetryPolicy,
        deadline: float | None,
        kind: Literal["chat", "completion"] = "chat",
        describe: str = "stream",
        accumulate: bool = True,
    ) -> None:
        self._send = send
        self._timeouts = timeouts
        self._retry = retry
        self._total_deadline = deadline  # time.monotonic() based, or None
        self._describe = describe
        self._state = _NEW
        self._response: Response | None = None
        self._parser = SSEParser(payloads=True)
        self._decoder = StreamDecoder(kind=kind, accumulate=accumulate)
        # An error found after events were decoded from the same read waits until the
        # consumer has had those events: nothing received is lost.
        self._deferred: BaseException | None = None
        # The events of the last read, in reverse order: the next one is ``pop()`` (O(1)), and
        # an empty list is a tenth of an empty deque's size.
        self._pending: list[Any] = []
        self._emit_chunks = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._deadline = 0.0  # loop time at which the current wait expires (0: none)
        self._deadline_kind = "idle"
        self._waiter: asyncio.Task[Any] | None = None
        self._expired = False
        self._first_data_seen = False
        self._opened_at = 0.0
        self._idle_since: float | None = None
        self._total_loop: float | None = None  # the total deadline in loop time
        self._retrier: Retrier | None = None
        self._kind = kind
        self._accumulate = accumulate
        # Hooks (None when the client has none: then no hook work at all).
        self._hooks: Hooks | None = None
        self._call: CallInfo | None = None
        self._ended = False
        self._end_error: BaseException | None = None
        self._first_data_at: float | None = None
        self.response: ResponseInfo | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self._open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close_now()

    async def aclose(self) -> None:
        """Close the stream and its connection at once (idempotent)."""
        self._close_now()

    @property
    def buffered(self) -> int:
        """How many decoded events wait to be taken: while non-zero, the next ``__anext__``
        returns without touching the network."""
        return len(self._pending) + (self._deferred is not None)

    @property
    def closed(self) -> bool:
        return self._state in (_DONE, _CLOSED)

    @property
    def generation_id(self) -> str | None:
        info = self.response
        return self._decoder.generation_id or (info.generation_id if info else None)

    def __del__(self) -> None:
        if self._state == _OPEN:
            self._close_now()
            warnings.warn(
                f"{type(self).__name__} was garbage collected while open; use `async with` or "
                "`await stream.aclose()` so the connection is closed deterministically",
                ResourceWarning,
                stacklevel=2,
                source=self,
            )

    async def _open(self) -> None:
        if self._state != _NEW:
            if self._state == _CLOSED:
                raise ClientClosedError("This stream is closed")
            return
        self._loop = loop = asyncio.get_running_loop()
        if self._total_deadline is not None:
            self._total_loop = loop.time() + (self._total_deadline - time.monotonic())
        hooks, call = self._hooks, self._call
        on_retry = None
        if hooks is not None and call is not None:
            hooks.emit("request", call)

            def on_retry(error: APIError, wait: float) -> None:
                call.attempts += 1
                hooks.emit("retry", call, error=error, wait=wait)

        self._retrier = Retrier(
            self._retry, deadline=self._total_deadline, describe=self._describe, on_retry=on_retry
        )
        try:
            await self._connect()
        except BaseException as exc:
            if hooks is not None and call is not None:
                self._ended = True
                hooks.emit("error", call, error=exc)
            raise
        if hooks is not None and call is not None:
            info = self.response
            assert info is not None
            hooks.emit("stream_start", call, status=info.status_code, headers=info.headers)

    async def _connect(self) -> None:
        """Send (through the retry engine) and keep the response once its headers are in."""
        assert self._loop is not None
        assert self._retrier is not None
        loop = self._loop
        timeouts = self._timeouts

        async def attempt() -> Any:
            now = loop.time()
            first = now + timeouts.first_event if timeouts.first_event else None
            total = self._total_loop
            total_first = total is not None and (first is None or total < first)
            kind = "total" if total_first else "first_event"
            self._opened_at = now
            with DeadlineScope(_earliest(first, total)):
                response = await self._send()
                try:
                    await _check_event_stream(response)
                except BaseException:
                    response.close()
                    raise
                return response
            raise APITimeoutError("Timed out waiting for the response to begin", kind=kind)

        started = time.monotonic()
        response = await self._retrier.run(attempt)
        self._response = response
        headers = response.headers
        self.response = new_response_info(
            status_code=response.status,
            headers=headers,
            elapsed=time.monotonic() - started,
            generation_id=generation_id(headers),
        )
        self._state = _OPEN

    async def _resend(self, error: StreamError) -> bool:
        """An error event came before any content: re-send through the retry engine when it
        allows (raises ``error`` when it does not). Returns once the new response is open."""
        assert self._retrier is not None
        response, self._response = self._response, None
        if response is not None:
            response.close()  # not _close_now(): the stream goes on, on a new response
        await self._retrier.backoff(error)
        self._parser = SSEParser(payloads=True)
        self._decoder = StreamDecoder(kind=self._kind, accumulate=self._accumulate)
        self._state = _NEW
        await self._connect()
        return True

    def _close_now(self) -> None:
        """Synchronous, never yields: safe in finally, under cancellation and in __del__."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        response, self._response = self._response, None
        if response is not None:
            response.close()
        if self._state != _DONE:
            if self._state == _OPEN and self._hooks is not None:
                self._end("error" if self._end_error is not None else "closed")
            self._state = _CLOSED

    def _end(self, outcome: str) -> None:
        """The one ``stream_end`` hook event of this stream."""
        if self._ended or self._hooks is None or self._call is None:
            return
        self._ended = True
        try:
            completion: Any = self._decoder.partial()
        except Exception:  # what arrived may not fold into a completion; the outcome stands
            completion = None
        first = self._first_data_at
        info = self.response
        self._hooks.emit(
            "stream_end",
            self._call,
            status=info.status_code if info is not None else None,
            headers=info.headers if info is not None else None,
            completion=completion,
            error=self._end_error,
            outcome=outcome,
            time_to_first_token=first - self._call.started_at if first is not None else None,
        )

    def _finish_body(self, response: Response) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._response = None
        self._state = _DONE
        if self._hooks is not None:
            self._end("done")
        if response.at_eof():
            response.release()  # fully read: the connection goes back to the pool
        else:
            response.close()

    # -- timers ----------------------------------------------------------------------------

    def _arm(self) -> None:
        """Set the deadline for the wait that is about to begin (comments never move it)."""
        assert self._loop is not None
        timeouts = self._timeouts
        if not self._first_data_seen:
            base = timeouts.first_event
            when = self._opened_at + base if base else None
            kind = "first_event"
        else:
            if self._idle_since is None:
                # The idle clock starts at the first wait after a data event; keep-alive
                # comments handed to the consumer in between do not restart it.
                self._idle_since = self._loop.time()
            when = self._idle_since + timeouts.idle if timeouts.idle else None
            kind = "idle"
        total = self._total_loop
        if total is not None and (when is None or total < when):
            when, kind = total, "total"
        self._waiter = asyncio.current_task()
        if when is None:
            self._deadline = 0.0
            return
        self._deadline = when
        self._deadline_kind = kind
        timer = self._timer
        if timer is None or timer.when() > when:
            if timer is not None:
                timer.cancel()
            self._timer = self._loop.call_at(when, _on_timer, weakref.ref(self))

    def _timer_fired(self) -> None:
        self._timer = None
        waiter = self._waiter
        if waiter is None or self._deadline == 0.0 or self._loop is None:
            return  # not waiting on the network now: the next wait re-arms
        cancelling = getattr(waiter, "cancelling", None)
        if cancelling is not None and cancelling():
            return  # already being cancelled from outside: that cancellation must win
        if self._loop.time() < self._deadline:
            self._timer = self._loop.call_at(self._deadline, _on_timer, weakref.ref(self))
            return
        self._expired = True
        waiter.cancel()

    # -- iteration -------------------------------------------------------------------------

    def __aiter__(self) -> Stream[E]:
        if self._emit_chunks:
            raise ClientClosedError(
                "this stream is read as chunks (stream.chunks()); iterate that instead"
            )
        return self

    async def __anext__(self) -> E:
        pending = self._pending
        if pending:
            return pending.pop()  # type: ignore[no-any-return]
        if self._deferred is not None:
            error, self._deferred = self._deferred, None
            raise error
        return await self._fill()  # type: ignore[no-any-return]

    _next = __anext__  # for ChunkStream, which reads the same way without the events' type

    async def _fill(self) -> Any:
        if self._state != _OPEN:
            if self._state == _NEW:
                await self._open()
            elif self._state == _DONE:
                raise StopAsyncIteration
            else:
                raise ClientClosedError("This stream is closed")
        response = self._response
        assert response is not None
        read = response.read_chunk
        feed = self._parser.feed
        decoder = self._decoder
        decode = decoder.feed_items
        pending = self._pending  # empty: _fill runs only when nothing is pending
        emit_chunks = self._emit_chunks
        self._arm()
        try:
            while True:
                try:
                    data = await read()
                except asyncio.CancelledError:
                    if self._expired:
                        self._expired = False
                        uncancel = getattr(asyncio.current_task(), "uncancel", None)
                        if uncancel is not None and uncancel() > 0:
                            raise  # cancelled from outside as well: the caller's cancel wins
                        raise self._timeout_error() from None
                    raise
                except APIError:
                    raise
                except Exception as exc:
                    if self._state == _CLOSED:
                        # aclose() from another task (a Stop button): the iteration ends;
                        # nothing was lost that the consumer had not asked to drop.
                        raise StopAsyncIteration from None
                    raise translate_exception(exc) from exc
                try:
                    if emit_chunks:
                        got_data = self._decode_chunks(feed(data))
                    else:
                        # On a StreamError the error chunk's own output is in pending first.
                        got_data = decode(feed(data), pending)
                    if not data and not decoder.done:
                        tail = decoder.finish()  # raises IncompleteStreamError without a finish
                        if not emit_chunks:
                            pending.extend(tail)
                except APIError as error:
                    content = self._first_data_seen or _has_content(pending)
                    if type(error) is StreamError:
                        error.after_content = content
                        if not content:
                            # Nothing reached the consumer: the engine may send it again.
                            pending.clear()
                            await self._resend(error)
                            response = self._response
                            assert response is not None
                            read = response.read_chunk
                            feed = self._parser.feed
                            decoder = self._decoder
                            decode = decoder.feed_items
                            self._arm()
                            continue
                    if not pending:
                        raise
                    self._end_error = error
                    self._close_now()
                    self._deferred = error
                    pending.reverse()
                    return pending.pop()
                if got_data:
                    if not self._first_data_seen:
                        self._first_data_at = time.monotonic()
                    self._first_data_seen = True
                    self._idle_since = None
                if decoder.done:
                    await self._drain_after_done(response)
                elif not data:
                    self._finish_body(response)
                if pending:
                    pending.reverse()
                    return pending.pop()
                if self._state == _DONE:
                    raise StopAsyncIteration
                if got_data:
                    self._arm()
        except BaseException as exc:
            if self._state == _OPEN:
                if type(exc) is not StopAsyncIteration:
                    self._end_error = exc
                self._close_now()
            raise
        finally:
            self._waiter = None
            self._deadline = 0.0

    def _decode_chunks(self, items: list[Any]) -> bool:
        """``stream.chunks()``: one typed chunk per data event (no events, no keep-alives)."""
        decoder = self._decoder
        pending = self._pending
        got = False
        for item in items:
            if type(item) is SSEComment:
                continue
            decoder.feed(item if type(item) is bytes else item.data)
            got = True
            if decoder.last_chunk is not None:  # None for [DONE]
                pending.append(chunk_from_wire(decoder.last_chunk))
            if decoder.done:
                break
        return got

    async def _drain_after_done(self, response: Response) -> None:
        """Read the end of the body after [DONE] so the connection can be reused."""
        self._waiter = None
        self._deadline = 0.0
        if not response.at_eof():
            assert self._loop is not None
            size = 0
            with DeadlineScope(self._loop.time() + _DRAIN_SECONDS):
                try:
                    while size <= _DRAIN_BYTES:
                        chunk = await response.read_chunk()
                        if not chunk:
                            break
                        size += len(chunk)
                except Exception:
                    pass
        self._finish_body(response)

    def _timeout_error(self) -> APITimeoutError:
        kind = self._deadline_kind
        what = {
            "first_event": "the first event",
            "idle": "the next event",
            "total": "the stream to finish (total deadline)",
        }.get(kind, "the server")
        partial = self._decoder.partial() if self._first_data_seen else None
        return APITimeoutError(
            f"Timed out waiting for {what}",
            kind=kind,
            generation_id=self.generation_id,
            partial=partial,
        )

    # -- conveniences ----------------------------------------------------------------------

    def partial(self) -> ChatCompletion:
        """The completion assembled from everything received so far."""
        return self._decoder.partial()

    async def get_final_completion(self) -> ChatCompletion:
        """Consume the rest of the stream and return the whole completion."""
        if self._state == _CLOSED:
            raise ClientClosedError("The stream was closed before it finished")
        self._pending.clear()
        while True:
            try:
                await self.__anext__()
            except StopAsyncIteration:
                break
        if self._state == _CLOSED:
            raise ClientClosedError("The stream was closed before it finished")
        return self._decoder.final()

    async def until_done(self) -> None:
        """Consume the rest of the stream; its errors are raised as iteration would raise them."""
        await self.get_final_completion()

    async def get_final_text(self) -> str:
        """Consume the rest of the stream and return the first choice's text (``""`` if none)."""
        return (await self.get_final_completion()).content or ""

    @property
    def text_stream(self) -> AsyncIterator[str]:
        """Only the text (every ``TextDelta.text``, as it arrives); events are still folded."""
        return self._texts()

    async def _texts(self) -> AsyncIterator[str]:
        async for event in self:
            if isinstance(event, TextDelta):
                yield event.text


class ChatStream(Stream[StreamEvent]):
    """``async with client.chat.completions.stream(...) as stream: async for event in stream``.

    Events are the typed deltas of :mod:`openrouter_async.types.events`. ``text_stream`` yields
    only the text; ``chunks()`` yields the raw chunks as typed objects instead of events;
    ``get_final_completion()`` returns the same shape ``create()`` does.
    """

    __slots__ = ()

    def chunks(self) -> ChunkStream:
        """The typed raw chunks instead of events: ``async for chunk in stream.chunks()``.

        Choose before reading: a stream is read either as events or as chunks, and iterating
        the stream itself after ``chunks()`` raises. ``get_final_completion()`` works after
        either."""
        if self._state not in (_NEW, _OPEN) or self._pending or self._first_data_seen:
            raise ClientClosedError("chunks() must be chosen before the stream's events are read")
        self._emit_chunks = True
        return ChunkStream(self)


class ChunkStream:
    """``stream.chunks()``: an async iterator of :class:`ChatCompletionChunk` over the same
    connection (closing it closes the stream)."""

    __slots__ = ("__weakref__", "_stream")

    def __init__(self, stream: ChatStream) -> None:
        self._stream = stream

    def __aiter__(self) -> ChunkStream:
        return self

    async def __anext__(self) -> ChatCompletionChunk:
        return await self._stream._next()  # type: ignore[return-value]

    async def aclose(self) -> None:
        await self._stream.aclose()


def _has_content(pending: list[Any]) -> bool:
    return any(type(event) is not KeepAlive for event in pending)


async def _check_event_stream(response: Response) -> None:
    """A 200 that is not an event stream (an HTML page, a JSON error envelope) raises the
    error its body describes instead of being read as an empty, truncated stream."""
    content_type = response.content_type
    if content_type in ("text/event-stream", "application/octet-stream", ""):
        return
    from ._error_body import status_error_from_body

    raw = await read_error_body(response)
    error = status_error_from_body(
        response.status, raw, response.headers, content_type=content_type
    )
    if type(error) is APIStatusError:
        # Nothing in the body declared an error: it is simply not the protocol we asked for.
        raise ProtocolError(
            f"Expected an event stream (text/event-stream), got {content_type}: {error.message}"
        )
    raise error


def _earliest(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
