"""Pure: an OpenRouter error body (or an HTML page, or nothing) -> the right typed error.

OpenRouter's envelope is ``{"error": {"code", "message", "metadata"}, "user_id"}``; availability
errors put ``error_type``/``availability`` on the error object itself; provider errors hide the
useful text in ``metadata.raw``, often as a JSON *string*. Edges and proxies send HTML pages.
Every shape must still give the class of its status and a readable message.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

import orjson

from ._backoff import parse_retry_after
from ._errors import APIStatusError, status_error_class
from ._http import generation_id

__all__ = ["error_from_payload", "status_error_from_body"]

_TAGS = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_MAX_MESSAGE = 500


def _parse_raw(value: Any) -> Any:
    """``metadata.raw`` is usually JSON text; parse it when it is."""
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "["):
            try:
                return orjson.loads(text)
            except orjson.JSONDecodeError:
                return value
    return value


def _raw_message(raw: Any, depth: int = 0) -> str | None:
    if depth > 4:
        return None
    if isinstance(raw, str):
        return raw or None
    if isinstance(raw, Mapping):
        for key in ("message", "error", "detail", "details", "msg"):
            if key in raw:
                found = _raw_message(raw[key], depth + 1)
                if found:
                    return found
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def error_from_payload(
    status_code: int, payload: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> APIStatusError:
    """Build the error for a parsed JSON body that has an ``error`` member."""
    headers = headers or {}
    error = payload.get("error")
    if not isinstance(error, Mapping):
        error = {"message": error if isinstance(error, str) else None}
    code = error.get("code")
    if isinstance(code, bool) or not isinstance(code, (int, str)):
        code = None
    raw_metadata = error.get("metadata")
    metadata: dict[str, Any]
    if isinstance(raw_metadata, Mapping):
        metadata = dict(raw_metadata)
    else:  # a provider's bare string (or number, or list): kept, and read like metadata.raw
        metadata = {} if raw_metadata is None else {"raw": raw_metadata}
    for key in ("error_type", "availability", "http_status", "type", "param"):
        if key in error and key not in metadata:
            metadata[key] = error[key]
    if "raw" in metadata:
        metadata["raw"] = _parse_raw(metadata["raw"])
    message = error.get("message")
    if not isinstance(message, str) or not message:
        message = f"HTTP {status_code} error"
    detail = _raw_message(metadata.get("raw"))
    if detail and detail != message:
        provider = metadata.get("provider_name")
        prefix = f"[{provider}] " if isinstance(provider, str) else ""
        message = f"{message}: {prefix}{detail}"[:_MAX_MESSAGE]
    # A numeric code in 100-599 names the class even when the HTTP status was 200.
    status_like = status_code
    if isinstance(code, int) and 100 <= code <= 599:
        status_like = code
    elif _is_int(metadata.get("http_status")):
        status_like = metadata["http_status"]
    retry_after = parse_retry_after(headers)
    availability = metadata.get("availability")
    if retry_after is None and isinstance(availability, Mapping):
        value = availability.get("retry_after")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
            retry_after = float(value)
    user_id = payload.get("user_id")
    cls = status_error_class(status_like if status_code < 400 else status_code)
    return cls(
        message,
        status_code=status_code,
        code=code,
        metadata=metadata,
        headers=headers,
        retry_after=retry_after,
        generation_id=generation_id(headers),
        user_id=user_id if isinstance(user_id, str) else None,
        body=payload,
    )


def _text_message(status_code: int, raw: bytes, content_type: str) -> str:
    text = raw.decode("utf-8", errors="replace")
    if "html" in content_type or text.lstrip()[:1] == "<":
        title = _TITLE.search(text)
        text = html.unescape(title.group(1) if title else _TAGS.sub(" ", text))
    text = _SPACE.sub(" ", text).strip()
    if not text:
        return f"HTTP {status_code} with an empty body"
    return f"HTTP {status_code}: {text[:_MAX_MESSAGE]}"


def status_error_from_body(
    status_code: int, raw: bytes, headers: Mapping[str, str], *, content_type: str = ""
) -> APIStatusError:
    """The typed error for an HTTP error response, whatever its body looks like."""
    payload: Any = None
    if raw.strip():
        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError:
            payload = None
    if isinstance(payload, Mapping) and "error" in payload:
        return error_from_payload(status_code, payload, headers)
    cls = status_error_class(status_code)
    return cls(
        _text_message(status_code, raw, content_type.lower()),
        status_code=status_code,
        headers=headers,
        retry_after=parse_retry_after(headers),
        generation_id=generation_id(headers),
        body=payload if payload is not None else raw.decode("utf-8", errors="replace"),
    )
