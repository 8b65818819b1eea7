"""The emulator speaks OpenRouter's wire protocol: checked with a raw aiohttp client."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from openrouter_async.testing import REDACTED, Emulator, run_emulator

KEY = "test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
HELLO = [{"role": "user", "content": "Hello wire world"}]
GOLDEN = Path(__file__).parent.parent / "golden" / "emulator_stream.txt"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "default": "Paris"},
                "days": {"type": "integer"},
                "unit": {"enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "days", "unit"],
        },
    },
}


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers=AUTH) as session:
        yield session


def sse_data(raw: bytes) -> list[Any]:
    """JSON payloads of the ``data:`` events (``[DONE]`` kept as the string)."""
    out: list[Any] = []
    for event in raw.split(b"\n\n"):
        if event.startswith(b"data: "):
            payload = event[len(b"data: ") :]
            out.append("[DONE]" if payload == b"[DONE]" else json.loads(payload))
    return out


async def post(
    http: aiohttp.ClientSession, emu: Emulator, path: str, body: Any, **kw: Any
) -> tuple[int, Any, aiohttp.ClientResponse]:
    async with http.post(emu.base_url + path, json=body, **kw) as resp:
        raw = await resp.read()
        try:
            parsed: Any = json.loads(raw)
        except ValueError:
            parsed = raw
        return resp.status, parsed, resp


async def get(http: aiohttp.ClientSession, emu: Emulator, path: str, **kw: Any) -> tuple[int, Any]:
    async with http.get(emu.base_url + path, **kw) as resp:
        return resp.status, await resp.json()


# --- lifecycle and the golden stream --------------------------------------------------------


async def test_binds_an_ephemeral_loopback_port() -> None:
    emu = Emulator()
    assert not emu.running
    await emu.start()
    try:
        assert emu.port > 0
        assert emu.base_url == f"http://127.0.0.1:{emu.port}/api/v1"
    finally:
        await emu.stop()
    assert not emu.running
    await emu.stop()  # idempotent


async def test_stream_matches_golden_bytes(http: aiohttp.ClientSession) -> None:
    async with Emulator(deterministic=True) as emu:
        body = {"model": "emulator/echo", "messages": HELLO, "stream": True}
        async with http.post(emu.base_url + "/chat/completions", json=body) as resp:
            raw = await resp.read()
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "text/event-stream"
            assert resp.headers["X-Generation-Id"] == "gen-1760000000-emu000001"
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_bytes(raw)
    assert raw == GOLDEN.read_bytes()
    assert raw.startswith(b": OPENROUTER PROCESSING\n\n")
    # one write per event: comment, role, 3 words, finish, usage, [DONE]
    assert emu.requests[0].writes == 8


async def test_stream_shape(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    body = {"model": "emulator/echo", "messages": HELLO, "stream": True}
    _status, raw, resp = await post(http, emulator, "/chat/completions", body)
    chunks = sse_data(raw)
    assert chunks[-1] == "[DONE]"
    role, *words, finish, usage, _ = chunks
    gen_id = resp.headers["X-Generation-Id"]
    assert role["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert [w["choices"][0]["delta"] for w in words] == [
        {"role": "assistant", "content": t} for t in ("Hello", " wire", " world")
    ]
    assert finish["choices"][0]["finish_reason"] == "stop"
    assert finish["choices"][0]["native_finish_reason"] == "stop"
    assert usage["choices"] == []
    assert usage["usage"]["completion_tokens"] == 3
    for chunk in chunks[:-1]:
        assert chunk["id"] == gen_id
        assert chunk["object"] == "chat.completion.chunk"
        assert chunk["provider"] == "FakeProvider"


# --- non-streaming shapes of the built-in models ------------------------------------------------


async def test_echo_completion_shape(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    status, body, resp = await post(
        http, emulator, "/chat/completions", {"model": "emulator/echo", "messages": HELLO}
    )
    assert status == 200
    assert list(body) == [
        "id",
        "object",
        "created",
        "model",
        "provider",
        "system_fingerprint",
        "choices",
        "usage",
    ]
    assert body["object"] == "chat.completion"
    assert body["id"] == resp.headers["X-Generation-Id"]
    choice = body["choices"][0]
    assert choice["finish_reason"] == choice["native_finish_reason"] == "stop"
    assert choice["message"]["content"] == "Hello wire world"
    usage = body["usage"]
    # 3 per message + 1 per word; $1/M prompt, $2/M completion
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (6, 3, 9)
    assert usage["cost"] == pytest.approx(6e-6 + 6e-6)
    assert usage["cost_details"]["upstream_inference_completions_cost"] == pytest.approx(6e-6)
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 0


async def test_lorem_knobs(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    msgs = [{"role": "user", "content": "x"}]
    _, body, _ = await post(
        http, emulator, "/chat/completions", {"model": "emulator/lorem:tokens=5", "messages": msgs}
    )
    assert body["choices"][0]["message"]["content"] == "Lorem ipsum dolor sit amet,"
    assert body["model"] == "emulator/lorem"
    _, body, _ = await post(
        http,
        emulator,
        "/chat/completions",
        {"model": "emulator/lorem", "messages": msgs, "max_tokens": 3},
    )
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 3
    _, body, _ = await post(
        http,
        emulator,
        "/chat/completions",
        {"model": "emulator/lorem", "messages": msgs, "emulator": {"tokens": 2}},
        headers={"X-Emulator-Options": "tokens=7"},
    )
    assert body["usage"]["completion_tokens"] == 2  # body beats header beats suffix


async def test_lorem_pacing(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    body = {
        "model": "emulator/lorem:tokens=4:tps=40:latency=0.1:comments=3:interval=0.01",
        "messages": [{"role": "user", "content": "x"}],
        "stream": True,
    }
    start = time.monotonic()
    _, raw, _ = await post(http, emulator, "/chat/completions", body)
    assert time.monotonic() - start >= 0.1 + 4 / 40 - 0.01
    assert raw.startswith(b": OPENROUTER PROCESSING\n\n" * 3 + b"data: ")
    record = emulator.requests[-1]
    assert record.first_token_at is not None
    assert record.first_token_at - record.started_at >= 0.1


async def test_tools_call_then_answer(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    body = {"model": "emulator/tools", "messages": HELLO, "tools": [WEATHER_TOOL]}
    _, done, _ = await post(http, emulator, "/chat/completions", body)
    choice = done["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    (call,) = choice["message"]["tool_calls"]
    assert call["type"] == "function"
    assert call["id"].startswith("call_")
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {
        "city": "Paris",
        "days": 0,
        "unit": "celsius",
    }

    _, raw, _ = await post(http, emulator, "/chat/completions", {**body, "stream": True})
    deltas = [c["choices"][0]["delta"] for c in sse_data(raw)[1:-3]]
    first, *rest = (d["tool_calls"][0] for d in deltas)
    assert first == {
        "index": 0,
        "id": first["id"],
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    assert len(rest) >= 3
    assert all(set(frag) == {"index", "function"} for frag in rest)
    assert "".join(f["function"]["arguments"] for f in rest) == call["function"]["arguments"]
    assert sse_data(raw)[-3]["choices"][0]["finish_reason"] == "tool_calls"

    follow_up = [
        *HELLO,
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": "22 degrees"},
    ]
    _, done, _ = await post(
        http,
        emulator,
        "/chat/completions",
        {"model": "emulator/tools", "messages": follow_up, "tools": [WEATHER_TOOL]},
    )
    assert done["choices"][0]["message"]["content"] == "The tool returned: 22 degrees"
    assert done["choices"][0]["finish_reason"] == "stop"


async def test_reasoning_in_both_fields(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    body = {"model": "emulator/reasoning", "messages": HELLO, "stream": True}
    _, raw, _ = await post(http, emulator, "/chat/completions", body)
    deltas = [c["choices"][0]["delta"] for c in sse_data(raw)[:-2] if c["choices"]]
    thinking = [d for d in deltas if "reasoning" in d]
    assert thinking
    for d in thinking:
        assert d["reasoning_details"] == [
            {"type": "reasoning.text", "text": d["reasoning"], "format": "unknown", "index": 0}
        ]
    assert "".join(d.get("content") or "" for d in deltas) == "Hello wire world"
    usage = sse_data(raw)[-2]["usage"]
    assert usage["completion_tokens_details"]["reasoning_tokens"] == len(thinking)

    _, done, _ = await post(
        http, emulator, "/chat/completions", {"model": "emulator/reasoning", "messages": HELLO}
    )
    msg = done["choices"][0]["message"]
    assert msg["reasoning"] == "".join(d["reasoning"] for d in thinking)
    assert msg["reasoning_details"][0]["text"] == msg["reasoning"]

    hidden = {"model": "emulator/reasoning", "messages": HELLO, "reasoning": {"exclude": True}}
    _, done, _ = await post(http, emulator, "/chat/completions", hidden)
    assert done["choices"][0]["message"]["reasoning"] is None
    assert done["usage"]["completion_tokens_details"]["reasoning_tokens"] == len(thinking)


async def test_json_model_follows_schema(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "ok": {"type": "boolean"},
            "nested": {"$ref": "#/$defs/inner"},
            "optional": {"type": "string"},
        },
        "required": ["name", "age", "tags", "ok", "nested"],
        "$defs": {"inner": {"type": "object", "properties": {"x": {}}, "required": ["x"]}},
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "person", "schema": schema}}
    body = {"model": "emulator/json", "messages": HELLO, "response_format": fmt}
    _, done, _ = await post(http, emulator, "/chat/completions", body)
    content = done["choices"][0]["message"]["content"]
    assert json.loads(content) == {
        "name": "",
        "age": 0,
        "tags": [],
        "ok": False,
        "nested": {"x": None},
    }
    _, raw, _ = await post(http, emulator, "/chat/completions", {**body, "stream": True})
    streamed = "".join(
        c["choices"][0]["delta"].get("content") or "" for c in sse_data(raw)[:-2] if c["choices"]
    )
    assert streamed == content
    plain = {**body, "response_format": {"type": "json_object"}}
    _, done, _ = await post(http, emulator, "/chat/completions", plain)
    assert json.loads(done["choices"][0]["message"]["content"]) == {"answer": "Hello wire world"}


async def test_legacy_completions(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    body = {"model": "emulator/echo", "prompt": "one two three"}
    status, done, resp = await post(http, emulator, "/completions", body)
    assert status == 200
    assert done["object"] == "text_completion"
    assert done["choices"][0]["text"] == "one two three"
    assert done["id"] == resp.headers["X-Generation-Id"]
    _, raw, _ = await post(http, emulator, "/completions", {**body, "stream": True})
    chunks = sse_data(raw)
    assert chunks[-1] == "[DONE]"
    assert "".join(c["choices"][0]["text"] for c in chunks[:-2]) == "one two three"
    assert chunks[-3]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-2]["choices"] == []
    assert chunks[-2]["usage"]["completion_tokens"] == 3
    status, _err, _ = await post(http, emulator, "/completions", {"model": "emulator/echo"})
    assert status == 400


# --- embeddings ------------------------------------------------------------------------------


async def test_embeddings(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    body = {"model": "emulator/embed", "input": ["alpha", "beta"]}
    status, floats, resp = await post(http, emulator, "/embeddings", body)
    assert status == 200
    assert floats["object"] == "list"
    assert floats["id"] == resp.headers["X-Generation-Id"]
    assert [d["index"] for d in floats["data"]] == [0, 1]
    vec = floats["data"][0]["embedding"]
    assert len(vec) == 64
    assert sum(v * v for v in vec) == pytest.approx(1.0, rel=1e-5)
    assert floats["usage"]["prompt_tokens"] == 2
    _, again, _ = await post(http, emulator, "/embeddings", body)
    assert again["data"] == floats["data"]  # deterministic
    _, b64, _ = await post(http, emulator, "/embeddings", {**body, "encoding_format": "base64"})
    decoded = struct.unpack("<64f", base64.b64decode(b64["data"][0]["embedding"]))
    assert list(decoded) == vec
    _, small, _ = await post(http, emulator, "/embeddings", {**body, "dimensions": 8})
    assert len(small["data"][1]["embedding"]) == 8
    status, _, _ = await post(http, emulator, "/embeddings", {**body, "dimensions": 65})
    assert status == 400
    status, _, _ = await post(http, emulator, "/embeddings", {"model": "emulator/embed"})
    assert status == 400
    status, _, _ = await post(http, emulator, "/embeddings", {**body, "model": "emulator/echo"})
    assert status == 404


# --- generation, credits, key ----------------------------------------------------------------


async def test_generation_lookup_with_lag(http: aiohttp.ClientSession) -> None:
    async with Emulator(generation_lag=0.2) as emu:
        _, done, _ = await post(
            http, emu, "/chat/completions", {"model": "emulator/echo", "messages": HELLO}
        )
        status, err = await get(http, emu, "/generation", params={"id": done["id"]})
        assert status == 404
        assert err["error"]["code"] == 404
        await asyncio.sleep(0.25)
        status, gen = await get(http, emu, "/generation", params={"id": done["id"]})
        assert status == 200
        data = gen["data"]
        assert data["id"] == done["id"]
        assert data["model"] == "emulator/echo"
        assert data["tokens_prompt"] == 6
        assert data["tokens_completion"] == 3
        assert data["total_cost"] == done["usage"]["cost"]
        assert data["streamed"] is False
        assert data["cancelled"] is False
        assert data["finish_reason"] == "stop"
        assert (await get(http, emu, "/generation"))[0] == 400


async def test_credits_need_a_management_key(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    status, body = await get(http, emulator, "/credits")
    assert status == 403
    assert body["error"]["code"] == 403
    await post(http, emulator, "/chat/completions", {"model": "emulator/echo", "messages": HELLO})
    mgmt = {"Authorization": "Bearer test-management-key"}
    status, body = await get(http, emulator, "/credits", headers=mgmt)
    assert status == 200
    assert body["data"]["total_credits"] == 100.0
    assert body["data"]["total_usage"] == pytest.approx(1.2e-5)
    status, key = await get(http, emulator, "/key")
    assert status == 200
    assert key["data"]["is_management_key"] is False
    assert key["data"]["usage"] == pytest.approx(1.2e-5)


# --- errors ----------------------------------------------------------------------------------


async def test_auth_errors(emulator: Emulator) -> None:
    url = emulator.base_url + "/chat/completions"
    body = {"model": "emulator/echo", "messages": HELLO}
    async with aiohttp.ClientSession() as anon:
        for headers, message in (
            ({}, "Missing Authentication header"),
            ({"Authorization": "Bearer "}, "No auth credentials found"),
            ({"Authorization": "Basic abc"}, "No auth credentials found"),
            ({"Authorization": "Bearer wrong"}, "User not found."),
        ):
            async with anon.post(url, json=body, headers=headers) as resp:
                assert resp.status == 401
                assert await resp.json() == {"error": {"code": 401, "message": message}}
        # the catalog is public
        async with anon.get(emulator.base_url + "/models") as resp:
            assert resp.status == 200


async def test_any_key_mode() -> None:
    async with Emulator(api_key=None) as emu, aiohttp.ClientSession() as anon:
        url = emu.base_url + "/key"
        async with anon.get(url, headers={"Authorization": "Bearer whatever"}) as resp:
            assert resp.status == 200
        async with anon.get(url) as resp:
            assert resp.status == 401


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"model": "emulator/echo"}, "messages"),
        ({"model": "emulator/echo", "messages": []}, "at least one"),
        ({"model": "emulator/echo", "messages": "hi"}, "array"),
        ({"model": "emulator/echo", "messages": [{"role": "robot", "content": "x"}]}, "role"),
        (
            {"model": "emulator/echo", "messages": [{"role": "tool", "content": "x"}]},
            "tool_call_id",
        ),
        ({"model": "emulator/echo", "messages": HELLO, "temperature": 3}, "temperature"),
        ({"model": "emulator/echo", "messages": HELLO, "top_p": -0.1}, "top_p"),
        ({"model": "emulator/echo", "messages": HELLO, "max_tokens": 0}, "max_tokens"),
        ({"model": "emulator/echo", "messages": HELLO, "stream": "yes"}, "stream"),
        ({"model": "gpt-4o", "messages": HELLO}, "not a valid model ID"),
        ({"model": "emulator/lorem:tokens=many", "messages": HELLO}, "emulator options"),
        ([1, 2], "JSON object"),
    ],
)
async def test_bad_requests_get_400(
    emulator: Emulator, http: aiohttp.ClientSession, body: Any, fragment: str
) -> None:
    status, err, _ = await post(http, emulator, "/chat/completions", body)
    assert status == 400
    assert err["error"]["code"] == 400
    assert fragment in err["error"]["message"]
    assert err["error"]["metadata"]["error_type"] == "invalid_request"
    assert err["user_id"] == "user_emulator"


async def test_invalid_json_unknown_model_and_paths(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    async with http.post(emulator.base_url + "/chat/completions", data=b"{nope") as resp:
        assert resp.status == 400
        assert "Invalid JSON" in (await resp.json())["error"]["message"]
    status, err, _ = await post(
        http, emulator, "/chat/completions", {"model": "nobody/nothing", "messages": HELLO}
    )
    assert status == 404
    assert err["error"]["message"] == "No endpoints found for nobody/nothing."
    status, err = await get(http, emulator, "/no/such/route")
    assert status == 404
    assert err["error"]["code"] == 404


async def test_body_too_large_gets_413(http: aiohttp.ClientSession) -> None:
    async with Emulator(max_body_bytes=1024) as emu:
        big = {"model": "emulator/echo", "messages": [{"role": "user", "content": "x" * 2000}]}
        status, err, _ = await post(http, emu, "/chat/completions", big)
        assert status == 413
        assert err["error"]["code"] == 413
        assert err["error"]["metadata"]["error_type"] == "payload_too_large"

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: enforced while reading
            for _ in range(4):
                yield b" " * 512

        async with http.post(emu.base_url + "/chat/completions", data=chunks()) as resp:
            assert resp.status == 413


# --- request log and disconnects --------------------------------------------------------------


async def test_request_log_redacts_the_key(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    await post(
        http,
        emulator,
        "/chat/completions",
        {"model": "emulator/echo", "messages": HELLO},
        params={"trace": "1"},
    )
    (record,) = emulator.requests
    assert KEY not in repr(record)
    assert record.headers["Authorization"] == REDACTED
    assert record.method == "POST"
    assert record.path == "/api/v1/chat/completions"
    assert record.endpoint == "/chat/completions"
    assert record.query == {"trace": "1"}
    assert record.body == {"model": "emulator/echo", "messages": HELLO}
    assert record.status == 200
    assert record.completed
    assert not record.streamed
    assert record.generation_id is not None
    assert record.tokens_sent == 3
    assert record.finished_at is not None
    assert record.finished_at >= record.started_at
    assert record.disconnected_at is None


async def test_disconnect_is_seen_within_100ms(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    body = {
        "model": "emulator/lorem:tokens=2000:tps=200",
        "messages": HELLO,
        "stream": True,
    }
    resp = await http.post(emulator.base_url + "/chat/completions", json=body)
    for _ in range(3):
        await resp.content.readline()
    record = await emulator.wait_for_request("/chat/completions")
    closed_at = time.monotonic()
    resp.close()
    seen = await emulator.wait_for_disconnect(record, timeout=1.0)
    assert seen - closed_at < 0.1
    await emulator.wait_finished(record)
    assert record.completed is False
    assert 0 < record.tokens_sent < 2000
    gen = emulator.generations[record.generation_id or ""]
    assert gen["cancelled"] is True
    assert gen["streamed"] is True


async def test_waits_time_out(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    with pytest.raises(TimeoutError):
        await emulator.wait_for_request("/embeddings", timeout=0.01)
    await post(http, emulator, "/chat/completions", {"model": "emulator/echo", "messages": HELLO})
    record = await emulator.wait_for_request(predicate=lambda r: r.status == 200)
    assert await emulator.wait_finished(record) is record
    with pytest.raises(TimeoutError):
        await emulator.wait_for_disconnect(record, timeout=0.01)


async def test_stop_with_an_open_stream_is_clean(http: aiohttp.ClientSession) -> None:
    emu = Emulator()
    await emu.start()
    body = {"model": "emulator/lorem", "messages": HELLO, "stream": True}
    resp = await http.post(
        emu.base_url + "/chat/completions", json=body, headers={"X-Emulator-Fault": "stall(1)"}
    )
    await resp.content.readline()
    start = time.monotonic()
    await emu.stop()
    assert time.monotonic() - start < 0.5
    with pytest.raises(aiohttp.ClientPayloadError):
        await resp.read()
    resp.release()
    record = emu.requests[0]
    assert record.completed is False
    assert record.disconnected_at is None  # the server left, not the client


async def test_run_emulator_serves_until_cancelled() -> None:
    ready: asyncio.Queue[Emulator] = asyncio.Queue()
    task = asyncio.create_task(run_emulator("127.0.0.1", 0, ready_callback=ready.put_nowait))
    emu = await asyncio.wait_for(ready.get(), 5)
    url, headers = emu.base_url + "/key", {"Authorization": "Bearer k"}
    async with aiohttp.ClientSession() as anon, anon.get(url, headers=headers) as r:
        assert r.status == 200
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not emu.running


async def test_pytest_plugin_fixture(openrouter_emulator: Emulator) -> None:
    assert openrouter_emulator.running
    assert openrouter_emulator.api_key == "test-key"


@pytest.mark.openrouter_emulator(deterministic=True, api_key="other")
async def test_pytest_plugin_marker(openrouter_emulator: Emulator) -> None:
    assert openrouter_emulator.api_key == "other"
    assert openrouter_emulator.deterministic
