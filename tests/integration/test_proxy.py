"""Proxies and trust: HTTP(S)_PROXY / NO_PROXY honoured by default, ``proxy=``, ``trust_env``,
``SSL_CERT_FILE``; an https target goes through the proxy as a CONNECT tunnel, so the proxy
counts the requests it relays but never sees the API key."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
import pytest
import trustme
from aiohttp import web

import openrouter_async as ora
from openrouter_async._config import resolve_proxy

KEY = "sk-or-v1-proxy-test-secret"
MESSAGES = [{"role": "user", "content": "hi"}]
OK = {
    "id": "gen-p",
    "object": "chat.completion",
    "created": 1,
    "model": "m/x",
    "choices": [
        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}
    ],
}


class ForwardProxy:
    """A forward proxy on 127.0.0.1: CONNECT tunnels and absolute-form plain HTTP requests.
    It records every request line it relays and every byte that passed through it."""

    def __init__(self) -> None:
        self.request_lines: list[bytes] = []
        self.seen = bytearray()
        self._tasks: set[asyncio.Task[None]] = set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                self.seen += data
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            self.seen += head
            line = head.split(b"\r\n", 1)[0]
            self.request_lines.append(line)
            method, target, _ = line.split(b" ", 2)
            if method == b"CONNECT":
                host, port = target.decode().rsplit(":", 1)
                up_reader, up_writer = await asyncio.open_connection(host, int(port))
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
            else:
                rest = target.decode().split("://", 1)[1]
                hostport = rest.split("/", 1)[0]
                host, port = hostport.rsplit(":", 1)
                up_reader, up_writer = await asyncio.open_connection(host, int(port))
                up_writer.write(head)
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            writer.close()
        finally:
            self._tasks.discard(task)


@asynccontextmanager
async def forward_proxy() -> AsyncIterator[tuple[str, ForwardProxy]]:
    proxy = ForwardProxy()
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", proxy
    finally:
        server.close()
        for task in list(proxy._tasks):
            task.cancel()
        await asyncio.gather(*proxy._tasks, return_exceptions=True)
        await server.wait_closed()


@asynccontextmanager
async def api_server(tls: ssl.SSLContext | None = None) -> AsyncIterator[tuple[str, list[str]]]:
    """A tiny chat endpoint; yields its base URL and the Authorization headers it received."""
    auths: list[str] = []

    async def chat(request: web.Request) -> web.Response:
        auths.append(request.headers.get("Authorization", ""))
        await request.read()
        return web.Response(body=orjson.dumps(OK), content_type="application/json")

    app = web.Application()
    app.router.add_post("/api/v1/chat/completions", chat)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    scheme = "https" if tls else "http"
    try:
        yield f"{scheme}://127.0.0.1:{port}/api/v1", auths
    finally:
        await runner.cleanup()


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


async def test_https_through_a_proxy_is_a_tunnel_the_proxy_cannot_read(
    ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with api_server(server_tls(ca)) as (base, auths), forward_proxy() as (purl, proxy):
        monkeypatch.setenv("HTTPS_PROXY", purl)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        async with ora.OpenRouter(api_key=KEY, base_url=base, ssl=client_tls(ca)) as client:
            for _ in range(3):
                done = await client.chat.completions.create(model="m/x", messages=MESSAGES)
                assert done.choices[0].message.content == "ok"
    assert auths == [f"Bearer {KEY}"] * 3  # the server got the key...
    assert proxy.request_lines and all(
        line.startswith(b"CONNECT 127.0.0.1:") for line in proxy.request_lines
    )
    assert KEY.encode() not in bytes(proxy.seen)  # ...the proxy never saw it in clear text
    assert b"chat/completions" not in bytes(proxy.seen)


async def test_http_proxy_env_is_honoured_and_counts_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with api_server() as (base, auths), forward_proxy() as (purl, proxy):
        monkeypatch.setenv("HTTP_PROXY", purl)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        async with ora.OpenRouter(api_key="k", base_url=base) as client:
            await client.chat.completions.create(model="m/x", messages=MESSAGES)
            await client.chat.completions.create(model="m/x", messages=MESSAGES)
    assert len(auths) == 2
    assert len(proxy.request_lines) == 1  # one kept-alive connection through the proxy
    assert proxy.seen.count(b"POST http://127.0.0.1:") == 2


async def test_no_proxy_and_trust_env_false_bypass_the_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with api_server() as (base, auths), forward_proxy() as (purl, proxy):
        monkeypatch.setenv("HTTP_PROXY", purl)
        monkeypatch.setenv("NO_PROXY", "example.com, 127.0.0.1")
        async with ora.OpenRouter(api_key="k", base_url=base) as client:
            await client.chat.completions.create(model="m/x", messages=MESSAGES)
        monkeypatch.delenv("NO_PROXY")
        async with ora.OpenRouter(api_key="k", base_url=base, trust_env=False) as client:
            await client.chat.completions.create(model="m/x", messages=MESSAGES)
        async with ora.OpenRouter(api_key="k", base_url=base, proxy=purl, trust_env=False) as c:
            await c.chat.completions.create(model="m/x", messages=MESSAGES)
    assert len(auths) == 3
    assert len(proxy.request_lines) == 1  # only the explicit proxy= went through it


async def test_ssl_cert_file_is_honoured(ca: trustme.CA, tmp_path, monkeypatch) -> None:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    async with api_server(server_tls(ca)) as (base, auths):
        async with ora.OpenRouter(api_key="k", base_url=base, trust_env=False) as client:
            with pytest.raises(ora.APIConnectionError) as info:  # an unknown CA is refused
                await client.chat.completions.create(model="m/x", messages=MESSAGES)
            assert info.value.failure_point == "not_sent"
        monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
        async with ora.OpenRouter(api_key="k", base_url=base, trust_env=False) as client:
            done = await client.chat.completions.create(model="m/x", messages=MESSAGES)
    assert done.choices[0].message.content == "ok"
    assert len(auths) == 1


def test_resolve_proxy_rules() -> None:
    env = {"HTTPS_PROXY": "proxy.corp:3128", "NO_PROXY": ".internal,localhost:8080"}
    url = "https://openrouter.ai/api/v1"
    assert resolve_proxy(url, None, trust_env=True, environ=env) == "http://proxy.corp:3128"
    assert resolve_proxy(url, None, trust_env=False, environ=env) is None
    assert resolve_proxy("https://api.internal/v1", None, trust_env=True, environ=env) is None
    assert resolve_proxy("https://x.api.internal/v1", None, trust_env=True, environ=env) is None
    assert (
        resolve_proxy(
            "http://localhost:8080/v1",
            None,
            trust_env=True,
            environ={"http_proxy": "http://p:1", "no_proxy": "localhost:8080"},
        )
        is None
    )
    assert (
        resolve_proxy(
            "http://localhost:9/v1",
            None,
            trust_env=True,
            environ={"http_proxy": "http://p:1", "no_proxy": "localhost:8080"},
        )
        == "http://p:1"
    )
    assert resolve_proxy(url, None, trust_env=True, environ={"ALL_PROXY": "http://a:1"}) == (
        "http://a:1"
    )
    assert (
        resolve_proxy(
            url, None, trust_env=True, environ={"NO_PROXY": "*", "HTTPS_PROXY": "http://p:1"}
        )
        is None
    )
    with pytest.raises(ora.RequestValidationError) as info:
        resolve_proxy(url, None, trust_env=True, environ={"HTTPS_PROXY": "socks5://u:pw@h:1"})
    assert "pw" not in str(info.value)
    with pytest.raises(ora.RequestValidationError):
        ora.OpenRouter(api_key="k", proxy="not a url")
