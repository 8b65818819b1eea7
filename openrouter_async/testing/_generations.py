"""``GET /generation`` records: what the emulator stores about each finished generation."""

from __future__ import annotations

import datetime
from typing import Any

from ._catalog import ModelEntry
from ._context import Ctx
from ._models import Plan, usage_payload
from ._output import StreamOutcome

__all__ = ["generation_data"]


def generation_data(
    ctx: Ctx,
    entry: ModelEntry,
    plan: Plan,
    outcome: StreamOutcome,
    *,
    streamed: bool,
    api_type: str,
    elapsed: float,
) -> dict[str, Any]:
    """The ``data`` object of ``GET /generation`` (§6); ``cancelled`` = never reached a finish."""
    gen_id = ctx.record.generation_id or ""
    reasoning = sum(1 for s in plan.steps[: outcome.generated] if s.kind == "reasoning")
    usage = usage_payload(entry, plan.prompt_tokens, outcome.generated, reasoning)
    cost = usage["cost"]
    first = outcome.first_token_at
    latency_ms = round(((first - ctx.record.started_at) if first else elapsed) * 1000)
    headers = ctx.request.headers
    body = ctx.record.body if isinstance(ctx.record.body, dict) else {}
    created_at = datetime.datetime.fromtimestamp(ctx.created, datetime.timezone.utc)
    data: dict[str, Any] = {
        "id": gen_id,
        "upstream_id": f"emu-{gen_id}",
        "total_cost": cost,
        "cache_discount": None,
        "upstream_inference_cost": None,
        "created_at": created_at.isoformat().replace("+00:00", "Z"),
        "model": entry.id,
        "app_id": None,
        "streamed": streamed,
        "cancelled": outcome.finish_reason is None,
        "provider_name": entry.provider,
        "latency": latency_ms,
        "moderation_latency": None,
        "generation_time": round(elapsed * 1000),
        "finish_reason": outcome.finish_reason,
        "native_finish_reason": outcome.finish_reason,
        "tokens_prompt": plan.prompt_tokens,
        "tokens_completion": outcome.generated,
        "native_tokens_prompt": plan.prompt_tokens,
        "native_tokens_completion": outcome.generated,
        "native_tokens_completion_images": 0,
        "native_tokens_reasoning": reasoning,
        "native_tokens_cached": 0,
        "num_media_prompt": None,
        "num_input_audio_prompt": None,
        "num_media_completion": 0,
        "num_search_results": 0,
        "num_fetches": 0,
        "origin": headers.get("HTTP-Referer", ""),
        "usage": cost,
        "is_byok": False,
        "api_type": api_type,
        "router": None,
        "preset_id": None,
        "http_referer": headers.get("HTTP-Referer"),
        "user_agent": headers.get("User-Agent"),
        "external_user": body.get("user"),
        "service_tier": None,
        # The schema makes this a required enum (global/europe/us); the emulator has no EU
        # in-region routing, so every generation ran in the global region.
        "data_region": "global",
        "session_id": body.get("session_id") or headers.get("x-session-id"),
        "request_id": f"req-emu{ctx.record.seq:06d}",
        "response_cache_source_id": None,
        "web_search_engine": None,
        "workspace_id": None,
        "provider_responses": [
            {
                "id": f"emu-{gen_id}",
                "endpoint_id": f"{entry.provider_slug}/{entry.id}",
                "model_permaslug": entry.id,
                "provider_name": entry.provider,
                "status": 200,
                "latency": latency_ms,
                "is_byok": False,
            }
        ],
    }
    return data
