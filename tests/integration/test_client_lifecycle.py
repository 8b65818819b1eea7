"""The client's lifecycle state machine, settings and secrets."""

from __future__ import annotations

import gc
import logging

import aiohttp
import pytest
from aiohttp import web

import openrouter_async as ora
from openrouter_async._client import ClientState
from tests.localserver import serve

KEY = "sk-or-v1-TOPSECRET-0123456789"


async def ok_completion(request: web.Request) -> web.Response:
    return web.json_response(
        {
            "id": "gen-1",
            "object": "chat.completion",
            "created": 1,
            "model": "m/x",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "hi"},
                }
            ],
        },
        headers={"X-Generation-Id": "gen-1"},
    )


MESSAGES = [{"role": "user", "content": "hello"}]


async def test_double_close_and_use_after_close() -> None:
    client = ora.OpenRouter(api_key=KEY, base_url="http://127.0.0.1:9/api/v1")
    assert client.state is ClientState.UNOPENED
    async with client:
        assert client.state is ClientState.OPEN
    assert client.state is ClientState.CLOSED
    await client.aclose()  # idempotent
    with pytest.raises(ora.ClientClosedError):
        await client.chat.completions.create(model="m/x", messages=MESSAGES)
    with pytest.raises(ora.ClientClosedError):
        client.chat.completions.stream(model="m/x", messages=MESSAGES)
    with pytest.raises(ora.ClientClosedError):
        async with client:
            pass


async def test_dropped_open_client_warns_and_drops_sockets() -> None:
    async with serve({("POST", "/api/v1/chat/completions"): ok_completion}) as base:
        client = ora.OpenRouter(api_key=KEY, base_url=base + "/api/v1")
        await client.chat.completions.create(model="m/x", messages=MESSAGES)
        session = client._transport._session
        assert session is not None
        with pytest.warns(ResourceWarning, match="aclose"):
            del client
            gc.collect()
        assert session.closed


async def test_caller_session_is_never_closed() -> None:
    async with serve({("POST", "/api/v1/chat/completions"): ok_completion}) as base:
        async with aiohttp.ClientSession() as session:
            async with ora.OpenRouter(api_key=KEY, base_url=base + "/api/v1", session=session) as c:
                done = await c.chat.completions.create(model="m/x", messages=MESSAGES)
                assert done.choices[0].message.content == "hi"
            assert not session.closed


async def test_missing_key_is_clear_at_first_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    async with ora.OpenRouter(base_url="http://127.0.0.1:9/api/v1") as client:
        with pytest.raises(ora.MissingAPIKeyError, match="OPENROUTER_API_KEY"):
            await client.chat.completions.create(model="m/x", messages=MESSAGES)


async def test_key_absent_from_repr_logs_and_errors(caplog: pytest.LogCaptureFixture) -> None:
    async def unauthorized(request: web.Request) -> web.Response:
        assert request.headers["Authorization"] == f"Bearer {KEY}"
        return web.json_response({"error": {"code": 401, "message": "No auth"}}, status=401)

    caplog.set_level(logging.DEBUG, logger="openrouter_async")
    async with serve({("POST", "/api/v1/chat/completions"): unauthorized}) as base:
        async with ora.OpenRouter(api_key=KEY, base_url=base + "/api/v1") as client:
            assert KEY not in repr(client) and KEY not in str(client.config)
            with pytest.raises(ora.AuthenticationError) as info:
                await client.chat.completions.create(model="m/x", messages=MESSAGES)
    err = info.value
    assert KEY not in str(err) and KEY not in repr(err) and KEY not in repr(err.headers)
    assert caplog.records, "debug logging should record the request"
    assert all(KEY not in r.getMessage() for r in caplog.records)


async def test_headers_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, str] = {}

    async def capture(request: web.Request) -> web.Response:
        seen.update(request.headers)
        return await ok_completion(request)

    monkeypatch.setenv("OPENROUTER_API_KEY", KEY)
    async with serve({("POST", "/api/v1/chat/completions"): capture}) as base:
        monkeypatch.setenv("OPENROUTER_BASE_URL", base + "/api/v1")
        async with ora.OpenRouter(
            app_url="https://my.app", app_title="My App", default_headers={"X-Custom": "1"}
        ) as client:
            await client.chat.completions.create(
                model="m/x", messages=MESSAGES, extra_headers={"X-OpenRouter-Cache": "true"}
            )
    assert seen["Authorization"] == f"Bearer {KEY}"
    assert seen["HTTP-Referer"] == "https://my.app"
    assert seen["X-OpenRouter-Title"] == "My App" and seen["X-Title"] == "My App"
    assert seen["X-Custom"] == "1" and seen["X-OpenRouter-Cache"] == "true"
    assert seen["Content-Type"] == "application/json"
    assert seen["User-Agent"].startswith("openrouter-async/")


async def test_per_call_header_injection_rejected_before_sending() -> None:
    async with ora.OpenRouter(api_key=KEY, base_url="http://127.0.0.1:9/api/v1") as client:
        with pytest.raises(ora.RequestValidationError):
            await client.chat.completions.create(
                model="m/x", messages=MESSAGES, extra_headers={"X-A": "1\r\nX-B: 2"}
            )


async def test_redirect_to_other_host_not_followed_with_key() -> None:
    hits: list[str] = []

    async def elsewhere(request: web.Request) -> web.Response:
        hits.append(request.headers.get("Authorization", ""))
        return await ok_completion(request)

    async with serve({("POST", "/api/v1/chat/completions"): elsewhere}) as other:
        other_local = other.replace("127.0.0.1", "localhost")

        async def redirect(request: web.Request) -> web.Response:
            raise web.HTTPTemporaryRedirect(other_local + "/api/v1/chat/completions")

        async with serve({("POST", "/api/v1/chat/completions"): redirect}) as base:
            async with ora.OpenRouter(api_key=KEY, base_url=base + "/api/v1") as client:
                with pytest.raises(ora.APIStatusError, match="another origin"):
                    await client.chat.completions.create(model="m/x", messages=MESSAGES)
    assert hits == []
