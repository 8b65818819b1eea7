"""Relay an SDK stream to a browser as server-sent events (``text/event-stream``).

Two entry points share one encoding (``_relay_encode``; event names and payloads are listed
there and in ``docs/relay.md``):

* :func:`relay_to_aiohttp` answers an aiohttp.web request with the relay and returns the
  ``StreamResponse``;
* :func:`sse_events` is an async iterator of SSE-encoded ``bytes`` for any other framework
  (Starlette/FastAPI ``StreamingResponse``, Quart, a raw ASGI app…).

Why it is built this way:

* **Backpressure.** One upstream event is read, encoded, written, and the write is drained
  before the next one is read. aiohttp's ``response.write`` only drains once 64 KiB have
  accumulated, so :func:`relay_to_aiohttp` also awaits ``request.writer.drain()`` (a no-op
  unless the socket is backed up). A slow browser therefore leaves bytes in the kernel and the
  SDK stops reading from OpenRouter: nothing is buffered here beyond one event.
* **Heartbeats without read-ahead.** Upstream ``KeepAlive`` events become comments as they
  arrive. The relay adds its own ``: heartbeat`` only while waiting for the upstream, after
  ``heartbeat`` seconds without a write. In aiohttp the handler task awaits the upstream read
  directly (no task per event); one periodic loop timer writes the heartbeat in a short task
  of its own (one per heartbeat, not per event). A plain async iterator cannot yield while it
  awaits, so :func:`sse_events` reads through a task when heartbeats are on: one per
  network read, since events already decoded from that read are taken inline. (Measured on
  an in-memory stream: ~50 µs per task against ~5 µs per inline event; at real token rates
  that is well under 1% of a core per stream.)
* **Disconnects.** The upstream stream is closed in ``finally`` on every path. aiohttp with
  ``handler_cancellation=True`` cancels the handler when the browser leaves; without it a
  write raises ``ConnectionResetError``, and a silent upstream would go unnoticed, so the same
  timer checks ``request.transport`` every ``disconnect_poll`` seconds while waiting and
  cancels the read itself. Either way the upstream is closed within ~50 ms. The neutral
  iterator relies on its framework cancelling or closing it, or polls ``is_disconnected``.
* **aiohttp is imported lazily** (inside :func:`relay_to_aiohttp`): this integration module is
  the documented exception to "aiohttp only in ``_transport`` and ``testing/``", and importing
  it (or the package) must not pull in aiohttp.web.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from ._errors import OpenRouterError
from ._relay_encode import (
    EVENT_NAMES,
    HEARTBEAT,
    SSE_HEADERS,
    encode_done,
    encode_error,
    encode_event,
)
from ._streaming import Stream
from .types.events import StreamEvent

if TYPE_CHECKING:
    from aiohttp import web

__all__ = ["EVENT_NAMES", "SSE_HEADERS", "relay_to_aiohttp", "sse_events"]

logger = logging.getLogger("openrouter_async.relay")

#: How often (seconds) relay_to_aiohttp checks for a vanished browser while the upstream is
#: silent. 50 ms keeps "browser left -> upstream closed" well under 100 ms.
DISCONNECT_POLL = 0.05


def _generation_id(stream: object) -> str | None:
    value = getattr(stream, "generation_id", None)
    return value if isinstance(value, str) else None


async def _close_upstream(stream: object) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()


def _log_unexpected(exc: BaseException) -> None:
    if not isinstance(exc, OpenRouterError):
        logger.error("unexpected error while relaying a stream", exc_info=exc)


def _has_buffered(iterator: object) -> bool:
    """Whether an SDK stream holds decoded events, so its next read cannot block.

    Events decoded from one network read wait in the stream's queue; reading those inline
    saves the per-read task (about 50 µs) for all but the first.
    """
    return isinstance(iterator, Stream) and iterator.buffered > 0


async def _next_event(iterator: AsyncIterator[StreamEvent]) -> tuple[bool, StreamEvent | None]:
    # A Task cannot end with StopAsyncIteration cleanly, so the end is a flag.
    try:
        return True, await iterator.__anext__()
    except StopAsyncIteration:
        return False, None


async def sse_events(
    stream: AsyncIterable[StreamEvent],
    *,
    heartbeat: float | None = 15.0,
    is_disconnected: Callable[[], Awaitable[bool]] | None = None,
    disconnect_poll: float = DISCONNECT_POLL,
) -> AsyncIterator[bytes]:
    """Encode ``stream`` as SSE, one ``bytes`` item per event (framework-neutral).

    Every item is one complete SSE event or comment. A successful stream ends with a ``done``
    event; an error (before or during the stream) becomes one ``error`` event, and the
    iterator ends. ``heartbeat`` seconds of upstream silence yield a ``: heartbeat`` comment
    (``None`` or ``0``: never).

    The upstream is closed (``aclose()``) when the iterator ends, fails, or is closed or
    cancelled, so pass a stream that has not been entered with ``async with`` if the framework
    iterates after your endpoint returns (Starlette does); it is opened on the first read.
    Frameworks that cancel the body iterator when the client leaves get an immediate close.
    For those that only notice on the next write, pass ``is_disconnected`` (Starlette:
    ``request.is_disconnected``): it is polled every ``disconnect_poll`` seconds while the
    upstream is silent, and a True ends the iterator and closes the upstream.

    The consumer sets the pace: the next upstream event is read only after the previous item
    was taken.
    """
    iterator = stream.__aiter__()
    read: asyncio.Task[tuple[bool, StreamEvent | None]] | None = None
    try:
        try:
            if not heartbeat and is_disconnected is None:
                async for event in iterator:
                    data = encode_event(event)
                    if data is not None:
                        yield data
            else:
                # A generator cannot yield while suspended in a read, so a read that may block
                # runs in a task (one per network read) and we wait on it with a timeout.
                loop = asyncio.get_running_loop()
                last_write = loop.time()
                while True:
                    if _has_buffered(iterator):
                        # Decoded events are waiting: __anext__ returns without suspending.
                        try:
                            ready = await iterator.__anext__()
                        except StopAsyncIteration:
                            break
                        data = encode_event(ready)
                        if data is not None:
                            yield data
                            last_write = loop.time()
                        continue
                    read = loop.create_task(_next_event(iterator))
                    while not read.done():
                        now = loop.time()
                        until_beat = last_write + heartbeat - now if heartbeat else math.inf
                        if until_beat <= 0:
                            yield HEARTBEAT
                            last_write = loop.time()
                            continue
                        if is_disconnected is None:
                            await asyncio.wait((read,), timeout=until_beat)
                            continue
                        await asyncio.wait((read,), timeout=min(until_beat, disconnect_poll))
                        if not read.done() and await is_disconnected():
                            return  # the finally below closes the upstream
                    more, item = read.result()
                    read = None
                    if not more:
                        break
                    data = encode_event(item)
                    if data is not None:
                        yield data
                        last_write = loop.time()
        except Exception as exc:
            _log_unexpected(exc)
            yield encode_error(exc)
            return
        yield encode_done(_generation_id(stream))
    finally:
        if read is not None:
            if read.done():
                if not read.cancelled():
                    read.exception()  # retrieved: never "exception was never retrieved"
            else:
                read.cancel()
        await _close_upstream(stream)


class _Watch:
    """The relay's one timer: heartbeats and disconnect checks while the upstream is silent.

    ``waiting`` is True only while the handler task is suspended in the upstream read; the
    timer acts only then, so it never races the handler's own writes (a heartbeat task that
    is still writing is awaited before the next event is written).
    """

    def __init__(
        self,
        request: web.Request,
        response: web.StreamResponse,
        task: asyncio.Task[Any] | None,
        heartbeat: float | None,
        poll: float | None,
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.request = request
        self.response = response
        self.task = task
        self.heartbeat = heartbeat or None
        self.poll = poll or None
        intervals = [x for x in (self.heartbeat, self.poll) if x is not None]
        self.interval = min(intervals) if intervals else None
        self.waiting = False
        self.gone = False
        self.cancelled_task = False
        self.last_write = self.loop.time()
        self._timer: asyncio.TimerHandle | None = None
        self._beat: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.interval is not None:
            self._timer = self.loop.call_later(self.interval, self._tick)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        beat, self._beat = self._beat, None
        if beat is not None and not beat.done():
            beat.cancel()

    def client_gone(self) -> bool:
        transport = self.request.transport
        if transport is None or transport.is_closing():
            self.gone = True
        return self.gone

    def _tick(self) -> None:
        self._timer = None
        if self.poll is not None and self.client_gone():
            if self.waiting and self.task is not None and not self.cancelled_task:
                self.cancelled_task = True
                self.task.cancel()
            return  # the handler sees ``gone`` (or the cancellation) and finishes
        if (
            self.waiting
            and self.heartbeat is not None
            and self.loop.time() - self.last_write >= self.heartbeat
            and (self._beat is None or self._beat.done())
        ):
            self.last_write = self.loop.time()
            self._beat = self.loop.create_task(self._write(HEARTBEAT))
            self._beat.add_done_callback(_retrieve)
        assert self.interval is not None
        self._timer = self.loop.call_later(self.interval, self._tick)

    async def _write(self, data: bytes) -> None:
        await self.response.write(data)
        await self.request.writer.drain()  # response.write alone drains only every 64 KiB

    async def write(self, data: bytes) -> None:
        beat = self._beat
        if beat is not None:
            self._beat = None
            await beat  # keep bytes in order; raises if the heartbeat hit a closed socket
        await self._write(data)
        self.last_write = self.loop.time()


def _retrieve(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()


def _uncancel_is_final(task: asyncio.Task[Any] | None) -> bool:
    """Undo our own ``task.cancel()``; False if someone else cancelled the task too."""
    uncancel = getattr(task, "uncancel", None)  # Python 3.11+
    return uncancel is None or uncancel() == 0


async def relay_to_aiohttp(
    request: web.Request,
    stream: AsyncIterable[StreamEvent],
    *,
    heartbeat: float | None = 15.0,
    disconnect_poll: float | None = DISCONNECT_POLL,
    headers: Mapping[str, str] | None = None,
) -> web.StreamResponse:
    """Answer ``request`` with ``stream`` relayed as ``text/event-stream``; return the response.

    ``return await relay_to_aiohttp(request, stream)`` from an aiohttp.web handler. The response
    (status 200, headers ``Cache-Control: no-cache``, ``X-Accel-Buffering: no``,
    ``Connection: keep-alive``, plus ``headers``) starts at once; every typed event becomes
    one named SSE event (see ``docs/relay.md``); a successful stream ends with ``done``, any
    error (including one opening the stream, such as a 401 or 429) with one ``error`` event.

    The upstream stream is always closed before this returns. When the browser goes away it
    is closed within ~``disconnect_poll`` seconds even if the upstream is silent; with
    ``handler_cancellation=True`` on the ``AppRunner``/``run_app`` (recommended) aiohttp
    cancels the handler and the close is immediate, and the cancellation propagates as usual.
    ``disconnect_poll=None`` turns the polling off (only safe with handler cancellation).
    ``heartbeat`` seconds of silence send a ``: heartbeat`` comment (``None``: never).
    """
    from aiohttp import web

    response = web.StreamResponse(status=200, headers={**SSE_HEADERS, **(headers or {})})
    task = asyncio.current_task()
    watch = _Watch(request, response, task, heartbeat, disconnect_poll)
    iterator = stream.__aiter__()
    try:
        try:
            await response.prepare(request)
            watch.start()
            while not watch.gone:
                watch.waiting = True
                try:
                    event = await iterator.__anext__()
                    data = encode_event(event)  # inside: a failure here is an error event too
                except StopAsyncIteration:
                    break
                except asyncio.CancelledError:
                    if watch.cancelled_task and _uncancel_is_final(task):
                        return response  # our own cancel: the browser left
                    raise
                except Exception as exc:
                    watch.waiting = False
                    _log_unexpected(exc)
                    await watch.write(encode_error(exc))
                    await response.write_eof()
                    return response
                finally:
                    watch.waiting = False
                if data is not None:
                    await watch.write(data)
            else:
                return response  # noticed between events: the browser left
            await watch.write(encode_done(_generation_id(stream)))
            await response.write_eof()
        except ConnectionError:
            # A write found the browser gone (no handler cancellation configured).
            watch.gone = True
    finally:
        watch.stop()
        await _close_upstream(stream)
    return response
