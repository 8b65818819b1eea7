"""Regression tests for the client's edges (issue: never re-bill, only typed errors, bounded):
construction, headers, a caller's session, event loops, cancellation races, stopping a stream
from another task, and the cap on a non-streaming body."""

from __future__ import annotations

import asyncio
import gc
import gzip
import sys
from typing import Any

import aiohttp
import orjson
import pytest

import openrouter_async as ora
from openrouter_async._config import Timeouts
from openrouter_async._deadline import DeadlineScope
from openrouter_async._json import dumps
from tests.integration.recording_server import recording, response

pytestmark = pytest.mark.usefixtures("zero_waits")

MESSAGES = [{"role": "user", "content": "hi"}]
OK = orjson.dumps(
    {
        "id": "gen-1",
        "object": "chat.completion",
        "created": 1,
        "model": "m/x",
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}
        ],
    }
)


# -- construction ----------------------------------------------------------------------------


def test_credentials_in_base_url_are_refused_without_echoing_them() -> None:
    with pytest.raises(ora.RequestValidationError) as info:
        ora.OpenRouter(api_key="k", base_url="https://user:hunter2@openrouter.ai/api/v1")
    assert "hunter2" not in str(info.value)
    assert info.value.path == "base_url"


@pytest.mark.parametrize("url", ["https://open router.ai/api/v1", "https://h:99999/api", "ftp://x"])
def test_malformed_base_urls_are_refused(url: str) -> None:
    with pytest.raises(ora.RequestValidationError):
        ora.OpenRouter(api_key="k", base_url=url)


def test_a_constructor_that_raises_leaves_no_finalizer_noise() -> None:
    seen: list[Any] = []
    old = sys.unraisablehook
    sys.unraisablehook = seen.append
    try:
        with pytest.raises(ora.RequestValidationError):
            ora.OpenRouter(api_key="k", timeout=-1)
        gc.collect()
    finally:
        sys.unraisablehook = old
    assert seen == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Bad Name": "x"},
        {"X-Ok": "a\x7fb"},
        {"X-Ok": "a\x0bb"},
        {"X-Ok": "a\x0cb"},
        {"X-Ok": "a\rb"},
        {"": "x"},
        {"X-Ok:": "x"},
    ],
)
async def test_bad_extra_headers_are_refused_before_sending(headers: dict[str, str]) -> None:
    async with recording(_ok) as (base, rec):
        async with ora.OpenRouter(api_key="k", base_url=base) as client:
            with pytest.raises(ora.RequestValidationError):
                await client.chat.completions.create(
                    model="m/x", messages=MESSAGES, extra_headers=headers
                )
            with pytest.raises(ora.RequestValidationError):
                client.chat.completions.stream(
                    model="m/x", messages=MESSAGES, extra_headers=headers
                )
    assert rec.requests == []


def test_bad_default_header_names_are_refused() -> None:
    with pytest.raises(ora.RequestValidationError):
        ora.OpenRouter(api_key="k", default_headers={"X\nEvil": "1"})


async def _ok(_req: bytes, writer: asyncio.StreamWriter) -> bool:
    writer.write(response(200, OK))
    await writer.drain()
    return True


# -- a caller's session ----------------------------------------------------------------------


async def test_a_callers_raise_for_status_session_still_gets_typed_retried_errors() -> None:
    calls = 0

    async def first_429(_req: bytes, writer: asyncio.StreamWriter) -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:
            body = orjson.dumps({"error": {"code": 429, "message": "slow"}})
            writer.write(response(429, body, headers={"Retry-After": "1"}))
        else:
            writer.write(response(200, OK))
        await writer.drain()
        return True

    async with recording(first_429) as (base, rec):
        async with aiohttp.ClientSession(raise_for_status=True) as session:
            async with ora.OpenRouter(api_key="k", base_url=base, session=session) as client:
                done = await client.chat.completions.create(model="m/x", messages=MESSAGES)
    assert done.choices[0].message.content == "ok"
    assert len(rec.requests) == 2


# -- event loops -----------------------------------------------------------------------------


def test_reuse_in_a_second_event_loop_is_one_clear_error() -> None:
    async def serve_and_call(client: ora.OpenRouter, base_holder: list[str]) -> str | None:
        async with recording(_ok) as (base, _rec):
            base_holder.append(base)
            done = await client.chat.completions.create(model="m/x", messages=MESSAGES)
            return done.choices[0].message.content

    async def main() -> None:
        async with recording(_ok) as (base, _rec):
            client = ora.OpenRouter(api_key="k", base_url=base)
            holder.append(client)
            await client.chat.completions.create(model="m/x", messages=MESSAGES)

    holder: list[ora.OpenRouter] = []
    asyncio.run(main())
    client = holder[0]

    async def again() -> None:
        with pytest.raises(ora.ClientClosedError, match="another event loop"):
            await client.chat.completions.create(model="m/x", messages=MESSAGES)
        await client.aclose()

    asyncio.run(again())


# -- cancellation races ----------------------------------------------------------------------


async def test_outside_cancel_in_the_same_step_as_a_deadline_wins() -> None:
    loop = asyncio.get_running_loop()
    for order in ("deadline-first", "cancel-first"):
        when = loop.time() + 0.05

        async def waiter(when: float = when) -> str:
            with DeadlineScope(when) as scope:
                await asyncio.sleep(5)
            return "expired" if scope.expired else "done"

        task = asyncio.create_task(waiter())
        await asyncio.sleep(0)
        if order == "cancel-first":
            loop.call_at(when - 1e-9, task.cancel)
        else:
            loop.call_at(when + 1e-9, task.cancel)
        # Both callbacks run in the same loop iteration (the clock resolution is far coarser).
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_outside_cancel_in_the_same_step_as_a_stream_timeout_wins() -> None:
    async def silent_stream(_req: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        await writer.drain()
        await asyncio.sleep(10)
        return False

    async with recording(silent_stream) as (base, _rec):
        async with ora.OpenRouter(
            api_key="k", base_url=base, timeout=Timeouts(connect=1, first_event=0.3)
        ) as client:
            stream = client.chat.completions.stream(model="m/x", messages=MESSAGES)
            await stream.__aenter__()

            async def consume() -> None:
                async for _ in stream:
                    pass

            task = asyncio.create_task(consume())
            for _ in range(5):
                await asyncio.sleep(0)
            deadline = stream._deadline
            assert deadline > 0
            asyncio.get_running_loop().call_at(deadline, task.cancel)
            with pytest.raises(asyncio.CancelledError):
                await task
            await stream.aclose()


# -- stopping a stream from another task ------------------------------------------------------


async def test_aclose_from_another_task_ends_the_iteration_without_a_retryable_error() -> None:
    first = orjson.dumps(
        {
            "id": "gen-s",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m/x",
            "choices": [{"index": 0, "delta": {"content": "hello"}, "finish_reason": None}],
        }
    )

    async def one_chunk_then_silence(_req: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        payload = b"data: " + first + b"\n\n"
        writer.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
        await writer.drain()
        await asyncio.sleep(10)
        return False

    async with recording(one_chunk_then_silence) as (base, _rec):
        async with ora.OpenRouter(api_key="k", base_url=base) as client:
            async with client.chat.completions.stream(model="m/x", messages=MESSAGES) as stream:
                got: list[str] = []

                async def consume() -> None:
                    async for text in stream.text_stream:
                        got.append(text)

                task = asyncio.create_task(consume())
                while not got:
                    await asyncio.sleep(0.01)
                await stream.aclose()  # the Stop button
                await asyncio.wait_for(task, timeout=2)  # ends, raises nothing
                assert got == ["hello"]
                assert stream.closed
                assert stream.partial().choices[0].message.content == "hello"
                with pytest.raises(ora.ClientClosedError):
                    await stream.get_final_completion()


# -- bounded bodies --------------------------------------------------------------------------


async def test_a_body_over_the_cap_is_a_typed_error() -> None:
    big = b"{" + b" " * (3 * 1024 * 1024) + b"}"

    async def huge(_req: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(response(200, big))
        await writer.drain()
        return True

    async with recording(huge) as (base, rec):
        async with ora.OpenRouter(
            api_key="k", base_url=base, max_response_bytes=1024 * 1024
        ) as client:
            with pytest.raises(ora.ProtocolError, match="limit"):
                await client.chat.completions.create(model="m/x", messages=MESSAGES)
    assert len(rec.requests) == 1


async def test_a_gzip_bomb_is_a_typed_error() -> None:
    bomb = gzip.compress(b" " * (64 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 200 * 1024

    async def gzipped(_req: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(response(200, bomb, headers={"Content-Encoding": "gzip"}))
        await writer.drain()
        return True

    async with recording(gzipped) as (base, rec):
        async with ora.OpenRouter(
            api_key="k", base_url=base, max_response_bytes=4 * 1024 * 1024
        ) as client:
            with pytest.raises(ora.ProtocolError, match="limit"):
                await client.chat.completions.create(model="m/x", messages=MESSAGES)
    assert len(rec.requests) == 1


def test_max_response_bytes_is_checked() -> None:
    with pytest.raises(ora.RequestValidationError):
        ora.OpenRouter(api_key="k", max_response_bytes=0)


# -- the same body gives the same text through create() and a stream -------------------------


def _deep(levels: int) -> object:
    value: object = 1
    for _ in range(levels):
        value = {"a": value}
    return value


async def test_odd_shapes_become_the_same_text_in_create_and_stream() -> None:
    content = {"k": [1, True, None]}
    arguments = _deep(300)  # past orjson's 254 levels
    message = {
        "role": "assistant",
        "content": content,
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": arguments}}
        ],
    }
    body = dumps(  # the package's encoder: orjson itself stops at 254 levels
        {
            "id": "gen-o",
            "object": "chat.completion",
            "created": 1,
            "model": "m/x",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": message}],
        }
    )
    delta = {**message, "tool_calls": [{"index": 0, **message["tool_calls"][0]}]}  # type: ignore[dict-item]
    sse = (
        b"data: "
        + dumps(
            {
                "id": "gen-o",
                "object": "chat.completion.chunk",
                "created": 1,
                "model": "m/x",
                "choices": [{"index": 0, "delta": delta, "finish_reason": "tool_calls"}],
            }
        )
        + b"\n\ndata: [DONE]\n\n"
    )

    async def serve(req: bytes, writer: asyncio.StreamWriter) -> bool:
        streamed = b'"stream":true' in req
        payload = sse if streamed else body
        writer.write(
            response(
                200, payload, content_type="text/event-stream" if streamed else "application/json"
            )
        )
        await writer.drain()
        return True

    async with recording(serve) as (base, _rec):
        async with ora.OpenRouter(api_key="k", base_url=base) as client:
            done = await client.chat.completions.create(model="m/x", messages=MESSAGES)
            async with client.chat.completions.stream(model="m/x", messages=MESSAGES) as s:
                final = await s.get_final_completion()
    for got in (done, final):
        assert got.choices[0].message.content == '{"k":[1,true,null]}'
        call = got.choices[0].message.tool_calls[0]  # type: ignore[index]
        assert call.function.arguments.startswith('{"a":{"a":')
        assert call.function.arguments.endswith("1" + "}" * 300)
