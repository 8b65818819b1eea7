"""Each emulator fault, observed on the wire with a raw aiohttp client."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from openrouter_async.testing import (
    Drop,
    Emulator,
    FailFirst,
    FaultSpecError,
    HTTPError,
    LineEndings,
    MidStreamError,
    SplitWrites,
    Stall,
    parse_faults,
)

AUTH = {"Authorization": "Bearer test-key"}
MSGS = [{"role": "user", "content": "one two three four five"}]
PROCESSING = b": OPENROUTER PROCESSING\n\n"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers=AUTH) as session:
        yield session


def chat(model: str = "emulator/echo", *, stream: bool = True, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": MSGS, "stream": stream, **extra}


async def call(
    http: aiohttp.ClientSession, emu: Emulator, body: Any, fault: str | None = None
) -> tuple[int, bytes, aiohttp.ClientResponse]:
    headers = {"X-Emulator-Fault": fault} if fault else {}
    async with http.post(emu.base_url + "/chat/completions", json=body, headers=headers) as r:
        return r.status, await r.read(), r


def events(raw: bytes) -> list[bytes]:
    return [e for e in raw.split(b"\n\n") if e]


def contents(raw: bytes) -> str:
    out = ""
    for event in events(raw):
        if event.startswith(b"data: {"):
            chunk = json.loads(event[6:])
            if chunk.get("choices"):
                out += chunk["choices"][0]["delta"].get("content") or ""
    return out


# --- the spec syntax ---------------------------------------------------------------------------


def test_parse_fault_specs() -> None:
    assert parse_faults("http(429,retry_after=1); crlf ;split(1)") == [
        HTTPError(429, retry_after=1.0),
        LineEndings("crlf"),
        SplitWrites(1),
    ]
    assert parse_faults("stall(after=2,seconds=forever,comments=0)") == [
        Stall(2, seconds=None, comments=False)
    ]
    assert parse_faults("mid_error(3,code=server_error)") == [
        MidStreamError(3, code="server_error")
    ]
    assert parse_faults("fail_first(2,status=503)") == [FailFirst(2, status=503)]
    assert parse_faults("drop") == [Drop()]
    for bad in ("explode", "drop(after=x)", "drop(foo=1)", "http(1,2)", "drop("):
        with pytest.raises(FaultSpecError):
            parse_faults(bad)


async def test_bad_spec_is_a_400(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    status, raw, _ = await call(http, emulator, chat(), "explode")
    assert status == 400
    assert "unknown fault 'explode'" in json.loads(raw)["error"]["message"]


# --- status errors -----------------------------------------------------------------------------


async def test_http_error_from_header_and_suffix(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    status, raw, resp = await call(http, emulator, chat(), "http(429,retry_after=1)")
    assert status == 429
    assert resp.headers["Retry-After"] == "1"
    body = json.loads(raw)
    assert body["error"]["code"] == 429
    assert body["error"]["metadata"]["error_type"] == "rate_limit_exceeded"
    assert body["user_id"] == "user_emulator"
    status, raw, _ = await call(http, emulator, chat("emulator/echo:fault=http(502)"))
    assert status == 502
    meta = json.loads(raw)["error"]["metadata"]
    assert meta["provider_name"] == "FakeProvider"
    assert json.loads(meta["raw"])["error"]["code"] == 502
    assert emulator.requests[-1].faults == ("http",)


async def test_html_error_page(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    status, raw, resp = await call(http, emulator, chat(stream=False), "html(524)")
    assert status == 524
    assert resp.headers["Content-Type"].startswith("text/html")
    assert raw.startswith(b"<!DOCTYPE html>")
    assert b"524" in raw


async def test_fail_first_n_then_succeed(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    body = chat(stream=False)
    statuses = [(await call(http, emulator, body, "fail_first(2,status=503)"))[0] for _ in range(3)]
    assert statuses == [503, 503, 200]
    # a different body is a different request: its own counter
    other = chat(stream=False, temperature=0.5)
    assert (await call(http, emulator, other, "fail_first(2,status=503)"))[0] == 503
    # an explicit request key groups attempts whatever the body
    emulator.add_fault(FailFirst(1, status=429, retry_after=0))
    url = emulator.base_url + "/chat/completions"
    key = {"X-Emulator-Request-Key": "k1"}
    seen = []
    for i in range(2):
        async with http.post(url, json=chat(stream=False, seed=i), headers=key) as resp:
            seen.append(resp.status)
    assert seen == [429, 200]


async def test_fail_next_and_script(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.fail_next(2, status=429, retry_after=1)
    results = [await call(http, emulator, chat(stream=False)) for _ in range(3)]
    assert [r[0] for r in results] == [429, 429, 200]
    assert results[0][2].headers["Retry-After"] == "1"
    assert emulator.faults == []
    emulator.script(HTTPError(503), None, "http(500)")
    assert [(await call(http, emulator, chat(stream=False)))[0] for _ in range(4)] == [
        503,
        200,
        500,
        200,
    ]
    # rules can target other endpoints and models
    emulator.add_fault(HTTPError(500), path="/models", times=1)
    emulator.add_fault(HTTPError(418), model="emulator/lorem")
    async with http.get(emulator.base_url + "/models") as resp:
        assert resp.status == 500
    async with http.get(emulator.base_url + "/models") as resp:
        assert resp.status == 200
    assert (await call(http, emulator, chat(stream=False)))[0] == 200
    assert (await call(http, emulator, chat("emulator/lorem", stream=False)))[0] == 418
    emulator.clear_faults()
    assert (await call(http, emulator, chat("emulator/lorem", stream=False)))[0] == 200


async def test_error_in_a_200_body(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    status, raw, _ = await call(http, emulator, chat(stream=False), "error_200(502)")
    assert status == 200
    body = json.loads(raw)
    assert "choices" not in body
    assert body["error"]["code"] == 502
    status, raw, _ = await call(http, emulator, chat(), "error_200(code=server_error)")
    assert status == 200
    (event,) = [e for e in events(raw) if e.startswith(b"data: ")]
    assert json.loads(event[6:])["error"]["code"] == "server_error"


# --- in-stream faults ---------------------------------------------------------------------------


async def test_mid_stream_error(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    status, raw, _ = await call(http, emulator, chat(), "mid_error(after=2,code=server_error)")
    assert status == 200
    last = json.loads(events(raw)[-1][6:])
    assert last["error"] == {
        "code": "server_error",
        "message": "Provider disconnected unexpectedly",
        "metadata": {"error_type": "provider_unavailable"},
    }
    assert last["choices"][0]["finish_reason"] == "error"
    assert contents(raw) == "one two"
    assert b"[DONE]" not in raw
    _, raw, _ = await call(http, emulator, chat(), "mid_error(1,code=502,done=1)")
    assert json.loads(events(raw)[-2][6:])["error"]["code"] == 502
    assert events(raw)[-1] == b"data: [DONE]"
    # non-streaming: finish_reason error with the partial content
    _, raw, _ = await call(http, emulator, chat(stream=False), "mid_error(3)")
    choice = json.loads(raw)["choices"][0]
    assert choice["finish_reason"] == "error"
    assert choice["message"]["content"] == "one two three"
    assert choice["error"]["code"] == 502


async def test_stall_sends_only_comments(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    start = time.monotonic()
    _, raw, _ = await call(http, emulator, chat(), "stall(after=2,seconds=0.2,interval=0.05)")
    assert time.monotonic() - start >= 0.2
    evs = events(raw)
    second_word = next(i for i, e in enumerate(evs) if b'"content":" two"' in e)
    third_word = next(i for i, e in enumerate(evs) if b'"content":" three"' in e)
    between = evs[second_word + 1 : third_word]
    assert len(between) >= 3
    assert all(e + b"\n\n" == PROCESSING for e in between)
    assert contents(raw) == "one two three four five"


async def test_silent_stall_until_the_client_leaves(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    timeout = aiohttp.ClientTimeout(sock_read=0.15)
    url = emulator.base_url + "/chat/completions"
    headers = {"X-Emulator-Fault": "stall(after=1,comments=false)"}
    with pytest.raises((aiohttp.ClientError, TimeoutError)):
        async with http.post(url, json=chat(), headers=headers, timeout=timeout) as resp:
            await resp.read()
    record = emulator.requests[-1]
    await emulator.wait_for_disconnect(record, timeout=1.0)
    assert record.tokens_sent == 1
    assert not record.completed


async def test_drop_closes_the_connection(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    with pytest.raises(aiohttp.ClientPayloadError):
        await call(http, emulator, chat(), "drop(after=2)")
    record = await emulator.wait_finished(emulator.requests[-1])
    assert record.tokens_sent == 2
    assert record.status == 200
    assert record.completed is False
    assert record.disconnected_at is None
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await call(http, emulator, chat(stream=False), "drop")
    assert emulator.requests[-1].status is None


async def test_truncate_ends_without_finish_or_done(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    status, raw, _ = await call(http, emulator, chat(), "truncate(after=3)")
    assert status == 200
    assert contents(raw) == "one two three"
    assert b"[DONE]" not in raw
    assert b'"finish_reason":"stop"' not in raw
    assert b"usage" not in raw
    with pytest.raises(aiohttp.ClientPayloadError):
        await call(http, emulator, chat(stream=False), "truncate")


async def test_malformed_event(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    _, raw, _ = await call(http, emulator, chat(), "malformed(after=1)")
    bad = []
    for event in events(raw):
        if event.startswith(b"data: {"):
            try:
                json.loads(event[6:])
            except ValueError:
                bad.append(event)
    assert len(bad) == 1
    assert events(raw)[-1] == b"data: [DONE]"
    status, raw, _ = await call(http, emulator, chat(stream=False), "malformed")
    assert status == 200
    with pytest.raises(ValueError):
        json.loads(raw)


@pytest.mark.parametrize(("spec", "newline"), [("crlf", b"\r\n"), ("cr", b"\r")])
async def test_line_endings(
    emulator: Emulator, http: aiohttp.ClientSession, spec: str, newline: bytes
) -> None:
    _, raw, _ = await call(http, emulator, chat(), spec)
    assert raw.startswith(b": OPENROUTER PROCESSING" + newline + newline + b"data: ")
    assert raw.endswith(b"data: [DONE]" + newline + newline)
    if spec == "cr":
        assert b"\n" not in raw
    else:
        assert raw.count(b"\n") == raw.count(b"\r\n")
    assert contents(raw.replace(newline, b"\n")) == "one two three four five"


async def test_one_byte_writes_arrive(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    url = emulator.base_url + "/chat/completions"
    headers = {"X-Emulator-Fault": "split(1)"}
    pieces = []
    async with http.post(url, json=chat("emulator/echo:comments=0"), headers=headers) as resp:
        async for piece in resp.content.iter_any():
            pieces.append(piece)
    raw = b"".join(pieces)
    record = emulator.requests[-1]
    assert record.writes == record.bytes_sent == len(raw)
    assert len(pieces) > 20  # reads really saw small pieces, not one coalesced body
    assert contents(raw) == "one two three four five"


async def test_coalesce_sends_one_write(http: aiohttp.ClientSession) -> None:
    async with Emulator(coalesce=True) as emu:
        _, raw, _ = await call(http, emu, chat())
        assert emu.requests[-1].writes == 1
        assert contents(raw) == "one two three four five"


async def test_huge_event(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    _, raw, _ = await call(http, emulator, chat(), "huge(after=1)")
    (big,) = [e for e in events(raw) if len(e) > 2 * 1024 * 1024]
    image = json.loads(big[6:])["choices"][0]["delta"]["images"][0]
    assert image["image_url"]["url"].startswith("data:image/png;base64,AAAA")
    assert events(raw)[-1] == b"data: [DONE]"
    _, raw, _ = await call(http, emulator, chat(stream=False), "huge(size=1000)")
    (image,) = json.loads(raw)["choices"][0]["message"]["images"]
    assert image["image_url"]["url"].endswith("A" * 1000)


async def test_slow_headers_and_slow_body(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    url = emulator.base_url + "/chat/completions"
    start = time.monotonic()
    headers = {"X-Emulator-Fault": "slow(0.2)"}
    async with http.post(url, json=chat(stream=False), headers=headers) as resp:
        assert time.monotonic() - start >= 0.2
        await resp.read()
    start = time.monotonic()
    headers = {"X-Emulator-Fault": "slow(body=0.2)"}
    async with http.post(url, json=chat(stream=False), headers=headers) as resp:
        assert time.monotonic() - start < 0.2
        assert resp.status == 200
        await resp.read()
        assert time.monotonic() - start >= 0.2
    timeout = aiohttp.ClientTimeout(sock_read=0.05)
    headers = {"X-Emulator-Fault": "slow(1)"}
    with pytest.raises(asyncio.TimeoutError):  # not the builtin on 3.10
        async with http.post(url, json=chat(stream=False), headers=headers, timeout=timeout):
            pass


async def test_faults_from_body_and_python_values(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    body = chat(emulator={"fault": "http(404)"})
    assert (await call(http, emulator, body))[0] == 404
    emulator.add_fault(MidStreamError(0, code=429), Stall(0, seconds=0.01))
    _, raw, _ = await call(http, emulator, chat())
    assert json.loads(events(raw)[-1][6:])["error"]["code"] == 429
    assert emulator.requests[-1].faults == ("mid_error", "stall")
