"""Writing responses, with the faults applied on the way out.

Three moments matter to a fault: before the status line (``slow``, ``http``, ``html``,
``fail_first``, and for plain JSON replies ``stall``/``drop``), while the body is written
(``split``, ``coalesce``, line endings, ``slow`` body delay), and at a token position inside
a stream (``mid_error``, ``stall``, ``drop``, ``truncate``, ``malformed``, ``huge``). Each
stream event goes out in its own ``resp.write`` unless the request coalesces.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections.abc import Mapping, Sequence
from typing import Protocol

import attrs
from aiohttp import web

from ._context import Ctx, Reply
from ._faults import (
    Coalesce,
    Drop,
    ErrorIn200,
    FailFirst,
    HTMLError,
    HTTPError,
    HugeEvent,
    LineEndings,
    Malformed,
    MidStreamError,
    SlowResponse,
    SplitWrites,
    Stall,
    Truncate,
)
from ._models import Knobs, Plan, Step
from ._wire import DONE, PROCESSING, html_error_page

__all__ = [
    "Dropped",
    "EventSource",
    "Out",
    "StreamOutcome",
    "pre_response",
    "send_body",
    "stream_plan",
]


class Dropped(Exception):
    """The emulator aborted the connection on purpose (a ``drop`` or ``truncate`` fault)."""


def _drop(ctx: Ctx) -> None:
    ctx.dropped = True
    transport = ctx.request.transport
    if transport is not None:
        transport.abort()
    raise Dropped


def _retry_after_headers(seconds: float | None) -> dict[str, str]:
    # Retry-After is whole seconds on the wire (RFC 9110); a fraction goes in the de-facto
    # retry-after-ms header beside a rounded-up Retry-After, as real servers do.
    if seconds is None:
        return {}
    if float(seconds).is_integer():
        return {"Retry-After": str(int(seconds))}
    return {"Retry-After": str(math.ceil(seconds)), "retry-after-ms": str(round(seconds * 1000))}


async def _sleep_or_forever(seconds: float | None) -> None:
    if seconds is None:
        await asyncio.get_running_loop().create_future()  # until cancelled
    elif seconds > 0:
        await asyncio.sleep(seconds)


def _request_key(ctx: Ctx) -> str:
    explicit = ctx.request.headers.get("X-Emulator-Request-Key")
    if explicit:
        return "key:" + explicit
    digest = hashlib.sha256(ctx.raw_body).hexdigest()
    return f"{ctx.request.method} {ctx.request.path} {digest}"


def http_error_reply(ctx: Ctx, fault: HTTPError) -> Reply:
    headers = _retry_after_headers(fault.retry_after)
    return ctx.error(
        fault.status,
        fault.message,
        headers=headers,
        code=fault.code,
        error_type=fault.error_type,
        metadata=fault.metadata,
    )


async def pre_response(ctx: Ctx, *, streaming: bool) -> None:
    """Apply the faults that act before any response byte; raises Reply or Dropped."""
    slow = ctx.find(SlowResponse)
    if slow is not None:
        await _sleep_or_forever(slow.headers)
    for fault in ctx.faults:
        if isinstance(fault, FailFirst):
            key = _request_key(ctx)
            attempt = ctx.emu._attempts.get(key, 0) + 1
            ctx.emu._attempts[key] = attempt
            if attempt <= fault.n:
                raise http_error_reply(ctx, fault.error())
        elif isinstance(fault, HTTPError):
            raise http_error_reply(ctx, fault)
        elif isinstance(fault, HTMLError):
            headers = _retry_after_headers(fault.retry_after)
            resp = web.Response(
                body=html_error_page(fault.status),
                status=fault.status,
                headers=headers,
                content_type="text/html",
                charset="UTF-8",
            )
            raise Reply(resp)
        elif not streaming and isinstance(fault, Stall):
            await _sleep_or_forever(fault.seconds)
        elif not streaming and isinstance(fault, Drop):
            _drop(ctx)


class Out:
    """Writes body bytes: line-ending conversion (SSE only), 1-byte splits, coalescing."""

    def __init__(self, ctx: Ctx, resp: web.StreamResponse, *, sse: bool) -> None:
        self.ctx = ctx
        self.resp = resp
        endings = ctx.find(LineEndings)
        self.newline = endings.newline if (sse and endings is not None) else b"\n"
        self.split = ctx.find(SplitWrites)
        self.coalesce = ctx.emu.coalesce or ctx.find(Coalesce) is not None
        self._buffer = bytearray()

    async def write(self, data: bytes) -> None:
        if self.newline != b"\n":
            data = data.replace(b"\n", self.newline)
        if self.coalesce:
            self._buffer += data
        else:
            await self._emit(data)

    async def flush(self) -> None:
        if self._buffer:
            data = bytes(self._buffer)
            self._buffer.clear()
            await self._emit(data)

    async def _emit(self, data: bytes) -> None:
        record = self.ctx.record
        size = max(self.split.size, 1) if self.split is not None else len(data) or 1
        for start in range(0, len(data), size):
            piece = data[start : start + size]
            await self.resp.write(piece)
            record.writes += 1
            record.bytes_sent += len(piece)
            if self.split is not None:
                # even with no delay, yield so each piece leaves as its own TCP segment
                await asyncio.sleep(self.split.delay)


async def send_body(
    ctx: Ctx,
    body: bytes,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    content_type: str = "application/json",
) -> web.StreamResponse:
    """Send a complete (non-SSE) body, applying slow/split/truncate/malformed faults."""
    if ctx.find(Malformed) is not None:
        body = body[: len(body) // 2]
    resp = web.StreamResponse(status=status, headers=headers)
    resp.content_type = content_type
    resp.content_length = len(body)
    await resp.prepare(ctx.request)
    ctx.record.status = status
    slow = ctx.find(SlowResponse)
    if slow is not None:
        await _sleep_or_forever(slow.body)
    out = Out(ctx, resp, sse=False)
    if ctx.find(Truncate) is not None:
        await out.write(body[: len(body) // 2])
        await out.flush()
        _drop(ctx)
    await out.write(body)
    await out.flush()
    await resp.write_eof()
    return resp


class EventSource(Protocol):
    """Builds the SSE events of one stream (chat or legacy completions)."""

    def role(self) -> bytes | None: ...
    def step(self, step: Step) -> bytes | None: ...
    def finish(self, finish_reason: str) -> bytes: ...
    def usage(self, plan: Plan, generated: int) -> bytes: ...
    def error(self, fault: MidStreamError) -> bytes: ...
    def error_envelope(self, fault: ErrorIn200) -> bytes: ...
    def malformed(self) -> bytes: ...
    def huge(self, size: int) -> bytes: ...


@attrs.define
class StreamOutcome:
    generated: int = 0
    finish_reason: str | None = None
    first_token_at: float | None = None


_POSITIONAL = (MidStreamError, Stall, Drop, Truncate, Malformed, HugeEvent)


async def _stall(out: Out, fault: Stall) -> None:
    await out.flush()
    if not fault.comments:
        await _sleep_or_forever(fault.seconds)
        return
    loop = asyncio.get_running_loop()
    deadline = None if fault.seconds is None else loop.time() + fault.seconds
    interval = max(fault.interval, 0.001)
    while deadline is None or loop.time() < deadline:
        await out.write(PROCESSING)
        await out.flush()
        remaining = interval if deadline is None else min(interval, deadline - loop.time())
        if remaining > 0:
            await asyncio.sleep(remaining)


async def stream_plan(
    ctx: Ctx,
    source: EventSource,
    plan: Plan,
    knobs: Knobs,
    headers: Mapping[str, str],
    outcome: StreamOutcome,
) -> web.StreamResponse:
    """Stream ``plan`` as SSE, one write per event, with positional faults applied.

    ``outcome`` is filled in as tokens go out, so the caller still knows what was generated
    if the client leaves (cancellation) or the stream is dropped.
    """
    record = ctx.record
    resp = web.StreamResponse(status=200, headers=headers)
    resp.content_type = "text/event-stream"
    await resp.prepare(ctx.request)
    record.status = 200
    record.streamed = True
    out = Out(ctx, resp, sse=True)
    slow = ctx.find(SlowResponse)
    if slow is not None:
        await _sleep_or_forever(slow.body)
    for i in range(knobs.comments):
        if i and knobs.interval > 0:
            await out.flush()
            await asyncio.sleep(knobs.interval)
        await out.write(PROCESSING)
    if knobs.latency > 0:
        await out.flush()
        await asyncio.sleep(knobs.latency)
    envelope = ctx.find(ErrorIn200)
    if envelope is not None:
        await out.write(source.error_envelope(envelope))
        await out.flush()
        await resp.write_eof()
        outcome.finish_reason = "error"
        return resp
    role = source.role()
    if role is not None:
        await out.write(role)
    outcome.first_token_at = record.first_token_at = time.monotonic()
    steps: Sequence[Step] = plan.steps
    total = len(steps)
    positional = [f for f in ctx.faults if isinstance(f, _POSITIONAL)]
    for i in range(total + 1):
        for fault in positional:
            if min(fault.after, total) != i:
                continue
            if isinstance(fault, HugeEvent):
                await out.write(source.huge(fault.size))
            elif isinstance(fault, Malformed):
                await out.write(source.malformed())
            elif isinstance(fault, Stall):
                await _stall(out, fault)
            elif isinstance(fault, MidStreamError):
                await out.write(source.error(fault))
                if fault.done:
                    await out.write(DONE)
                await out.flush()
                await resp.write_eof()
                outcome.finish_reason = "error"
                return resp
            elif isinstance(fault, Truncate):
                await out.flush()
                await resp.write_eof()
                return resp
            else:  # Drop
                await out.flush()
                _drop(ctx)
        if i == total:
            break
        event = source.step(steps[i])
        if event is not None:
            await out.write(event)
        outcome.generated = record.tokens_sent = i + 1
        if knobs.tps:
            await out.flush()
            await asyncio.sleep(1.0 / knobs.tps)
    await out.write(source.finish(plan.finish_reason))
    await out.write(source.usage(plan, outcome.generated))
    await out.write(DONE)
    await out.flush()
    await resp.write_eof()
    outcome.finish_reason = plan.finish_reason
    return resp
