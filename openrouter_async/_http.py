"""The HTTP response the SDK owns: what ``_client`` and ``_streaming`` may ask of a response.

Pure (no aiohttp, no asyncio): the transport adapts aiohttp's response to this shape, and a
test can hand the stream a fake of a few dozen lines to drive its timers, backpressure and
drain without sockets. The reading methods are plain attributes so the adapter can bind them
straight to aiohttp's methods: the per-chunk hot path pays no extra call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from multidict import CIMultiDict, CIMultiDictProxy

__all__ = ["Response", "Send", "generation_id", "header_value"]


class Response(Protocol):
    """A response whose status line and headers have arrived; the body is read on demand."""

    #: HTTP status code.
    status: int
    #: Response headers (case-insensitive lookups).
    headers: Mapping[str, str]
    #: The media type of ``Content-Type`` without parameters, lower-case ("" when absent).
    content_type: str
    #: The next piece of the body as it arrives; ``b""`` at the end.
    read_chunk: Callable[[], Awaitable[bytes]]
    #: At most ``n`` bytes of the body; ``b""`` at the end.
    read: Callable[[int], Awaitable[bytes]]
    #: Whether the whole body has been read.
    at_eof: Callable[[], bool]
    #: Give a fully read connection back to the pool.
    release: Callable[[], None]
    #: Drop the connection at once (synchronous: safe in ``finally`` and ``__del__``).
    close: Callable[[], None]


#: Sends one request and returns the response once its headers are in.
Send = Callable[[], Awaitable[Response]]


# aiohttp's header mappings (multidict comes with aiohttp) already match names in any case.
_CASE_INSENSITIVE = frozenset({CIMultiDict, CIMultiDictProxy})


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """``headers[name]`` by case-insensitive name, for any mapping (aiohttp's or a plain dict)."""
    value = headers.get(name)
    if value is not None or headers.__class__ in _CASE_INSENSITIVE:
        return value
    lowered = name.lower()
    for key, val in headers.items():
        if key.lower() == lowered:
            return val
    return None


def generation_id(headers: Mapping[str, str] | None) -> str | None:
    """The ``X-Generation-Id`` header as clean text, or ``None``.

    aiohttp decodes header bytes that are not UTF-8 into surrogates; such a value (or one with
    control characters) is dropped here, once, rather than breaking whoever encodes it later
    (a relay's JSON, a batch record, a span attribute)."""
    if not headers:
        return None
    value = header_value(headers, "X-Generation-Id")
    if not value:
        return None
    try:
        value.encode("utf-8")
    except UnicodeError:
        return None
    return value if value.isprintable() else None
