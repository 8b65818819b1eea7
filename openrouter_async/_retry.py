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
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ._backoff import retry_wait, set_testing, testing
from ._config import RetryPolicy
from ._errors import APIError, is_retryable

# set_testing is re-exported: test suites reach it as _retry.set_testing.
__all__ = ["Retrier", "set_testing"]

T = TypeVar("T")
logger = logging.getLogger("openrouter_async")


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
            self.on_error(error, 0.0 if testing() else wait)
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
        if testing():
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

    async def run(
        self, attempt_fn: Callable[[], Awaitable[T]], *, failed: APIError | None = None
    ) -> T:
        """Run ``attempt_fn()`` until it succeeds or :meth:`backoff` gives up.

        ``failed`` is the error of a first attempt the caller already made itself: callers run
        the first attempt inline, so a request that succeeds at once makes no Retrier."""
        while True:
            if failed is not None:
                await self.backoff(failed)
            try:
                return await attempt_fn()
            except APIError as error:
                failed = error
