"""Non-streaming create(): error bodies, retries and timeouts against a local server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from aiohttp import web

import openrouter_async as ora
from openrouter_async import _retry
from tests.localserver import serve

pytestmark = pytest.mark.usefixtures("zero_waits")

KEY = "k"
MESSAGES = [{"role": "user", "content": "hello"}]
OK = {
    "id": "gen-ok",
    "object": "chat.completion",
    "created": 1,
    "model": "m/x",
    "choices": [
        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "fine"}}
    ],
}


def scripted(*responses: Callable[[], web.Response] | None) -> tuple[list[float], object]:
    """A handler answering with the given responses in order (None = OK); the last repeats.

    Each entry is a factory: an aiohttp response object can be sent only once.
    """
    calls: list[float] = []

    async def handler(request: web.Request) -> web.Response:
        calls.append(time.monotonic())
        index = min(len(calls) - 1, len(responses) - 1)
        factory = responses[index]
        return factory() if factory is not None else web.json_response(OK)

    return calls, handler


def err(status: int, **headers: str) -> Callable[[], web.Response]:
    return lambda: web.json_response(
        {"error": {"code": status, "message": f"e{status}"}}, status=status, headers=headers
    )


async def run(handler: object, **client_kw: object) -> ora.ChatCompletion:
    async with serve({("POST", "/api/v1/chat/completions"): handler}) as base:  # type: ignore[dict-item]
        async with ora.OpenRouter(api_key=KEY, base_url=base + "/api/v1", **client_kw) as client:  # type: ignore[arg-type]
            return await client.chat.completions.create(model="m/x", messages=MESSAGES)


async def test_retries_503_then_succeeds() -> None:
    calls, handler = scripted(err(503), err(503), None)
    done = await run(handler)
    assert done.choices[0].message.content == "fine"
    assert len(calls) == 3
    assert done.response is not None and done.response.status_code == 200


async def test_gives_up_after_max_retries() -> None:
    calls, handler = scripted(err(502))
    with pytest.raises(ora.APIStatusError) as info:
        await run(handler, max_retries=1)
    assert info.value.status_code == 502
    assert len(calls) == 2


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 413, 422])
async def test_no_retry_on_4xx(status: int) -> None:
    calls, handler = scripted(err(status))
    with pytest.raises(ora.APIStatusError) as info:
        await run(handler)
    assert info.value.status_code == status
    assert len(calls) == 1


async def test_retry_after_honoured_for_real() -> None:
    _retry.set_testing(False)
    calls, handler = scripted(err(429, **{"retry-after-ms": "300"}), None)
    await run(handler)
    assert len(calls) == 2
    assert calls[1] - calls[0] >= 0.28


async def test_retry_after_beyond_cap_raises_at_once() -> None:
    calls, handler = scripted(err(429, **{"Retry-After": "120"}))
    with pytest.raises(ora.RateLimitError) as info:
        await run(handler)
    assert info.value.retry_after == 120
    assert len(calls) == 1


async def test_200_with_error_envelope_raises_typed() -> None:
    body = {"error": {"code": 402, "message": "Insufficient credits"}, "user_id": "u"}
    calls, handler = scripted(lambda: web.json_response(body))
    with pytest.raises(ora.APIStatusError) as info:
        await run(handler)
    assert info.value.code == 402 and "Insufficient credits" in info.value.message


async def test_choice_finish_error_raises_typed() -> None:
    body = dict(OK)
    body["choices"] = [
        {
            "index": 0,
            "finish_reason": "error",
            "message": {"role": "assistant", "content": "partial"},
            "error": {"code": 502, "message": "Provider disconnected"},
        }
    ]
    calls, handler = scripted(lambda: web.json_response(body))
    with pytest.raises(ora.APIStatusError) as info:
        await run(handler)
    assert info.value.code == 502
    assert len(calls) == 1  # a billed generation is never re-sent by the parser


async def test_html_error_page() -> None:
    calls, handler = scripted(
        lambda: web.Response(
            status=524,
            text="<html><title>524: A timeout occurred</title></html>",
            content_type="text/html",
        )
    )
    with pytest.raises(ora.APIStatusError) as info:
        await run(handler, max_retries=0)
    assert info.value.status_code == 524 and "timeout occurred" in info.value.message


async def test_non_json_200_is_protocol_error() -> None:
    calls, handler = scripted(lambda: web.Response(text="<html>oops</html>"))
    with pytest.raises(ora.ProtocolError):
        await run(handler)


async def test_read_timeout_is_not_resent() -> None:
    calls: list[float] = []

    async def stall(request: web.Request) -> web.Response:
        calls.append(time.monotonic())
        await asyncio.sleep(5)
        return web.json_response(OK)

    started = time.monotonic()
    with pytest.raises(ora.APITimeoutError) as info:
        await run(stall, timeout=ora.Timeouts(read=0.3))
    assert info.value.kind == "read"
    assert isinstance(info.value, TimeoutError)
    assert len(calls) == 1
    assert time.monotonic() - started < 2


async def test_read_timeout_resent_when_opted_in() -> None:
    calls: list[float] = []

    async def stall_once(request: web.Request) -> web.Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            await asyncio.sleep(5)
        return web.json_response(OK)

    done = await run(
        stall_once, timeout=ora.Timeouts(read=0.3), retry=ora.RetryPolicy(retry_read_timeouts=True)
    )
    assert done.id == "gen-ok" and len(calls) == 2


async def test_total_deadline() -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response(OK)

    started = time.monotonic()
    with pytest.raises(ora.APITimeoutError) as info:
        await run(slow, timeout=ora.Timeouts(total=0.3))
    assert info.value.kind == "total"
    assert time.monotonic() - started < 2


async def test_connection_refused_is_connection_error() -> None:
    async with ora.OpenRouter(
        api_key=KEY, base_url="http://127.0.0.1:9/api/v1", max_retries=1
    ) as c:
        with pytest.raises(ora.APIConnectionError):
            await c.chat.completions.create(model="m/x", messages=MESSAGES)


async def test_error_body_read_is_bounded() -> None:
    big = b'{"error": {"code": 500, "message": "' + b"x" * (5 * 1024 * 1024) + b'"}}'
    calls, handler = scripted(
        lambda: web.Response(status=500, body=big, content_type="application/json")
    )
    with pytest.raises(ora.InternalServerError) as info:
        await run(handler, max_retries=0)
    # Only the first 64 KiB were read: not JSON any more, but still the right class.
    assert len(info.value.message) < 1000
