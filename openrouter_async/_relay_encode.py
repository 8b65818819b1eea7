"""Pure encoding of typed stream events as server-sent events for a browser (no I/O).

Each typed delta becomes one named SSE event whose ``data`` is a single line of JSON, so a
browser needs no SDK knowledge: ``event: text`` / ``data: {"text": "Hel", "choice_index": 0}``.
Keep-alives become comment lines, which every SSE reader ignores but which keep proxies and
load balancers from timing the connection out. JSON never holds a raw CR or LF (they are
escaped inside strings), so one ``data:`` line per event is always enough.

Event names and payloads (a stable contract; ``docs/relay.md`` documents it for front ends):

* ``text``: ``{text, choice_index}``
* ``reasoning``: ``{text, details, choice_index}``
* ``refusal``: ``{text, choice_index}``
* ``tool_call_delta``: ``{index, id, name, arguments, choice_index}`` (a fragment)
* ``tool_call``: ``{index, id, name, arguments, choice_index}`` (complete arguments)
* ``finish``: ``{finish_reason, native_finish_reason, choice_index}``
* ``usage``: ``{prompt_tokens, completion_tokens, total_tokens, cost, reasoning_tokens,
  cached_tokens}``
* ``annotations``: ``{annotations, choice_index}``; ``images``: ``{images, choice_index}``
* ``error``: ``{code, message, type, retryable}``, the last event of a failed stream
* ``done``: ``{generation_id}``, the last event of a successful stream
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._errors import OpenRouterError
from ._json import dumps
from .types.events import (
    AnnotationsDelta,
    Finish,
    ImagesDelta,
    KeepAlive,
    ReasoningDelta,
    RefusalDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallDone,
    Usage,
)

__all__ = [
    "EVENT_NAMES",
    "HEARTBEAT",
    "SSE_HEADERS",
    "comment",
    "encode_done",
    "encode_error",
    "encode_event",
    "error_payload",
    "sse_frame",
]

#: Response headers for an SSE relay: no caching, no proxy buffering (nginx honours
#: ``X-Accel-Buffering``), a persistent connection.
SSE_HEADERS: Mapping[str, str] = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
    "Connection": "keep-alive",
}

#: The relay's own keep-alive, sent while the upstream is silent.
HEARTBEAT = b": heartbeat\n\n"

EVENT_NAMES = (
    "text",
    "reasoning",
    "refusal",
    "tool_call_delta",
    "tool_call",
    "finish",
    "usage",
    "annotations",
    "images",
    "error",
    "done",
)

#: A message that is safe to show a browser for an exception that is not the SDK's own.
_INTERNAL_MESSAGE = "Internal error while relaying the stream"


def sse_frame(name: str, payload: Mapping[str, Any]) -> bytes:
    """One complete SSE event: ``event: <name>``, one ``data:`` line of JSON, a blank line."""
    # _json.dumps: what the server sent may be nested past orjson's limit, and a non-UTF-8
    # header byte reaches us as a lone surrogate (the generation id of ``done``).
    return b"event: " + name.encode("ascii") + b"\ndata: " + dumps(payload) + b"\n\n"


def comment(text: str) -> bytes:
    """An SSE comment line (ignored by readers); line breaks in ``text`` are flattened."""
    flat = " ".join(text.splitlines()).strip()
    return b": " + flat.encode("utf-8", "replace") + b"\n\n"


def _text(e: TextDelta) -> bytes:
    return sse_frame("text", {"text": e.text, "choice_index": e.choice_index})


def _reasoning(e: ReasoningDelta) -> bytes:
    payload = {"text": e.text, "details": list(e.details), "choice_index": e.choice_index}
    return sse_frame("reasoning", payload)


def _refusal(e: RefusalDelta) -> bytes:
    return sse_frame("refusal", {"text": e.text, "choice_index": e.choice_index})


def _tool_call(name: str) -> Callable[[ToolCallDelta | ToolCallDone], bytes]:
    def encode(e: ToolCallDelta | ToolCallDone) -> bytes:
        payload = {
            "index": e.index,
            "id": e.id,
            "name": e.name,
            "arguments": e.arguments,
            "choice_index": e.choice_index,
        }
        return sse_frame(name, payload)

    return encode


def _finish(e: Finish) -> bytes:
    payload = {
        "finish_reason": e.finish_reason,
        "native_finish_reason": e.native_finish_reason,
        "choice_index": e.choice_index,
    }
    return sse_frame("finish", payload)


def _usage(e: Usage) -> bytes:
    # A flat, browser-friendly subset; the full object stays available server-side.
    u = e.usage
    payload = {
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "total_tokens": u.total_tokens,
        "cost": u.cost,
        "reasoning_tokens": u.reasoning_tokens,
        "cached_tokens": u.cached_tokens,
    }
    return sse_frame("usage", payload)


def _annotations(e: AnnotationsDelta) -> bytes:
    payload = {"annotations": list(e.annotations), "choice_index": e.choice_index}
    return sse_frame("annotations", payload)


def _images(e: ImagesDelta) -> bytes:
    return sse_frame("images", {"images": list(e.images), "choice_index": e.choice_index})


def _keep_alive(e: KeepAlive) -> bytes:
    return comment(e.comment or "keep-alive")


# Dispatch on the exact class: one dict lookup per event on the hot path.
_ENCODERS: dict[type[Any], Callable[[Any], bytes]] = {
    TextDelta: _text,
    ReasoningDelta: _reasoning,
    RefusalDelta: _refusal,
    ToolCallDelta: _tool_call("tool_call_delta"),
    ToolCallDone: _tool_call("tool_call"),
    Finish: _finish,
    Usage: _usage,
    KeepAlive: _keep_alive,
    AnnotationsDelta: _annotations,
    ImagesDelta: _images,
}


def encode_event(event: object) -> bytes | None:
    """The SSE bytes for one typed stream event; ``None`` for an unknown kind (skipped).

    Subclasses of the event classes are encoded like their base class.
    """
    encoder = _ENCODERS.get(type(event))
    if encoder is None:
        for cls in type(event).__mro__[1:]:
            encoder = _ENCODERS.get(cls)
            if encoder is not None:
                break
        else:
            return None
    return encoder(event)


def error_payload(exc: BaseException) -> dict[str, Any]:
    """``{code, message, type, retryable}`` for an exception, safe to show a browser.

    SDK errors keep their message (they never contain the API key) and status-like code; any
    other exception is reported as a generic internal error, without its text.
    """
    if not isinstance(exc, OpenRouterError):
        return {
            "code": None,
            "message": _INTERNAL_MESSAGE,
            "type": "InternalError",
            "retryable": False,
        }
    code = getattr(exc, "code", None)
    if not isinstance(code, (int, str)) or isinstance(code, bool):
        code = None
    message = getattr(exc, "message", None)
    if not isinstance(message, str) or not message:
        message = str(exc) or type(exc).__name__
    retryable = getattr(exc, "retryable", False)
    return {
        "code": code,
        "message": message,
        "type": type(exc).__name__,
        "retryable": retryable if isinstance(retryable, bool) else False,
    }


def encode_error(exc: BaseException) -> bytes:
    """The ``error`` event for ``exc`` (see :func:`error_payload`)."""
    return sse_frame("error", error_payload(exc))


def encode_done(generation_id: str | None) -> bytes:
    """The ``done`` event that ends a successful stream."""
    return sse_frame("done", {"generation_id": generation_id})
