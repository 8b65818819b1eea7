"""Retry policy: what to retry, how long to wait, and a small bounded loop.

Every OpenRouter request is billed, so the rules are narrow on purpose: only failures where the
request was certainly not served (connect errors, 408/409/429/5xx statuses, availability errors
marked retryable) are retried, never 400/401/402/403/404/413/422, and never a read timeout of a
request the server may be working on unless the caller opted in. Attempts *and* a deadline bound
the loop; a server asking for a longer wait than we are willing to sleep gets the error raised
at once, with ``retry_after`` on it, so the caller can decide.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from ._config import RetryPolicy
from ._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
)

__all__ = [
    "backoff_delay",
    "is_retryable",
    "next_wait",
    "parse_retry_after",
    "retry_wait",
    "run_with_retries",
    "set_testing",
]

T = TypeVar("T")
logger = logging.getLogger("openrouter_async")

_NEVER = frozenset({400, 401, 402, 403, 404, 413, 422})
_testing = False


def set_testing(on: bool = True) -> None:
    """Make every backoff and Retry-After wait zero (for test suites)."""
    global _testing
    _testing = on


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds the server asks us to wait: ``retry-after-ms``, then ``Retry-After``
    as seconds or as an HTTP date. ``None`` when absent or unreadable."""
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms is not None:
        try:
            value = float(raw_ms) / 1000.0
        except ValueError:
            value = -1.0
        if value >= 0 and value == value:
            return value
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        import email.utils  # only for the rare HTTP-date form; keeps import time down

        try:
            date = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if date is None:
            return None
        current = time.time() if now is None else now
        return max(0.0, date.timestamp() - current)
    if seconds != seconds or seconds < 0 or seconds == float("inf"):
        return None
    return seconds


def is_retryable(error: BaseException, policy: RetryPolicy) -> bool:
    """Whether this failure may be retried at all (attempts and deadline aside)."""
    if isinstance(error, APITimeoutError):
        # A connect timeout sent nothing; a read timeout may have a billed generation behind it.
        return error.kind == "connect" or policy.retry_read_timeouts
    if isinstance(error, APIStatusError):
        if error.status_code in _NEVER and not _availability_retryable(error):
            return False
        return error.retryable
    if isinstance(error, APIConnectionError):
        return error.retryable
    return False


def _availability_retryable(error: APIStatusError) -> bool:
    availability = error.availability
    return bool(availability is not None and availability.get("retryable") is True)


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
                asked = float(value)
    return asked if asked is not None else backoff_delay(attempt, policy, rng)


def next_wait(
    error: APIError, attempt: int, policy: RetryPolicy, *, deadline: float | None, describe: str
) -> float | None:
    """Seconds to wait before retrying after ``error`` on attempt ``attempt`` (0-based), or
    ``None`` when it must be raised: not retryable, attempts spent, a server asking for more
    than ``policy.max_retry_after``, or a wait that would cross ``deadline`` (monotonic)."""
    if attempt >= policy.max_retries or not is_retryable(error, policy):
        return None
    wait = retry_wait(error, attempt, policy)
    asked = isinstance(error, APIStatusError) and error.retry_after is not None
    if asked and wait > policy.max_retry_after:
        return None
    if deadline is not None and time.monotonic() + wait >= deadline:
        return None
    if _testing:
        wait = 0.0
    logger.debug(
        "retrying %s after %s (attempt %d of %d) in %.3fs",
        describe,
        type(error).__name__,
        attempt + 1,
        policy.max_retries,
        wait,
    )
    return wait


async def run_with_retries(
    attempt_fn: Callable[[int], Awaitable[T]],
    policy: RetryPolicy,
    *,
    deadline: float | None,
    describe: str,
) -> T:
    """Run ``attempt_fn(attempt)`` until it succeeds or a non-retryable error, the attempt
    budget or the deadline (``time.monotonic()`` based) stops it."""
    attempt = 0
    while True:
        try:
            return await attempt_fn(attempt)
        except APIError as error:
            wait = next_wait(error, attempt, policy, deadline=deadline, describe=describe)
            if wait is None:
                raise
        attempt += 1
        if wait > 0:
            await asyncio.sleep(wait)
