"""The README's failure-point table, row by row, against a server that counts what it receives.

Every row: where the request failed -> how many requests the server saw with the default
policy (``max_retries=2``) and, where it differs, with ``retry_read_timeouts=True``. A request
the server may have served is a billed generation; these counts are the promise.
"""

from __future__ import annotations

import asyncio
import gzip

import orjson
import pytest

import openrouter_async as ora
from openrouter_async._config import PoolLimits, RetryPolicy, Timeouts
from tests.integration.recording_server import recording, reset, response

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
RETRIES = 2


def client(base: str, **kw: object) -> ora.OpenRouter:
    kw.setdefault("timeout", Timeouts(connect=2, read=2, first_event=2, idle=2))
    return ora.OpenRouter(api_key="k", base_url=base, max_retries=RETRIES, **kw)  # type: ignore[arg-type]


async def create(base: str, **kw: object) -> ora.ChatCompletion:
    async with client(base, **kw) as c:
        return await c.chat.completions.create(model="m/x", messages=MESSAGES)


async def stream_text(base: str, **kw: object) -> str:
    async with client(base, **kw) as c:
        async with c.chat.completions.stream(model="m/x", messages=MESSAGES) as s:
            return "".join([t async for t in s.text_stream])


# -- behaviours --------------------------------------------------------------------------


async def close_before_status(_req: bytes, writer: asyncio.StreamWriter) -> bool:
    writer.close()
    return False


async def reset_before_status(_req: bytes, writer: asyncio.StreamWriter) -> bool:
    reset(writer)
    return False


def status(code: int, body: dict[str, object] | None = None, **headers: str):
    payload = orjson.dumps(body or {"error": {"code": code, "message": f"e{code}"}})

    async def behaviour(_req: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(response(code, payload, headers=headers))
        await writer.drain()
        return True

    return behaviour


async def ok_then_reset_mid_body(_req: bytes, writer: asyncio.StreamWriter) -> bool:
    writer.write(response(200, OK[:20], length=len(OK)))
    await writer.drain()
    await asyncio.sleep(0.05)
    reset(writer)
    return False


async def ok_corrupt_gzip(_req: bytes, writer: asyncio.StreamWriter) -> bool:
    body = gzip.compress(OK)[:-12] + b"garbage-bytes"
    writer.write(response(200, body, headers={"Content-Encoding": "gzip"}))
    await writer.drain()
    return True


async def garbage_status_line(_req: bytes, writer: asyncio.StreamWriter) -> bool:
    writer.write(b"HTTP/1.1 abc nonsense\r\n\r\n")
    await writer.drain()
    writer.close()
    return False


def sse(*events: bytes, done: bool = True):
    body = b"".join(b"data: " + e + b"\n\n" for e in events) + (
        b"data: [DONE]\n\n" if done else b""
    )

    async def behaviour(_req: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(response(200, body, content_type="text/event-stream"))
        await writer.drain()
        return True

    return behaviour


def chunk(content: str) -> bytes:
    return orjson.dumps(
        {
            "id": "gen-s",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m/x",
            "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": None}],
        }
    )


def error_event(code: int) -> bytes:
    return orjson.dumps(
        {
            "id": "gen-s",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m/x",
            "error": {"code": code, "message": "overloaded"},
            "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
        }
    )


# -- possibly served: written, no response byte ----------------------------------------------


@pytest.mark.parametrize("behaviour", [close_before_status, reset_before_status])
async def test_possibly_served_is_sent_once(behaviour) -> None:
    async with recording(behaviour) as (base, rec):
        with pytest.raises(ora.APIConnectionError) as info:
            await create(base)
    assert len(rec.requests) == 1
    assert info.value.failure_point == "possibly_served"
    assert not info.value.retryable


@pytest.mark.parametrize("behaviour", [close_before_status, reset_before_status])
async def test_possibly_served_stream_is_sent_once(behaviour) -> None:
    async with recording(behaviour) as (base, rec):
        with pytest.raises(ora.APIConnectionError):
            await stream_text(base)
    assert len(rec.requests) == 1


async def test_possibly_served_is_resent_only_on_opt_in() -> None:
    async with recording(close_before_status) as (base, rec):
        with pytest.raises(ora.APIConnectionError):
            await create(base, retry=RetryPolicy(max_retries=RETRIES, retry_read_timeouts=True))
    assert len(rec.requests) == 1 + RETRIES


async def test_silent_server_read_timeout_is_sent_once() -> None:
    async def silent(_req: bytes, _writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(30)
        return False

    async with recording(silent) as (base, rec):
        with pytest.raises(ora.APITimeoutError) as info:
            await create(base, timeout=Timeouts(connect=1, read=0.2))
    assert len(rec.requests) == 1
    assert info.value.kind == "read" and info.value.failure_point == "possibly_served"


# -- served: a status line arrived ---------------------------------------------------------


@pytest.mark.parametrize("code", [408, 429, 500, 502, 503, 504, 524, 529])
async def test_declared_transient_statuses_are_retried(code: int) -> None:
    async with recording(status(code)) as (base, rec):
        with pytest.raises(ora.APIStatusError) as info:
            await create(base)
    assert len(rec.requests) == 1 + RETRIES
    assert info.value.status_code == code


@pytest.mark.parametrize("code", [400, 401, 402, 403, 404, 409, 413, 422])
async def test_other_4xx_are_sent_once_whatever_the_body_says(code: int) -> None:
    body = {
        "error": {
            "code": code,
            "message": "no",
            "metadata": {"availability": {"retryable": True, "retry_after": 0}},
        }
    }
    async with recording(status(code, body)) as (base, rec):
        with pytest.raises(ora.APIStatusError):
            await create(base)
    assert len(rec.requests) == 1


@pytest.mark.parametrize("behaviour", [ok_then_reset_mid_body, ok_corrupt_gzip])
async def test_a_200_whose_body_breaks_is_sent_once(behaviour) -> None:
    async with recording(behaviour) as (base, rec):
        with pytest.raises(ora.APIError) as info:
            await create(base, retry=RetryPolicy(max_retries=RETRIES, retry_read_timeouts=True))
    assert len(rec.requests) == 1
    assert info.value.failure_point == "served"
    assert not info.value.retryable


async def test_a_200_whose_body_breaks_is_sent_once_in_a_batch() -> None:
    async with recording(ok_then_reset_mid_body) as (base, rec):
        async with client(base) as c:
            results = [r async for r in c.batch([{"model": "m/x", "messages": MESSAGES}])]
    assert len(rec.requests) == 1
    assert results[0].attempts == 1
    assert isinstance(results[0].error, ora.APIConnectionError)


async def test_a_broken_status_line_is_sent_once() -> None:
    async with recording(garbage_status_line) as (base, rec):
        with pytest.raises(ora.ProtocolError):
            await create(base)
    assert len(rec.requests) == 1


async def test_a_200_error_envelope_with_a_transient_code_is_retried() -> None:
    envelope = {"error": {"code": 503, "message": "no provider"}}
    async with recording(status(200, envelope)) as (base, rec):
        with pytest.raises(ora.ServiceUnavailableError):
            await create(base)
    assert len(rec.requests) == 1 + RETRIES


async def test_a_200_error_envelope_with_a_4xx_code_is_sent_once() -> None:
    envelope = {"error": {"code": 400, "message": "bad"}}
    async with recording(status(200, envelope)) as (base, rec):
        with pytest.raises(ora.BadRequestError):
            await create(base)
    assert len(rec.requests) == 1


# -- streams ---------------------------------------------------------------------------------


async def test_stream_error_event_before_content_is_resent() -> None:
    calls = 0

    async def behaviour(req: bytes, writer: asyncio.StreamWriter) -> bool:
        nonlocal calls
        calls += 1
        inner = sse(error_event(503), done=False) if calls == 1 else sse(chunk("hello"))
        return await inner(req, writer)

    async with recording(behaviour) as (base, rec):
        assert await stream_text(base) == "hello"
    assert len(rec.requests) == 2


async def test_stream_error_event_before_content_gives_up_after_the_budget() -> None:
    async with recording(sse(error_event(503), done=False)) as (base, rec):
        with pytest.raises(ora.StreamError) as info:
            await stream_text(base)
    assert len(rec.requests) == 1 + RETRIES
    assert not info.value.after_content


async def test_stream_error_event_after_content_is_never_resent() -> None:
    async with recording(sse(chunk("partial"), error_event(503), done=False)) as (base, rec):
        async with client(base) as c:
            got: list[str] = []
            with pytest.raises(ora.StreamError) as info:
                async with c.chat.completions.stream(model="m/x", messages=MESSAGES) as s:
                    async for text in s.text_stream:
                        got.append(text)
    assert len(rec.requests) == 1
    assert got == ["partial"]  # what arrived was delivered before the error
    assert info.value.after_content and not info.value.retryable


async def test_truncated_stream_is_never_resent() -> None:
    async with recording(sse(chunk("partial"), done=False)) as (base, rec):
        with pytest.raises(ora.IncompleteStreamError):
            await stream_text(
                base, retry=RetryPolicy(max_retries=RETRIES, retry_read_timeouts=True)
            )
    assert len(rec.requests) == 1


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"<html><title>Bad gateway page</title></html>", "text/html", ora.ProtocolError),
        (
            orjson.dumps({"error": {"code": 402, "message": "Insufficient credits"}}),
            "application/json",
            ora.PaymentRequiredError,
        ),
    ],
)
async def test_stream_answered_with_something_else_raises_what_the_body_says(
    body: bytes, content_type: str, expected: type[Exception]
) -> None:
    async def behaviour(_req: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(response(200, body, content_type=content_type))
        await writer.drain()
        return True

    async with recording(behaviour) as (base, rec):
        with pytest.raises(expected) as info:
            await stream_text(base)
    assert len(rec.requests) == 1
    text = str(info.value)
    assert "Bad gateway page" in text or "Insufficient credits" in text


# -- not sent ------------------------------------------------------------------------------


async def test_tls_failure_is_not_sent_and_retried() -> None:
    # A plain-TCP server behind an https URL: the handshake fails before any HTTP is written.
    async with recording(close_before_status) as (base, rec):
        with pytest.raises(ora.APIConnectionError) as info:
            await create(base.replace("http://", "https://"))
    assert info.value.failure_point == "not_sent"
    assert rec.requests == []
    assert rec.connections == 1 + RETRIES


async def test_a_full_pool_is_bounded_by_the_connect_timeout() -> None:
    release = asyncio.Event()

    async def slow(_req: bytes, writer: asyncio.StreamWriter) -> bool:
        await release.wait()
        writer.write(response(200, OK))
        await writer.drain()
        return True

    async with recording(slow) as (base, rec):
        async with client(
            base, limits=PoolLimits(total=1), timeout=Timeouts(connect=0.2, read=5)
        ) as c:
            first = asyncio.create_task(c.chat.completions.create(model="m/x", messages=MESSAGES))
            while not rec.requests:
                await asyncio.sleep(0.01)
            with pytest.raises(ora.APITimeoutError) as info:
                await asyncio.wait_for(
                    c.chat.completions.create(model="m/x", messages=MESSAGES), timeout=5
                )
            release.set()
            assert (await first).choices[0].message.content == "ok"
    assert info.value.kind == "connect" and info.value.failure_point == "not_sent"
    assert len(rec.requests) == 1  # the waiting request never reached the server
