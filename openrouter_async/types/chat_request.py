"""The chat completion request: :class:`ChatRequest`, :func:`coerce_chat_request` and
:func:`chat_request_body`.

``create(ChatRequest(...))`` and ``create(model=..., messages=...)`` send the same bytes because
there is one way in: the attrs field converters turn plain values (dicts, lists, strings) into the
typed classes, and :func:`coerce_chat_request` only adds the checks that keyword arguments need
(unknown names, the required ``messages``) before calling the class. Every check runs at build
time and raises :class:`~openrouter_async.RequestValidationError` naming the field's path and the
allowed range; nothing is validated again when the body is encoded.

What is refused is a wrong type, or what OpenRouter's API description states as invalid (a
range in a field's description, ``maxItems``, ``maxLength``); a value the API may accept is sent.
Keys the SDK does not model inside nested objects are kept and sent (each class's ``extra``);
keys unknown at the top level are refused as likely typos, with a pointer to ``extra_body``,
which is merged into the body deeply (objects key by key, anything else replaced).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs
import orjson

from .._convert import request_model, unstructure
from .._errors import RequestValidationError
from ._scalar_rules import SCALAR_RULES
from ._validators import (
    check_json_object,
    check_number,
    check_str,
    check_str_items,
    deep_merge,
    fail,
    merge_request_fields,
    optional_bool,
    optional_choice,
    optional_int,
    optional_json_object,
    optional_str_items,
    to_str_tuple,
    to_tuple,
    type_name,
)
from .content import CacheControl, PromptCacheOptions, to_cache_control, to_prompt_cache_options
from .messages import Message, to_messages
from .options import (
    REASONING_EFFORTS,
    AnyPlugin,
    DebugOptions,
    ProviderPreferences,
    Reasoning,
    ReasoningEffort,
    StreamOptions,
    Trace,
    UsageOptions,
    WebSearchOptions,
    to_debug,
    to_plugins,
    to_provider,
    to_reasoning,
    to_stream_options,
    to_trace,
    to_usage,
    to_web_search_options,
)
from .tools import (
    AnyTool,
    Prediction,
    ResponseFormat,
    ToolChoice,
    to_prediction,
    to_response_format,
    to_tool_choice,
    to_tools,
)

__all__ = [
    "ChatRequest",
    "chat_request_body",
    "check_logit_bias",
    "check_metadata",
    "check_stop",
    "coerce_chat_request",
    "to_logit_bias",
    "to_stop",
]

_MAX_STOP = 4
_MAX_METADATA_PAIRS = 16
_MAX_METADATA_KEY = 64
_MAX_METADATA_VALUE = 512
_MODALITIES = ("text", "image", "audio", "video")


# --- field converters and validators (legacy completions share them) ---------------------------


def to_stop(value: str | Sequence[str] | None) -> str | tuple[str, ...] | None:
    result: str | tuple[str, ...] | None = value if isinstance(value, str) else to_tuple(value)
    return result


def check_stop(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None or isinstance(value, str):
        return
    if not isinstance(value, tuple):
        fail(
            f"must be a string or a list of at most 4 strings, got {type_name(value)}",
            attribute.name,
        )
    check_str_items(value, attribute.name, nonempty_items=False, max_items=_MAX_STOP)


def to_logit_bias(
    value: Mapping[int, float] | Mapping[str, float] | None,
) -> Mapping[str, float] | None:
    # JSON object keys are strings: token ids given as ints are sent as their decimal string.
    # Anything else is left for the validator to report.
    result: Any = value
    if isinstance(value, Mapping) and not all(type(key) is str for key in value):
        result = {(str(key) if type(key) is int else key): bias for key, bias in value.items()}
    converted: Mapping[str, float] | None = result
    return converted


def check_logit_bias(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, Mapping):
        fail(f"must be a mapping of token id to bias, got {type_name(value)}", attribute.name)
    for key, bias in value.items():
        path = f"{attribute.name}[{key!r}]"
        if not isinstance(key, str):
            fail(f"token ids must be integers or strings, got {type_name(key)}", path)
        check_number(bias, path)


def check_metadata(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, Mapping):
        fail(f"must be a mapping of string to string, got {type_name(value)}", attribute.name)
    if len(value) > _MAX_METADATA_PAIRS:
        fail(
            f"must have at most {_MAX_METADATA_PAIRS} key-value pairs, got {len(value)}",
            attribute.name,
        )
    for key, item in value.items():
        path = f"{attribute.name}[{key!r}]"
        if not isinstance(key, str):
            fail(f"keys must be strings, got {type_name(key)}", attribute.name)
        if not key or len(key) > _MAX_METADATA_KEY:
            fail(f"keys must be 1 to {_MAX_METADATA_KEY} characters long, got {len(key)}", path)
        check_str(item, path, max_len=_MAX_METADATA_VALUE)


Modality = Literal["text", "image", "audio", "video"]


def _to_modalities(value: Sequence[Modality] | None) -> tuple[Modality, ...] | None:
    result: tuple[Modality, ...] | None = to_tuple(value)
    return result


def _to_conditions(
    value: Sequence[Mapping[str, Any]] | None,
) -> tuple[Mapping[str, Any], ...] | None:
    result: tuple[Mapping[str, Any], ...] | None = to_tuple(value)
    return result


def _check_conditions(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, tuple) or not value:
        got = "an empty list" if value == () else type_name(value)
        fail(
            "must be a non-empty list of stop conditions such as "
            f"{{'type': 'step_count_is', 'step_count': 5}}, got {got}",
            attribute.name,
        )
    for i, condition in enumerate(value):
        path = f"{attribute.name}[{i}]"
        check_json_object(condition, path)
        check_str(condition.get("type"), f"{path}.type")


# --- the request ---------------------------------------------------------------------------------


@request_model
@attrs.frozen(kw_only=True)
class ChatRequest:
    """A ``POST /chat/completions`` request. Only ``messages`` is required.

    Every field left at ``None`` is omitted from the body (the provider's default applies).
    Nested values may be given as the typed classes or as plain dicts in the wire shape;
    ``content`` may be a plain string. Keys a nested dict has beyond the modelled ones are
    kept in that object's ``extra`` and sent. ``extra_body`` is merged into the JSON last and
    deeply, so it can add fields the SDK does not model, nested ones included, or override any.
    """

    model: str | None = attrs.field(default=None, validator=SCALAR_RULES["model"])
    """``author/slug[:variant]``; omitted → the account's default model."""
    models: tuple[str, ...] | None = attrs.field(
        default=None, converter=to_str_tuple, validator=optional_str_items(nonempty_items=False)
    )
    """Fallback models, tried in order."""
    messages: tuple[Message, ...] = attrs.field(converter=to_messages)
    stream: bool | None = attrs.field(default=None, validator=optional_bool)
    stream_options: StreamOptions | None = attrs.field(default=None, converter=to_stream_options)
    max_tokens: int | None = attrs.field(default=None, validator=SCALAR_RULES["max_tokens"])
    max_completion_tokens: int | None = attrs.field(
        default=None, validator=SCALAR_RULES["max_completion_tokens"]
    )
    temperature: float | None = attrs.field(default=None, validator=SCALAR_RULES["temperature"])
    top_p: float | None = attrs.field(default=None, validator=SCALAR_RULES["top_p"])
    top_k: int | None = attrs.field(default=None, validator=SCALAR_RULES["top_k"])
    frequency_penalty: float | None = attrs.field(
        default=None, validator=SCALAR_RULES["frequency_penalty"]
    )
    presence_penalty: float | None = attrs.field(
        default=None, validator=SCALAR_RULES["presence_penalty"]
    )
    repetition_penalty: float | None = attrs.field(
        default=None, validator=SCALAR_RULES["repetition_penalty"]
    )
    min_p: float | None = attrs.field(default=None, validator=SCALAR_RULES["min_p"])
    top_a: float | None = attrs.field(default=None, validator=SCALAR_RULES["top_a"])
    seed: int | None = attrs.field(default=None, validator=SCALAR_RULES["seed"])
    logit_bias: Mapping[str, float] | None = attrs.field(
        default=None, converter=to_logit_bias, validator=check_logit_bias
    )
    logprobs: bool | None = attrs.field(default=None, validator=optional_bool)
    top_logprobs: int | None = attrs.field(default=None, validator=optional_int(lo=0, hi=20))
    stop: str | tuple[str, ...] | None = attrs.field(
        default=None, converter=to_stop, validator=check_stop
    )
    response_format: ResponseFormat | None = attrs.field(default=None, converter=to_response_format)
    tools: tuple[AnyTool, ...] | None = attrs.field(default=None, converter=to_tools)
    tool_choice: ToolChoice | None = attrs.field(default=None, converter=to_tool_choice)
    parallel_tool_calls: bool | None = attrs.field(
        default=None, validator=SCALAR_RULES["parallel_tool_calls"]
    )
    prediction: Prediction | None = attrs.field(default=None, converter=to_prediction)
    reasoning: Reasoning | None = attrs.field(default=None, converter=to_reasoning)
    reasoning_effort: ReasoningEffort | None = attrs.field(
        default=None, validator=optional_choice(*REASONING_EFFORTS)
    )
    include_reasoning: bool | None = attrs.field(
        default=None, validator=SCALAR_RULES["include_reasoning"]
    )
    """Deprecated: ``True`` ≡ ``reasoning={}``, ``False`` ≡ ``reasoning={"exclude": True}``."""
    verbosity: Literal["low", "medium", "high", "xhigh", "max"] | None = attrs.field(
        default=None, validator=SCALAR_RULES["verbosity"]
    )
    provider: ProviderPreferences | None = attrs.field(default=None, converter=to_provider)
    route: Literal["fallback", "sort"] | None = attrs.field(
        default=None, validator=SCALAR_RULES["route"]
    )
    """Deprecated alias of ``provider.sort.partition``."""
    plugins: tuple[AnyPlugin | Mapping[str, Any], ...] | None = attrs.field(
        default=None, converter=to_plugins
    )
    web_search_options: WebSearchOptions | None = attrs.field(
        default=None, converter=to_web_search_options
    )
    usage: UsageOptions | None = attrs.field(default=None, converter=to_usage)
    transforms: tuple[str, ...] | None = attrs.field(
        default=None, converter=to_str_tuple, validator=optional_str_items(nonempty_items=False)
    )
    """Legacy (``["middle-out"]``); prefer the ``context-compression`` plugin."""
    user: str | None = attrs.field(default=None, validator=SCALAR_RULES["user"])
    session_id: str | None = attrs.field(default=None, validator=SCALAR_RULES["session_id"])
    metadata: Mapping[str, str] | None = attrs.field(default=None, validator=check_metadata)
    trace: Trace | Mapping[str, Any] | None = attrs.field(default=None, converter=to_trace)
    modalities: tuple[Modality, ...] | None = attrs.field(
        default=None, converter=_to_modalities, validator=optional_str_items(choices=_MODALITIES)
    )
    image_config: Mapping[str, Any] | None = attrs.field(
        default=None, validator=optional_json_object
    )
    service_tier: Literal["auto", "default", "fast", "flex", "priority", "scale"] | None = (
        attrs.field(default=None, validator=SCALAR_RULES["service_tier"])
    )
    """Any string is sent as given: OpenRouter adds tiers without notice."""
    cache_control: CacheControl | None = attrs.field(default=None, converter=to_cache_control)
    prompt_cache_key: str | None = attrs.field(
        default=None, validator=SCALAR_RULES["prompt_cache_key"]
    )
    prompt_cache_options: PromptCacheOptions | None = attrs.field(
        default=None, converter=to_prompt_cache_options
    )
    stop_server_tools_when: tuple[Mapping[str, Any], ...] | None = attrs.field(
        default=None, converter=_to_conditions, validator=_check_conditions
    )
    debug: DebugOptions | None = attrs.field(default=None, converter=to_debug)
    preset: str | None = attrs.field(default=None, validator=SCALAR_RULES["preset"])
    """A saved OpenRouter preset (its slug) whose settings apply to this request."""
    extra_body: Mapping[str, Any] | None = attrs.field(default=None, validator=optional_json_object)
    """Merged into the JSON last and deeply (objects key by key, lists and scalars replaced):
    ``extra_body={"provider": {"options": {...}}}`` keeps a typed ``provider.order``."""

    def __attrs_post_init__(self) -> None:
        if (
            self.reasoning_effort is not None
            and self.reasoning is not None
            and self.reasoning.effort is not None
            and self.reasoning.effort != self.reasoning_effort
        ):
            # Documented: "cannot be used simultaneously with reasoning.effort if they differ".
            fail(
                f"conflicts with reasoning.effort={self.reasoning.effort!r}; set only one of "
                "them (or the same value)",
                "reasoning_effort",
            )


_FIELDS = frozenset(field.name for field in attrs.fields(ChatRequest))


def coerce_chat_request(
    request: ChatRequest | Mapping[str, Any] | None = None, /, **kwargs: Any
) -> ChatRequest:
    """A :class:`ChatRequest` from a built request, a mapping of fields, or keyword arguments.

    Plain values are converted into the attrs classes and validated exactly as the class
    constructor does (it is what runs). Unknown names raise :class:`RequestValidationError`
    pointing at ``extra_body``.
    """
    if isinstance(request, ChatRequest):
        if kwargs:
            names = ", ".join(sorted(kwargs))
            fail(
                f"got a ChatRequest and keyword arguments ({names}); pass one or the other "
                "(attrs.evolve(request, ...) makes a changed copy)",
                sorted(kwargs)[0],
            )
        return request
    data = merge_request_fields(
        request, kwargs, fields=_FIELDS, required="messages", what="ChatRequest"
    )
    return ChatRequest(**data)


def chat_request_body(request: ChatRequest, *, stream: bool | None = None) -> bytes:
    """The JSON body for ``request``: unset fields omitted, ``stream`` set when given,
    ``extra_body`` merged last and deeply (:func:`~._validators.deep_merge`)."""
    body: dict[str, Any] = unstructure(request)
    extra = request.extra_body
    if extra is not None:
        del body["extra_body"]
    if stream is not None:
        body["stream"] = stream
    if extra:
        deep_merge(body, extra)
    try:
        return orjson.dumps(body)
    except orjson.JSONEncodeError as exc:
        raise RequestValidationError(f"the request cannot be encoded as JSON: {exc}") from exc
