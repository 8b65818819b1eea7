"""Rate limiting for batches: pure bookkeeping, the caller does the sleeping.

Every class here takes a ``clock`` (``time.monotonic`` by default) and answers "how long must
this caller wait?" instead of awaiting anything, so the arithmetic is tested with a fake clock
and no event loop, and :mod:`openrouter_async._batch` owns every ``await``.

* :class:`TokenBucket` paces requests per second. It hands out *reservations*: each caller
  takes its token at once (the balance may go negative) and is told how long to wait for it,
  so callers are served in arrival order and nobody polls.
* :class:`TokenBudget` is the same bucket counted in model tokens per minute. A request is
  charged an estimate up front (prompt length / 4 + ``max_tokens``, or the running mean of
  completions seen so far) and the difference is settled once the real ``usage`` is known.
* :class:`CoolDown` is the batch-wide pause a 429 or ``Retry-After`` asks for: one deadline
  that only moves later, shared by every worker.
* :class:`AdaptiveLimit` is the number of requests allowed in flight: halved by a throttle
  signal (once per cool-down, however many requests were refused in it), and grown back by
  one per success up to the configured maximum, so concurrency recovers after a cool-down
  instead of the whole pool stampeding the server the moment it ends.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = [
    "AdaptiveLimit",
    "Clock",
    "CoolDown",
    "TokenBucket",
    "TokenBudget",
    "estimate_prompt_tokens",
]

Clock = Callable[[], float]

#: Rough characters per token for English text; only used before real usage is known.
CHARS_PER_TOKEN = 4
#: Per-message framing overhead (role, separators) in tokens.
MESSAGE_OVERHEAD = 4
#: A guess for one non-text part (image, audio, file); corrected from usage like the rest.
MEDIA_PART_TOKENS = 1000


def _positive(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive, finite number, got {value!r}")
    return float(value)


class TokenBucket:
    """``rate`` tokens per second, holding at most ``burst`` (default 1: even pacing).

    :meth:`reserve` takes ``amount`` tokens now and returns the seconds to wait before using
    them; a caller that gives up before using them calls :meth:`refund`.
    """

    def __init__(self, rate: float, burst: float = 1.0, *, clock: Clock = time.monotonic) -> None:
        self.rate = _positive(rate, "rate")
        self.burst = _positive(burst, "burst")
        self._clock = clock
        self._tokens = self.burst
        self._stamp = clock()

    def _refill(self) -> float:
        now = self._clock()
        elapsed = now - self._stamp
        if elapsed > 0:
            self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
            self._stamp = now
        return now

    @property
    def tokens(self) -> float:
        """The balance now (negative while reservations are outstanding)."""
        self._refill()
        return self._tokens

    def reserve(self, amount: float = 1.0) -> float:
        """Take ``amount`` tokens; return how many seconds to wait before they are yours."""
        self._refill()
        self._tokens -= amount
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def refund(self, amount: float = 1.0) -> None:
        """Give back tokens that were reserved and not used (never above ``burst``)."""
        self._refill()
        self._tokens = min(self.burst, self._tokens + amount)


class TokenBudget:
    """A model-token budget of ``tokens_per_minute``, charged by estimate and settled by usage.

    The bucket holds one minute's worth, refilled continuously. A single charge is capped at
    that minute's worth, so an oversized request waits at most for a full bucket rather than
    forever.
    """

    def __init__(
        self,
        tokens_per_minute: float,
        *,
        default_completion_tokens: int = 256,
        clock: Clock = time.monotonic,
    ) -> None:
        per_minute = _positive(tokens_per_minute, "tokens_per_minute")
        self.tokens_per_minute = per_minute
        self._bucket = TokenBucket(per_minute / 60.0, per_minute, clock=clock)
        self._completion_mean = float(default_completion_tokens)
        self._completions_seen = 0

    @property
    def available(self) -> float:
        return self._bucket.tokens

    def estimate(self, prompt_tokens: int, max_tokens: int | None) -> int:
        """The charge for a request: its prompt plus ``max_tokens`` (or the mean completion)."""
        completion = max_tokens if max_tokens is not None else math.ceil(self._completion_mean)
        return max(1, prompt_tokens + completion)

    def _charge(self, tokens: float) -> float:
        return min(float(tokens), self.tokens_per_minute)

    def reserve(self, estimate: int) -> float:
        """Charge ``estimate`` tokens now; return the seconds to wait before sending."""
        return self._bucket.reserve(self._charge(estimate))

    def refund(self, estimate: int) -> None:
        """The request was not served (an error): give its whole charge back."""
        self._bucket.refund(self._charge(estimate))

    def settle(
        self, estimate: int, total_tokens: int, completion_tokens: int | None = None
    ) -> None:
        """Replace the estimate by what the request really used (``usage.total_tokens``)."""
        difference = self._charge(estimate) - float(total_tokens)
        if difference >= 0:
            self._bucket.refund(difference)
        else:
            self._bucket.reserve(-difference)  # debt: the next callers wait for it
        if completion_tokens is not None:
            self._completions_seen += 1
            # A running mean of completions, for requests that do not say max_tokens.
            weight = 1.0 / min(self._completions_seen, 100)
            self._completion_mean += (completion_tokens - self._completion_mean) * weight


class CoolDown:
    """The batch-wide pause: :meth:`extend` moves the end later (never earlier)."""

    def __init__(self, *, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self.until = -math.inf
        #: how many times a server asked for a pause
        self.count = 0

    def extend(self, seconds: float) -> float:
        """Pause everything for at least ``seconds`` from now; return the new end."""
        self.count += 1
        end = self._clock() + max(0.0, seconds)
        if end > self.until:
            self.until = end
        return self.until

    def remaining(self) -> float:
        """Seconds until requests may be sent again (0 when not cooling down)."""
        left = self.until - self._clock()
        return left if left > 0 else 0.0


class AdaptiveLimit:
    """How many requests may be in flight: starts at ``maximum``, halves on throttling,
    regains one per success. Callers count themselves in with :meth:`try_acquire` and out
    with :meth:`release`; waiting for a free place is the caller's business."""

    def __init__(self, maximum: int, *, clock: Clock = time.monotonic) -> None:
        if isinstance(maximum, bool) or not isinstance(maximum, int) or maximum < 1:
            raise ValueError(f"maximum must be an integer >= 1, got {maximum!r}")
        self.maximum = maximum
        self.limit = maximum
        self.in_use = 0
        self._clock = clock
        self._cut_until = -math.inf

    @property
    def free(self) -> bool:
        return self.in_use < self.limit

    def try_acquire(self) -> bool:
        if self.in_use < self.limit:
            self.in_use += 1
            return True
        return False

    def release(self) -> None:
        self.in_use -= 1

    def throttled(self, until: float) -> None:
        """A request was refused with a pause lasting until ``until`` (clock time).

        Only the first refusal of a pause cuts the limit: the others were already in flight
        when it began and say nothing new about the server's capacity.
        """
        now = self._clock()
        if now >= self._cut_until:
            self.limit = max(1, self.limit // 2)
        self._cut_until = max(self._cut_until, until)

    def succeeded(self) -> None:
        if self.limit < self.maximum:
            self.limit += 1


def _text_of(part: Any) -> Any:
    return getattr(part, "text", None)


def estimate_prompt_tokens(messages: Iterable[Any]) -> int:
    """A cheap prompt-size guess (characters / 4 plus framing); usage corrects it later.

    Accepts typed messages (with ``.content``) or plain mappings; text parts are counted by
    length, any other part (image, audio, file) as a fixed guess.
    """
    total = 0
    for message in messages:
        content = message.get("content") if isinstance(message, Mapping) else message.content
        total += MESSAGE_OVERHEAD
        if isinstance(content, str):
            total += len(content) // CHARS_PER_TOKEN + 1
        elif isinstance(content, (list, tuple)):
            for part in content:
                text = (
                    part.get("text") if isinstance(part, Mapping) else getattr(part, "text", None)
                )
                if isinstance(text, str):
                    total += len(text) // CHARS_PER_TOKEN + 1
                else:
                    total += MEDIA_PART_TOKENS
    return total
