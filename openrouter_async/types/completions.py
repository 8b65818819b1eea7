"""Legacy text completions, ``POST /completions``: :class:`TextCompletionRequest` and
:class:`TextCompletion`.

OpenRouter still serves the route although its current OpenAPI file dropped it; the fields are
those of the 2025-11 spec plus the sampling and routing options OpenRouter accepts everywhere.
``prompt`` is a string, a list of strings, a token array or a list of token arrays, checked
before sending like the embeddings ``input``. Anything else goes in ``extra_body``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .._convert import NO_EXTRA, request_model, response_model, unstructure
from .._errors import RequestValidationError
from ._scalar_rules import INT64 as _INT64
from ._validators import (
    fail,
    merge_request_fields,
    optional_bool,
    optional_int,
    optional_json_object,
    optional_number,
    optional_str,
    optional_str_items,
    to_str_tuple,
)
from .chat_request import (
    check_logit_bias,
    check_metadata,
    check_stop,
    to_logit_bias,
    to_stop,
)
from .embeddings import check_text_or_tokens
from .options import ProviderPreferences, StreamOptions, to_provider, to_stream_options
from .responses import ChatCompletion, ChoiceError, CompletionUsage, ResponseInfo
from .tools import ResponseFormat, to_response_format

__all__ = [
    "PromptInput",
    "TextCompletion",
    "TextCompletionChoice",
    "TextCompletionRequest",
    "coerce_text_completion_request",
    "text_completion_from_chat",
]


PromptInput = str | Sequence[str] | Sequence[int] | Sequence[Sequence[int]]


def _to_prompt(value: PromptInput) -> str | list[Any]:
    return check_text_or_tokens(value, "prompt")


@request_model
@attrs.frozen(kw_only=True)
class TextCompletionRequest:
    """A ``POST /completions`` request; ``prompt`` is required, ``None`` fields are not sent."""

    model: str | None = attrs.field(default=None, validator=optional_str(nonempty=True))
    models: tuple[str, ...] | None = attrs.field(
        default=None, converter=to_str_tuple, validator=optional_str_items()
    )
    prompt: str | list[Any] = attrs.field(converter=_to_prompt)
    suffix: str | None = attrs.field(default=None, validator=optional_str())
    max_tokens: int | None = attrs.field(default=None, validator=optional_int(lo=1))
    temperature: float | None = attrs.field(default=None, validator=optional_number(lo=0, hi=2))
    top_p: float | None = attrs.field(
        default=None, validator=optional_number(lo=0, hi=1, lo_open=True)
    )
    top_k: int | None = attrs.field(default=None, validator=optional_int(lo=1))
    frequency_penalty: float | None = attrs.field(
        default=None, validator=optional_number(lo=-2, hi=2)
    )
    presence_penalty: float | None = attrs.field(
        default=None, validator=optional_number(lo=-2, hi=2)
    )
    repetition_penalty: float | None = attrs.field(
        default=None, validator=optional_number(lo=0, hi=2, lo_open=True)
    )
    min_p: float | None = attrs.field(default=None, validator=optional_number(lo=0, hi=1))
    top_a: float | None = attrs.field(default=None, validator=optional_number(lo=0, hi=1))
    seed: int | None = attrs.field(default=None, validator=optional_int(lo=-_INT64, hi=_INT64 - 1))
    n: int | None = attrs.field(default=None, validator=optional_int(lo=1, hi=128))
    best_of: int | None = attrs.field(default=None, validator=optional_int(lo=1, hi=20))
    echo: bool | None = attrs.field(default=None, validator=optional_bool)
    logprobs: int | None = attrs.field(default=None, validator=optional_int(lo=0, hi=20))
    """Legacy meaning: how many top tokens to return per position (an integer)."""
    stop: str | tuple[str, ...] | None = attrs.field(
        default=None, converter=to_stop, validator=check_stop
    )
    logit_bias: Mapping[str, float] | None = attrs.field(
        default=None, converter=to_logit_bias, validator=check_logit_bias
    )
    stream: bool | None = attrs.field(default=None, validator=optional_bool)
    stream_options: StreamOptions | None = attrs.field(default=None, converter=to_stream_options)
    response_format: ResponseFormat | None = attrs.field(default=None, converter=to_response_format)
    provider: ProviderPreferences | None = attrs.field(default=None, converter=to_provider)
    transforms: tuple[str, ...] | None = attrs.field(
        default=None, converter=to_str_tuple, validator=optional_str_items()
    )
    user: str | None = attrs.field(default=None, validator=optional_str())
    metadata: Mapping[str, str] | None = attrs.field(default=None, validator=check_metadata)
    extra_body: Mapping[str, Any] | None = attrs.field(default=None, validator=optional_json_object)
    """Merged into the top-level JSON last (adds or overrides keys); never sent as a field."""

    def __attrs_post_init__(self) -> None:
        if self.best_of is not None and self.n is not None and self.best_of < self.n:
            fail(f"must be >= n ({self.n}), got {self.best_of}", "best_of")

    def body(self, *, stream: bool | None = None) -> dict[str, Any]:
        """The JSON object to send (``extra_body`` not yet merged; ``stream`` set when given)."""
        data: dict[str, Any] = unstructure(self)
        data.pop("extra_body", None)
        if stream is not None:
            data["stream"] = stream
        return data


_FIELDS = frozenset(field.name for field in attrs.fields(TextCompletionRequest))


def coerce_text_completion_request(
    request: TextCompletionRequest | Mapping[str, Any] | None = None, /, **kwargs: Any
) -> TextCompletionRequest:
    """A :class:`TextCompletionRequest` from a built request, a mapping or keyword arguments."""
    if isinstance(request, TextCompletionRequest):
        if kwargs:
            fail(
                "got a TextCompletionRequest and keyword arguments; pass one or the other",
                sorted(kwargs)[0],
            )
        return request
    data = merge_request_fields(
        request, kwargs, fields=_FIELDS, required="prompt", what="TextCompletionRequest"
    )
    try:
        return TextCompletionRequest(**data)
    except TypeError as exc:  # pragma: no cover - unknown names are caught above
        raise RequestValidationError(str(exc)) from exc


# --------------------------------------------------------------------------- response


@response_model
@attrs.frozen(kw_only=True)
class TextCompletionChoice:
    text: str = ""
    index: int = 0
    #: ``stop``, ``length``, ``content_filter``, ``error`` or anything new.
    finish_reason: str | None = None
    native_finish_reason: str | None = None
    #: Legacy shape ``{tokens, token_logprobs, top_logprobs, text_offset}``, as sent.
    logprobs: Any = None
    error: ChoiceError | None = None
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)


@response_model
@attrs.frozen(kw_only=True)
class TextCompletion:
    """A legacy text completion (``choices[i].text``)."""

    id: str = ""
    object: str = "text_completion"
    created: int = 0
    model: str = ""
    provider: str | None = None
    system_fingerprint: str | None = None
    choices: list[TextCompletionChoice] = attrs.field(factory=list)
    usage: CompletionUsage | None = None
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)
    response: ResponseInfo | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def text(self) -> str | None:
        """The first choice's text (``None`` when there is no choice)."""
        return self.choices[0].text if self.choices else None

    @property
    def generation_id(self) -> str | None:
        if self.id:
            return self.id
        return self.response.generation_id if self.response is not None else None


def text_completion_from_chat(
    completion: ChatCompletion, response: ResponseInfo | None = None
) -> TextCompletion:
    """The :class:`TextCompletion` view of what a legacy stream accumulated.

    The stream machinery folds ``choices[i].text`` into ``choices[i].message.content``; this
    moves it back. Token logprobs are not carried over (the legacy shape differs).
    """
    choices = [
        TextCompletionChoice(
            text=choice.message.content or "",
            index=choice.index,
            finish_reason=choice.finish_reason,
            native_finish_reason=choice.native_finish_reason,
            error=choice.error,
        )
        for choice in completion.choices
    ]
    return TextCompletion(
        id=completion.id,
        object="text_completion",
        created=completion.created,
        model=completion.model,
        provider=completion.provider,
        system_fingerprint=completion.system_fingerprint,
        choices=choices,
        usage=completion.usage,
        extra=dict(completion.extra),
        response=response if response is not None else completion.response,
    )
