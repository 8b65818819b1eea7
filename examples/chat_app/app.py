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
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

import openrouter_async as ora
from openrouter_async.relay import relay_to_aiohttp

__all__ = ["EMULATOR_MODELS", "OPENROUTER_MODELS", "build_app", "main", "serve"]

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

CLIENT = web.AppKey("client", ora.OpenRouter)
CONFIG = web.AppKey("config", dict)


def build_app(
    client: ora.OpenRouter,
    *,
    backend: str = "emulator",
    models: tuple[str, ...] = EMULATOR_MODELS,
    heartbeat: float = 15.0,
) -> web.Application:
    """The chat application around an open ``client`` (the caller owns its lifecycle)."""
    app = web.Application()
    app[CLIENT] = client
    app[CONFIG] = {"backend": backend, "models": list(models), "heartbeat": heartbeat}
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


def _bad(message: str) -> web.Response:
    return web.json_response({"error": {"message": message}}, status=400)


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
    if not isinstance(model, str) or not 0 < len(model) <= 300:
        return _bad("model: a model id")
    extra: dict[str, Any] = {}
    if model.startswith("emulator/tools"):
        extra["tools"] = [DEMO_TOOL]
    try:
        stream = request.app[CLIENT].chat.completions.stream(
            model=model, messages=messages, **extra
        )
    except ora.RequestValidationError as exc:
        return _bad(str(exc))
    # The relay opens the stream, relays it and always closes it (browser gone included).
    return await relay_to_aiohttp(request, stream, heartbeat=request.app[CONFIG]["heartbeat"])


async def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    use_emulator: bool | None = None,
    ready: Callable[[str], Awaitable[None] | None] | None = None,
) -> None:
    """Serve the chat until cancelled; ``ready(url)`` is called once the port is bound."""
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
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0]
        url = f"http://{bound[0]}:{bound[1]}/"
        if ready is not None:
            result = ready(url)
            if result is not None:
                await result
        await asyncio.get_running_loop().create_future()  # until cancelled


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m examples.chat_app", description="Chat in the browser over the relay."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument(
        "--emulator", action="store_true", help="use the emulator even if OPENROUTER_API_KEY is set"
    )
    args = parser.parse_args(argv)
    use_emulator = True if args.emulator else None

    def ready(url: str) -> None:
        backend = (
            "emulator" if use_emulator or not os.environ.get("OPENROUTER_API_KEY") else "OpenRouter"
        )
        print(f"Chat app ({backend}) on {url}  (Ctrl+C to stop)", flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, use_emulator=use_emulator, ready=ready))


if __name__ == "__main__":
    main()
