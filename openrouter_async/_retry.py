"""The retry engine: what may be sent again, how long to wait, and the one retry loop.

Every OpenRouter request is billed, so the rules are narrow on purpose, and they live in one
place: :func:`openrouter_async._errors.is_retryable` decides from where the request failed
(not sent / possibly served / served) and the status the server declared; :class:`Retrier`
adds the budget (attempts, deadline, the longest ``Retry-After`` we will sleep through) and is
the only loop that re-sends anything. ``create()``, streams (before their first content), the
batch runner, the tool loop and legacy completions all go through it. A server asking for a
longer wait than we are willing to sleep gets the error raised at once, with ``retry_after``
on it, so the caller can decide.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from ._config import RetryPolicy
from ._errors import APIError, APIStatusError, is_retryable

__all__ = [
    "Retrier",
    "backoff_delay",
    "parse_retry_after",
    "retry_wait",
    "set_testing",
    "testing",
]

T = TypeVar("T")
logger = logging.getLogger("openrouter_async")

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


class Retrier:
    """The retries of one request: its attempts, its deadline, its waits.

    ``run(attempt_fn)`` is the one retry loop of the package; ``backoff(error)`` is the step it
    takes between attempts, also used by a stream that must re-send after an error event that
    came before any content. ``on_error(error, wait)`` (optional) sees every failed attempt
    with the wait the server asked for or backoff chose, before the decision: the batch runner
    turns a 429 into a shared cool-down there. ``on_retry(error, wait)`` (optional) sees each
    decision to send again: the client's ``"retry"`` hook.
    """

    __slots__ = ("attempt", "deadline", "describe", "on_error", "on_retry", "policy")

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        deadline: float | None,
        describe: str,
        on_error: Callable[[APIError, float], None] | None = None,
        on_retry: Callable[[APIError, float], None] | None = None,
    ) -> None:
        self.policy = policy
        self.on_retry = on_retry
        self.deadline = deadline  # time.monotonic() based, or None
        self.describe = describe
        self.on_error = on_error
        self.attempt = 0  # attempts that failed so far

    def next_wait(self, error: APIError) -> float | None:
        """Seconds to wait before sending again after ``error``, or ``None`` when it must be
        raised: not retryable, attempts spent, a server asking for more than
        ``policy.max_retry_after``, or a wait that would cross the deadline."""
        policy = self.policy
        attempt = self.attempt
        wait = retry_wait(error, attempt, policy)
        if self.on_error is not None:
            self.on_error(error, 0.0 if _testing else wait)
        if attempt >= policy.max_retries:
            return None
        if not is_retryable(error, retry_possibly_served=policy.retry_read_timeouts):
            return None
        # Whoever asked (a header or the body), we never sleep longer than max_retry_after.
        if not wait <= max(policy.max_retry_after, policy.max_backoff):
            return None
        deadline = self.deadline
        if deadline is not None and time.monotonic() + wait >= deadline:
            return None
        if _testing:
            wait = 0.0
        logger.debug(
            "retrying %s after %s (attempt %d of %d) in %.3fs",
            self.describe,
            type(error).__name__,
            attempt + 1,
            policy.max_retries,
            wait,
        )
        return wait

    async def backoff(self, error: APIError) -> None:
        """Wait before the next attempt, or raise ``error`` when there is none."""
        wait = self.next_wait(error)
        if wait is None:
            raise error
        self.attempt += 1
        if self.on_retry is not None:
            self.on_retry(error, wait)
        if wait > 0:
            await asyncio.sleep(wait)

    async def run(self, attempt_fn: Callable[[], Awaitable[T]]) -> T:
        """Run ``attempt_fn()`` until it succeeds or :meth:`backoff` gives up."""
        while True:
            try:
                return await attempt_fn()
            except APIError as error:
                failed = error
            await self.backoff(failed)
