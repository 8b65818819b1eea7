"""Routing and the per-request wrapper: request log, bearer check, replies, disconnects.

The runner is created with ``handler_cancellation=True``, so when a client goes away aiohttp
cancels its handler at once; the wrapper turns that (or a failed write) into
``RequestRecord.disconnected_at``. Handlers are tracked so ``Emulator.stop()`` can cancel them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from . import _inference as inference
from . import _info as info
from ._context import Ctx, Reply, json_response
from ._output import Dropped
from ._records import RequestRecord, redact_headers
from ._wire import error_body

if TYPE_CHECKING:
    from ._server import Emulator

__all__ = ["API_PREFIX", "make_app"]

API_PREFIX = "/api/v1"
_Handler = Callable[[Ctx], Awaitable[web.StreamResponse]]


def _authenticate(emu: Emulator, ctx: Ctx) -> str:
    header = ctx.request.headers.get("Authorization")
    if header is None:
        raise _auth_error(ctx, "Missing Authentication header")
    scheme, _, key = header.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise _auth_error(ctx, "No auth credentials found")
    if key in emu.management_keys or emu.api_key is None or key == emu.api_key:
        return key
    raise _auth_error(ctx, "User not found.")


def _auth_error(ctx: Ctx, message: str) -> Reply:
    body = error_body(401, message, user_id=None, include_metadata=False)
    return Reply(json_response(body, 401))


def _wrap(
    emu: Emulator, fn: _Handler, *, public: bool = False
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        path = request.path
        record = RequestRecord(
            seq=len(emu.requests),
            method=request.method,
            path=path,
            endpoint=path[len(API_PREFIX) :] if path.startswith(API_PREFIX) else path,
            query=dict(request.query),
            headers=redact_headers(request.headers),
            started_at=time.monotonic(),
        )
        emu.requests.append(record)
        emu._notify()
        ctx = Ctx(emu, request, record)
        task = asyncio.current_task()
        if task is not None:
            emu._tasks.add(task)
        try:
            try:
                if not public:
                    ctx.api_key = _authenticate(emu, ctx)
                response = await fn(ctx)
            except Reply as reply:
                response = reply.response
            if record.status is None:
                record.status = response.status
            record.completed = True
            return response
        except Dropped:
            return web.Response(status=499)  # never sent: the transport is gone
        except ConnectionResetError:
            if not ctx.dropped and record.disconnected_at is None:
                record.disconnected_at = time.monotonic()
            return web.Response(status=499)  # never sent: the client is gone
        except asyncio.CancelledError:
            if not (ctx.dropped or emu._stopping) and record.disconnected_at is None:
                record.disconnected_at = time.monotonic()
            raise
        finally:
            record.finished_at = time.monotonic()
            if task is not None:
                emu._tasks.discard(task)
            emu._notify()

    return handler


def make_app(emu: Emulator) -> web.Application:
    """The aiohttp application: every route wrapped by ``_wrap``."""
    # aiohttp enforces the body limit while reading; the handler turns it into our 413.
    app = web.Application(client_max_size=emu.max_body_bytes)
    p = API_PREFIX
    routes = [
        ("POST", "/chat/completions", inference.chat_completions, False),
        ("POST", "/completions", inference.legacy_completions, False),
        ("POST", "/embeddings", inference.embeddings, False),
        ("GET", "/generation", info.generation, False),
        ("GET", "/models", info.models, True),
        ("GET", "/models/count", info.models_count, True),
        ("GET", "/models/{author}/{slug}/endpoints", info.model_endpoints, True),
        ("GET", "/providers", info.providers, True),
        ("GET", "/credits", info.credits, False),
        ("GET", "/key", info.key_info, False),
    ]
    for method, path, fn, public in routes:
        app.router.add_route(method, p + path, _wrap(emu, fn, public=public))
    app.router.add_route("*", p + "/{tail:.*}", _wrap(emu, info.not_found, public=True))
    return app
