"""The named Ray actor that holds the account's budget, and the handle users pass around."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ray

from ._grants import LEASE, Grant, GrantBook, LimiterStats
from ._permits import Estimate, Settlement

__all__ = ["ClusterLimiter"]

_PREFIX = "openrouter_async.limiter:"


class _BookActor:
    """One :class:`GrantBook` behind Ray calls; methods are tiny and run one at a time."""

    def __init__(self, limits: dict[str, Any]) -> None:
        self._limits = limits
        self._book = GrantBook(**limits)

    def limits(self) -> dict[str, Any]:
        return self._limits

    def lease(self) -> float:
        return self._book.lease

    def grant(
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

    def report(
        self, worker: str, held: int, settled: Sequence[Settlement], refunded: Sequence[int]
    ) -> None:
        self._book.settle(settled, refunded)
        self._book.report(worker, held)

    def throttled(self, seconds: float) -> float:
        return self._book.throttled(seconds)

    def stats(self) -> LimiterStats:
        return self._book.stats()


# num_cpus=0: the book does microseconds of work per call and must never wait for a CPU that
# the pipeline's own tasks are holding. Restarted if it dies (with a fresh budget).
_RemoteBook: Any = ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=-1)(_BookActor)


class ClusterLimiter:
    """A cluster-wide budget for one OpenRouter account, held by a named Ray actor.

    Create it once on the driver with :meth:`create`, then give it (or its name) to
    :class:`~openrouter_async.ray.ChatProcessor`: every worker draws from it, so ``rps``
    (requests per second), ``tpm`` (model tokens per minute, estimated before the request and
    corrected by usage) and ``max_in_flight`` hold for the whole cluster, and a 429 or
    ``Retry-After`` seen by any worker pauses all of them. Workers take permits in batches of
    about ``window`` seconds of the rate, so the actor sees a few calls per second per
    worker, not one per request. The handle pickles (it is the actor's name and handle).
    """

    def __init__(self, name: str, handle: Any, lease: float = LEASE) -> None:
        self.name = name
        self.lease = lease
        self._handle = handle

    def __repr__(self) -> str:
        return f"ClusterLimiter(name={self.name!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (ClusterLimiter, (self.name, self._handle, self.lease))

    @classmethod
    def create(
        cls,
        name: str = "openrouter",
        *,
        rps: float | None = None,
        tpm: float | None = None,
        max_in_flight: int | None = None,
        window: float = 0.25,
        lease: float = LEASE,
    ) -> ClusterLimiter:
        """Start the named actor (``ray.init()`` first), or join the running one of that name
        if its limits are the same (a re-run, or a second job on the same account); other
        limits raise ``ValueError`` rather than being shared silently. The actor lives as long
        as the job that created it (or :meth:`kill`).

        ``window`` is how many seconds of the rate one grant may cover; ``lease`` how long a
        worker that stopped reporting (killed) still counts against ``max_in_flight``."""
        limits: dict[str, Any] = {
            "rps": rps,
            "tpm": tpm,
            "max_in_flight": max_in_flight,
            "window": window,
            "lease": lease,
        }
        GrantBook(**limits)  # bad limits fail here, on the driver, not inside the actor
        handle = _RemoteBook.options(name=_PREFIX + name, get_if_exists=True).remote(limits)
        existing = ray.get(handle.limits.remote())  # started and answering before any worker
        if existing != limits:
            raise ValueError(
                f"a limiter named {name!r} already runs with other limits ({existing}); use "
                f"ClusterLimiter.get({name!r}), another name, or kill it first"
            )
        return cls(name, handle, lease)

    @classmethod
    def get(cls, name: str = "openrouter") -> ClusterLimiter:
        """The running limiter called ``name`` (``ValueError`` if there is none)."""
        handle = ray.get_actor(_PREFIX + name)
        return cls(name, handle, ray.get(handle.lease.remote()))

    def stats(self) -> LimiterStats:
        """Calls answered, permits granted, pauses, permits held now, pause left."""
        return ray.get(self._handle.stats.remote())  # type: ignore[no-any-return]

    def kill(self) -> None:
        """Stop the actor (workers still drawing from it will fail)."""
        ray.kill(self._handle, no_restart=True)

    def book(self) -> _ActorBook:
        """The worker-side view (used inside workers by the processor)."""
        return _ActorBook(self._handle, self.lease)


class _ActorBook:
    """:class:`~openrouter_async.ray._permits.Book` over the actor: each call one round trip."""

    def __init__(self, handle: Any, lease: float) -> None:
        self._handle = handle
        self._lease = lease

    @property
    def lease(self) -> float:
        return self._lease

    async def grant(
        self,
        worker: str,
        want: int,
        held: int,
        estimates: Sequence[Estimate],
        settled: Sequence[Settlement],
        refunded: Sequence[int],
    ) -> Grant:
        ref = self._handle.grant.remote(worker, want, held, estimates, settled, refunded)
        return await ref  # type: ignore[no-any-return]

    async def report(
        self, worker: str, held: int, settled: Sequence[Settlement], refunded: Sequence[int]
    ) -> None:
        await self._handle.report.remote(worker, held, settled, refunded)

    async def throttled(self, seconds: float) -> float:
        return await self._handle.throttled.remote(seconds)  # type: ignore[no-any-return]
