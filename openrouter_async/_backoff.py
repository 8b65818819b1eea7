"""Pure retry policy: how long to wait before sending again, and what the server asked for.

No I/O and no asyncio, so the error-body parser and the decoders can use it;
:mod:`openrouter_async._retry` holds the loop that waits. ``set_testing(True)`` makes every
wait zero, for test suites.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Mapping

from ._config import RetryPolicy
from ._errors import APIError, APIStatusError, RateLimitError

__all__ = [
    "asks_to_slow_down",
    "backoff_delay",
    "parse_retry_after",
    "retry_wait",
    "set_testing",
    "testing",
]

_testing = False
#: Retry-After as delta-seconds is ``1*DIGIT`` (RFC 9110); Python's float() would also take
#: "1_0", " 1e3" or "nan". ``retry-after-ms`` (a de-facto header) allows a fraction.
_MS = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,9})?")
#: Longer than this many digits is "forever" for our purposes (and int() of a 4,300-digit
#: string raises).
_MAX_DIGITS = 12


def set_testing(on: bool = True) -> None:
    """Make every backoff and Retry-After wait zero (for test suites)."""
    global _testing
    _testing = on


def testing() -> bool:
    """Whether :func:`set_testing` made waits zero."""
    return _testing


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds the server asks us to wait: ``retry-after-ms``, then ``Retry-After``
    as delta-seconds or as an HTTP date. ``None`` when absent or unreadable."""
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if isinstance(raw_ms, str) and _MS.fullmatch(raw_ms.strip()):
        return float(raw_ms.strip()) / 1000.0
    raw = lowered.get("retry-after")
    if not isinstance(raw, str):
        return None
    raw = raw.strip()
    if raw.isascii() and raw.isdigit():
        return float(raw) if len(raw) <= _MAX_DIGITS else float(10**_MAX_DIGITS)
    import email.utils  # only for the rare HTTP-date form; keeps import time down

    try:
        date = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if date is None:
        return None
    current = time.time() if now is None else now
    try:
        return max(0.0, date.timestamp() - current)
    except (OverflowError, ValueError, OSError):
        return None


def backoff_delay(attempt: int, policy: RetryPolicy, rng: random.Random | None = None) -> float:
    """Capped exponential backoff with full jitter for retry number ``attempt`` (0-based)."""
    cap = min(policy.max_backoff, policy.initial_backoff * (2.0**attempt))
    return (rng or random).uniform(0.0, cap)


def retry_wait(
    error: APIError, attempt: int, policy: RetryPolicy, rng: random.Random | None = None
) -> float:
    """How long to wait before the next attempt: the server's ask, else backoff."""
    asked = error.retry_after if isinstance(error, APIStatusError) else None
    if asked is None and isinstance(error, APIStatusError):
        availability = error.availability
        if availability is not None:
            value = availability.get("retry_after")
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
                # A huge or infinite ask is kept as such: next_wait refuses to sleep that long.
                asked = float(value) if value < 1e15 else float("inf")
    return asked if asked is not None else backoff_delay(attempt, policy, rng)


def asks_to_slow_down(error: BaseException) -> bool:
    """A 429, or any answer that names a wait (``Retry-After``): the server is asking every
    sender, not just this request, to hold off (the batch and Ray runners pause them all)."""
    return isinstance(error, RateLimitError) or (
        isinstance(error, APIStatusError) and error.retry_after is not None
    )
