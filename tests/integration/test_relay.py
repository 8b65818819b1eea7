"""The SSE relay: emulator -> SDK stream -> relay (aiohttp.web) -> raw aiohttp client.

Each test serves a small aiohttp.web app whose handler opens an SDK stream against the
emulator and answers with ``relay_to_aiohttp`` (or writes ``sse_events`` by hand), and reads
the result with a plain ``aiohttp.ClientSession``, parsing it with the package's SSE parser.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web

import openrouter_async as ora
from openrouter_async._sse import SSEComment, SSEEvent, SSEParser
from openrouter_async.relay import SSE_HEADERS, relay_to_aiohttp, sse_events
from openrouter_async.testing import Emulator

MESSAGES = [{"role": "user", "content": "hi there"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
GEN_ID = "gen-1760000000-emu000001"


# --- harness ------------------------------------------------------------------------------


class Counted:
    """Wraps an SDK stream and counts the events the relay pulled from it."""

    def __init__(self, stream: ora.ChatStream) -> None:
        self.stream = stream
        self.pulled = 0

    def __aiter__(self) -> Counted:
        return self

    async def __anext__(self) -> ora.StreamEvent:
        event = await self.stream.__anext__()
        self.pulled += 1
        return event

    async def aclose(self) -> None:
        await self.stream.aclose()

    @property
    def generation_id(self) -> str | None:
        return self.stream.generation_id


class Relay:
    """The relay app: POST /chat {model, extra?} streams that model from the emulator."""

    def __init__(
        self,
        client: ora.OpenRouter,
        *,
        mode: str = "aiohttp",
        heartbeat: float | None = 15.0,
        tune: Callable[[web.Request], None] | None = None,
    ) -> None:
        self.client = client
        self.mode = mode
        self.heartbeat = heartbeat
        self.tune = tune
        self.streams: list[Counted] = []
        self.finished = asyncio.Event()
        self.finished_at: float | None = None
        self.outcome: str | None = None

    async def handler(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        if self.tune is not None:
            self.tune(request)
        stream = Counted(
            self.client.chat.completions.stream(
                model=body["model"], messages=MESSAGES, **body.get("extra", {})
            )
        )
        self.streams.append(stream)
        try:
            if self.mode == "aiohttp":
                response = await relay_to_aiohttp(request, stream, heartbeat=self.heartbeat)
            else:
                response = web.StreamResponse(headers=SSE_HEADERS)
                await response.prepare(request)
                async for data in sse_events(stream, heartbeat=self.heartbeat):
                    await response.write(data)
            self.outcome = "returned"
            return response
        except BaseException as exc:
            self.outcome = type(exc).__name__
            raise
        finally:
            self.finished_at = time.monotonic()
            self.finished.set()


@asynccontextmanager
async def serve(relay: Relay, *, handler_cancellation: bool = True) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/chat", relay.handler)
    runner = web.AppRunner(
        app, handler_cancellation=handler_cancellation, access_log=None, shutdown_timeout=0.5
    )
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/chat"
    finally:
        await runner.cleanup()


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(api_key="test-key", deterministic=True) as emulator:
        yield emulator


@pytest.fixture
async def client(emu: Emulator) -> AsyncIterator[ora.OpenRouter]:
    async with emu.client(max_retries=0) as c:
        yield c


def parse(body: bytes) -> list[tuple[str, Any]]:
    """SSE bytes -> [(event name, parsed JSON)] with comments as ("#", text)."""
    parser = SSEParser()
    items = parser.feed(body) + parser.feed(b"")
    out: list[tuple[str, Any]] = []
    for item in items:
        if isinstance(item, SSEComment):
            out.append(("#", item.text.strip()))
        else:
            assert isinstance(item, SSEEvent)
            out.append((item.event, orjson.loads(item.data)))
    return out


async def fetch(url: str, model: str, **extra: Any) -> tuple[aiohttp.ClientResponse, bytes]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json={"model": model, "extra": extra}) as resp,
    ):
        body = await resp.read()
        return resp, body


async def read_event(resp: aiohttp.ClientResponse) -> bytes:
    return await resp.content.readuntil(b"\n\n")


USAGE_3 = {
    "prompt_tokens": 5,
    "completion_tokens": 3,
    "total_tokens": 8,
    "cost": 1.1e-05,
    "reasoning_tokens": 0,
    "cached_tokens": 0,
}


# --- event sequences ----------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["aiohttp", "neutral"])
async def test_text_stream_exact_events(client: ora.OpenRouter, mode: str) -> None:
    relay = Relay(client, mode=mode)
    async with serve(relay) as url:
        resp, body = await fetch(url, "emulator/lorem:tokens=3")
    assert resp.status == 200
    for name, value in SSE_HEADERS.items():
        assert resp.headers[name] == value
    assert parse(body) == [
        ("#", "OPENROUTER PROCESSING"),
        ("text", {"text": "Lorem", "choice_index": 0}),
        ("text", {"text": " ipsum", "choice_index": 0}),
        ("text", {"text": " dolor", "choice_index": 0}),
        ("finish", {"finish_reason": "stop", "native_finish_reason": "stop", "choice_index": 0}),
        ("usage", USAGE_3),
        ("done", {"generation_id": GEN_ID}),
    ]
    assert relay.streams[0].stream.closed


async def test_reasoning_stream_exact_events(client: ora.OpenRouter) -> None:
    async with serve(Relay(client)) as url:
        _, body = await fetch(url, "emulator/reasoning")
    words = ["The", " user", " wrote", " 2", " words.", " I", " will", " repeat", " them", " back."]
    reasoning = [
        (
            "reasoning",
            {
                "text": w,
                "details": [{"type": "reasoning.text", "text": w, "format": "unknown", "index": 0}],
                "choice_index": 0,
            },
        )
        for w in words
    ]
    assert parse(body) == [
        ("#", "OPENROUTER PROCESSING"),
        *reasoning,
        ("text", {"text": "hi", "choice_index": 0}),
        ("text", {"text": " there", "choice_index": 0}),
        ("finish", {"finish_reason": "stop", "native_finish_reason": "stop", "choice_index": 0}),
        (
            "usage",
            {
                "prompt_tokens": 5,
                "completion_tokens": 12,
                "total_tokens": 17,
                "cost": 2.9e-05,
                "reasoning_tokens": 10,
                "cached_tokens": 0,
            },
        ),
        ("done", {"generation_id": GEN_ID}),
    ]


async def test_tool_stream_exact_events(client: ora.OpenRouter) -> None:
    async with serve(Relay(client)) as url:
        _, body = await fetch(url, "emulator/tools", tools=[WEATHER_TOOL])
    events = parse(body)
    call_id = events[1][1]["id"]
    assert isinstance(call_id, str)
    assert call_id.startswith("call_")
    fragment = {"index": 0, "id": None, "name": None, "choice_index": 0}
    assert events == [
        ("#", "OPENROUTER PROCESSING"),
        (
            "tool_call_delta",
            {"index": 0, "id": call_id, "name": "get_weather", "arguments": "", "choice_index": 0},
        ),
        ("tool_call_delta", {**fragment, "arguments": '{"city":'}),
        ("tool_call_delta", {**fragment, "arguments": '""}'}),
        (
            "tool_call",
            {
                "index": 0,
                "id": call_id,
                "name": "get_weather",
                "arguments": '{"city":""}',
                "choice_index": 0,
            },
        ),
        (
            "finish",
            {
                "finish_reason": "tool_calls",
                "native_finish_reason": "tool_calls",
                "choice_index": 0,
            },
        ),
        ("usage", USAGE_3),
        ("done", {"generation_id": GEN_ID}),
    ]


@pytest.mark.parametrize("mode", ["aiohttp", "neutral"])
async def test_mid_stream_error_becomes_error_event_and_ends(
    client: ora.OpenRouter, mode: str
) -> None:
    relay = Relay(client, mode=mode)
    async with serve(relay) as url:
        _, body = await fetch(
            url, "emulator/lorem:tokens=30:tps=200:fault=mid_error(after=5,code=502)"
        )
    events = parse(body)
    assert [name for name, _ in events] == ["#"] + ["text"] * 5 + ["error"]
    assert events[-1][1] == {
        "code": 502,
        "message": "Provider disconnected unexpectedly",
        "type": "StreamError",
        # Five tokens were already shown: sending again would bill a second generation.
        "retryable": False,
    }
    assert relay.outcome == "returned"
    assert relay.streams[0].stream.closed


async def test_text_arriving_with_the_error_in_one_read_is_relayed(client: ora.OpenRouter) -> None:
    # Events decoded from the same network read as the error come first, then the error.
    async with serve(Relay(client)) as url:
        _, body = await fetch(url, "emulator/lorem:tokens=8:fault=coalesce;mid_error(after=3)")
    assert [name for name, _ in parse(body)] == ["#", "text", "text", "text", "error"]


async def test_error_before_first_event_is_an_error_event(
    emu: Emulator, client: ora.OpenRouter
) -> None:
    emu.fail_next(1, status=429, message="slow down")
    async with serve(Relay(client)) as url:
        resp, body = await fetch(url, "emulator/lorem:tokens=3")
    assert resp.status == 200
    assert parse(body) == [
        (
            "error",
            {"code": 429, "message": "slow down", "type": "RateLimitError", "retryable": True},
        )
    ]


async def test_unexpected_exception_is_reported_without_details(
    client: ora.OpenRouter, caplog: pytest.LogCaptureFixture
) -> None:
    closed = []

    class Broken:
        def __aiter__(self) -> Broken:
            return self

        async def __anext__(self) -> ora.StreamEvent:
            raise RuntimeError("secret internals")

        async def aclose(self) -> None:
            closed.append(True)

    async def handler(request: web.Request) -> web.StreamResponse:
        return await relay_to_aiohttp(request, Broken())

    relay = Relay(client)
    relay.handler = handler  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR, logger="openrouter_async.relay"):
        async with serve(relay) as url:
            _, body = await fetch(url, "x")
    assert b"secret" not in body
    assert parse(body) == [
        (
            "error",
            {
                "code": None,
                "message": "Internal error while relaying the stream",
                "type": "InternalError",
                "retryable": False,
            },
        )
    ]
    assert closed == [True]
    assert any("secret internals" in str(r.exc_info) for r in caplog.records)


# --- heartbeats ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["aiohttp", "neutral"])
async def test_heartbeat_while_upstream_is_silent(client: ora.OpenRouter, mode: str) -> None:
    relay = Relay(client, mode=mode, heartbeat=0.1)
    model = "emulator/lorem:tokens=4:fault=stall(after=2,seconds=0.45,comments=false)"
    async with serve(relay) as url:
        _, body = await fetch(url, model)
    names = [name if name != "#" else f"# {value}" for name, value in parse(body)]
    assert names[:3] == ["# OPENROUTER PROCESSING", "text", "text"]
    beats = names[3 : names.index("text", 3)]
    assert set(beats) == {"# heartbeat"}
    assert 2 <= len(beats) <= 5, names
    assert names[-5:] == ["text", "text", "finish", "usage", "done"]


@pytest.mark.parametrize("mode", ["aiohttp", "neutral"])
async def test_upstream_keepalives_drive_the_heartbeat(client: ora.OpenRouter, mode: str) -> None:
    # The upstream comments every 0.1 s: they are relayed, and the relay adds none of its own.
    relay = Relay(client, mode=mode, heartbeat=0.25)
    model = "emulator/lorem:tokens=4:fault=stall(after=2,seconds=0.6,comments=true,interval=0.1)"
    async with serve(relay) as url:
        _, body = await fetch(url, model)
    comments = [value for name, value in parse(body) if name == "#"]
    assert comments.count("OPENROUTER PROCESSING") >= 5
    assert "heartbeat" not in comments


# --- disconnects --------------------------------------------------------------------------

FLOWING = "emulator/lorem:tokens=100000:tps=100"
SILENT = "emulator/lorem:tokens=100:fault=stall(after=3,comments=false)"


@pytest.mark.parametrize("model", [FLOWING, SILENT], ids=["flowing", "silent"])
@pytest.mark.parametrize(
    ("mode", "handler_cancellation"),
    # A plain iterator learns of a disconnect only from its framework (aiohttp here cancels
    # the handler); the aiohttp relay must cope with and without handler cancellation.
    [("aiohttp", True), ("aiohttp", False), ("neutral", True)],
    ids=["aiohttp-cancel", "aiohttp-no-cancel", "neutral-cancel"],
)
async def test_client_disconnect_closes_upstream_within_100ms(
    emu: Emulator,
    client: ora.OpenRouter,
    caplog: pytest.LogCaptureFixture,
    handler_cancellation: bool,
    model: str,
    mode: str,
) -> None:
    relay = Relay(client, mode=mode)
    async with (
        serve(relay, handler_cancellation=handler_cancellation) as url,
        aiohttp.ClientSession() as session,
    ):
        resp = await session.post(url, json={"model": model})
        texts = 0
        while texts < 3:
            if (await read_event(resp)).startswith(b"event: text"):
                texts += 1
        record = await emu.wait_for_request("/chat/completions")
        await asyncio.sleep(0.05)  # let a silent upstream go quiet
        closed_at = time.monotonic()
        resp.close()  # drops the connection, as a browser tab closing does
        disconnected_at = await emu.wait_for_disconnect(record, timeout=1.0)
        await asyncio.wait_for(relay.finished.wait(), 1.0)
    assert disconnected_at - closed_at < 0.1
    assert relay.streams[0].stream.closed
    if not handler_cancellation:
        assert relay.outcome == "returned"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_sse_events_aclose_closes_upstream(emu: Emulator, client: ora.OpenRouter) -> None:
    stream = client.chat.completions.stream(model=FLOWING, messages=MESSAGES)
    events = sse_events(stream, heartbeat=1.0)
    assert (await events.__anext__()).startswith(b": ")
    assert (await events.__anext__()).startswith(b"event: text\n")
    record = await emu.wait_for_request("/chat/completions")
    closed_at = time.monotonic()
    await events.aclose()  # type: ignore[attr-defined]
    assert stream.closed
    assert await emu.wait_for_disconnect(record, timeout=1.0) - closed_at < 0.1


async def test_sse_events_cancelled_consumer_closes_silent_upstream(
    emu: Emulator, client: ora.OpenRouter
) -> None:
    stream = client.chat.completions.stream(model=SILENT, messages=MESSAGES)
    got: list[bytes] = []

    async def consume() -> None:
        async for data in sse_events(stream, heartbeat=5.0):
            got.append(data)

    before = len(asyncio.all_tasks())
    task = asyncio.create_task(consume())
    record = await emu.wait_for_request("/chat/completions")
    while sum(d.startswith(b"event: text") for d in got) < 3:
        await asyncio.sleep(0.01)
    closed_at = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stream.closed
    assert await emu.wait_for_disconnect(record, timeout=1.0) - closed_at < 0.1
    await asyncio.sleep(0)
    assert len(asyncio.all_tasks()) <= before  # the per-read task did not outlive it


async def test_sse_events_polls_is_disconnected_while_upstream_is_silent(
    emu: Emulator, client: ora.OpenRouter
) -> None:
    # For frameworks that notice a vanished client only when a write fails (Starlette under
    # an ASGI 2.4 server): the iterator asks is_disconnected() while the upstream is silent.
    stream = client.chat.completions.stream(model=SILENT, messages=MESSAGES)
    gone_at: float | None = None

    async def is_disconnected() -> bool:
        return gone_at is not None

    got: list[bytes] = []

    async def consume() -> None:
        async for data in sse_events(stream, heartbeat=None, is_disconnected=is_disconnected):
            got.append(data)

    task = asyncio.create_task(consume())
    record = await emu.wait_for_request("/chat/completions")
    while sum(d.startswith(b"event: text") for d in got) < 3:
        await asyncio.sleep(0.01)
    gone_at = time.monotonic()
    await asyncio.wait_for(task, 1.0)  # the iterator simply ends
    assert stream.closed
    assert await emu.wait_for_disconnect(record, timeout=1.0) - gone_at < 0.1
    assert not [d for d in got if d.startswith((b"event: done", b"event: error"))]


# --- the framework-neutral iterator -------------------------------------------------------


async def test_sse_events_items_are_complete_frames(client: ora.OpenRouter) -> None:
    stream = client.chat.completions.stream(model="emulator/reasoning", messages=MESSAGES)
    items = [item async for item in sse_events(stream)]
    assert stream.closed
    for item in items:
        assert isinstance(item, bytes)
        assert item.endswith(b"\n\n")
        assert b"\n\n" not in item[:-2]  # exactly one event or comment per item
        assert item.startswith((b"event: ", b": "))
        assert b"\r" not in item
        parsed = parse(item)
        assert len(parsed) == 1
    names = [parse(item)[0][0] for item in items]
    assert names == ["#"] + ["reasoning"] * 10 + ["text", "text", "finish", "usage", "done"]
    # byte-for-byte what the aiohttp relay sends for the same request
    async with serve(Relay(client)) as url:
        _, body = await fetch(url, "emulator/reasoning")
    assert parse(b"".join(items))[:-1] == parse(body)[:-1]  # generation ids differ


async def test_sse_events_without_heartbeat_reads_inline(client: ora.OpenRouter) -> None:
    stream = client.chat.completions.stream(model="emulator/lorem:tokens=3", messages=MESSAGES)
    items = [item async for item in sse_events(stream, heartbeat=None)]
    assert [name for name, _ in parse(b"".join(items))] == [
        "#",
        "text",
        "text",
        "text",
        "finish",
        "usage",
        "done",
    ]


# --- backpressure -------------------------------------------------------------------------

SMALL = 4096  # socket buffers and aiohttp buffers on the relay -> reader path
RELAY_SLACK = 64 * 1024  # bytes of encoded events the relay -> reader path may hold


def _small_socket(addr_info: Any) -> socket.socket:
    family, type_, proto, _, _ = addr_info
    sock = socket.socket(family, type_, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL)
    return sock


def _small_server_buffers(request: web.Request) -> None:
    transport = request.transport
    assert transport is not None
    transport.set_write_buffer_limits(high=SMALL)
    transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL)


def _kernel_send_buffer_max() -> int:
    """The most a loopback sender (the emulator) can queue in the kernel (autotuned)."""
    try:
        return int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    except (OSError, IndexError, ValueError):  # not Linux: assume the common default
        return 4 * 1024 * 1024


async def test_slow_reader_keeps_relay_and_upstream_bounded(emu: Emulator) -> None:
    # The SDK's own connection gets small buffers too, so what the emulator may run ahead is
    # its kernel send buffer (autotuned up to tcp_wmem's max) plus a few small buffers.
    upstream = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(socket_factory=_small_socket), read_bufsize=SMALL
    )
    async with upstream, emu.client(session=upstream) as client:
        relay = Relay(client, tune=_small_server_buffers)
        worst_relay = 0
        worst_upstream = 0
        async with (
            serve(relay) as url,
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(socket_factory=_small_socket), read_bufsize=SMALL
            ) as session,
            session.post(url, json={"model": "emulator/lorem:tokens=40000"}) as resp,
        ):
            consumed = 0
            frame = 0
            for i in range(400):
                data = await read_event(resp)
                if data.startswith(b"event: text"):
                    consumed += 1
                    frame = max(frame, len(data) + 8)  # + chunked-encoding framing
                await asyncio.sleep(0.002)
                if i % 50 == 49:
                    record = emu.requests[-1]
                    worst_relay = max(worst_relay, relay.streams[0].pulled - consumed)
                    worst_upstream = max(worst_upstream, record.tokens_sent - consumed)
            record = emu.requests[-1]
            per_token = record.bytes_sent / max(record.tokens_sent, 1)
    # 1. The relay itself: what it pulled but the reader has not consumed fits in the small
    #    relay -> reader buffers (4 KiB transport + kernel send/receive + client reader).
    assert worst_relay * frame <= RELAY_SLACK, (worst_relay, frame)
    # 2. The emulator: the relay's lag plus emulator -> SDK buffering (kernel send buffer max
    #    plus 256 KiB of transport/reader buffers). Far below the 40000 tokens it would send.
    upstream_bound = RELAY_SLACK // frame + (_kernel_send_buffer_max() + 256 * 1024) / per_token
    assert worst_upstream <= upstream_bound, (worst_upstream, upstream_bound)
    assert upstream_bound < 40000 / 2


async def test_slow_reader_check_detects_a_read_ahead_relay(emu: Emulator) -> None:
    """Control: a relay that buffers in a queue pulls everything, so the bound above bites."""
    async with emu.client() as client:
        pulled = 0

        async def handler(request: web.Request) -> web.StreamResponse:
            nonlocal pulled
            _small_server_buffers(request)
            queue: asyncio.Queue[bytes] = asyncio.Queue()
            stream = client.chat.completions.stream(
                model="emulator/lorem:tokens=10000", messages=MESSAGES
            )

            async def pump() -> None:
                nonlocal pulled
                async with stream:
                    async for data in sse_events(stream, heartbeat=None):
                        pulled += 1
                        queue.put_nowait(data)

            task = asyncio.create_task(pump())
            response = web.StreamResponse(headers=SSE_HEADERS)
            await response.prepare(request)
            try:
                while True:
                    await response.write(await queue.get())
            finally:
                task.cancel()

        relay = Relay(client)
        relay.handler = handler  # type: ignore[method-assign]
        async with (
            serve(relay) as url,
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(socket_factory=_small_socket), read_bufsize=SMALL
            ) as session,
            session.post(url, json={}) as resp,
        ):
            for _ in range(200):
                await read_event(resp)
                await asyncio.sleep(0.002)
            assert pulled - 200 > RELAY_SLACK // 50


def test_importing_the_relay_does_not_import_aiohttp_web() -> None:
    code = "import sys, openrouter_async.relay; print('aiohttp.web' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"
