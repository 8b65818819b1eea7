"""The chat request's option objects: routing (provider preferences), reasoning, plugins,
tracing, web search, and the small ones (stream/usage/debug).

Provider names, quantizations, plugin ids and search engines are open vocabularies on OpenRouter
(new ones appear without notice), so they are plain strings; small semantic enums are Literals
and are checked at build time.

Plugins and ``trace`` are documented as open objects (``{id, enabled?, ...options}``,
``{trace_id, ..., ...any}``); like every request object here, a dict becomes the typed class (its
known keys validated) and keys the SDK does not model are kept in ``extra`` and sent as given, so
new options work before the SDK knows them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs

from .._convert import request_model
from ._validators import (
    check_number,
    check_str,
    coerce_model,
    coerce_models,
    constant,
    extra_field,
    fail,
    from_mapping,
    optional_bool,
    optional_choice,
    optional_int,
    optional_json_object,
    optional_number,
    optional_str,
    optional_str_items,
    required_str,
    to_str_tuple,
    type_name,
)

__all__ = [
    "AnyPlugin",
    "ContextCompressionPlugin",
    "DebugOptions",
    "FileParserPlugin",
    "MaxPrice",
    "PdfParserOptions",
    "Percentiles",
    "Plugin",
    "ProviderPreferences",
    "ProviderSort",
    "Reasoning",
    "ReasoningEffort",
    "ResponseHealingPlugin",
    "StreamOptions",
    "Trace",
    "UsageOptions",
    "WebPlugin",
    "WebSearchOptions",
]

ReasoningEffort = Literal["max", "xhigh", "high", "medium", "low", "minimal", "none"]
REASONING_EFFORTS: tuple[str, ...] = ("max", "xhigh", "high", "medium", "low", "minimal", "none")

ProviderSortBy = Literal["price", "throughput", "latency", "exacto"]
_SORT_BY: tuple[str, ...] = ("price", "throughput", "latency", "exacto")


# --- provider preferences ------------------------------------------------------------------------


@request_model
@attrs.frozen(kw_only=True)
class ProviderSort:
    """Object form of ``provider.sort``: ``partition="model"`` (default) keeps fallback models as
    fallbacks; ``"none"`` sorts the endpoints of all models together."""

    by: ProviderSortBy | None = attrs.field(default=None, validator=optional_choice(*_SORT_BY))
    partition: Literal["model", "none"] | None = attrs.field(
        default=None, validator=optional_choice("model", "none")
    )
    extra: Mapping[str, Any] | None = extra_field()


@request_model
@attrs.frozen(kw_only=True)
class Percentiles:
    """Percentile cut-offs for ``preferred_min_throughput`` (tokens/s) or
    ``preferred_max_latency`` (seconds)."""

    p50: float | None = attrs.field(default=None, validator=optional_number())
    p75: float | None = attrs.field(default=None, validator=optional_number())
    p90: float | None = attrs.field(default=None, validator=optional_number())
    p99: float | None = attrs.field(default=None, validator=optional_number())
    extra: Mapping[str, Any] | None = extra_field()


def _check_price(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    # The spec types prices as strings and states no format, so a string is sent as given.
    if value is None or isinstance(value, str):
        return
    check_number(value, attribute.name, lo=0)


@request_model
@attrs.frozen(kw_only=True)
class MaxPrice:
    """Hard price ceiling, USD per million tokens (prompt, completion) or per image / audio unit /
    request. The spec types the members as strings and the guide uses numbers: both are sent as
    given."""

    prompt: float | str | None = attrs.field(default=None, validator=_check_price)
    completion: float | str | None = attrs.field(default=None, validator=_check_price)
    image: float | str | None = attrs.field(default=None, validator=_check_price)
    audio: float | str | None = attrs.field(default=None, validator=_check_price)
    request: float | str | None = attrs.field(default=None, validator=_check_price)
    extra: Mapping[str, Any] | None = extra_field()


def _to_sort(
    value: ProviderSortBy | ProviderSort | Mapping[str, Any] | None,
) -> ProviderSortBy | ProviderSort | None:
    if value is None or isinstance(value, str):
        return value
    return coerce_model(
        ProviderSort, value, "sort", what="'price', 'throughput', ..., a ProviderSort"
    )


def _to_min_throughput(
    value: float | Percentiles | Mapping[str, Any] | None,
) -> float | Percentiles | None:
    if isinstance(value, Mapping):
        return coerce_model(Percentiles, value, "preferred_min_throughput")
    return value


def _to_max_latency(
    value: float | Percentiles | Mapping[str, Any] | None,
) -> float | Percentiles | None:
    if isinstance(value, Mapping):
        return coerce_model(Percentiles, value, "preferred_max_latency")
    return value


def _check_cutoff(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not isinstance(value, Percentiles):
        check_number(value, attribute.name)


def _to_max_price(value: MaxPrice | Mapping[str, Any] | None) -> MaxPrice | None:
    return None if value is None else coerce_model(MaxPrice, value, "max_price")


@request_model
@attrs.frozen(kw_only=True)
class ProviderPreferences:
    """How OpenRouter picks the provider endpoint (``provider`` in the request).

    ``order`` / ``only`` / ``ignore`` take provider slugs or display names (an endpoint variant
    such as ``"deepinfra/turbo"`` too). Setting ``sort`` disables price-weighted load balancing.
    ``sort``, ``data_collection`` and the other enum-like values take any string, so a value
    OpenRouter adds works at once.
    """

    order: tuple[str, ...] | None = attrs.field(
        default=None, converter=to_str_tuple, validator=optional_str_items(nonempty_items=False)
    )
    allow_fallbacks: bool | None = attrs.field(default=None, validator=optional_bool)
    require_parameters: bool | None = attrs.field(default=None, validator=optional_bool)
    data_collection: Literal["allow", "deny"] | None = attrs.field(
        default=None, validator=optional_choice("allow", "deny")
    )
    zdr: bool | None = attrs.field(default=None, validator=optional_bool)
    enforce_distillable_text: bool | None = attrs.field(default=None, validator=optional_bool)
    only: tuple[str, ...] | None = attrs.field(
        default=None, converter=to_str_tuple, validator=optional_str_items(nonempty_items=False)
    )
    ignore: tuple[str, ...] | None = attrs.field(
        default=None, converter=to_str_tuple, validator=optional_str_items(nonempty_items=False)
    )
    quantizations: tuple[str, ...] | None = attrs.field(
        default=None, converter=to_str_tuple, validator=optional_str_items(nonempty_items=False)
    )
    """``int4, int8, fp4, mxfp4, nvfp4, fp6, fp8, mxfp8, fp16, bf16, fp32, unknown`` (grows)."""
    sort: ProviderSortBy | ProviderSort | None = attrs.field(default=None, converter=_to_sort)
    preferred_min_throughput: float | Percentiles | None = attrs.field(
        default=None, converter=_to_min_throughput, validator=_check_cutoff
    )
    preferred_max_latency: float | Percentiles | None = attrs.field(
        default=None, converter=_to_max_latency, validator=_check_cutoff
    )
    max_price: MaxPrice | None = attrs.field(default=None, converter=_to_max_price)
    options: Mapping[str, Any] | None = attrs.field(default=None, validator=optional_json_object)
    """Provider-specific options, keyed by provider slug, passed to that provider as given."""
    extra: Mapping[str, Any] | None = extra_field()


def to_provider(
    value: ProviderPreferences | Mapping[str, Any] | None,
) -> ProviderPreferences | None:
    """Field converter for ``provider``."""
    return None if value is None else coerce_model(ProviderPreferences, value, "provider")


# --- reasoning -----------------------------------------------------------------------------------


@request_model
@attrs.frozen(kw_only=True)
class Reasoning:
    """Reasoning-token controls. Use ``effort`` or ``max_tokens``, not both."""

    effort: ReasoningEffort | None = attrs.field(
        default=None, validator=optional_choice(*REASONING_EFFORTS)
    )
    max_tokens: int | None = attrs.field(default=None, validator=optional_int(lo=0))
    exclude: bool | None = attrs.field(default=None, validator=optional_bool)
    enabled: bool | None = attrs.field(default=None, validator=optional_bool)
    summary: Literal["auto", "concise", "detailed"] | None = attrs.field(
        default=None, validator=optional_choice("auto", "concise", "detailed")
    )
    context: Literal["auto", "all_turns", "current_turn"] | None = attrs.field(
        default=None, validator=optional_choice("auto", "all_turns", "current_turn")
    )
    mode: Literal["standard", "pro"] | None = attrs.field(
        default=None, validator=optional_choice("standard", "pro")
    )
    extra: Mapping[str, Any] | None = extra_field()

    def __attrs_post_init__(self) -> None:
        if self.effort is not None and self.max_tokens is not None:
            fail(
                f"use either effort or max_tokens, not both (effort={self.effort!r} is set)",
                "max_tokens",
            )


def to_reasoning(value: Reasoning | Mapping[str, Any] | None) -> Reasoning | None:
    """Field converter for ``reasoning``."""
    return None if value is None else coerce_model(Reasoning, value, "reasoning")


# --- plugins -------------------------------------------------------------------------------------


@request_model
@attrs.frozen(kw_only=True)
class WebPlugin:
    """``{"id": "web", ...}``: web search results in the context (prefer the
    ``openrouter:web_search`` server tool for new code)."""

    id: Literal["web"] = attrs.field(default="web", validator=constant("web"))
    enabled: bool | None = attrs.field(default=None, validator=optional_bool)
    engine: str | None = attrs.field(default=None, validator=optional_str())
    """``native``, ``exa``, ``firecrawl``, ``parallel``, ``perplexity``, ..."""
    mode: str | None = attrs.field(default=None, validator=optional_str())
    max_results: int | None = attrs.field(default=None, validator=optional_int())
    search_prompt: str | None = attrs.field(default=None, validator=optional_str())
    include_domains: tuple[str, ...] | None = attrs.field(
        default=None, converter=to_str_tuple, validator=optional_str_items(nonempty_items=False)
    )
    exclude_domains: tuple[str, ...] | None = attrs.field(
        default=None, converter=to_str_tuple, validator=optional_str_items(nonempty_items=False)
    )
    max_uses: int | None = attrs.field(default=None, validator=optional_int())
    user_location: Mapping[str, Any] | None = attrs.field(
        default=None, validator=optional_json_object
    )
    extra: Mapping[str, Any] | None = extra_field()


@request_model
@attrs.frozen(kw_only=True)
class PdfParserOptions:
    engine: str | None = attrs.field(default=None, validator=optional_str())
    """``mistral-ocr``, ``cloudflare-ai`` or ``native`` (``pdf-text`` is deprecated)."""
    extra: Mapping[str, Any] | None = extra_field()


def _to_pdf(value: PdfParserOptions | Mapping[str, Any] | None) -> PdfParserOptions | None:
    return None if value is None else coerce_model(PdfParserOptions, value, "pdf")


@request_model
@attrs.frozen(kw_only=True)
class FileParserPlugin:
    """``{"id": "file-parser", "pdf"?: {"engine": ...}}``: how PDFs are turned into text."""

    id: Literal["file-parser"] = attrs.field(
        default="file-parser", validator=constant("file-parser")
    )
    enabled: bool | None = attrs.field(default=None, validator=optional_bool)
    pdf: PdfParserOptions | None = attrs.field(default=None, converter=_to_pdf)
    extra: Mapping[str, Any] | None = extra_field()


@request_model
@attrs.frozen(kw_only=True)
class ResponseHealingPlugin:
    """Repairs malformed JSON of non-streaming ``json_schema`` responses."""

    id: Literal["response-healing"] = attrs.field(
        default="response-healing", validator=constant("response-healing")
    )
    enabled: bool | None = attrs.field(default=None, validator=optional_bool)
    extra: Mapping[str, Any] | None = extra_field()


@request_model
@attrs.frozen(kw_only=True)
class ContextCompressionPlugin:
    """Compresses prompts that exceed the context (``engine="middle-out"``); auto-enabled on
    endpoints with ≤8k context — send ``enabled=False`` to opt out."""

    id: Literal["context-compression"] = attrs.field(
        default="context-compression", validator=constant("context-compression")
    )
    enabled: bool | None = attrs.field(default=None, validator=optional_bool)
    engine: str | None = attrs.field(default=None, validator=optional_str())
    extra: Mapping[str, Any] | None = extra_field()


@request_model
@attrs.frozen(kw_only=True)
class Plugin:
    """Any plugin by id (``moderation``, ``auto-router``, ...); its options go in ``extra`` (a
    plugin dict's unknown keys land there and are sent as given)."""

    id: str = attrs.field(validator=required_str(nonempty=True))
    enabled: bool | None = attrs.field(default=None, validator=optional_bool)
    extra: Mapping[str, Any] | None = extra_field()


AnyPlugin = WebPlugin | FileParserPlugin | ResponseHealingPlugin | ContextCompressionPlugin | Plugin
"""A typed plugin; ``plugins`` also accepts raw dicts for options the SDK does not model."""

_PLUGINS: dict[str, type[Any]] = {
    "web": WebPlugin,
    "file-parser": FileParserPlugin,
    "response-healing": ResponseHealingPlugin,
    "context-compression": ContextCompressionPlugin,
}


def _plugin(value: object, path: str) -> AnyPlugin | Mapping[str, Any]:
    if isinstance(
        value,
        (WebPlugin, FileParserPlugin, ResponseHealingPlugin, ContextCompressionPlugin, Plugin),
    ):
        return value
    if not isinstance(value, Mapping):
        fail(f"must be a plugin object or a mapping, got {type_name(value)}", path)
    plugin_id = check_str(value.get("id"), f"{path}.id", nonempty=True)
    built: AnyPlugin = from_mapping(_PLUGINS.get(plugin_id, Plugin), value, path)
    return built


def to_plugins(
    value: Sequence[AnyPlugin | Mapping[str, Any]] | None,
) -> tuple[AnyPlugin | Mapping[str, Any], ...] | None:
    """Field converter for ``plugins``."""
    if value is None:
        return None
    return coerce_models(value, "plugins", _plugin, what="plugins")


# --- trace, web search, small options ------------------------------------------------------------


@request_model
@attrs.frozen(kw_only=True)
class Trace:
    """Observability ids forwarded to broadcast destinations; any other keys go in ``extra``."""

    trace_id: str | None = attrs.field(default=None, validator=optional_str())
    trace_name: str | None = attrs.field(default=None, validator=optional_str())
    span_name: str | None = attrs.field(default=None, validator=optional_str())
    generation_name: str | None = attrs.field(default=None, validator=optional_str())
    parent_span_id: str | None = attrs.field(default=None, validator=optional_str())
    extra: Mapping[str, Any] | None = extra_field()


def to_trace(value: Trace | Mapping[str, Any] | None) -> Trace | Mapping[str, Any] | None:
    """Field converter for ``trace``: a :class:`Trace` (further keys kept in its ``extra``)."""
    if value is None:
        return None
    return coerce_model(Trace, value, "trace")


@request_model
@attrs.frozen(kw_only=True)
class WebSearchOptions:
    """Native web search sizing (``web_search_options``)."""

    search_context_size: Literal["low", "medium", "high"] | None = attrs.field(
        default=None, validator=optional_choice("low", "medium", "high")
    )
    max_results: int | None = attrs.field(default=None, validator=optional_int())
    search_prompt: str | None = attrs.field(default=None, validator=optional_str())
    engine: str | None = attrs.field(default=None, validator=optional_str())
    user_location: Mapping[str, Any] | None = attrs.field(
        default=None, validator=optional_json_object
    )
    extra: Mapping[str, Any] | None = extra_field()


def to_web_search_options(
    value: WebSearchOptions | Mapping[str, Any] | None,
) -> WebSearchOptions | None:
    """Field converter for ``web_search_options``."""
    return None if value is None else coerce_model(WebSearchOptions, value, "web_search_options")


@request_model
@attrs.frozen(kw_only=True)
class StreamOptions:
    """Deprecated no-op (usage is always included); kept so old code keeps working."""

    include_usage: bool | None = attrs.field(default=None, validator=optional_bool)
    extra: Mapping[str, Any] | None = extra_field()


@request_model
@attrs.frozen(kw_only=True)
class UsageOptions:
    """Deprecated no-op (full usage is always returned)."""

    include: bool | None = attrs.field(default=None, validator=optional_bool)
    extra: Mapping[str, Any] | None = extra_field()


@request_model
@attrs.frozen(kw_only=True)
class DebugOptions:
    """Streaming only: ``echo_upstream_body=True`` returns the body sent upstream. Not for
    production."""

    echo_upstream_body: bool | None = attrs.field(default=None, validator=optional_bool)
    extra: Mapping[str, Any] | None = extra_field()


def to_stream_options(value: StreamOptions | Mapping[str, Any] | None) -> StreamOptions | None:
    return None if value is None else coerce_model(StreamOptions, value, "stream_options")


def to_usage(value: UsageOptions | Mapping[str, Any] | None) -> UsageOptions | None:
    return None if value is None else coerce_model(UsageOptions, value, "usage")


def to_debug(value: DebugOptions | Mapping[str, Any] | None) -> DebugOptions | None:
    return None if value is None else coerce_model(DebugOptions, value, "debug")
