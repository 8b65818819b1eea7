"""The emulator's static catalog: models (§6 ``Model`` shape), their endpoints, providers.

Each entry pairs the public JSON with a few private facts the server needs (which built-in
behaviour answers for it, its provider, categories, popularity). Query filtering for
``GET /models`` lives here too so it can be tested without a server.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import attrs

__all__ = [
    "EMULATOR_PROVIDER",
    "MODELS",
    "PROVIDERS",
    "CatalogQueryError",
    "ModelEntry",
    "endpoints_payload",
    "filter_models",
    "find_model",
]

#: The provider serving the ``emulator/*`` models. OpenRouter's OpenAPI schema closes provider
#: names to an enum; ``FakeProvider`` (slug ``fake-provider``) is in it, so bodies stay
#: schema-valid while the name still says plainly that nothing real answered.
EMULATOR_PROVIDER = "FakeProvider"
EMULATOR_PROVIDER_SLUG = "fake-provider"

_TEXT_PARAMS = (
    "max_tokens",
    "temperature",
    "top_p",
    "stop",
    "frequency_penalty",
    "presence_penalty",
    "seed",
    "response_format",
    "structured_outputs",
    "tools",
    "tool_choice",
)


@attrs.frozen
class ModelEntry:
    id: str
    name: str
    created: int
    description: str
    behaviour: str  # echo | lorem | tools | reasoning | json | embed
    provider: str  # display name, e.g. "OpenAI"
    provider_slug: str
    prompt_price: str  # USD per token, as the API's strings
    completion_price: str
    context_length: int = 128_000
    max_completion_tokens: int | None = 16_384
    input_modalities: tuple[str, ...] = ("text",)
    output_modalities: tuple[str, ...] = ("text",)
    tokenizer: str = "Other"
    supported_parameters: tuple[str, ...] = _TEXT_PARAMS
    categories: tuple[str, ...] = ()
    popularity: int = 100  # lower = more popular
    reasoning: bool = False
    embedding_dims: int = 0
    hugging_face_id: str | None = None
    knowledge_cutoff: str | None = None

    @property
    def author(self) -> str:
        return self.id.split("/", 1)[0]

    @property
    def prompt_per_million(self) -> Decimal:
        return Decimal(self.prompt_price) * 1_000_000

    @property
    def completion_per_million(self) -> Decimal:
        return Decimal(self.completion_price) * 1_000_000

    def pricing(self) -> dict[str, str]:
        return {
            "prompt": self.prompt_price,
            "completion": self.completion_price,
            "request": "0",
            "image": "0",
            "web_search": "0",
            "internal_reasoning": "0",
        }

    def architecture(self) -> dict[str, Any]:
        modality = "+".join(self.input_modalities) + "->" + "+".join(self.output_modalities)
        return {
            "modality": modality,
            "input_modalities": list(self.input_modalities),
            "output_modalities": list(self.output_modalities),
            "tokenizer": self.tokenizer,
            "instruct_type": None,
        }

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "canonical_slug": self.id,
            "hugging_face_id": self.hugging_face_id,
            "name": self.name,
            "created": self.created,
            "description": self.description,
            "context_length": self.context_length,
            "architecture": self.architecture(),
            "pricing": self.pricing(),
            "top_provider": {
                "context_length": self.context_length,
                "max_completion_tokens": self.max_completion_tokens,
                "is_moderated": self.provider_slug == "openai",
            },
            "per_request_limits": None,
            "supported_parameters": list(self.supported_parameters),
            "default_parameters": {"temperature": None, "top_p": None, "frequency_penalty": None},
        }
        if self.reasoning:
            out["reasoning"] = {
                "supported_efforts": ["high", "medium", "low", "minimal", "none"],
                "default_effort": "medium",
                "default_enabled": True,
                "mandatory": False,
            }
        out["knowledge_cutoff"] = self.knowledge_cutoff
        out["expiration_date"] = None
        out["links"] = {"details": f"/api/v1/models/{self.id}/endpoints"}
        out["supported_voices"] = None
        return out


def _emulator_model(**kw: Any) -> ModelEntry:
    """A built-in model: served by ``EMULATOR_PROVIDER`` at $1/M prompt, $2/M completion."""
    return ModelEntry(
        provider=EMULATOR_PROVIDER,
        provider_slug=EMULATOR_PROVIDER_SLUG,
        prompt_price="0.000001",
        completion_price="0.000002",
        created=1_750_000_000,
        **kw,
    )


MODELS: tuple[ModelEntry, ...] = (
    _emulator_model(
        id="emulator/echo",
        name="Emulator: Echo",
        description="Replies with the text of the last user message, one token per word.",
        behaviour="echo",
        categories=("programming",),
        popularity=5,
    ),
    _emulator_model(
        id="emulator/lorem",
        name="Emulator: Lorem",
        description="Streams N tokens of lorem ipsum at a configurable pace.",
        behaviour="lorem",
        categories=("roleplay",),
        popularity=6,
    ),
    _emulator_model(
        id="emulator/tools",
        name="Emulator: Tools",
        description="Calls the first tool it is given, then summarises the tool result.",
        behaviour="tools",
        categories=("programming",),
        popularity=7,
    ),
    _emulator_model(
        id="emulator/reasoning",
        name="Emulator: Reasoning",
        description="Thinks out loud (reasoning and reasoning_details), then answers.",
        behaviour="reasoning",
        reasoning=True,
        supported_parameters=(*_TEXT_PARAMS, "reasoning", "include_reasoning"),
        categories=("science",),
        popularity=8,
    ),
    _emulator_model(
        id="emulator/json",
        name="Emulator: JSON",
        description="Produces a JSON object matching response_format.",
        behaviour="json",
        categories=("programming",),
        popularity=9,
    ),
    _emulator_model(
        id="emulator/embed",
        name="Emulator: Embeddings",
        description="Deterministic 64-dimension embeddings from a hash of the input.",
        behaviour="embed",
        output_modalities=("embeddings",),
        # The schema's closed ``Parameter`` enum has no embedding parameters (``dimensions``,
        # ``encoding_format``), so embedding models list none; /embeddings still honours both.
        supported_parameters=(),
        max_completion_tokens=None,
        embedding_dims=64,
        popularity=10,
    ),
    ModelEntry(
        id="openai/gpt-4o-mini",
        name="OpenAI: GPT-4o-mini",
        created=1_721_260_800,
        description="GPT-4o mini is OpenAI's small multimodal model (answers like emulator/echo).",
        behaviour="echo",
        provider="OpenAI",
        provider_slug="openai",
        prompt_price="0.00000015",
        completion_price="0.0000006",
        input_modalities=("text", "image", "file"),
        tokenizer="GPT",
        supported_parameters=(*_TEXT_PARAMS, "logprobs", "top_logprobs", "logit_bias"),
        categories=("programming", "marketing"),
        popularity=1,
        knowledge_cutoff="2023-10-01",
    ),
    ModelEntry(
        id="openai/gpt-3.5-turbo-instruct",
        name="OpenAI: GPT-3.5 Turbo Instruct",
        created=1_695_859_200,
        description="A completions-style model, here for legacy /completions (answers like echo).",
        behaviour="echo",
        provider="OpenAI",
        provider_slug="openai",
        prompt_price="0.0000015",
        completion_price="0.000002",
        context_length=4_095,
        max_completion_tokens=4_096,
        tokenizer="GPT",
        supported_parameters=(
            "max_tokens",
            "temperature",
            "top_p",
            "stop",
            "frequency_penalty",
            "presence_penalty",
            "seed",
            "logit_bias",
            "logprobs",
            "top_logprobs",
        ),
        categories=("programming",),
        popularity=11,
    ),
    ModelEntry(
        id="anthropic/claude-sonnet-4.5",
        name="Anthropic: Claude Sonnet 4.5",
        created=1_759_161_600,
        description="Claude Sonnet 4.5 (answers like emulator/reasoning).",
        behaviour="reasoning",
        provider="Anthropic",
        provider_slug="anthropic",
        prompt_price="0.000003",
        completion_price="0.000015",
        context_length=1_000_000,
        max_completion_tokens=64_000,
        input_modalities=("text", "image", "file"),
        tokenizer="Claude",
        reasoning=True,
        supported_parameters=(*_TEXT_PARAMS, "reasoning", "include_reasoning", "top_k"),
        categories=("programming", "technology"),
        popularity=2,
        knowledge_cutoff="2025-07-31",
    ),
    ModelEntry(
        id="google/gemini-2.5-flash",
        name="Google: Gemini 2.5 Flash",
        created=1_750_172_488,
        description="Gemini 2.5 Flash (answers like emulator/echo).",
        behaviour="echo",
        provider="Google",
        provider_slug="google-vertex",
        prompt_price="0.0000003",
        completion_price="0.0000025",
        context_length=1_048_576,
        max_completion_tokens=65_535,
        input_modalities=("text", "image", "file", "audio", "video"),
        tokenizer="Gemini",
        categories=("translation", "technology"),
        popularity=3,
    ),
    ModelEntry(
        id="google/gemini-2.5-flash-image",
        name="Google: Gemini 2.5 Flash Image",
        created=1_759_000_000,
        description="Image generation model (answers like emulator/echo).",
        behaviour="echo",
        provider="Google",
        provider_slug="google-vertex",
        prompt_price="0.0000003",
        completion_price="0.0000025",
        context_length=32_768,
        max_completion_tokens=8_192,
        input_modalities=("image", "text"),
        output_modalities=("image", "text"),
        tokenizer="Gemini",
        supported_parameters=("max_tokens", "temperature", "top_p", "seed", "response_format"),
        popularity=12,
    ),
    ModelEntry(
        id="openai/text-embedding-3-small",
        name="OpenAI: Text Embedding 3 Small",
        created=1_705_000_000,
        description="OpenAI's small embedding model (1536 dimensions, hash-derived here).",
        behaviour="embed",
        provider="OpenAI",
        provider_slug="openai",
        prompt_price="0.00000002",
        completion_price="0",
        context_length=8_192,
        max_completion_tokens=None,
        output_modalities=("embeddings",),
        tokenizer="GPT",
        supported_parameters=(),
        embedding_dims=1536,
        popularity=4,
    ),
)

_BY_ID = {m.id: m for m in MODELS}

# Headquarters and datacenters are ISO 3166-1 alpha-2 codes, as the schema requires.
PROVIDERS: tuple[dict[str, Any], ...] = tuple(
    {
        "name": name,
        "slug": slug,
        "privacy_policy_url": f"https://{domain}/privacy",
        "terms_of_service_url": f"https://{domain}/terms",
        "status_page_url": status,
        "headquarters": hq,
        "datacenters": dcs,
    }
    for name, slug, domain, status, hq, dcs in (
        (
            "Anthropic",
            "anthropic",
            "www.anthropic.com",
            "https://status.anthropic.com",
            "US",
            ["US"],
        ),
        (EMULATOR_PROVIDER, EMULATOR_PROVIDER_SLUG, "emulator.invalid", None, None, ["US"]),
        ("Google", "google-vertex", "cloud.google.com", None, "US", ["US", "BE"]),
        ("OpenAI", "openai", "openai.com", "https://status.openai.com", "US", ["US"]),
        ("Together", "together", "www.together.ai", None, "US", ["US"]),
    )
)


def find_model(model_id: str) -> ModelEntry | None:
    return _BY_ID.get(model_id)


def endpoints_payload(model: ModelEntry) -> dict[str, Any]:
    """``GET /models/{author}/{slug}/endpoints`` body (§6)."""
    endpoint = {
        "name": f"{model.provider} | {model.id}",
        "model_id": model.id,
        "model_name": model.name,
        "provider_name": model.provider,
        "tag": model.provider_slug,
        "context_length": model.context_length,
        "max_completion_tokens": model.max_completion_tokens,
        "max_prompt_tokens": None,
        "pricing": {**model.pricing(), "discount": 0},
        "quantization": "unknown",
        "supported_parameters": list(model.supported_parameters),
        "supports_implicit_caching": False,
        "status": 0,
        "uptime_last_5m": 100,
        "uptime_last_30m": 100,
        "uptime_last_1d": 100,
        "latency_last_30m": {"p50": 250, "p75": 320, "p90": 410, "p99": 900},
        "throughput_last_30m": {"p50": 80, "p75": 70, "p90": 55, "p99": 30},
    }
    return {
        "data": {
            "id": model.id,
            "name": model.name,
            "created": model.created,
            "description": model.description,
            "architecture": model.architecture(),
            "endpoints": [endpoint],
        }
    }


class CatalogQueryError(ValueError):
    """A ``/models`` query parameter is invalid (answered with 400)."""


def _csv(value: str) -> list[str]:
    return [v.strip().lower() for v in value.split(",") if v.strip()]


def _price(query: Mapping[str, str], key: str) -> Decimal | None:
    if key not in query:
        return None
    try:
        return Decimal(query[key])
    except ArithmeticError:
        raise CatalogQueryError(f"{key} must be a number") from None


_SORTS: dict[str, Callable[[ModelEntry], tuple[Any, ...]]] = {
    "most-popular": (lambda m: (m.popularity,)),
    "top-weekly": (lambda m: (m.popularity,)),
    "newest": (lambda m: (-m.created,)),
    "pricing-low-to-high": (lambda m: (Decimal(m.prompt_price), Decimal(m.completion_price))),
    "pricing-high-to-low": (lambda m: (-Decimal(m.prompt_price), -Decimal(m.completion_price))),
    "context-high-to-low": (lambda m: (-m.context_length,)),
}


def filter_models(query: Mapping[str, str]) -> list[ModelEntry]:
    """Apply the ``GET /models`` filters and sort (not pagination). Raises CatalogQueryError.

    ``output_modalities`` defaults to ``text`` (``all`` disables it) and matches a model that
    outputs ANY listed modality; ``input_modalities`` needs ALL listed; ``supported_parameters``
    needs ALL listed; ``q`` is a case-insensitive substring of id, name or description; prices
    are USD per million tokens (``min_price``/``max_price`` on prompt, ``*_output_price`` on
    completion); ``context`` is a minimum context length; ``model_authors``/``providers`` are
    comma lists; ``category`` one category.
    """
    models = list(MODELS)
    out_mods = _csv(query.get("output_modalities", "text"))
    if "all" not in out_mods:
        models = [m for m in models if set(out_mods) & set(m.output_modalities)]
    if "input_modalities" in query:
        wanted = set(_csv(query["input_modalities"]))
        models = [m for m in models if wanted <= set(m.input_modalities)]
    if "supported_parameters" in query:
        params = set(_csv(query["supported_parameters"]))
        models = [m for m in models if params <= set(m.supported_parameters)]
    if "category" in query:
        cat = query["category"].strip().lower()
        models = [m for m in models if cat in m.categories]
    if q := query.get("q", "").strip().lower():
        models = [m for m in models if q in f"{m.id}\n{m.name}\n{m.description}".lower()]
    if "model_authors" in query:
        authors = set(_csv(query["model_authors"]))
        models = [m for m in models if m.author in authors]
    if "providers" in query:
        provs = set(_csv(query["providers"]))
        models = [m for m in models if {m.provider_slug, m.provider.lower()} & provs]
    if "context" in query:
        try:
            ctx = int(query["context"])
        except ValueError:
            raise CatalogQueryError("context must be an integer") from None
        models = [m for m in models if m.context_length >= ctx]
    bounds: tuple[tuple[str, Callable[[ModelEntry], Decimal], bool], ...] = (
        ("min_price", lambda m: m.prompt_per_million, True),
        ("max_price", lambda m: m.prompt_per_million, False),
        ("min_output_price", lambda m: m.completion_per_million, True),
        ("max_output_price", lambda m: m.completion_per_million, False),
    )
    for key, get, is_min in bounds:
        bound = _price(query, key)
        if bound is not None:
            models = [m for m in models if (get(m) >= bound if is_min else get(m) <= bound)]
    if "sort" in query:
        key_fn = _SORTS.get(query["sort"])
        if key_fn is None:
            raise CatalogQueryError(f"sort must be one of {', '.join(sorted(_SORTS))}")
        models.sort(key=key_fn)
    return models
