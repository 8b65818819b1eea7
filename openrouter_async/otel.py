"""OpenTelemetry spans for every call, following the GenAI semantic conventions.

``openrouter_async.otel.instrument(client)`` adds one hook (see :mod:`openrouter_async._hooks`)
that opens a CLIENT span per call, named ``"{operation} {model}"`` (``chat
anthropic/claude-sonnet-4.5``), with:

* at the start: ``gen_ai.system`` and ``gen_ai.provider.name`` (``openrouter``),
  ``gen_ai.operation.name`` (``chat``, ``text_completion``, ``embeddings``, or the HTTP method
  and path for the other endpoints), ``gen_ai.request.model`` and the sampling parameters that
  were set, ``server.address`` / ``server.port``;
* each re-send as a ``retry`` event (attempt, error type, wait);
* at the end: ``gen_ai.response.model``, ``gen_ai.response.id``,
  ``gen_ai.response.finish_reasons``, ``gen_ai.usage.input_tokens`` / ``output_tokens``,
  ``openrouter.cost`` (credits), ``openrouter.generation_id``, ``http.response.status_code``;
  for streams ``gen_ai.server.time_to_first_token`` (seconds) and ``openrouter.stream.outcome``
  (``done`` / ``error`` / ``closed``); a failure sets the span status to ERROR, ``error.type``
  and records the exception.

Needs the ``otel`` extra (``opentelemetry-api``); importing :mod:`openrouter_async` never
imports OpenTelemetry, and a client without the hook does no tracing work. Message contents are
never recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from ._hooks import Hook, HookEvent
from ._http import generation_id

if TYPE_CHECKING:
    from ._client import OpenRouter

__all__ = ["instrument"]

_OPERATIONS = {
    "/chat/completions": "chat",
    "/completions": "text_completion",
    "/embeddings": "embeddings",
}
_REQUEST_PARAMS = {
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "top_k": "gen_ai.request.top_k",
    "max_tokens": "gen_ai.request.max_tokens",
    "max_completion_tokens": "gen_ai.request.max_tokens",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
    "seed": "gen_ai.request.seed",
}
_SPAN = "otel.span"


def instrument(client: OpenRouter, *, tracer_provider: Any = None) -> Hook:
    """Trace every call ``client`` makes (and clients made from it by ``with_options``).

    Returns the hook; ``client.remove_hook(hook)`` stops tracing.
    """
    tracer = trace.get_tracer("openrouter_async", tracer_provider=tracer_provider)
    parts = urlsplit(client.base_url)
    server = {"server.address": parts.hostname or ""}
    if parts.port is not None:
        server["server.port"] = parts.port  # type: ignore[assignment]

    def hook(event: HookEvent) -> None:
        call = event.call
        kind = event.kind
        if kind == "request":
            operation = _OPERATIONS.get(call.path)
            body = call.request_json() if operation is not None else None
            model = body.get("model") if body is not None else None
            attributes: dict[str, Any] = {
                "gen_ai.system": "openrouter",
                "gen_ai.provider.name": "openrouter",
                "gen_ai.operation.name": operation or f"{call.method} {call.path}",
                **server,
            }
            if isinstance(model, str):
                attributes["gen_ai.request.model"] = model
            if body is not None:
                for key, name in _REQUEST_PARAMS.items():
                    value = body.get(key)
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        attributes[name] = value
            name = attributes["gen_ai.operation.name"]
            if isinstance(model, str):
                name = f"{name} {model}"
            call.state[_SPAN] = tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)
            return
        span = call.state.get(_SPAN)
        if span is None:
            return
        if kind == "retry":
            span.add_event(
                "retry",
                {
                    "retry.attempt": call.attempts,
                    "error.type": type(event.error).__name__,
                    "retry.wait": float(event.wait or 0.0),
                },
            )
        elif kind == "stream_start":
            if event.status is not None:
                span.set_attribute("http.response.status_code", event.status)
        elif kind == "response":
            if event.status is not None:
                span.set_attribute("http.response.status_code", event.status)
            if isinstance(event.body, Mapping):
                _response_attributes(span, event.body)
            _generation_id(span, event.headers)
            _finish(call.state, span)
        elif kind == "stream_end":
            span.set_attribute("openrouter.stream.outcome", event.outcome or "")
            if event.time_to_first_token is not None:
                span.set_attribute("gen_ai.server.time_to_first_token", event.time_to_first_token)
            if event.completion is not None:
                _completion_attributes(span, event.completion)
            _generation_id(span, event.headers)
            if event.error is not None:
                _failed(span, event.error)
            _finish(call.state, span)
        elif kind == "error":
            if event.error is not None:
                _failed(span, event.error)
            _finish(call.state, span)

    client.add_hook(hook)
    return hook


def _finish(state: dict[str, Any], span: Any) -> None:
    state.pop(_SPAN, None)
    span.end()


def _failed(span: Any, error: BaseException) -> None:
    span.set_attribute("error.type", type(error).__name__)
    status = getattr(error, "status_code", None)
    if isinstance(status, int):
        span.set_attribute("http.response.status_code", status)
    span.record_exception(error)
    span.set_status(Status(StatusCode.ERROR, str(error)[:200]))


def _generation_id(span: Any, headers: Any) -> None:
    value = generation_id(headers) if isinstance(headers, Mapping) else None
    if value:
        span.set_attribute("openrouter.generation_id", value)


def _response_attributes(span: Any, body: Mapping[str, Any]) -> None:
    model, ident = body.get("model"), body.get("id")
    if isinstance(model, str):
        span.set_attribute("gen_ai.response.model", model)
    if isinstance(ident, str):
        span.set_attribute("gen_ai.response.id", ident)
        span.set_attribute("openrouter.generation_id", ident)
    choices = body.get("choices")
    if isinstance(choices, list):
        reasons = [
            c.get("finish_reason")
            for c in choices
            if isinstance(c, Mapping) and isinstance(c.get("finish_reason"), str)
        ]
        span.set_attribute("gen_ai.response.finish_reasons", reasons)
    usage = body.get("usage")
    if isinstance(usage, Mapping):
        _usage(span, usage.get("prompt_tokens"), usage.get("completion_tokens"), usage.get("cost"))


def _completion_attributes(span: Any, completion: Any) -> None:
    model = getattr(completion, "model", None)
    ident = getattr(completion, "id", None)
    if isinstance(model, str) and model:
        span.set_attribute("gen_ai.response.model", model)
    if isinstance(ident, str) and ident:
        span.set_attribute("gen_ai.response.id", ident)
        span.set_attribute("openrouter.generation_id", ident)
    reasons = [
        choice.finish_reason
        for choice in getattr(completion, "choices", ())
        if isinstance(getattr(choice, "finish_reason", None), str)
    ]
    span.set_attribute("gen_ai.response.finish_reasons", reasons)
    usage = getattr(completion, "usage", None)
    if usage is not None:
        _usage(span, usage.prompt_tokens, usage.completion_tokens, usage.cost)


def _usage(span: Any, prompt: Any, completion: Any, cost: Any) -> None:
    if isinstance(prompt, int) and not isinstance(prompt, bool):
        span.set_attribute("gen_ai.usage.input_tokens", prompt)
    if isinstance(completion, int) and not isinstance(completion, bool):
        span.set_attribute("gen_ai.usage.output_tokens", completion)
    if isinstance(cost, (int, float)) and not isinstance(cost, bool):
        span.set_attribute("openrouter.cost", float(cost))
