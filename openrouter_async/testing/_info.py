"""Read-only endpoints: models, endpoints, providers, generation, credits, key (§6)."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from ._catalog import (
    PROVIDERS,
    CatalogQueryError,
    endpoints_payload,
    filter_models,
    find_model,
)
from ._context import Ctx
from ._output import pre_response, send_body
from ._wire import dumps

__all__ = [
    "credits",
    "generation",
    "key_info",
    "model_endpoints",
    "models",
    "models_count",
    "not_found",
    "providers",
]


async def _send(ctx: Ctx, payload: Any) -> web.StreamResponse:
    ctx.emu._resolve_faults(ctx, None)
    await pre_response(ctx, streaming=False)
    return await send_body(ctx, dumps(payload))


def _int_param(ctx: Ctx, name: str, default: int, lo: int, hi: int) -> int:
    raw = ctx.request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ctx.error(400, f"{name}: must be an integer") from None
    if not lo <= value <= hi:
        raise ctx.error(400, f"{name}: must be between {lo} and {hi}")
    return value


async def models(ctx: Ctx) -> web.StreamResponse:
    """``GET /models``: filters (see ``filter_models``), then ``offset``/``limit`` paging."""
    query = ctx.request.query
    try:
        found = filter_models(query)
    except CatalogQueryError as exc:
        raise ctx.error(400, str(exc)) from None
    paged = "offset" in query or "limit" in query
    offset = _int_param(ctx, "offset", 0, 0, 10**9)
    limit = _int_param(ctx, "limit", 500, 1, 1000)
    page = found[offset : offset + limit] if paged else found
    next_link = None
    if paged and offset + limit < len(found):
        next_query = {**query, "offset": str(offset + limit), "limit": str(limit)}
        next_link = str(ctx.request.url.with_query(next_query))
    return await _send(
        ctx,
        {
            "data": [m.to_json() for m in page],
            "links": {"next": next_link},
            "total_count": len(found),
        },
    )


async def models_count(ctx: Ctx) -> web.StreamResponse:
    try:
        found = filter_models(ctx.request.query)
    except CatalogQueryError as exc:
        raise ctx.error(400, str(exc)) from None
    return await _send(ctx, {"data": {"count": len(found)}})


async def model_endpoints(ctx: Ctx) -> web.StreamResponse:
    info = ctx.request.match_info
    model_id = f"{info['author']}/{info['slug']}"
    entry = find_model(model_id)
    if entry is None:
        raise ctx.error(404, f"No endpoints found for {model_id}.")
    return await _send(ctx, endpoints_payload(entry))


async def providers(ctx: Ctx) -> web.StreamResponse:
    return await _send(ctx, {"data": list(PROVIDERS)})


async def generation(ctx: Ctx) -> web.StreamResponse:
    """``GET /generation?id=``; 404 while the configured ``generation_lag`` has not passed."""
    gen_id = ctx.request.query.get("id")
    if not gen_id:
        raise ctx.error(400, "id: required")
    stored = ctx.emu._generations.get(gen_id)
    if stored is None or time.monotonic() < stored[0]:
        raise ctx.error(404, f"Generation {gen_id} not found")
    return await _send(ctx, {"data": stored[1]})


async def credits(ctx: Ctx) -> web.StreamResponse:
    if ctx.api_key not in ctx.emu.management_keys:
        raise ctx.error(403, "Only management keys can fetch credits")
    return await _send(
        ctx,
        {"data": {"total_credits": ctx.emu.credits, "total_usage": ctx.emu.total_usage}},
    )


async def key_info(ctx: Ctx) -> web.StreamResponse:
    usage = ctx.emu.total_usage
    is_management = ctx.api_key in ctx.emu.management_keys
    return await _send(
        ctx,
        {
            "data": {
                "label": "sk-or-v1-emu...key" if not is_management else "management key",
                "limit": None,
                "limit_remaining": None,
                "limit_reset": None,
                "include_byok_in_limit": False,
                "usage": usage,
                "usage_daily": usage,
                "usage_weekly": usage,
                "usage_monthly": usage,
                "byok_usage": 0,
                "byok_usage_daily": 0,
                "byok_usage_weekly": 0,
                "byok_usage_monthly": 0,
                "is_free_tier": False,
                "is_management_key": is_management,
                "is_provisioning_key": is_management,
                "creator_user_id": ctx.emu.user_id,
                "expires_at": None,
                "rate_limit": {"requests": -1, "interval": "10s", "note": "deprecated"},
            }
        },
    )


async def not_found(ctx: Ctx) -> web.StreamResponse:
    raise ctx.error(404, f"Not Found: {ctx.request.method} {ctx.request.path}")
