"""The model catalog: ``GET /models``, ``/models/count`` and ``/models/{author}/{slug}/endpoints``.

Every class is a tolerant response model: fields OpenRouter may omit or null default to ``None``,
enum-like values stay plain strings, and unknown keys land in ``extra``. Prices arrive as decimal
**strings** in USD per token (``"0.00000015"``); they are kept as sent (no float rounding) and
:meth:`ModelPricing.decimal` / :meth:`ModelPricing.per_million` turn them into numbers.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, overload
from urllib.parse import parse_qs, urlsplit

import attrs

from .._convert import NO_EXTRA, response_model
from .responses import ResponseInfo

__all__ = [
    "Architecture",
    "Endpoint",
    "Model",
    "ModelEndpoints",
    "ModelPricing",
    "ModelsPage",
    "PageLinks",
    "Percentiles",
    "TopProvider",
]


@response_model
@attrs.frozen(kw_only=True)
class ModelPricing:
    """USD per token (per request / per image for ``request`` / ``image``), as decimal strings."""

    prompt: str | None = None
    completion: str | None = None
    request: str | None = None
    image: str | None = None
    web_search: str | None = None
    internal_reasoning: str | None = None
    input_cache_read: str | None = None
    input_cache_write: str | None = None
    input_cache_write_1h: str | None = None
    audio: str | None = None
    discount: float | None = None
    overrides: Any = None
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)

    def decimal(self, name: str) -> Decimal | None:
        """The price ``name`` (``"prompt"``, ``"completion"``, or any extra key) as a Decimal.

        ``None`` when absent or not a number.
        """
        value = getattr(self, name, None) if name in _PRICE_FIELDS else self.extra.get(name)
        if value is None or isinstance(value, bool):
            return None
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return None

    def per_million(self, name: str) -> Decimal | None:
        """The price ``name`` in USD per million tokens (how the website shows it)."""
        value = self.decimal(name)
        return None if value is None else value * 1_000_000


_PRICE_FIELDS = frozenset(
    f.name for f in attrs.fields(ModelPricing) if f.name not in ("extra", "overrides")
)


@response_model
@attrs.frozen(kw_only=True)
class Architecture:
    modality: str | None = None
    """``"text+image->text"``."""
    input_modalities: list[str] = attrs.field(factory=list)
    output_modalities: list[str] = attrs.field(factory=list)
    tokenizer: str | None = None
    instruct_type: str | None = None
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)


@response_model
@attrs.frozen(kw_only=True)
class TopProvider:
    context_length: int | None = None
    max_completion_tokens: int | None = None
    is_moderated: bool | None = None
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)


@response_model
@attrs.frozen(kw_only=True)
class Model:
    """One catalog entry. ``id`` is the slug to send as ``model`` (``"openai/gpt-4o-mini"``)."""

    id: str = ""
    canonical_slug: str | None = None
    name: str = ""
    created: int | None = None
    description: str | None = None
    context_length: int | None = None
    architecture: Architecture | None = None
    pricing: ModelPricing | None = None
    top_provider: TopProvider | None = None
    per_request_limits: dict[str, Any] | None = None
    supported_parameters: list[str] = attrs.field(factory=list)
    default_parameters: dict[str, Any] | None = None
    reasoning: dict[str, Any] | None = None
    hugging_face_id: str | None = None
    knowledge_cutoff: str | None = None
    expiration_date: str | None = None
    links: dict[str, Any] | None = None
    supported_voices: Any = None
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)

    @property
    def author(self) -> str:
        """The part of ``id`` before ``/`` (``"openai"``)."""
        return self.id.partition("/")[0]

    def supports(self, parameter: str) -> bool:
        """Whether ``parameter`` (``"tools"``, ``"reasoning"``…) is in ``supported_parameters``."""
        return parameter in self.supported_parameters


@response_model
@attrs.frozen(kw_only=True)
class PageLinks:
    next: str | None = None
    """The URL of the next page, or ``None`` on the last one."""
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)


@response_model
@attrs.frozen(kw_only=True)
class ModelsPage:
    """A page of ``GET /models``; behaves as a read-only list of :class:`Model`.

    ``total_count`` counts every model matching the filters (all pages); ``next`` is the next
    page's URL (``None`` on the last page or when the list was not paged).
    """

    data: list[Model] = attrs.field(factory=list)
    links: PageLinks | None = None
    total_count: int | None = None
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)
    response: ResponseInfo | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def next(self) -> str | None:
        return self.links.next if self.links is not None else None

    @property
    def next_offset(self) -> int | None:
        """The ``offset`` query parameter of :attr:`next` (``None`` when there is no next page)."""
        link = self.next
        if not link:
            return None
        values = parse_qs(urlsplit(link).query).get("offset")
        if not values:
            return None
        try:
            return int(values[-1])
        except ValueError:
            return None

    def ids(self) -> list[str]:
        return [m.id for m in self.data]

    def __iter__(self) -> Iterator[Model]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    @overload
    def __getitem__(self, index: int) -> Model: ...
    @overload
    def __getitem__(self, index: slice) -> list[Model]: ...
    def __getitem__(self, index: int | slice) -> Model | list[Model]:
        return self.data[index]

    def __bool__(self) -> bool:
        return bool(self.data)


@response_model
@attrs.frozen(kw_only=True)
class Percentiles:
    """Latency (ms) or throughput (tokens/s) percentiles over the last 30 minutes."""

    p50: float | None = None
    p75: float | None = None
    p90: float | None = None
    p99: float | None = None
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)


@response_model
@attrs.frozen(kw_only=True)
class Endpoint:
    """One provider endpoint serving a model.

    ``status``: 0 is healthy; negative values are degraded states (-1, -2, -3, -5, -10 seen).
    """

    name: str = ""
    model_id: str | None = None
    model_name: str | None = None
    provider_name: str | None = None
    tag: str | None = None
    context_length: int | None = None
    max_completion_tokens: int | None = None
    max_prompt_tokens: int | None = None
    pricing: ModelPricing | None = None
    quantization: str | None = None
    supported_parameters: list[str] = attrs.field(factory=list)
    supports_implicit_caching: bool | None = None
    status: int | None = None
    uptime_last_5m: float | None = None
    uptime_last_30m: float | None = None
    uptime_last_1d: float | None = None
    latency_last_30m: Percentiles | None = None
    throughput_last_30m: Percentiles | None = None
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)


@response_model
@attrs.frozen(kw_only=True)
class ModelEndpoints:
    """``GET /models/{author}/{slug}/endpoints``: a model and the endpoints that serve it."""

    id: str = ""
    name: str = ""
    created: int | None = None
    description: str | None = None
    architecture: Architecture | None = None
    endpoints: list[Endpoint] = attrs.field(factory=list)
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)
    response: ResponseInfo | None = attrs.field(default=None, eq=False, repr=False)
