"""Streams against hand-made loopback servers: endings, errors, timeouts, cleanup."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Callable

import orjson
import pytest
from aiohttp import web

import openrouter_async as ora
from tests.localserver import serve

MESSAGES = [{"role": "user", "content": "hello"}]


def chunk(content: str | None = None, finish: str | None = None, **extra: object) -> bytes:
    delta: dict[str, object] = {"role": "assistant"}
    if content is not None:
        delta["content"] = content
    body = {
        "id": "gen-s1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m/x",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }
    return b"data: " + orjson.dumps(body) + b"\n\n"


class Server:
    """A streaming handler driven by a script, which records when the client went away."""

    def __init__(self, script: Callable[[web.StreamResponse], Awaitable[None]]) -> None:
        self.script = script
        self.disconnected_at: float | None = None
        self.disconnected = asyncio.Event()
        self.requests = 0

    async def handler(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "X-Generation-Id": "gen-s1"}
        )
        await response.prepare(request)
        try:
            await self.script(response)
        except (asyncio.CancelledError, ConnectionResetError):
            self.disconnected_at = time.monotonic()
            self.disconnected.set()
            raise
        return response


async def endless(response: web.StreamResponse) -> None:
    await response.write(b": OPENROUTER PROCESSING\n\n")
    for i in range(100000):
        await response.write(chunk(f"tok{i} "))
        await asyncio.sleep(0.001)


async def open_client(base: str, **kw: object) -> ora.OpenRouter:
    return ora.OpenRouter(api_key="k", base_url=base + "/api/v1", **kw)  # type: ignore[arg-type]


async def with_server(script: Callable[[web.StreamResponse], Awaitable[None]]):  # type: ignore[no-untyped-def]
    server = Server(script)
    return server, serve({("POST", "/api/v1/chat/completions"): server.handler})


async def test_break_closes_connection_quickly_without_gc() -> None:
    server, ctx = await with_server(endless)
    async with ctx as base, await open_client(base) as client:
        gc.disable()
        try:
            with pytest.warns(ResourceWarning):
                stream = client.chat.completions.stream(model="m/x", messages=MESSAGES)
                async for event in stream:
                    if isinstance(event, ora.TextDelta):
                        break
                broke_at = time.monotonic()
                del stream  # dropped while open: refcounting alone must close the socket
            await asyncio.wait_for(server.disconnected.wait(), 1)
        finally:
            gc.enable()
    assert server.disconnected_at is not None
    assert server.disconnected_at - broke_at < 0.1


async def test_async_with_break_closes_quickly() -> None:
    server, ctx = await with_server(endless)
    async with ctx as base, await open_client(base) as client:
        async with client.chat.completions.stream(model="m/x", messages=MESSAGES) as stream:
            async for event in stream:
                if isinstance(event, ora.TextDelta):
                    break
        left = time.monotonic()
        await asyncio.wait_for(server.disconnected.wait(), 1)
    assert server.disconnected_at is not None and server.disconnected_at - left < 0.1


async def test_task_cancellation_closes_quickly() -> None:
    server, ctx = await with_server(endless)
    async with ctx as base, await open_client(base) as client:
        started = asyncio.Event()

        async def consume() -> None:
            async with client.chat.completions.stream(model="m/x", messages=MESSAGES) as stream:
                async for _ in stream:
                    started.set()

        task = asyncio.create_task(consume())
        await started.wait()
        task.cancel()
        cancelled = time.monotonic()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.wait_for(server.disconnected.wait(), 1)
    assert server.disconnected_at is not None and server.disconnected_at - cancelled < 0.1


async def test_comment_only_stall_hits_idle_timeout() -> None:
    async def stall(response: web.StreamResponse) -> None:
        await response.write(chunk("first "))
        for _ in range(1000):
            await response.write(b": OPENROUTER PROCESSING\n\n")
            await asyncio.sleep(0.05)

    server, ctx = await with_server(stall)
    async with ctx as base, await open_client(base, timeout=ora.Timeouts(idle=0.4)) as client:
        texts: list[str] = []
        keepalives = 0
        started = time.monotonic()
        with pytest.raises(ora.APITimeoutError) as info:
            async with client.chat.completions.stream(model="m/x", messages=MESSAGES) as stream:
                async for event in stream:
                    if isinstance(event, ora.TextDelta):
                        texts.append(event.text)
                    elif isinstance(event, ora.KeepAlive):
                        keepalives += 1
        elapsed = time.monotonic() - started
        await asyncio.wait_for(server.disconnected.wait(), 1)
    assert info.value.kind == "idle"
    assert texts == ["first "]
    assert keepalives >= 3  # comments arrived, and did not reset the idle clock
    assert 0.35 < elapsed < 1.5
    assert info.value.partial is not None
    assert info.value.partial.choices[0].message.content == "first "


async def test_first_event_timeout_with_only_comments() -> None:
    async def think(response: web.StreamResponse) -> None:
        for _ in range(1000):
            await response.write(b": OPENROUTER PROCESSING\n\n")
            await asyncio.sleep(0.05)

    server, ctx = await with_server(think)
    async with (
        ctx as base,
        await open_client(base, timeout=ora.Timeouts(first_event=0.3)) as client,
    ):
        with pytest.raises(ora.APITimeoutError) as info:
            async with client.chat.completions.stream(model="m/x", messages=MESSAGES) as stream:
                async for _ in stream:
                    pass
    assert info.value.kind == "first_event"


async def test_total_deadline_fires_while_blocked() -> None:
    async def silent(response: web.StreamResponse) -> None:
        await response.write(chunk("a"))
        await asyncio.sleep(30)

    server, ctx = await with_server(silent)
    async with ctx as base, await open_client(base, timeout=ora.Timeouts(total=0.4)) as client:
        started = time.monotonic()
        with pytest.raises(ora.APITimeoutError) as info:
            async with client.chat.completions.stream(model="m/x", messages=MESSAGES) as stream:
                async for _ in stream:
                    pass
    assert info.value.kind == "total"
    assert time.monotonic() - started < 1.5


async def test_mid_stream_error_chunk() -> None:
    async def fail(response: web.StreamResponse) -> None:
        await response.write(chunk("The first three steps are"))
        error = {
            "id": "gen-s1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m/x",
            "error": {
                "code": 502,
                "message": "Provider disconnected",
                "metadata": {"error_type": "provider_unavailable"},
            },
            "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
        }
        await response.write(b"data: " + orjson.dumps(error) + b"\n\n")

    server, ctx = await with_server(fail)
    async with ctx as base, await open_client(base) as client:
        with pytest.raises(ora.StreamError) as info:
            async with client.chat.completions.stream(model="m/x", messages=MESSAGES) as stream:
                async for _ in stream:
                    pass
    err = info.value
    # Content had arrived: the generation is billed, so re-sending is never "safe".
    assert err.code == 502 and err.after_content and not err.retryable
    assert err.error_type == "provider_unavailable"
    assert err.generation_id == "gen-s1"
    assert (
        err.partial is not None
        and err.partial.choices[0].message.content == "The first three steps are"
    )
    assert server.requests == 1  # never silently re-sent


async def test_eof_without_done_or_finish_is_truncation() -> None:
    async def truncated(response: web.StreamResponse) -> None:
        await response.write(chunk("Hello "))
        await response.write(chunk("wor"))

    server, ctx = await with_server(truncated)
    async with ctx as base, await open_client(base) as client:
        seen: list[str] = []
        with pytest.raises(ora.IncompleteStreamError) as info:
            async with client.chat.completions.stream(model="m/x", messages=MESSAGES) as stream:
                async for event in stream:
                    if isinstance(event, ora.TextDelta):
                        seen.append(event.text)
    assert seen == ["Hello ", "wor"]  # nothing already received is lost
    assert info.value.partial is not None
    assert info.value.partial.choices[0].message.content == "Hello wor"


async def test_eof_after_finish_without_done_completes() -> None:
    async def no_done(response: web.StreamResponse) -> None:
        await response.write(chunk("Hi"))
        await response.write(chunk("", finish="stop"))

    server, ctx = await with_server(no_done)
    async with ctx as base, await open_client(base) as client:
        async with client.chat.completions.stream(model="m/x", messages=MESSAGES) as stream:
            final = await stream.get_final_completion()
    assert final.choices[0].message.content == "Hi"
    assert final.choices[0].finish_reason == "stop"


async def test_connection_reused_after_done() -> None:
    async def normal(response: web.StreamResponse) -> None:
        await response.write(chunk("Hi"))
        await response.write(chunk("", finish="stop"))
        await response.write(b"data: [DONE]\n\n")

    ports: list[object] = []

    server = Server(normal)

    async def handler(request: web.Request) -> web.StreamResponse:
        ports.append(request.transport.get_extra_info("peername") if request.transport else None)
        return await server.handler(request)

    async with serve({("POST", "/api/v1/chat/completions"): handler}) as base:
        async with await open_client(base) as client:
            for _ in range(3):
                async with client.chat.completions.stream(model="m/x", messages=MESSAGES) as stream:
                    text = "".join([t async for t in stream.text_stream])
                assert text == "Hi"
    assert len(ports) == 3 and len(set(ports)) == 1  # one pooled connection served all three


async def test_many_abandoned_streams_leave_nothing_open() -> None:
    server, ctx = await with_server(endless)
    async with ctx as base:
        client = await open_client(base, limits=ora.PoolLimits(total=0))
        async with client:
            for _ in range(500):
                async with client.chat.completions.stream(model="m/x", messages=MESSAGES) as stream:
                    async for _ in stream:
                        break
            connector = client._transport.session.connector
            assert connector is not None
            await asyncio.sleep(0.05)
            assert len(connector._acquired) == 0  # nothing checked out
            assert sum(len(v) for v in connector._conns.values()) == 0  # half-read: never pooled
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        # Only the server's own handler tasks may remain, and they are finishing.
        assert all("handler" in repr(t) or "RequestHandler" in repr(t) for t in pending), pending
