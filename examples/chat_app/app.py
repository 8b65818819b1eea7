"""A browser chat that streams tokens through ``openrouter_async.relay``.

Run it from the repository root with either command (they are the same program)::

    python -m examples.chat_app            # then open the URL it prints
    python examples/chat_app/app.py --port 8765

Without ``OPENROUTER_API_KEY`` it talks to an in-process emulator (no network, no key) and
the page offers emulator models, including one that fails mid-stream; with the key set it
talks to OpenRouter (``--emulator`` forces the emulator anyway).

The server is three routes: ``GET /`` (one static HTML page with plain JavaScript, no build
step), ``GET /api/config`` (backend and model suggestions) and ``POST /api/chat``, which
opens an SDK stream and answers with :func:`openrouter_async.relay.relay_to_aiohttp`. The
runner uses ``handler_cancellation=True`` so that when the browser's Stop button aborts the
fetch, aiohttp cancels the handler and the relay closes the OpenRouter stream at once.

``POST /api/chat`` spends the key's credits, so any web page the user visits must not be able
to call it. The server answers only requests whose ``Host`` is one it serves (a DNS-rebinding
page has its own name there), whose ``Origin``, when sent, is the page's own (browsers send it
with every cross-site POST), and whose body is ``application/json`` (a cross-site page can
only send that after a CORS preflight this server never approves); the body is capped; and the
model and ``max_tokens`` are the server's choice, never the browser's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

import openrouter_async as ora
from openrouter_async.relay import relay_to_aiohttp

__all__ = [
    "EMULATOR_MODELS",
    "LOCAL_HOSTS",
    "MAX_BODY_BYTES",
    "MAX_TOKENS",
    "OPENROUTER_MODELS",
    "ServeError",
    "build_app",
    "main",
    "serve",
]

STATIC = Path(__file__).resolve().parent / "static"

#: Suggestions shown in the page's model box (any model id may be typed).
EMULATOR_MODELS = (
    "emulator/reasoning:tps=25",
    "emulator/lorem:tokens=120:tps=30",
    "emulator/echo:tps=8",
    "emulator/tools:tps=10",
    "emulator/lorem:tokens=40:tps=20:fault=mid_error(after=12,code=502)",
)
OPENROUTER_MODELS = (
    "openai/gpt-4o-mini",
    "anthropic/claude-sonnet-4.5",
    "google/gemini-2.5-flash",
)

#: A tool offered to ``emulator/tools`` so the page can show tool-call events.
DEMO_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
            "required": ["city"],
        },
    },
}

MAX_MESSAGES = 100
MAX_CHARS = 32_000
#: Largest request body accepted (aiohttp refuses more with 413 while reading).
MAX_BODY_BYTES = 256 * 1024
#: The reply length cap the server puts on every request.
MAX_TOKENS = 2048
#: Host names the app answers to unless told more (``serve`` adds the address it binds).
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")

CLIENT = web.AppKey("client", ora.OpenRouter)
CONFIG = web.AppKey("config", dict)


class ServeError(Exception):
    """The server could not start (its port is taken, the address is not ours...)."""


def build_app(
    client: ora.OpenRouter,
    *,
    backend: str = "emulator",
    models: tuple[str, ...] = EMULATOR_MODELS,
    heartbeat: float = 15.0,
    max_tokens: int = MAX_TOKENS,
    hosts: tuple[str, ...] = LOCAL_HOSTS,
) -> web.Application:
    """The chat application around an open ``client`` (the caller owns its lifecycle).

    ``models`` are the only ones the page may use, except that on the emulator backend (no
    credits at stake) any ``emulator/...`` id is allowed; ``hosts`` are the ``Host`` names
    answered (any port).
    """
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[_same_site_only])
    app[CLIENT] = client
    app[CONFIG] = {
        "backend": backend,
        "models": list(models),
        "heartbeat": heartbeat,
        "max_tokens": max_tokens,
        "hosts": {h.lower().strip("[]") for h in hosts},
    }
    app.router.add_get("/", _index)
    app.router.add_get("/api/config", _config)
    app.router.add_post("/api/chat", _chat)
    app.router.add_static("/static", STATIC)
    return app


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


async def _config(request: web.Request) -> web.Response:
    config = request.app[CONFIG]
    return web.json_response({"backend": config["backend"], "models": config["models"]})


def _bad(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": {"message": message}}, status=status)


def _host_name(authority: str) -> str:
    """``example.com:8765`` -> ``example.com``; ``[::1]:8765`` -> ``::1``."""
    if authority.startswith("["):
        return authority[1 : authority.find("]")].lower()
    return authority.rsplit(":", 1)[0].lower() if authority.count(":") == 1 else authority.lower()


@web.middleware
async def _same_site_only(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Refuse foreign ``Host`` names (DNS rebinding) and cross-site requests (CSRF)."""
    host = request.headers.get("Host", "")
    if _host_name(host) not in request.app[CONFIG]["hosts"]:
        return _bad(f"this server does not answer to the host {host!r}", 421)
    origin = request.headers.get("Origin")
    if origin is not None and origin not in (f"http://{host}", f"https://{host}"):
        return _bad("cross-site requests are refused", 403)
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return _bad("cross-site requests are refused", 403)
    return await handler(request)


def _model_allowed(config: dict[str, Any], model: str) -> bool:
    if model in config["models"]:
        return True
    return config["backend"] == "emulator" and model.startswith("emulator/")


def _clean_messages(raw: Any) -> list[dict[str, str]] | None:
    if not isinstance(raw, list) or not 0 < len(raw) <= MAX_MESSAGES:
        return None
    messages = []
    for item in raw:
        if not isinstance(item, dict):
            return None
        role, content = item.get("role"), item.get("content")
        if role not in ("user", "assistant") or not isinstance(content, str):
            return None
        if len(content) > MAX_CHARS:
            return None
        messages.append({"role": role, "content": content})
    return messages


async def _chat(request: web.Request) -> web.StreamResponse:
    if request.content_type != "application/json":
        return _bad("the body must be application/json", 415)
    config = request.app[CONFIG]
    try:
        payload = await request.json()
    except ValueError:
        return _bad("the body must be JSON")
    if not isinstance(payload, dict):
        return _bad("the body must be a JSON object")
    messages = _clean_messages(payload.get("messages"))
    if messages is None:
        return _bad("messages: a list of {role: user|assistant, content: string}")
    model = payload.get("model")
    if not isinstance(model, str) or not _model_allowed(config, model):
        return _bad(f"model: one of {', '.join(config['models'])}")
    # Only messages and model come from the browser; max_tokens and the rest are ours.
    extra: dict[str, Any] = {"max_tokens": config["max_tokens"]}
    if model.startswith("emulator/tools"):
        extra["tools"] = [DEMO_TOOL]
    try:
        stream = request.app[CLIENT].chat.completions.stream(
            model=model, messages=messages, **extra
        )
    except ora.RequestValidationError as exc:
        return _bad(str(exc))
    # The relay opens the stream, relays it and always closes it (browser gone included).
    return await relay_to_aiohttp(request, stream, heartbeat=config["heartbeat"])


async def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    use_emulator: bool | None = None,
    ready: Callable[[str], Awaitable[None] | None] | None = None,
    allow_hosts: tuple[str, ...] = (),
) -> None:
    """Serve the chat until cancelled; ``ready(url)`` is called once the port is bound.

    Raises :class:`ServeError` when the address cannot be bound. ``allow_hosts`` adds
    ``Host`` names to answer to (the local names and ``host`` always are).
    """
    if use_emulator is None:
        use_emulator = not os.environ.get("OPENROUTER_API_KEY")
    async with contextlib.AsyncExitStack() as stack:
        if use_emulator:
            from openrouter_async.testing import Emulator

            emulator = await stack.enter_async_context(Emulator())
            client = await stack.enter_async_context(emulator.client())
            app = build_app(client, backend="emulator", models=EMULATOR_MODELS)
        else:
            client = await stack.enter_async_context(ora.OpenRouter(app_title="chat_app example"))
            app = build_app(client, backend="openrouter", models=OPENROUTER_MODELS)
        # handler_cancellation: a browser that leaves cancels its handler, so the relay
        # closes the upstream stream immediately (the relay also polls, as a fallback).
        runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        # The bound address is a name the page may be opened by; a wildcard is not.
        app[CONFIG]["hosts"].update(
            h.lower().strip("[]") for h in (host, *allow_hosts) if h not in ("0.0.0.0", "::", "")
        )
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise ServeError(f"Cannot serve the chat app on {host}:{port}: {reason}") from None
        bound = runner.addresses[0]
        url = f"http://{bound[0]}:{bound[1]}/"
        if ready is not None:
            result = ready(url)
            if result is not None:
                await result
        await asyncio.get_running_loop().create_future()  # until cancelled


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m examples.chat_app", description="Chat in the browser over the relay."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument(
        "--emulator", action="store_true", help="use the emulator even if OPENROUTER_API_KEY is set"
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests for this host name (when serving beyond this machine)",
    )
    args = parser.parse_args(argv)
    use_emulator = True if args.emulator else None

    def ready(url: str) -> None:
        backend = (
            "emulator" if use_emulator or not os.environ.get("OPENROUTER_API_KEY") else "OpenRouter"
        )
        print(f"Chat app ({backend}) on {url}  (Ctrl+C to stop)", flush=True)

    try:
        asyncio.run(
            serve(
                args.host,
                args.port,
                use_emulator=use_emulator,
                ready=ready,
                allow_hosts=tuple(args.allow_host),
            )
        )
    except KeyboardInterrupt:
        pass
    except ServeError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
