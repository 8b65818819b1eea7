"""``client.batch(...)``: many chat requests, a bounded number in flight, results as they come.

Why it is built this way:

* **Pull, don't push.** A fixed pool of ``concurrency`` worker tasks pulls items from the input
  iterator one at a time; nothing creates a task per item or reads ahead. A worker must take a
  *slot* before it pulls, and a slot is given back only when the consumer takes the result, so
  at most ``window`` items are ever between the input and the consumer (pulled, in flight,
  waiting in the reorder buffer, or ready). A slow consumer therefore slows the input, and a
  ten-million-line file runs in the same memory as a ten-line one.
* **Order is a view.** Ordered mode only changes where a finished result waits: in a small
  dictionary until every earlier index has finished. The slot rule bounds that dictionary.
* **One attempt per call, the retry loop here.** Each attempt calls ``create(...,
  max_retries=0)`` so the client never sleeps on a 429 for one request; the batch retries
  with the client's :class:`RetryPolicy` and turns a 429 or ``Retry-After`` into a shared
  cool-down (every worker holds off) plus a halved in-flight limit that grows back one per
  success (see :mod:`openrouter_async._ratelimit`).
* **Failure is per item.** Anything an item raises (bad input included) becomes a
  :class:`BatchResult` with ``error`` set; only a failure of the input iterator itself ends the
  batch, after every result already produced has been handed out.
* **Cancellation is structured.** ``aclose()`` (leaving ``async with``, leaving an ``async for``
  early, or cancelling the consumer when the batch is not in an ``async with``) cancels the
  workers and awaits them; a cancelled ``create()`` closes its connection. Results that
  finished but were not yet taken stay available from :meth:`Batch.drain`.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import math
import time
from collections import deque
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sized,
)
from types import TracebackType
from typing import TYPE_CHECKING, Any

import attrs

from . import _retry
from ._backoff import asks_to_slow_down
from ._config import RetryPolicy, Timeouts
from ._convert import slot_builder
from ._errors import APIError, RequestValidationError
from ._ratelimit import AdaptiveLimit, CoolDown, TokenBucket, TokenBudget, estimate_prompt_tokens
from .types.responses import ChatCompletion, CompletionUsage

if TYPE_CHECKING:
    from ._client import OpenRouter
    from .types.chat_request import ChatRequest

__all__ = ["Batch", "BatchIndex", "BatchProgress", "BatchResult"]

DEFAULT_CONCURRENCY = 16


@attrs.frozen
class BatchIndex:
    """The id of an item given without one: its 0-based position in the input.

    A type of its own, so it never equals an id you gave: ``BatchIndex(3) != 3``, and an
    explicit id ``3`` cannot be mistaken for the fourth item.
    """

    index: int


@attrs.frozen(kw_only=True)
class BatchResult:
    """The outcome of one batch item: ``completion`` or ``error``, never both.

    ``index`` is the item's 0-based position in the input; ``id`` the id it was given (the
    first element of an ``(id, request)`` pair, or an ``"id"`` key of a mapping) or else
    ``BatchIndex(index)``; a duplicate id's result carries ``BatchIndex(index)`` too.
    ``request`` is the item as sent: a :class:`ChatRequest`, or the plain mapping it was given
    when that was a simple valid request; ``None`` when it could not be made into one.
    ``attempts`` counts the requests sent (0 for a bad item); ``latency`` is seconds from the
    first send to the final answer, retries and their waits included.
    """

    index: int
    id: Any
    request: ChatRequest | Mapping[str, Any] | None
    completion: ChatCompletion | None = None
    error: Exception | None = None
    attempts: int = 0
    latency: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def usage(self) -> CompletionUsage | None:
        return self.completion.usage if self.completion is not None else None

    @property
    def cost(self) -> float | None:
        """USD charged for this item (``usage.cost``), when the server reported it."""
        usage = self.usage
        return usage.cost if usage is not None else None


@attrs.frozen(kw_only=True)
class BatchProgress:
    """A snapshot of a running batch.

    ``done`` = ``succeeded`` + ``failed`` (finished items, taken or not); ``in_flight`` counts
    requests on the wire now; ``retries`` the re-sent attempts; ``throttled`` the 429s and
    ``Retry-After`` answers. ``rate`` is finished items per second since the start, ``eta``
    the seconds left at that rate (``None`` when ``total`` or the rate is unknown).
    ``cooling_down`` is the seconds left of a shared cool-down, ``concurrency`` the current
    in-flight limit (below the configured one while recovering from throttling).
    """

    total: int | None
    done: int
    succeeded: int
    failed: int
    in_flight: int
    retries: int
    throttled: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost: float
    elapsed: float
    rate: float
    eta: float | None
    cooling_down: float
    concurrency: int
    finished: bool


# Results and default ids are made once per item: filled through their slots, not attrs'
# frozen __init__ (3.7k and 11.9k instructions measured).
_new_index = slot_builder(BatchIndex)
_new_result = slot_builder(BatchResult)


class _State(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    CLOSED = "closed"


ProgressCallback = Callable[[BatchProgress], object]


def _check_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RequestValidationError(f"must be an integer >= 1, got {value!r}", path=name)
    return value


def _check_rate(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RequestValidationError("must be a positive number", path=name)
    if not math.isfinite(value) or value <= 0:
        raise RequestValidationError("must be a positive, finite number", path=name)
    return float(value)


class Batch:
    """Run chat requests concurrently; an async iterable of :class:`BatchResult`.

    Made by ``client.batch(requests, **options)``. ``requests`` is any iterable or async
    iterable (read lazily, one item at a time) of:

    * a :class:`ChatRequest`,
    * a mapping of ``create()`` fields, optionally with an ``"id"`` key (removed before sending),
    * an ``(id, request)`` pair whose request is either of the above, or an exception:
      ``(id, exc)`` becomes a failed result without sending anything (a reader's way to
      report an unreadable record in line).

    Items without an id (or with a ``None`` ``"id"`` key) get ``BatchIndex(index)``, which
    never equals an id you gave. An item whose id an earlier item has is not sent: its result
    fails with a :class:`RequestValidationError` and carries ``BatchIndex(index)``, so the
    first item's result is the only one under that id (``unique_ids=False`` skips the check,
    and the memory of one entry per explicit id it costs, for input already known unique). An
    item that is not a valid request becomes a failed result with a
    :class:`RequestValidationError`.

    Options: ``concurrency`` workers (default 16; keep the client's ``PoolLimits.total`` at
    least as large); ``ordered=True`` yields results in input order instead of completion
    order; ``window`` bounds how many items may be pulled but not yet taken by the consumer
    (default ``2 * concurrency``; in ordered mode this is the reorder window); ``rps``
    requests per second and ``tpm`` model tokens per minute (estimated, corrected by usage);
    ``retry`` the retry policy (default: the client's; ``max_retries`` overrides its count);
    ``timeout``, ``extra_headers`` and ``extra_query`` for every request;
    ``on_progress(BatchProgress)`` called every ``progress_interval`` seconds and once at the
    end; ``total`` the item count for progress and ETA (default: ``len(requests)`` when it has
    one).

    Use ``async with client.batch(...) as batch: async for result in batch: ...``; a plain
    ``async for`` works too and stops the batch when the loop ends or breaks.
    """

    def __init__(
        self,
        client: OpenRouter,
        requests: Iterable[Any] | AsyncIterable[Any],
        /,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        ordered: bool = False,
        window: int | None = None,
        rps: float | None = None,
        tpm: float | None = None,
        retry: RetryPolicy | None = None,
        timeout: Timeouts | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        max_retries: int | None = None,
        extra_query: Mapping[str, str] | None = None,
        on_progress: ProgressCallback | None = None,
        progress_interval: float = 0.5,
        total: int | None = None,
        unique_ids: bool = True,
    ) -> None:
        self._client = client
        # explicit id -> index of the first item that used it
        self._ids: dict[Any, int] | None = {} if unique_ids else None
        self.concurrency = _check_int(concurrency, "concurrency")
        self.window = _check_int(window if window is not None else 2 * concurrency, "window")
        self.ordered = bool(ordered)
        policy = retry if retry is not None else client.config.retry
        if max_retries is not None:
            policy = attrs.evolve(policy, max_retries=max_retries)
        self._policy = policy
        self._timeout = timeout
        self._headers = extra_headers
        self._query = extra_query
        self._on_progress = on_progress
        self._interval = _check_rate(progress_interval, "progress_interval") or 0.5
        rps = _check_rate(rps, "rps")
        tpm = _check_rate(tpm, "tpm")
        self._bucket = TokenBucket(rps) if rps is not None else None
        self._budget = TokenBudget(tpm) if tpm is not None else None
        self._cooldown = CoolDown()
        self._limit = AdaptiveLimit(self.concurrency)
        if total is None and isinstance(requests, Sized):
            total = len(requests)
        self.total = total

        self._sync_iter: Iterator[Any] | None = None
        self._async_iter: AsyncIterator[Any] | None = None
        if isinstance(requests, AsyncIterable):
            self._async_iter = aiter(requests)
        elif isinstance(requests, Iterable):
            self._sync_iter = iter(requests)
        else:
            raise RequestValidationError(
                f"requests must be an iterable or async iterable, got {type(requests).__name__}"
            )

        self._state = _State.NEW
        self._managed = False
        self._workers: list[asyncio.Task[None]] = []
        self._ticker: asyncio.Task[None] | None = None
        self._alive = 0
        self._exhausted = False
        self._input_error: BaseException | None = None
        self._fatal: BaseException | None = None
        self._pulled = 0
        self._next_index = 0  # ordered mode: the next index to hand out
        self._pending: dict[int, BatchResult] = {}
        self._ready: deque[BatchResult] = deque()
        self._gate_waiters: deque[asyncio.Future[None]] = deque()
        # loop-bound primitives are made in _start(), inside the running loop
        self._slots: asyncio.Semaphore | None = None
        self._wakeup: asyncio.Event | None = None
        self._all_done: asyncio.Event | None = None
        self._pull_lock: asyncio.Lock | None = None
        # statistics
        self._started_at: float | None = None
        self._ended_at: float | None = None
        self._in_flight = 0
        self._succeeded = 0
        self._failed = 0
        self._retries = 0
        self._throttled = 0
        self._prompt_tokens = 0
        self._completion_tokens = 0
        self._total_tokens = 0
        self._cost = 0.0

    def __repr__(self) -> str:
        return (
            f"Batch(concurrency={self.concurrency}, ordered={self.ordered}, "
            f"state={self._state.value}, done={self._succeeded + self._failed})"
        )

    # -- lifecycle -------------------------------------------------------------------------

    def _start(self) -> None:
        if self._state is not _State.NEW:
            return
        self._state = _State.RUNNING
        self._slots = asyncio.Semaphore(self.window)
        self._wakeup = asyncio.Event()
        self._all_done = asyncio.Event()
        self._pull_lock = asyncio.Lock()
        self._started_at = time.monotonic()
        workers = min(self.concurrency, self.window)
        self._alive = workers
        self._workers = [asyncio.create_task(self._worker()) for _ in range(workers)]
        if self._on_progress is not None:
            self._ticker = asyncio.create_task(self._tick(self._on_progress))

    async def __aenter__(self) -> Batch:
        self._managed = True
        self._start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop: cancel in-flight requests (closing their connections) and await the workers.

        Idempotent. Finished results not yet taken stay available from :meth:`drain`.
        """
        if self._state is _State.CLOSED:
            return
        self._state = _State.CLOSED
        tasks = [t for t in self._workers if not t.done()]
        if self._ticker is not None and not self._ticker.done():
            tasks.append(self._ticker)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._ended_at is None:
            self._ended_at = time.monotonic()
        if self._wakeup is not None:
            self._wakeup.set()

    @property
    def closed(self) -> bool:
        return self._state is _State.CLOSED

    def drain(self) -> list[BatchResult]:
        """Take every finished result not yet handed out (in ordered mode the in-order ones
        first, then any finished out of order), without waiting. For use after a
        cancellation, so no billed answer is lost."""
        out = list(self._ready)
        self._ready.clear()
        out.extend(self._pending[i] for i in sorted(self._pending))
        self._pending.clear()
        return out

    # -- consuming -------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[BatchResult]:
        return self._results()

    async def _results(self) -> AsyncIterator[BatchResult]:
        # Any number of loops may take results, one after another (a loop that breaks and a
        # new one inside the same ``async with``) or at once (each result goes to one of them).
        self._start()
        try:
            ready = self._ready
            while True:
                if ready:
                    result = ready.popleft()
                    if self._slots is not None:
                        self._slots.release()
                    yield result
                    continue
                if self._fatal is not None:
                    raise self._fatal
                if self._alive == 0 or self._wakeup is None:
                    if self._input_error is not None:
                        error, self._input_error = self._input_error, None
                        raise error
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
        finally:
            if not self._managed:
                await self.aclose()

    async def progress(self, interval: float = 0.5) -> AsyncIterator[BatchProgress]:
        """Snapshots every ``interval`` seconds until the batch ends (then one last one).

        Results must be consumed in another task meanwhile, or the batch cannot advance.
        """
        self._start()
        while True:
            snapshot = self.snapshot()
            yield snapshot
            if snapshot.finished or self._all_done is None:
                return
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._all_done.wait(), interval)

    def snapshot(self) -> BatchProgress:
        """Counts, tokens, cost, rate and ETA now."""
        now = time.monotonic()
        started = self._started_at if self._started_at is not None else now
        ended = self._ended_at if self._ended_at is not None else now
        elapsed = max(0.0, ended - started)
        done = self._succeeded + self._failed
        rate = done / elapsed if elapsed > 0 else 0.0
        eta: float | None = None
        if self.total is not None and rate > 0:
            eta = max(0, self.total - done) / rate
        return BatchProgress(
            total=self.total,
            done=done,
            succeeded=self._succeeded,
            failed=self._failed,
            in_flight=self._in_flight,
            retries=self._retries,
            throttled=self._throttled,
            prompt_tokens=self._prompt_tokens,
            completion_tokens=self._completion_tokens,
            total_tokens=self._total_tokens,
            cost=self._cost,
            elapsed=elapsed,
            rate=rate,
            eta=eta,
            cooling_down=self._cooldown.remaining(),
            concurrency=self._limit.limit,
            finished=self._state is not _State.NEW and self._alive == 0,
        )

    async def _tick(self, callback: ProgressCallback) -> None:
        all_done = self._all_done
        assert all_done is not None
        try:
            while self._alive > 0:
                callback(self.snapshot())
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(all_done.wait(), self._interval)
            callback(self.snapshot())
        except Exception as exc:  # a broken callback ends the batch, loudly
            self._fail(exc)

    # -- the workers -----------------------------------------------------------------------

    def _fail(self, exc: BaseException) -> None:
        if self._fatal is None:
            self._fatal = exc
        if self._wakeup is not None:
            self._wakeup.set()

    async def _worker(self) -> None:
        slots = self._slots
        assert slots is not None
        sync_input = self._sync_iter is not None
        try:
            while True:
                await slots.acquire()
                # A plain iterable is read without an await (a coroutine per item otherwise).
                pulled = self._pull_sync() if sync_input else await self._pull_async()
                if pulled is None:
                    slots.release()
                    return
                index, item = pulled
                try:
                    result = await self._run_item(index, item)
                except Exception as exc:  # whatever one item raises stays with that item
                    result = BatchResult(
                        index=index, id=self._split(index, item)[0], request=None, error=exc
                    )
                self._deliver(result)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # a bug here must not hang the consumer: report it there
            self._fail(exc)
        finally:
            self._alive -= 1
            if self._alive == 0:
                self._ended_at = time.monotonic()
                assert self._all_done is not None
                assert self._wakeup is not None
                self._all_done.set()
                self._wakeup.set()

    def _pull_sync(self) -> tuple[int, Any] | None:
        """The next (index, item) from a plain iterable, or None when it is exhausted or
        broken."""
        sync_iter = self._sync_iter
        if self._exhausted or sync_iter is None:
            return None
        try:
            item = next(sync_iter)
        except StopIteration:
            self._exhausted = True
            return None
        except Exception as exc:
            self._stop_input(exc)
            return None
        return self._numbered(item)

    async def _pull_async(self) -> tuple[int, Any] | None:
        """The next (index, item) from an async iterable (one reader at a time), or None when
        it is exhausted or broken."""
        if self._exhausted:
            return None
        assert self._pull_lock is not None
        assert self._async_iter is not None
        async with self._pull_lock:
            if self._exhausted:
                return None
            try:
                item = await self._async_iter.__anext__()
            except StopAsyncIteration:
                self._exhausted = True
                return None
            except Exception as exc:
                self._stop_input(exc)
                return None
            return self._numbered(item)

    def _numbered(self, item: Any) -> tuple[int, Any]:
        """The item with its position in the input (pulled in order, one at a time)."""
        index = self._pulled
        self._pulled += 1
        return index, item

    def _stop_input(self, exc: BaseException) -> None:
        self._exhausted = True
        self._input_error = exc

    def _deliver(self, result: BatchResult) -> None:
        if result.error is None:
            self._succeeded += 1
            usage = result.usage
            if usage is not None:
                self._prompt_tokens += usage.prompt_tokens
                self._completion_tokens += usage.completion_tokens
                self._total_tokens += usage.total_tokens
                if usage.cost is not None:
                    self._cost += usage.cost
        else:
            self._failed += 1
        if self.ordered:
            pending = self._pending
            pending[result.index] = result
            while self._next_index in pending:
                self._ready.append(pending.pop(self._next_index))
                self._next_index += 1
        else:
            self._ready.append(result)
        assert self._wakeup is not None
        self._wakeup.set()

    # -- one item --------------------------------------------------------------------------

    def _split(self, index: int, item: Any) -> tuple[Any, Any]:
        """(id, request-ish) of an item, without validating the request; an id that cannot be
        used gives ``(BatchIndex(index), the error)``."""
        if isinstance(item, tuple) and len(item) == 2:
            item_id, raw = item
        elif (item.__class__ is dict or isinstance(item, Mapping)) and "id" in item:
            raw = dict(item)
            item_id = raw.pop("id")
            if item_id is None:
                return _new_index(index=index), raw
        else:
            return _new_index(index=index), item
        ids = self._ids
        if isinstance(item_id, BatchIndex):
            problem = "BatchIndex ids are reserved for items given without an id"
        elif ids is None:
            return item_id, raw
        else:
            try:
                first = ids.setdefault(item_id, index)
            except TypeError:
                problem = f"an id must be hashable, got {type(item_id).__name__}"
            else:
                if first == index:
                    return item_id, raw
                problem = f"duplicate id {item_id!r}: item {first} has it; not sent"
        return _new_index(index=index), RequestValidationError(problem, path="id")

    async def _run_item(self, index: int, item: Any) -> BatchResult:
        item_id, raw = self._split(index, item)
        if isinstance(raw, Exception):  # the reader already knew this item was bad
            return BatchResult(index=index, id=item_id, request=None, error=raw)
        chat = self._client.chat.completions
        try:
            # The body is built and validated once, here, for every attempt of the item.
            request, body = chat._item_body(raw)
        except Exception as exc:
            return BatchResult(index=index, id=item_id, request=None, error=exc)

        budget = self._budget
        estimate = 0
        if budget is not None:
            if not isinstance(request, Mapping):
                messages: Any = request.messages
                max_tokens = request.max_completion_tokens or request.max_tokens
            else:
                messages = request["messages"]
                max_tokens = request.get("max_completion_tokens") or request.get("max_tokens")
            estimate = budget.estimate(estimate_prompt_tokens(messages), max_tokens)

        # The first attempt runs inline and the retry engine is made only when it fails: an
        # item that succeeds at once (nearly all) pays for no Retrier, closure or await level.
        first_sent: float | None = None
        retrier: _retry.Retrier | None = None
        try:
            waiting = self._admit(estimate)
            if waiting is not None:
                await waiting
            first_sent = time.monotonic()
            try:
                completion = await self._attempt(body, estimate)
            except APIError as error:
                total_timeout = self._client.config.timeouts.total
                retrier = _retry.Retrier(
                    self._policy,
                    deadline=None if total_timeout is None else first_sent + total_timeout,
                    describe=f"batch item {item_id!r}",
                    on_error=self._on_attempt_error,
                )
                completion = await retrier.run(self._again(body, estimate), failed=error)
        except Exception as exc:
            retries = retrier.attempt if retrier is not None else 0
            self._retries += retries
            # Any failure, typed or not, is this item's result: one poison item never stops
            # the batch (and is never silently re-sent).
            return BatchResult(
                index=index,
                id=item_id,
                request=request,
                error=exc,
                attempts=retries + 1,
                latency=time.monotonic() - first_sent if first_sent is not None else 0.0,
            )
        retries = retrier.attempt if retrier is not None else 0
        self._retries += retries
        usage = completion.usage
        if budget is not None and usage is not None:
            budget.settle(estimate, usage.total_tokens, usage.completion_tokens)
        self._limit.succeeded()
        self._wake_gate()
        return _new_result(
            index=index,
            id=item_id,
            request=request,
            completion=completion,
            error=None,
            attempts=retries + 1,
            latency=time.monotonic() - first_sent,
        )

    def _again(self, body: bytes, estimate: int) -> Callable[[], Awaitable[ChatCompletion]]:
        """The attempts after the first: admitted like it. A method of its own, so the
        closure's cells are made only for an item that failed, not at every _run_item call
        (cells are young objects every garbage collection pass walks)."""

        async def again() -> ChatCompletion:
            waiting = self._admit(estimate)
            if waiting is not None:
                await waiting
            return await self._attempt(body, estimate)

        return again

    async def _attempt(self, body: bytes, estimate: int) -> ChatCompletion:
        """One admitted attempt: ``create()``'s send with ``max_retries=0`` (the retries are
        this engine's, with the batch's shared cool-down, not the client's)."""
        self._in_flight += 1
        try:
            completion = await self._client.chat.completions._send(
                body,
                max_retries=0,
                timeout=self._timeout,
                extra_headers=self._headers,
                extra_query=self._query,
            )
        except BaseException:
            self._in_flight -= 1
            self._release_gate()
            if self._budget is not None:
                self._budget.refund(estimate)
            raise
        self._in_flight -= 1
        self._release_gate()
        return completion

    def _on_attempt_error(self, error: APIError, wait: float) -> None:
        """Every failed attempt, before the engine decides: a 429, or any answer that names
        a wait (``Retry-After``), starts a shared cool-down for that long and cuts the
        in-flight limit, even when this item gives up (the server said it is overloaded)."""
        if asks_to_slow_down(error):
            self._throttled += 1
            until = self._cooldown.extend(min(wait, self._policy.max_retry_after))
            self._limit.throttled(until)

    # -- admission: in-flight limit, cool-down, rate limits --------------------------------

    def _admit(self, estimate: int) -> Awaitable[None] | None:
        """``None`` when this worker may send at once (a free place under the in-flight
        limit, no cool-down and no rps or tpm budget: the usual case, answered without a
        coroutine); else an awaitable that waits for all of those."""
        if (
            self._bucket is None
            and self._budget is None
            and self._cooldown.remaining() <= 0
            and self._limit.try_acquire()
        ):
            return None
        return self._wait_admission(estimate)

    async def _wait_admission(self, estimate: int) -> None:
        """Wait until this worker may send: a place under the in-flight limit, no cool-down,
        and (when configured) its share of the rps and tpm budgets."""
        limit = self._limit
        if not limit.try_acquire():
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._gate_waiters.append(future)
            try:
                await future
            except BaseException:
                if future.done() and not future.cancelled():
                    self._release_gate()  # the place was handed over just as we left
                else:
                    future.cancel()
                raise
        try:
            bucket, budget, cooldown = self._bucket, self._budget, self._cooldown
            while True:
                pause = cooldown.remaining()
                if pause > 0:
                    await asyncio.sleep(pause)
                    continue
                delay = bucket.reserve() if bucket is not None else 0.0
                if budget is not None:
                    delay = max(delay, budget.reserve(estimate))
                if delay > 0:
                    try:
                        await asyncio.sleep(delay)
                    except BaseException:
                        self._refund(estimate)
                        raise
                    if cooldown.remaining() > 0:  # a pause began while we waited our turn
                        self._refund(estimate)
                        continue
                return
        except BaseException:
            self._release_gate()
            raise

    def _refund(self, estimate: int) -> None:
        if self._bucket is not None:
            self._bucket.refund()
        if self._budget is not None:
            self._budget.refund(estimate)

    def _release_gate(self) -> None:
        self._limit.release()
        self._wake_gate()

    def _wake_gate(self) -> None:
        waiters = self._gate_waiters
        limit = self._limit
        while waiters and limit.free:
            future = waiters.popleft()
            if future.done():
                continue
            limit.try_acquire()
            future.set_result(None)
