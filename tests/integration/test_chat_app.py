"""The example chat app refuses what a hostile web page could send it (issue #12).

Any page the user visits can make the browser POST to ``127.0.0.1``: a form or ``fetch`` with
a ``text/plain`` body (no preflight), or a page on a rebound domain whose ``Host`` is its own
name. Each of those would spend the user's credits. The app runs here behind aiohttp's test
client, against an emulator in the same loop, so what reached "OpenRouter" can be checked.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from examples.chat_app.app import MAX_BODY_BYTES, build_app
from openrouter_async.testing import Emulator, RequestRecord

ROOT = Path(__file__).resolve().parents[2]
BODY = {"model": "emulator/echo", "messages": [{"role": "user", "content": "spend it"}]}


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator() as emu:
        yield emu


async def app_client(emu: Emulator, **options: Any) -> TestClient[Any, Any]:
    sdk = emu.client(max_retries=0)
    app = build_app(sdk, **options)
    app.on_cleanup.append(lambda _: sdk.aclose())
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client


@pytest.fixture
async def chat(emulator: Emulator) -> AsyncIterator[TestClient[Any, Any]]:
    client = await app_client(emulator, heartbeat=5.0)
    try:
        yield client
    finally:
        await client.close()


def upstream(emu: Emulator) -> list[RequestRecord]:
    return [r for r in emu.requests if r.endpoint == "/chat/completions"]


def origin(client: TestClient[Any, Any]) -> str:
    return f"http://127.0.0.1:{client.port}"


async def test_same_origin_json_is_served(chat: TestClient[Any, Any], emulator: Emulator) -> None:
    response = await chat.post("/api/chat", json=BODY, headers={"Origin": origin(chat)})
    assert response.status == 200
    assert response.content_type == "text/event-stream"
    assert "event: done" in await response.text()
    assert len(upstream(emulator)) == 1


async def test_a_text_plain_post_is_refused(chat: TestClient[Any, Any], emulator: Emulator) -> None:
    # What a cross-site <form enctype=text/plain> or a no-preflight fetch can send.
    response = await chat.post(
        "/api/chat", data=orjson.dumps(BODY), headers={"Content-Type": "text/plain"}
    )
    assert response.status == 415
    assert "application/json" in (await response.json())["error"]["message"]
    assert upstream(emulator) == []


async def test_a_foreign_host_is_refused(chat: TestClient[Any, Any], emulator: Emulator) -> None:
    # DNS rebinding: the attacker's name resolves to 127.0.0.1, the browser sends that name.
    for path in ("/api/chat", "/api/config"):
        response = await chat.request(
            "POST" if path == "/api/chat" else "GET",
            path,
            json=BODY,
            headers={"Host": f"rebind.attacker.example:{chat.port}"},
        )
        assert response.status == 421
        assert "rebind.attacker.example" in (await response.json())["error"]["message"]
    assert upstream(emulator) == []
    for host in (f"localhost:{chat.port}", f"[::1]:{chat.port}", "127.0.0.1"):
        response = await chat.get("/api/config", headers={"Host": host})
        assert response.status == 200, host


async def test_a_cross_site_origin_is_refused(
    chat: TestClient[Any, Any], emulator: Emulator
) -> None:
    for headers in (
        {"Origin": "https://evil.example"},
        {"Origin": "http://127.0.0.1:1"},  # another local port is another site
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ):
        response = await chat.post("/api/chat", json=BODY, headers=headers)
        assert response.status == 403, headers
    assert upstream(emulator) == []


async def test_the_body_is_capped(chat: TestClient[Any, Any], emulator: Emulator) -> None:
    huge = {"model": "emulator/echo", "messages": [{"role": "user", "content": "x" * 30_000}] * 10}
    assert len(orjson.dumps(huge)) > MAX_BODY_BYTES
    response = await chat.post("/api/chat", json=huge)
    assert response.status == 413
    assert upstream(emulator) == []


async def test_the_server_decides_max_tokens(emulator: Emulator) -> None:
    client = await app_client(emulator, max_tokens=7)
    try:
        body = {**BODY, "model": "emulator/lorem:tokens=50", "max_tokens": 100_000}
        response = await client.post("/api/chat", json=body)
        text = await response.text()
    finally:
        await client.close()
    assert response.status == 200
    (record,) = upstream(emulator)
    assert record.body["max_tokens"] == 7
    assert '"finish_reason":"length"' in text.replace(" ", "")


async def test_the_server_decides_the_models(emulator: Emulator) -> None:
    # With a real key only the listed models may be used; the emulator allows its own.
    client = await app_client(emulator, backend="openrouter", models=("emulator/echo",))
    try:
        refused = await client.post("/api/chat", json={**BODY, "model": "emulator/lorem"})
        refusal = (await refused.json())["error"]["message"]
        served = await client.post("/api/chat", json=BODY)
        await served.text()
    finally:
        await client.close()
    assert refused.status == 400
    assert refusal == "model: one of emulator/echo"
    assert served.status == 200
    assert [r.body["model"] for r in upstream(emulator)] == ["emulator/echo"]

    client = await app_client(emulator)  # the emulator backend
    try:
        refused = await client.post("/api/chat", json={**BODY, "model": "openai/gpt-4o"})
    finally:
        await client.close()
    assert refused.status == 400
    assert len(upstream(emulator)) == 1


def test_a_taken_port_is_one_line_naming_it() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "examples.chat_app", "--emulator", "--port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=30,
            check=False,
        )
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Cannot serve the chat app on 127.0.0.1:{port}: ")
    assert "address already in use" in lines[0].lower()
