"""The worker's side of the cluster budget: rows wait here for permits, asked for in batches.

One :class:`Permits` per worker process (one Ray actor), on that worker's event loop. Rows
queue up in :meth:`Permits.acquire`; a single pump task asks the book for as many permits as
there are rows waiting, hands them out in arrival order, and asks again only when the granted
ones are nearly used up, so actor calls scale with the grant window, not with the requests.

The book is anything with the four awaitables of :class:`Book`: the named Ray actor behind a
:class:`~openrouter_async.ray.ClusterLimiter`, or an in-process :class:`LocalBook` (a worker
without a cluster limiter still pauses all of its own rows on a 429).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Sequence
from typing import Protocol

import attrs

from ._grants import Grant, GrantBook

__all__ = ["Book", "LocalBook", "Permit", "Permits"]

Estimate = tuple[int, "int | None"]
Settlement = tuple[int, int, "int | None"]


class Book(Protocol):
    async def grant(
        self,
        worker: str,
        want: int,
        held: int,
        estimates: Sequence[Estimate],
        settled: Sequence[Settlement],
        refunded: Sequence[int],
    ) -> Grant: ...

    async def report(
        self, worker: str, held: int, settled: Sequence[Settlement], refunded: Sequence[int]
    ) -> None: ...

    async def throttled(self, seconds: float) -> float: ...

    @property
    def lease(self) -> float: ...


class LocalBook:
    """A :class:`GrantBook` in this process (no cluster): the same calls, no round trip."""

    def __init__(self, book: GrantBook | None = None) -> None:
        self._book = book if book is not None else GrantBook()

    @property
    def lease(self) -> float:
        return self._book.lease

    async def grant(
        self,
        worker: str,
        want: int,
        held: int,
        estimates: Sequence[Estimate],
        settled: Sequence[Settlement],
        refunded: Sequence[int],
    ) -> Grant:
        self._book.settle(settled, refunded)
        return self._book.grant(worker, want, held=held, estimates=estimates)

    async def report(
        self, worker: str, held: int, settled: Sequence[Settlement], refunded: Sequence[int]
    ) -> None:
        self._book.settle(settled, refunded)
        self._book.report(worker, held)

    async def throttled(self, seconds: float) -> float:
        return self._book.throttled(seconds)


@attrs.define
class Permit:
    """Leave to send one request at ``not_before`` (``time.monotonic()``), charged ``charge``
    model tokens; hand it back with :meth:`Permits.done` or :meth:`Permits.failed`."""

    charge: int
    not_before: float


class Permits:
    """Rows of this worker waiting for, and holding, permits from ``book``."""

    #: While idle, report a changed holding at most this often (seconds).
    DEBOUNCE = 0.1
    #: Ask for more permits this long before the last granted one is due (seconds).
    LEAD = 0.05

    def __init__(self, book: Book, worker: str) -> None:
        self._book = book
        self._worker = worker
        self._waiters: deque[tuple[asyncio.Future[Permit], Estimate]] = deque()
        self._held = 0
        self._reported = 0
        self._last_contact = -float("inf")
        self._pause_until = 0.0
        self._settled: list[Settlement] = []
        self._refunded: list[int] = []
        self._wake: asyncio.Event | None = None
        self._pump: asyncio.Task[None] | None = None

    @property
    def held(self) -> int:
        return self._held

    def _kick(self) -> None:
        if self._wake is None:
            self._wake = asyncio.Event()
        self._wake.set()
        if self._pump is None or self._pump.done():
            self._pump = asyncio.create_task(self._run())

    async def acquire(self, prompt_tokens: int = 0, max_tokens: int | None = None) -> Permit:
        """Wait for a permit and for its time; a cluster pause that begins meanwhile sends the
        row back to the queue."""
        loop = asyncio.get_running_loop()
        while True:
            future: asyncio.Future[Permit] = loop.create_future()
            self._waiters.append((future, (prompt_tokens, max_tokens)))
            self._kick()
            try:
                permit = await future
            except BaseException:
                if future.done() and not future.cancelled():
                    self.failed(future.result())
                else:
                    future.cancel()
                raise
            delay = permit.not_before - time.monotonic()
            if delay > 0:
                try:
                    await asyncio.sleep(delay)
                except BaseException:
                    self.failed(permit)
                    raise
            if self._pause_until > time.monotonic():
                self.failed(permit)
                continue
            return permit

    def done(self, permit: Permit, total_tokens: int | None, completion_tokens: int | None) -> None:
        """The request was answered; its charge is corrected by its usage when known."""
        self._held -= 1
        if permit.charge:
            if total_tokens is None:
                self._refunded.append(permit.charge)
            else:
                self._settled.append((permit.charge, total_tokens, completion_tokens))
        self._kick()

    def failed(self, permit: Permit) -> None:
        """The permit was not used, or its request was not served: give its charge back."""
        self._held -= 1
        if permit.charge:
            self._refunded.append(permit.charge)
        self._kick()

    async def throttled(self, seconds: float) -> None:
        """A server asked for a pause: this worker stops at once, and the book stops everyone."""
        now = time.monotonic()
        self._pause_until = max(self._pause_until, now + seconds)
        left = await self._book.throttled(seconds)
        self._pause_until = max(self._pause_until, time.monotonic() + left)

    async def aclose(self) -> None:
        """Stop the pump and tell the book this worker holds nothing."""
        if self._pump is not None and not self._pump.done():
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        self._pump = None
        settled, refunded = self._take_settlements()
        await self._book.report(self._worker, 0, settled, refunded)

    def _take_settlements(self) -> tuple[list[Settlement], list[int]]:
        settled, self._settled = self._settled, []
        refunded, self._refunded = self._refunded, []
        return settled, refunded

    def _live_waiters(self) -> int:
        waiters = self._waiters
        while waiters and waiters[0][0].done():
            waiters.popleft()
        return sum(1 for future, _ in waiters if not future.done())

    async def _run(self) -> None:
        wake = self._wake
        assert wake is not None
        while True:
            wake.clear()
            want = self._live_waiters()
            if want:
                await self._ask(want)
                continue
            await self._idle(wake)

    async def _ask(self, want: int) -> None:
        pause = self._pause_until - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
            return
        estimates = [estimate for future, estimate in self._waiters if not future.done()]
        settled, refunded = self._take_settlements()
        grant = await self._book.grant(self._worker, want, self._held, estimates, settled, refunded)
        received = time.monotonic()
        self._last_contact = received
        if grant.pause > 0:
            self._pause_until = max(self._pause_until, received + grant.pause)
            return
        if not grant.delays:
            await asyncio.sleep(grant.retry_in)
            return
        self._held += len(grant.delays)
        self._reported = self._held
        last = received
        for delay, charge in zip(grant.delays, grant.charges, strict=True):
            permit = Permit(charge=charge, not_before=received + delay)
            last = permit.not_before
            while self._waiters and self._waiters[0][0].done():
                self._waiters.popleft()
            if self._waiters:
                future, _ = self._waiters.popleft()
                future.set_result(permit)
            else:  # the row left between the ask and the answer
                self.failed(permit)
        # Ask again just before the last permit is due (LEAD covers the round trip): the
        # pipeline stays full, each ask covers most of a window, and this worker never holds
        # more than a window of the cluster's rate.
        ahead = last - time.monotonic() - self._window_lead(grant)
        if ahead > 0:
            await asyncio.sleep(ahead)

    @staticmethod
    def _window_lead(grant: Grant) -> float:
        return min(Permits.LEAD, max(grant.delays) / 2) if grant.delays else 0.0

    async def _idle(self, wake: asyncio.Event) -> None:
        lease = self._book.lease
        now = time.monotonic()
        changed = self._held != self._reported or bool(self._settled or self._refunded)
        heartbeat = self._held > 0 and now - self._last_contact > lease / 3
        if changed or heartbeat:
            await asyncio.sleep(self.DEBOUNCE)  # coalesce a burst of completions into one call
            if self._live_waiters():
                return
            settled, refunded = self._take_settlements()
            held = self._held
            await self._book.report(self._worker, held, settled, refunded)
            self._reported = held
            self._last_contact = time.monotonic()
            return
        # Wake up for the heartbeat at the latest (no wait_for: on 3.10/3.11 it can swallow
        # the cancellation that aclose() sends).
        timer = asyncio.get_running_loop().call_later(lease / 3, wake.set)
        try:
            await wake.wait()
        finally:
            timer.cancel()
