"""What the emulator remembers: one :class:`RequestRecord` per HTTP request it received."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["REDACTED", "RequestRecord", "redact_headers"]

#: What an ``Authorization`` header value is replaced with in the request log.
REDACTED = "<redacted>"


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A plain dict of the headers with the ``Authorization`` value replaced by ``REDACTED``."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        out[name] = REDACTED if name.lower() in ("authorization", "proxy-authorization") else value
    return out


@attrs.define(eq=False)
class RequestRecord:
    """One request as the emulator saw it. Times are ``time.monotonic()`` seconds.

    ``path`` is the full URL path (``"/api/v1/chat/completions"``), ``endpoint`` the part after
    ``/api/v1``. ``headers`` never contains the API key (``Authorization`` is ``REDACTED``).
    ``body`` is the parsed JSON body (``None`` when absent or not JSON).

    ``status`` is the HTTP status sent (``None`` if none was: a dropped connection before
    the headers). ``streamed`` is True for SSE responses. ``tokens_sent`` counts generated
    tokens written (content words, reasoning words, tool-call fragments). ``faults`` names the
    faults applied (``"drop"``, ``"http"``…). ``disconnected_at`` is when the server saw the
    client go away (handler cancelled, or a write failed) — never set for server-side drops or
    for ``Emulator.stop()``. ``completed`` is True when the server wrote the whole response it
    meant to (faults such as ``truncate`` or ``mid_error`` included); False when the client
    left, the connection was dropped, or the emulator stopped mid-response.
    """

    seq: int
    method: str
    path: str
    endpoint: str
    query: dict[str, str]
    headers: dict[str, str]
    started_at: float
    body: Any = None
    body_size: int = 0
    finished_at: float | None = None
    status: int | None = None
    streamed: bool = False
    generation_id: str | None = None
    model: str | None = None
    tokens_sent: int = 0
    bytes_sent: int = 0
    writes: int = 0
    faults: tuple[str, ...] = ()
    first_token_at: float | None = None
    disconnected_at: float | None = None
    completed: bool = False

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    @property
    def duration(self) -> float | None:
        return None if self.finished_at is None else self.finished_at - self.started_at
