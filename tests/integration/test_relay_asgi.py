"""The Starlette recipe of docs/relay.md, served by uvicorn on loopback.

The same endpoint as the docs (an unopened SDK stream handed to ``sse_events`` inside a
``StreamingResponse``), read by a plain aiohttp client: events arrive one by one while the
upstream is still streaming, a mid-stream error ends the body with an ``error`` event, and a
browser leaving closes the OpenRouter stream, for a flowing and for a silent upstream.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import orjson
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

import openrouter_async as ora
from openrouter_async.relay import SSE_HEADERS, sse_events
from openrouter_async.testing import Emulator

MESSAGES = [{"role": "user", "content": "hi there"}]
FLOWING = "emulator/lorem:tokens=100000:tps=100"
SILENT = "emulator/lorem:tokens=100:fault=stall(after=3,comments=false)"


def make_app(client: ora.OpenRouter, opened: list[ora.ChatStream]) -> Starlette:
    """The docs' endpoint, on Starlette itself (FastAPI's StreamingResponse is this one)."""

    async def chat(request: Request) -> StreamingResponse:
        body = await request.json()
        stream = client.chat.completions.stream(model=body["model"], messages=body["messages"])
        opened.append(stream)
        events = sse_events(stream, is_disconnected=request.is_disconnected)
        return StreamingResponse(events, headers=dict(SSE_HEADERS))

    return Starlette(routes=[Route("/api/chat", chat, methods=["POST"])])


@asynccontextmanager
async def serve(app: Starlette) -> AsyncIterator[str]:
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, lifespan="off", ws="none", log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # surfaces a failed start
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}/api/chat"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 5.0)


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(api_key="test-key", deterministic=True) as emulator:
        yield emulator


@pytest.fixture
async def client(emu: Emulator) -> AsyncIterator[ora.OpenRouter]:
    async with emu.client(max_retries=0) as c:
        yield c


async def read_event(resp: aiohttp.ClientResponse) -> tuple[str, Any]:
    frame = await resp.content.readuntil(b"\n\n")
    name, data = "", b""
    for line in frame.splitlines():
        if line.startswith(b"event: "):
            name = line[7:].decode()
        elif line.startswith(b"data: "):
            data = line[6:]
    return name, orjson.loads(data) if data else None


async def test_starlette_relays_events_while_the_upstream_streams(
    emu: Emulator, client: ora.OpenRouter
) -> None:
    opened: list[ora.ChatStream] = []
    async with serve(make_app(client, opened)) as url, aiohttp.ClientSession() as session:
        payload = {"model": "emulator/lorem:tokens=40:tps=200", "messages": MESSAGES}
        async with session.post(url, json=payload) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/event-stream")
            names, texts = [], []
            first_at = None
            while True:
                name, data = await read_event(resp)
                names.append(name)
                if name == "text":
                    texts.append(data["text"])
                    if first_at is None:
                        first_at = time.monotonic()
                        record = await emu.wait_for_request("/chat/completions")
                        # The first text is in hand while the upstream is still sending.
                        assert record.disconnected_at is None
                        assert not opened[0].closed
                if name in ("done", "error"):
                    break
    assert names[-1] == "done"
    assert len(texts) >= 3  # one event per delta, not one blob at the end
    assert opened[0].closed


async def test_starlette_mid_stream_error_is_an_error_event(client: ora.OpenRouter) -> None:
    opened: list[ora.ChatStream] = []
    async with serve(make_app(client, opened)) as url, aiohttp.ClientSession() as session:
        model = "emulator/lorem:tokens=50:fault=mid_error(after=5,code=502)"
        async with session.post(url, json={"model": model, "messages": MESSAGES}) as resp:
            events = []
            while True:
                name, data = await read_event(resp)
                events.append((name, data))
                if name in ("done", "error"):
                    break
            assert await resp.content.read() == b""  # the body ends after the error
    name, data = events[-1]
    assert name == "error" and data["code"] == 502
    assert sum(1 for n, _ in events if n == "text") == 5
    assert opened[0].closed


@pytest.mark.parametrize("model", [FLOWING, SILENT], ids=["flowing", "silent"])
async def test_starlette_client_disconnect_closes_the_upstream(
    emu: Emulator, client: ora.OpenRouter, model: str
) -> None:
    opened: list[ora.ChatStream] = []
    async with serve(make_app(client, opened)) as url, aiohttp.ClientSession() as session:
        resp = await session.post(url, json={"model": model, "messages": MESSAGES})
        texts = 0
        while texts < 3:
            if (await read_event(resp))[0] == "text":
                texts += 1
        record = await emu.wait_for_request("/chat/completions")
        await asyncio.sleep(0.05)  # let a silent upstream go quiet
        closed_at = time.monotonic()
        resp.close()  # the browser tab goes away
        disconnected_at = await emu.wait_for_disconnect(record, timeout=2.0)
    # Either uvicorn cancels the body (ASGI < 2.4) or a write fails, or, for the silent
    # upstream, the is_disconnected poll (every 50 ms) notices: well under a second.
    assert disconnected_at - closed_at < 0.5
    assert opened[0].closed
