"""``GET /generation?id=``: what OpenRouter recorded about one generation (cost, tokens, timing).

Tolerant like every response model: all fields may be absent or ``null``; new ones land in
``extra``. Costs are USD credits; ``latency``, ``generation_time`` and ``moderation_latency``
are milliseconds. ``tokens_*`` are normalized (GPT-4o tokenizer) counts, ``native_tokens_*`` the
model's own tokenizer, which is what billing uses.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

import attrs

from .._convert import NO_EXTRA, response_model
from .responses import ResponseInfo

__all__ = ["Generation", "ProviderResponse"]


@response_model
@attrs.frozen(kw_only=True)
class ProviderResponse:
    """One upstream attempt (fallbacks add more than one)."""

    id: str | None = None
    endpoint_id: str | None = None
    model_permaslug: str | None = None
    provider_name: str | None = None
    status: int | None = None
    latency: float | None = None
    is_byok: bool | None = None
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)


@response_model
@attrs.frozen(kw_only=True)
class Generation:
    """Stats of one generation. ``total_cost`` is what was charged; ``upstream_inference_cost``
    only means something for BYOK requests."""

    id: str = ""
    model: str | None = None
    provider_name: str | None = None
    created_at: str | None = None
    """ISO 8601 timestamp; :attr:`created` parses it."""
    total_cost: float | None = None
    usage: float | None = None
    upstream_inference_cost: float | None = None
    cache_discount: float | None = None
    is_byok: bool | None = None
    tokens_prompt: int | None = None
    tokens_completion: int | None = None
    native_tokens_prompt: int | None = None
    native_tokens_completion: int | None = None
    native_tokens_reasoning: int | None = None
    native_tokens_cached: int | None = None
    native_tokens_completion_images: int | None = None
    num_media_prompt: int | None = None
    num_media_completion: int | None = None
    num_input_audio_prompt: int | None = None
    num_search_results: int | None = None
    num_fetches: int | None = None
    finish_reason: str | None = None
    native_finish_reason: str | None = None
    latency: float | None = None
    generation_time: float | None = None
    moderation_latency: float | None = None
    streamed: bool | None = None
    cancelled: bool | None = None
    origin: str | None = None
    app_id: int | str | None = None
    http_referer: str | None = None
    user_agent: str | None = None
    external_user: str | None = None
    api_type: str | None = None
    router: str | None = None
    preset_id: str | None = None
    service_tier: str | None = None
    data_region: str | None = None
    upstream_id: str | None = None
    provider_responses: list[ProviderResponse] = attrs.field(factory=list)
    session_id: str | None = None
    request_id: str | None = None
    response_cache_source_id: str | None = None
    web_search_engine: str | None = None
    workspace_id: str | None = None
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)
    response: ResponseInfo | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def created(self) -> datetime.datetime | None:
        """``created_at`` as an aware datetime (``None`` when absent or unparsable)."""
        text = self.created_at
        if not text:
            return None
        if text.endswith(("Z", "z")):  # fromisoformat() accepts "Z" only from 3.11
            text = text[:-1] + "+00:00"
        try:
            value = datetime.datetime.fromisoformat(text)
        except ValueError:
            return None
        return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
