"""Response models for ``POST /chat/completions`` (and the legacy ``/completions``).

Why they look like this: OpenRouter adds fields and enum members without notice, so every model
is tolerant. Enum-like values (``finish_reason``, ``role``, ``type``) are plain ``str``; every field
has a default unless the API guarantees it; unknown keys land in ``extra`` (``repr=False``) so
nothing the server sent is lost. The one converter in ``_convert`` builds these from JSON; code that
already holds the values (the stream accumulator) constructs them directly.

``ChatMessage.content`` is always ``str | None``. When a server answers with a list of content
parts, the text parts are joined into ``content`` and
:func:`openrouter_async._parse.parse_chat_completion` keeps the untouched list in
``content_parts``. Fields whose ``metadata`` names a ``repair`` read values of the wrong JSON type
the way chat completions always have (a list that is not one becomes empty, arguments sent as an
object become its JSON text); ``_convert`` calls the repair only for such values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import orjson

from .._convert import NO_EXTRA, response_model, slot_builder, transport_model
from .._errors import StructuredOutputError
from .._http import header_value
from .._json import as_text, dumps

__all__ = [
    "ChatCompletion",
    "ChatMessage",
    "Choice",
    "ChoiceError",
    "ChoiceLogprobs",
    "CompletionTokensDetails",
    "CompletionUsage",
    "CostDetails",
    "FunctionCall",
    "PromptTokensDetails",
    "ResponseInfo",
    "ServerToolUse",
    "ToolCall",
    "TokenLogprob",
    "TopLogprob",
    "parse_tool_arguments",
    "text_of_parts",
]


def parse_tool_arguments(arguments: str | None, *, name: str | None = None) -> dict[str, Any]:
    """Parse a tool call's JSON ``arguments`` string; ``""``, whitespace and ``None`` mean ``{}``.

    Raises :class:`~openrouter_async.StructuredOutputError` when the text is not a JSON object.
    """
    if arguments is None or not arguments.strip():
        return {}
    label = f"tool call {name!r}" if name else "tool call"
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError as exc:
        raise StructuredOutputError(
            f"{label} arguments are not valid JSON: {exc}", raw=arguments
        ) from exc
    if not isinstance(value, dict):
        raise StructuredOutputError(
            f"{label} arguments are JSON but not an object ({type(value).__name__})", raw=arguments
        )
    return value


def text_of_parts(parts: list[Any]) -> str | None:
    """The text of a content-part list: its text parts joined (``None`` when it has none)."""
    texts = [
        p["text"]
        for p in parts
        if isinstance(p, Mapping)
        and isinstance(p.get("text"), str)
        and p.get("type") != "image_url"
    ]
    return "".join(texts) if texts else None


# Repairs (see the module docstring): called only with a value that is neither null nor of the
# field's declared JSON type.


def _content_text(value: Any) -> str | None:
    return text_of_parts(value) if isinstance(value, list) else as_text(value)


def _empty_list(_value: Any) -> list[Any]:
    return []


def _objects_only(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _json_text(value: Any) -> str:
    # Arguments sent as an object: JSON text at any depth (orjson alone stops at 254 levels).
    return dumps(value).decode()


# --------------------------------------------------------------------------- transport metadata


@transport_model
@attrs.frozen(kw_only=True)
class ResponseInfo:
    """What the HTTP layer knew about the response: status, headers, timing.

    The transport attaches it with ``attrs.evolve(completion, response=info)``; it never comes
    from the JSON body.
    """

    status_code: int
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    elapsed: float = 0.0
    generation_id: str | None = None

    def header(self, name: str) -> str | None:
        """A header value by case-insensitive name (works for plain dicts too)."""
        return header_value(self.headers, name)

    def _int_header(self, name: str) -> int | None:
        value = self.header(name)
        if value is None:
            return None
        try:
            return int(value.strip())
        except ValueError:
            return None

    @property
    def rate_limit_limit(self) -> int | None:
        """``X-RateLimit-Limit`` (OpenRouter sends it only on its own 429s)."""
        return self._int_header("X-RateLimit-Limit")

    @property
    def rate_limit_remaining(self) -> int | None:
        """``X-RateLimit-Remaining``."""
        return self._int_header("X-RateLimit-Remaining")

    @property
    def rate_limit_reset(self) -> int | None:
        """``X-RateLimit-Reset`` as sent (a timestamp)."""
        return self._int_header("X-RateLimit-Reset")

    @property
    def cache_status(self) -> str | None:
        """``X-OpenRouter-Cache-Status`` (``"HIT"`` / ``"MISS"``) when response caching is on."""
        value = self.header("X-OpenRouter-Cache-Status")
        return value.strip().upper() if value is not None else None

    @property
    def cache_hit(self) -> bool | None:
        """True for a cache hit, False for a miss, None when caching was not in play."""
        status = self.cache_status
        return None if status is None else status == "HIT"

    @property
    def cache_ttl(self) -> int | None:
        """``X-OpenRouter-Cache-TTL`` in seconds."""
        return self._int_header("X-OpenRouter-Cache-TTL")


# --------------------------------------------------------------------------- usage


#: ``ResponseInfo(...)`` through its slots (``_convert.slot_builder``): attrs' frozen
#: ``__init__`` measured 8.4k instructions, paid by every response and stream. Every field must
#: be given.
new_response_info = slot_builder(ResponseInfo)


@response_model
@attrs.frozen(kw_only=True)
class PromptTokensDetails:
    cached_tokens: int | None = None
    cache_write_tokens: int | None = None
    audio_tokens: int | None = None
    video_tokens: int | None = None
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)


@response_model
@attrs.frozen(kw_only=True)
class CompletionTokensDetails:
    reasoning_tokens: int | None = None
    audio_tokens: int | None = None
    image_tokens: int | None = None
    accepted_prediction_tokens: int | None = None
    rejected_prediction_tokens: int | None = None
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)


@response_model
@attrs.frozen(kw_only=True)
class CostDetails:
    upstream_inference_cost: float | None = None
    upstream_inference_prompt_cost: float | None = None
    upstream_inference_completions_cost: float | None = None
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)


@response_model
@attrs.frozen(kw_only=True)
class ServerToolUse:
    web_search_requests: int | None = None
    tool_calls_requested: int | None = None
    tool_calls_executed: int | None = None
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)


@response_model
@attrs.frozen(kw_only=True)
class CompletionUsage:
    """Token counts and cost. ``cost`` is in credits (USD); it can be 0 for BYOK requests, whose
    upstream spend is in ``cost_details.upstream_inference_cost``.

    The server names the server-tool block ``server_tool_use`` or ``server_tool_use_details``
    depending on the source; both end up in ``server_tool_use``.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost: float | None = None
    is_byok: bool | None = None
    prompt_tokens_details: PromptTokensDetails | None = None
    completion_tokens_details: CompletionTokensDetails | None = None
    cost_details: CostDetails | None = None
    server_tool_use: ServerToolUse | None = None
    # Wire alias of ``server_tool_use``; folded into it after construction.
    server_tool_use_details: ServerToolUse | None = attrs.field(default=None, repr=False, eq=False)
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.server_tool_use is None and self.server_tool_use_details is not None:
            object.__setattr__(self, "server_tool_use", self.server_tool_use_details)

    @property
    def reasoning_tokens(self) -> int | None:
        details = self.completion_tokens_details
        return details.reasoning_tokens if details is not None else None

    @property
    def cached_tokens(self) -> int | None:
        details = self.prompt_tokens_details
        return details.cached_tokens if details is not None else None


# --------------------------------------------------------------------------- logprobs


@response_model
@attrs.frozen(kw_only=True)
class TopLogprob:
    token: str = ""
    logprob: float = 0.0
    bytes: list[int] | None = None
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)


@response_model
@attrs.frozen(kw_only=True)
class TokenLogprob:
    token: str = ""
    logprob: float = 0.0
    bytes: list[int] | None = None
    top_logprobs: list[TopLogprob] | None = None
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)


@response_model
@attrs.frozen(kw_only=True)
class ChoiceLogprobs:
    content: list[TokenLogprob] | None = None
    refusal: list[TokenLogprob] | None = None
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)


# --------------------------------------------------------------------------- message


@response_model
@attrs.frozen(kw_only=True)
class FunctionCall:
    """The function a tool call invokes. ``arguments`` is JSON text, as the model wrote it."""

    name: str = ""
    arguments: str = attrs.field(default="{}", metadata={"repair": _json_text})
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)

    def parsed_arguments(self) -> dict[str, Any]:
        """``arguments`` parsed; ``""``/``None`` mean ``{}``. Raises ``StructuredOutputError``."""
        return parse_tool_arguments(self.arguments, name=self.name)


@response_model
@attrs.frozen(kw_only=True)
class ToolCall:
    id: str = ""
    type: str = "function"
    function: FunctionCall = attrs.field(factory=FunctionCall)
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)

    @property
    def name(self) -> str:
        return self.function.name

    @property
    def arguments(self) -> str:
        return self.function.arguments

    def parsed_arguments(self) -> dict[str, Any]:
        """The function's arguments parsed; ``""``/``None`` mean ``{}``."""
        return self.function.parsed_arguments()


@response_model
@attrs.frozen(kw_only=True)
class ChatMessage:
    """The assistant's message.

    ``content`` is ``None`` when no text was produced (tool calls only, or reasoning only).
    ``reasoning_details`` are the raw items, in arrival order, unmodified: send them back on the
    next turn to keep the model's reasoning (encrypted items included).
    """

    role: str = "assistant"
    content: str | None = attrs.field(default=None, metadata={"repair": _content_text})
    tool_calls: list[ToolCall] = attrs.field(factory=list, metadata={"repair": _empty_list})
    reasoning: str | None = None
    reasoning_details: list[dict[str, Any]] = attrs.field(
        factory=list, metadata={"repair": _objects_only}
    )
    refusal: str | None = None
    annotations: list[dict[str, Any]] = attrs.field(
        factory=list, metadata={"repair": _objects_only}
    )
    images: list[dict[str, Any]] = attrs.field(factory=list, metadata={"repair": _objects_only})
    audio: dict[str, Any] | None = None
    #: The raw content-part list when the server sent one instead of a string.
    content_parts: list[dict[str, Any]] | None = attrs.field(default=None, repr=False)
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)


@response_model
@attrs.frozen(kw_only=True)
class ChoiceError:
    """A provider error that interrupted one choice (``finish_reason == "error"``)."""

    code: int | str | None = None
    message: str = ""
    metadata: dict[str, Any] | None = None
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)


@response_model
@attrs.frozen(kw_only=True)
class Choice:
    index: int = 0
    message: ChatMessage = attrs.field(factory=ChatMessage)
    #: Normalized reason (``stop``, ``length``, ``tool_calls``, ``content_filter``, ``error``, or
    #: anything new); ``native_finish_reason`` is the upstream provider's own.
    finish_reason: str | None = None
    native_finish_reason: str | None = None
    logprobs: ChoiceLogprobs | None = None
    error: ChoiceError | None = None
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)


@response_model
@attrs.frozen(kw_only=True)
class ChatCompletion:
    """A finished chat completion: what ``create()`` returns and what a stream accumulates to.

    ``response`` carries HTTP status, headers and timing when the transport attached them.
    """

    id: str = ""
    object: str = "chat.completion"
    created: int = 0
    model: str = ""
    provider: str | None = None
    system_fingerprint: str | None = None
    choices: list[Choice] = attrs.field(factory=list)
    usage: CompletionUsage | None = None
    service_tier: str | None = None
    openrouter_metadata: dict[str, Any] | None = None
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)
    response: ResponseInfo | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def generation_id(self) -> str | None:
        """The generation id (body ``id``, else the ``X-Generation-Id`` header)."""
        if self.id:
            return self.id
        return self.response.generation_id if self.response is not None else None

    @property
    def content(self) -> str | None:
        """The first choice's text (``None`` when there is no choice or no text)."""
        return self.choices[0].message.content if self.choices else None

    @property
    def tool_calls(self) -> list[ToolCall]:
        """The first choice's tool calls (empty when none)."""
        return self.choices[0].message.tool_calls if self.choices else []
