"""The account's budget for a whole cluster: pure bookkeeping, no Ray and no event loop.

One :class:`GrantBook` lives in one named Ray actor; every worker asks it for permits. The
arithmetic is the single-process batch's (:mod:`openrouter_async._ratelimit`: an evenly paced
request bucket, a token budget charged by estimate and settled by usage, a cool-down that
only moves later); what is new here is the *grant*:

* **Batched.** A worker asks for as many permits as it has rows waiting and gets a prefix of
  them, each with a delay (seconds from the answer until it may be used). The prefix stops at
  ``window`` seconds of future, so one actor call covers about ``rps * window`` requests and a
  worker never hoards more than ``window`` of the cluster's rate.
* **Relative delays.** Workers count a delay from the moment the answer reaches them, which is
  never earlier than the moment it was computed: clocks of different machines never meet, and
  transport latency can only make a worker later, never faster than the budget.
* **No grants during a cool-down.** While paused the book answers "pause N seconds" and
  reserves nothing, so the bucket is not drained by requests scheduled past the pause (which
  would let the requests after it burst).
* **In flight, by lease.** Each call reports how many permits the worker holds (in flight or
  waiting to be used), absolutely, so a lost report is corrected by the next one. A worker
  that stops reporting for ``lease`` seconds (killed) no longer counts.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import attrs

from .._ratelimit import Clock, CoolDown, TokenBucket, TokenBudget

__all__ = ["Grant", "GrantBook", "LimiterStats"]

#: The most permits one call hands out when nothing else bounds it.
MAX_GRANT = 512
#: Seconds after which a worker that stopped reporting no longer counts as holding permits.
LEASE = 10.0


@attrs.frozen
class Grant:
    """The answer to one ask.

    ``delays[i]`` is when permit ``i`` may be used, in seconds from receipt; ``charges[i]`` its
    token charge (0 without a token budget), to settle or refund later. With ``pause`` > 0 the
    cluster is cooling down and nothing was granted; with no permits and no pause, every
    in-flight place is taken: ask again after ``retry_in``.
    """

    delays: tuple[float, ...] = ()
    charges: tuple[int, ...] = ()
    pause: float = 0.0
    retry_in: float = 0.0


@attrs.frozen(kw_only=True)
class LimiterStats:
    """What the book has done: ``calls`` asks answered, ``granted`` permits handed out,
    ``pauses`` cool-downs requested (429s and ``Retry-After`` answers), ``in_flight`` the
    permits held now by live workers, ``cooling_down`` seconds of pause left."""

    calls: int
    granted: int
    pauses: int
    in_flight: int
    cooling_down: float


class GrantBook:
    """Cluster-wide ``rps`` (requests/s), ``tpm`` (model tokens/min) and ``max_in_flight``,
    any of them ``None`` for no limit, plus the shared 429 cool-down."""

    def __init__(
        self,
        *,
        rps: float | None = None,
        tpm: float | None = None,
        max_in_flight: int | None = None,
        window: float = 0.25,
        lease: float = LEASE,
        poll: float = 0.05,
        clock: Clock = time.monotonic,
    ) -> None:
        if max_in_flight is not None and (
            isinstance(max_in_flight, bool)
            or not isinstance(max_in_flight, int)
            or max_in_flight < 1
        ):
            raise ValueError(f"max_in_flight must be an integer >= 1, got {max_in_flight!r}")
        self._clock = clock
        self._bucket = TokenBucket(rps, clock=clock) if rps is not None else None
        self._budget = TokenBudget(tpm, clock=clock) if tpm is not None else None
        self._cooldown = CoolDown(clock=clock)
        self.max_in_flight = max_in_flight
        self.window = window
        self.lease = lease
        self.poll = poll
        self._held: dict[str, tuple[int, float]] = {}
        self._calls = 0
        self._granted = 0

    def _in_flight(self, now: float, *, besides: str | None = None) -> int:
        live = 0
        for worker, (held, stamp) in list(self._held.items()):
            if now - stamp > self.lease:
                del self._held[worker]  # a worker that stopped reporting (killed) holds nothing
            elif worker != besides:
                live += held
        return live

    def settle(
        self,
        settled: Sequence[tuple[int, int, int | None]] = (),
        refunded: Sequence[int] = (),
    ) -> None:
        """Correct token charges: ``(charge, total_tokens, completion_tokens)`` per answered
        request, and the charge of each permit that was not used or not served."""
        budget = self._budget
        if budget is None:
            return
        for charge, total, completion in settled:
            budget.settle(charge, total, completion)
        for charge in refunded:
            budget.refund(charge)

    def report(self, worker: str, held: int) -> None:
        """``worker`` holds ``held`` permits now (0 forgets it)."""
        if held > 0:
            self._held[worker] = (held, self._clock())
        else:
            self._held.pop(worker, None)

    def grant(
        self,
        worker: str,
        want: int,
        *,
        held: int = 0,
        estimates: Sequence[tuple[int, int | None]] = (),
    ) -> Grant:
        """Permits for up to ``want`` requests of ``worker``, which holds ``held`` now.

        ``estimates`` gives (prompt tokens, ``max_tokens``) for each wanted request, in order,
        when a token budget is set.
        """
        self._calls += 1
        now = self._clock()
        self.report(worker, held)
        pause = self._cooldown.remaining()
        if pause > 0:
            return Grant(pause=pause)
        count = min(max(0, want), MAX_GRANT)
        if self.max_in_flight is not None:
            free = self.max_in_flight - self._in_flight(now, besides=worker) - held
            if free <= 0:
                return Grant(retry_in=self.poll)
            count = min(count, free)
        bucket, budget = self._bucket, self._budget
        delays: list[float] = []
        charges: list[int] = []
        for i in range(count):
            delay = bucket.reserve() if bucket is not None else 0.0
            charge = 0
            if budget is not None:
                prompt, max_tokens = estimates[i] if i < len(estimates) else (0, None)
                charge = budget.estimate(prompt, max_tokens)
                delay = max(delay, budget.reserve(charge))
            if delays and delay > self.window:
                # Past the window: give it back; the worker will ask again when it gets there.
                if bucket is not None:
                    bucket.refund()
                if budget is not None:
                    budget.refund(charge)
                break
            delays.append(delay)
            charges.append(charge)
        self._granted += len(delays)
        if delays:
            self._held[worker] = (held + len(delays), now)
        return Grant(tuple(delays), tuple(charges))

    def throttled(self, seconds: float) -> float:
        """A server asked for a pause: nobody gets permits for ``seconds``; returns the pause
        left (a longer pause already running is kept)."""
        self._cooldown.extend(seconds)
        return self._cooldown.remaining()

    def stats(self) -> LimiterStats:
        now = self._clock()
        return LimiterStats(
            calls=self._calls,
            granted=self._granted,
            pauses=self._cooldown.count,
            in_flight=self._in_flight(now),
            cooling_down=self._cooldown.remaining(),
        )
