"""Bytes on the wire: JSON encoding, SSE framing, OpenRouter error bodies, edge HTML pages.

Everything here is pure (no I/O) so the exact bytes the emulator sends are decided in one place
and a golden file can pin them. JSON is compact (``","``/``":"`` separators, no ASCII escaping)
and keeps dict insertion order, which is how the builders below lay out OpenRouter's key order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._catalog import EMULATOR_PROVIDER

__all__ = [
    "DONE",
    "PROCESSING",
    "comment_event",
    "data_event",
    "dumps",
    "error_body",
    "html_error_page",
    "status_defaults",
]

#: The keep-alive comment OpenRouter sends while a model is queued or thinking.
PROCESSING = b": OPENROUTER PROCESSING\n\n"
#: The stream terminator.
DONE = b"data: [DONE]\n\n"


def dumps(obj: Any) -> bytes:
    """Compact JSON, key order preserved, UTF-8."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def data_event(obj: Any) -> bytes:
    """One SSE event carrying ``obj`` as JSON, framed with LF (converted later if asked)."""
    return b"data: " + dumps(obj) + b"\n\n"


def comment_event(text: str = "OPENROUTER PROCESSING") -> bytes:
    return b": " + text.encode() + b"\n\n"


# status -> (default message, metadata.error_type)
_DEFAULTS: dict[int, tuple[str, str]] = {
    400: ("Bad Request", "invalid_request"),
    401: ("No auth credentials found", "authentication"),
    402: (
        "Insufficient credits. Add more using https://openrouter.ai/settings/credits",
        "payment_required",
    ),
    403: ("Forbidden", "permission_denied"),
    404: ("Not Found", "not_found"),
    408: ("Request timed out", "timeout"),
    409: ("Conflict", "invalid_request"),
    412: ("Precondition failed", "precondition_failed"),
    413: ("Payload too large", "payload_too_large"),
    422: ("Unprocessable entity", "unprocessable"),
    429: ("Rate limit exceeded: too many requests", "rate_limit_exceeded"),
    500: ("Internal Server Error", "server"),
    502: ("Provider returned error", "provider_unavailable"),
    503: ("No available providers for this request", "provider_overloaded"),
    504: ("Provider did not respond in time", "timeout"),
    524: ("Edge network timeout", "timeout"),
    529: ("Provider overloaded", "provider_overloaded"),
}


def status_defaults(status: int) -> tuple[str, str]:
    """Default ``(message, error_type)`` for an HTTP status."""
    if status in _DEFAULTS:
        return _DEFAULTS[status]
    if status >= 500:
        return ("Internal Server Error", "server")
    return ("Request failed", "unmapped")


def error_body(
    status: int,
    message: str | None = None,
    *,
    code: int | str | None = None,
    error_type: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    user_id: str | None = "user_emulator",
    include_metadata: bool = True,
) -> dict[str, Any]:
    """``{"error":{"code","message","metadata"},"user_id"}`` as OpenRouter sends it (§5.1).

    A 502 "Provider returned error" carries ``provider_name`` and a JSON-encoded ``raw`` the
    way real provider errors do, so clients can exercise their ``raw`` unwrapping.
    """
    default_message, default_type = status_defaults(status)
    err: dict[str, Any] = {
        "code": status if code is None else code,
        "message": default_message if message is None else message,
    }
    if include_metadata:
        meta: dict[str, Any] = {"error_type": error_type or default_type}
        if status == 502 and message is None:
            meta["provider_name"] = EMULATOR_PROVIDER
            meta["raw"] = '{"error":{"message":"upstream emulator failure","code":502}}'
        if metadata:
            meta.update(metadata)
        err["metadata"] = meta
    body: dict[str, Any] = {"error": err}
    if user_id is not None:
        body["user_id"] = user_id
    return body


_HTML_TITLES: dict[int, str] = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
    520: "Web server is returning an unknown error",
    522: "Connection timed out",
    524: "A timeout occurred",
}


def html_error_page(status: int) -> bytes:
    """A Cloudflare-like HTML error page (what an edge proxy returns instead of JSON)."""
    title = _HTML_TITLES.get(status, "Error")
    return (
        "<!DOCTYPE html>\n"
        f"<html><head><title>{status} {title}</title></head>\n"
        f"<body><center><h1>{status} {title}</h1></center>\n"
        "<hr><center>cloudflare</center>\n"
        "</body></html>\n"
    ).encode()
