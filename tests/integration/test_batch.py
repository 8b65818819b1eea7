"""``client.batch``: bounded concurrency, per-item failures, shared cool-down, order, laziness,
cancellation, against the emulator."""

from __future__ import annotations

import asyncio
import bisect
import gc
import itertools
import random
import time
import tracemalloc
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from openrouter_async import OpenRouter, RetryPolicy
from openrouter_async._batch import Batch, BatchIndex, BatchProgress, BatchResult
from openrouter_async._errors import (
    BadRequestError,
    RequestValidationError,
    ServiceUnavailableError,
)
from openrouter_async.testing import Emulator

# -- helpers --------------------------------------------------------------------------------------


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def pool_is_idle(client: OpenRouter) -> bool:
    session = client._transport._session
    if session is None:
        return True
    connector = session.connector
    assert connector is not None
    return len(connector._acquired) == 0


def max_concurrent(records: list[Any]) -> int:
    events = []
    for rec in records:
        events.append((rec.started_at, 1))
        events.append((rec.finished_at, -1))
    events.sort(key=lambda e: (e[0], e[1]))
    current = peak = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    return peak


# -- the big one ----------------------------------------------------------------------------------


async def test_2000_requests_with_permanent_failures_and_429_cool_downs(emulator: Emulator) -> None:
    """10% fail for good (400), 10% are refused once with 429 + Retry-After 0.2 s: every id
    comes back exactly once with the right outcome, at most 64 in flight, and no request
    leaves the client while a cool-down is on."""
    n = 2000
    kind: dict[str, str] = {}

    def items() -> Iterator[tuple[str, dict[str, Any]]]:
        rng = random.Random(7)
        for i in range(n):
            item_id = f"item-{i}"
            roll = rng.random()
            model = "emulator/echo"
            if roll < 0.1:
                kind[item_id] = "bad"
                model += ":fault=http(400)"
            elif roll < 0.2:
                kind[item_id] = "throttled"
                # counted per body: the retry of this item is let through
                model += ":fault=fail_first(1,status=429,retry_after=0.2)"
            else:
                kind[item_id] = "ok"
            yield item_id, {"model": model, "messages": user(f"hello {i}")}

    results: list[BatchResult] = []
    sent_at: list[float] = []  # client side: when each attempt was handed to the transport
    pauses: list[tuple[float, float]] = []  # client side: (429 seen, cool-down end)
    async with emulator.client(max_retries=2) as client:
        send = client.chat.completions._send  # each attempt of a batch item goes through it

        async def timed_send(*args: Any, **kwargs: Any) -> Any:
            sent_at.append(time.monotonic())
            return await send(*args, **kwargs)

        client.chat.completions._send = timed_send  # type: ignore[method-assign]
        async with client.batch(items(), concurrency=64) as batch:
            extend = batch._cooldown.extend

            def timed_extend(seconds: float) -> float:
                seen = time.monotonic()
                end = extend(seconds)
                pauses.append((seen, end))
                return end

            batch._cooldown.extend = timed_extend  # type: ignore[method-assign]
            async for result in batch:
                results.append(result)
        assert pool_is_idle(client)
        final = batch.snapshot()

    counts = Counter(r.id for r in results)
    assert len(counts) == n
    assert set(counts.values()) == {1}
    assert sorted(r.index for r in results) == list(range(n))
    for r in results:
        expected = kind[r.id]
        if expected == "bad":
            assert isinstance(r.error, BadRequestError)
            assert r.attempts == 1
            assert r.completion is None
            assert not r.ok
        else:
            assert r.ok, r.error
            assert r.completion is not None
            assert r.completion.content == f"hello {r.index}"
            assert r.usage is not None
            assert r.usage.total_tokens > 0
            assert r.cost is not None
            assert r.cost > 0
            assert r.attempts == (2 if expected == "throttled" else 1)
            if expected == "throttled":
                assert r.latency >= 0.19  # waited out the Retry-After
    throttled = sum(1 for v in kind.values() if v == "throttled")
    assert final.done == n
    assert final.finished
    assert final.failed == sum(1 for v in kind.values() if v == "bad")
    assert final.retries == throttled == final.throttled
    assert final.total_tokens == sum(r.usage.total_tokens for r in results if r.usage)
    assert final.concurrency > 1  # recovering (or recovered) after the last cut

    chat = [r for r in emulator.requests if r.endpoint == "/chat/completions"]
    assert len(chat) == n + throttled == len(sent_at)
    assert max_concurrent(chat) <= 64
    refused = [r for r in chat if r.status == 429]
    assert len(refused) == throttled == len(pauses)
    # The shared cool-down: from the moment a 429 is seen until the pause ends, nothing is sent.
    sent_at.sort()
    for seen, end in pauses:
        assert end - seen >= 0.2 - 1e-6
        first = bisect.bisect_right(sent_at, seen + 1e-4)
        assert first == len(sent_at) or sent_at[first] >= end - 1e-3, "sent during a cool-down"
    # ... and each refused item was re-sent (server clock) only after the time it was asked
    by_body: dict[str, list[Any]] = {}
    for rec in chat:
        by_body.setdefault(rec.body["messages"][0]["content"], []).append(rec)
    for recs in by_body.values():
        if len(recs) == 2:
            refusal, retry = sorted(recs, key=lambda r: r.started_at)
            assert refusal.status == 429
            assert retry.status == 200
            assert refusal.finished_at is not None
            assert retry.started_at - refusal.finished_at >= 0.2 - 0.01


async def test_a_429_pauses_the_whole_batch_then_concurrency_recovers(emulator: Emulator) -> None:
    """Seen from the server, at a load where its clock is close to the client's: after the
    429 no request arrives for the 0.3 s asked; afterwards 8 are in flight again."""
    items = [
        (
            i,
            {
                "model": "emulator/echo:latency=0.02"
                + (":fault=fail_first(1,status=429,retry_after=0.3)" if i == 20 else ""),
                "messages": user(f"c{i}"),
            },
        )
        for i in range(120)
    ]
    async with emulator.client() as client:
        async with client.batch(items, concurrency=8) as batch:
            results = [r async for r in batch]
        assert batch.snapshot().concurrency == 8  # recovered to the configured limit
    assert all(r.ok for r in results)
    chat = emulator.requests
    (refusal,) = [r for r in chat if r.status == 429]
    assert refusal.finished_at is not None
    quiet = [
        r
        for r in chat
        if refusal.finished_at + 0.03 < r.started_at < refusal.finished_at + 0.3 - 0.01
    ]
    assert quiet == [], "requests arrived during the cool-down"
    after = [r for r in chat if r.started_at > refusal.finished_at + 0.3]
    assert max_concurrent(after) == 8


# -- order, laziness, backpressure ----------------------------------------------------------------


async def test_ordered_mode_yields_input_order_within_the_window(emulator: Emulator) -> None:
    rng = random.Random(3)
    n, window = 150, 24
    pulled = 0

    def items() -> Iterator[dict[str, Any]]:
        nonlocal pulled
        for i in range(n):
            pulled += 1
            latency = rng.choice([0, 0.005, 0.02, 0.04])
            yield {"model": f"emulator/echo:latency={latency}", "messages": user(f"m{i}")}

    taken = 0
    async with emulator.client() as client:
        batch = client.batch(items(), concurrency=12, ordered=True, window=window)
        indices = []
        async for result in batch:
            taken += 1
            assert pulled - taken < window  # never more than the window read ahead
            assert result.ok, result.error
            assert result.completion is not None
            assert result.completion.content == f"m{result.index}"
            assert result.id == BatchIndex(result.index)
            indices.append(result.index)
        assert batch.closed  # a plain `async for` closes the batch when it ends
    assert indices == list(range(n))
    # the server really did finish them out of order
    finish_order = [
        r.body["messages"][0]["content"]
        for r in sorted(emulator.requests, key=lambda r: r.finished_at or 0)
    ]
    assert finish_order != [f"m{i}" for i in range(n)]


async def test_a_million_item_generator_is_pulled_lazily_in_flat_memory(
    emulator: Emulator,
) -> None:
    """Stopping after a few hundred results: the generator was advanced only a window ahead,
    and memory did not grow with the number of results."""
    advanced = 0

    def million() -> Iterator[dict[str, Any]]:
        nonlocal advanced
        for i in range(1_000_000):
            advanced += 1
            yield {"model": "emulator/echo", "messages": user(f"n{i}")}

    concurrency, window, stop_after = 8, 16, 300
    async with emulator.client() as client:
        gc.collect()
        tracemalloc.start()
        try:
            checkpoints: dict[int, int] = {}
            async with client.batch(million(), concurrency=concurrency, window=window) as batch:
                async for result in batch:
                    assert result.ok
                    done = result.index + 1
                    if batch.snapshot().done % 50 == 0:
                        emulator.reset()  # the emulator's own request log is not ours to count
                    if len(checkpoints) == 0 and done >= 100:
                        checkpoints[100] = tracemalloc.get_traced_memory()[0]
                    if batch.snapshot().done >= stop_after:
                        break
            emulator.reset()
            gc.collect()
            current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        taken = batch.snapshot().done
    assert advanced <= stop_after + window + 1
    assert taken <= stop_after + window
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    assert current - checkpoints[100] < 1024 * 1024, "memory grew with the results"


async def test_async_iterable_input(emulator: Emulator) -> None:
    async def items() -> AsyncIterator[tuple[int, dict[str, Any]]]:
        for i in range(40):
            await asyncio.sleep(0)
            yield 1000 + i, {"model": "emulator/echo", "messages": user(f"a{i}")}

    async with emulator.client() as client:
        results = [r async for r in client.batch(items(), concurrency=6)]
    assert sorted(r.id for r in results) == list(range(1000, 1040))
    assert all(r.ok for r in results)


async def test_item_forms_and_bad_items_are_per_item_errors(emulator: Emulator) -> None:
    from openrouter_async import ChatRequest

    items: list[Any] = [
        ChatRequest(model="emulator/echo", messages=user("typed")),
        {"model": "emulator/echo", "messages": user("mapping")},
        {"id": "named", "model": "emulator/echo", "messages": user("with id")},
        ("pair", {"model": "emulator/echo", "messages": user("pair")}),
        ("pair-typed", ChatRequest(model="emulator/echo", messages=user("pair typed"))),
        {"model": "emulator/echo", "messages": user("x"), "no_such_field": 1},
        "not a request",
        ("reported", ValueError("unreadable record")),
    ]
    async with emulator.client() as client, client.batch(items, ordered=True) as batch:
        results = [r async for r in batch]
    assert [r.id for r in results] == [
        BatchIndex(0),
        BatchIndex(1),
        "named",
        "pair",
        "pair-typed",
        BatchIndex(5),
        BatchIndex(6),
        "reported",
    ]
    assert [r.completion.content for r in results[:5] if r.completion] == [
        "typed",
        "mapping",
        "with id",
        "pair",
        "pair typed",
    ]
    for r in results[5:7]:
        assert isinstance(r.error, RequestValidationError)
        assert r.attempts == 0
        assert r.request is None
    assert isinstance(results[7].error, ValueError)
    assert len(emulator.requests) == 5  # nothing sent for the bad ones
    assert batch.snapshot().total == len(items)


async def test_retryable_errors_are_retried_per_item_then_reported(emulator: Emulator) -> None:
    policy = RetryPolicy(max_retries=2, initial_backoff=0.01, max_backoff=0.02)
    items = [
        ("flaky", {"model": "emulator/echo:fault=fail_first(2,status=503)", "messages": user("f")}),
        ("down", {"model": "emulator/echo:fault=http(503)", "messages": user("d")}),
    ]
    async with emulator.client() as client, client.batch(items, retry=policy) as batch:
        results = {r.id: r async for r in batch}
    assert results["flaky"].ok
    assert results["flaky"].attempts == 3
    assert isinstance(results["down"].error, ServiceUnavailableError)
    assert results["down"].attempts == 3
    assert batch.snapshot().retries == 4


async def test_the_client_does_not_retry_behind_the_batch(emulator: Emulator) -> None:
    """Each attempt is one request: the batch's policy counts, not the client's."""
    items = [{"model": "emulator/echo:fault=http(503)", "messages": user("once")}]
    async with emulator.client(max_retries=5) as client:
        results = [r async for r in client.batch(items, retry=RetryPolicy(max_retries=0))]
    assert isinstance(results[0].error, ServiceUnavailableError)
    assert results[0].attempts == 1
    assert len(emulator.requests) == 1


async def test_input_failure_ends_the_batch_after_the_results_before_it(
    emulator: Emulator,
) -> None:
    def items() -> Iterator[dict[str, Any]]:
        for i in range(5):
            yield {"model": "emulator/echo", "messages": user(f"i{i}")}
        raise OSError("disk gone")

    got: list[BatchResult] = []
    async with emulator.client() as client:

        async def consume() -> None:
            async for result in client.batch(items(), concurrency=3):
                got.append(result)

        with pytest.raises(OSError, match="disk gone"):
            await consume()
    assert sorted(r.index for r in got) == [0, 1, 2, 3, 4]


async def test_rps_paces_the_requests(emulator: Emulator) -> None:
    async with emulator.client() as client:
        items = [{"model": "emulator/echo", "messages": user(f"r{i}")} for i in range(12)]
        results = [r async for r in client.batch(items, concurrency=12, rps=40)]
    assert all(r.ok for r in results)
    starts = sorted(r.started_at for r in emulator.requests)
    # 12 requests at 40/s with no burst: the last one leaves >= 11/40 s after the first
    assert starts[-1] - starts[0] >= 11 / 40 - 0.02
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) > 0.5 / 40


async def test_progress_callback_and_iterator(emulator: Emulator) -> None:
    seen: list[BatchProgress] = []
    items = [{"model": "emulator/echo:latency=0.01", "messages": user(f"p{i}")} for i in range(30)]
    async with emulator.client() as client:
        batch = client.batch(items, concurrency=4, on_progress=seen.append, progress_interval=0.02)
        async with batch:
            snapshots: list[BatchProgress] = []

            async def watch() -> None:
                async for snapshot in batch.progress(interval=0.02):
                    snapshots.append(snapshot)

            watcher = asyncio.create_task(watch())
            results = [r async for r in batch]
            await watcher
    assert len(results) == 30
    last = seen[-1]
    assert last.finished
    assert last.done == last.succeeded == 30
    assert last.total == 30
    assert last.in_flight == 0
    assert last.eta == 0
    assert last.total_tokens == sum(r.usage.total_tokens for r in results if r.usage)
    assert last.cost == pytest.approx(sum(r.cost or 0 for r in results))
    assert any(0 < s.done < 30 for s in seen)  # it reported along the way
    assert max(s.in_flight for s in seen) <= 4
    assert snapshots[-1].finished
    assert snapshots[-1].done == 30


# -- cancellation ---------------------------------------------------------------------------------


async def test_cancelling_the_consumer_closes_in_flight_connections(emulator: Emulator) -> None:
    """A plain ``async for`` in a task that is cancelled: the in-flight requests are cancelled,
    their connections closed (the server sees each client leave), the pool is empty, and the
    results received before are all there."""
    fast = [
        (f"fast-{i}", {"model": "emulator/echo", "messages": user(f"fast {i}")}) for i in range(6)
    ]
    slow = [
        (f"slow-{i}", {"model": "emulator/lorem:latency=30", "messages": user(f"slow {i}")})
        for i in range(20)
    ]
    got: list[BatchResult] = []
    async with emulator.client() as client:
        batch = client.batch(itertools.chain(fast, slow), concurrency=6, ordered=False)

        async def consume() -> None:
            async for result in batch:
                got.append(result)

        task = asyncio.create_task(consume())
        await emulator.wait_for_request(
            predicate=lambda r: "latency=30" in (r.model or "") or r.seq >= 11, timeout=5
        )
        while sum(1 for r in emulator.requests if not r.finished) < 6:
            await asyncio.sleep(0.01)
        in_flight = [r for r in emulator.requests if not r.finished]
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert batch.closed
        for rec in in_flight:
            await emulator.wait_for_disconnect(rec, timeout=2)
        assert pool_is_idle(client)
        assert {r.id for r in got} == {f"fast-{i}" for i in range(6)}
        assert batch.drain() == []
        assert batch.snapshot().in_flight == 0


async def test_aclose_keeps_finished_results_for_drain(emulator: Emulator) -> None:
    items = [{"model": "emulator/echo", "messages": user(f"d{i}")} for i in range(10)]
    async with emulator.client() as client:
        async with client.batch(items, concurrency=5, window=10, ordered=True) as batch:
            first = await batch.__aiter__().__anext__()
            while batch.snapshot().done < 10:
                await asyncio.sleep(0.01)
        rest = batch.drain()
    assert first.index == 0
    assert [r.index for r in rest] == list(range(1, 10))


async def test_breaking_out_of_a_plain_async_for_stops_the_workers(emulator: Emulator) -> None:
    items = ({"model": "emulator/echo", "messages": user(f"b{i}")} for i in range(1000))
    async with emulator.client() as client:
        batch = client.batch(items, concurrency=4)
        agen = batch.__aiter__()
        async for _result in agen:
            break
        await agen.aclose()  # what the loop's finaliser does for an abandoned generator
        assert batch.closed
        assert all(t.done() for t in batch._workers)
        assert pool_is_idle(client)


async def test_a_loop_can_stop_and_another_continue_inside_async_with(
    emulator: Emulator,
) -> None:
    items = [{"model": "emulator/echo", "messages": user(f"s{i}")} for i in range(20)]
    async with emulator.client() as client, client.batch(items, ordered=True) as batch:
        first = []
        async for result in batch:
            first.append(result.index)
            if len(first) == 5:
                break
        rest = [result.index async for result in batch]
    assert first + rest == list(range(20))


def test_options_are_validated() -> None:
    client = OpenRouter(api_key="k")
    with pytest.raises(RequestValidationError, match="concurrency"):
        Batch(client, [], concurrency=0)
    with pytest.raises(RequestValidationError, match="rps"):
        Batch(client, [], rps=-1)
    with pytest.raises(RequestValidationError):
        Batch(client, 42)  # type: ignore[arg-type]


# -- ids ------------------------------------------------------------------------------------------


async def test_an_implicit_id_never_equals_an_explicit_one(emulator: Emulator) -> None:
    """The fourth item has no id and another item's explicit id is 3: two different ids."""
    items: list[Any] = [
        {"id": 3, "model": "emulator/echo", "messages": user("explicit three")},
        {"model": "emulator/echo", "messages": user("one")},
        {"model": "emulator/echo", "messages": user("two")},
        {"model": "emulator/echo", "messages": user("position three")},
        {"id": None, "model": "emulator/echo", "messages": user("null id")},
    ]
    async with emulator.client() as client:
        results = {r.id: r async for r in client.batch(items)}
    assert set(results) == {3, BatchIndex(1), BatchIndex(2), BatchIndex(3), BatchIndex(4)}
    assert BatchIndex(3) != 3
    assert all(r.ok for r in results.values())
    assert results[3].completion is not None
    assert results[3].completion.content == "explicit three"
    assert results[BatchIndex(3)].completion is not None
    assert results[BatchIndex(3)].completion.content == "position three"


async def test_later_duplicate_ids_fail_without_a_request(emulator: Emulator) -> None:
    items: list[Any] = [
        ("x", {"model": "emulator/echo", "messages": user("first x")}),
        {"id": "y", "model": "emulator/echo", "messages": user("first y")},
        ("x", {"model": "emulator/echo", "messages": user("second x")}),
        {"id": "x", "model": "emulator/echo", "messages": user("third x")},
        ("y", ValueError("an unreadable record under a used id")),
        ([1], {"model": "emulator/echo", "messages": user("unhashable id")}),
        (BatchIndex(0), {"model": "emulator/echo", "messages": user("reserved id")}),
    ]
    async with emulator.client() as client:
        results = [r async for r in client.batch(items, ordered=True)]
    assert [r.id for r in results] == ["x", "y", *(BatchIndex(i) for i in range(2, 7))]
    assert [r.ok for r in results] == [True, True, False, False, False, False, False]
    for r in results[2:]:
        assert isinstance(r.error, RequestValidationError)
        assert r.error.path == "id"
        assert r.attempts == 0
        assert r.request is None
    assert "duplicate id 'x': item 0 has it" in str(results[2].error)
    assert "duplicate id 'x': item 0 has it" in str(results[3].error)
    assert "duplicate id 'y': item 1 has it" in str(results[4].error)
    assert "hashable" in str(results[5].error)
    assert "reserved" in str(results[6].error)
    sent = sorted(r.body["messages"][0]["content"] for r in emulator.requests)
    assert sent == ["first x", "first y"]  # nothing else was sent, or billed


async def test_unique_ids_false_trusts_the_input(emulator: Emulator) -> None:
    items = [("same", {"model": "emulator/echo", "messages": user(f"m{i}")}) for i in range(3)]
    async with emulator.client() as client:
        results = [r async for r in client.batch(items, unique_ids=False)]
    assert [r.id for r in results] == ["same"] * 3
    assert all(r.ok for r in results)
    assert len(emulator.requests) == 3


async def test_an_untyped_failure_outside_the_request_stays_with_its_item(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any exception one item raises, wherever in its handling, becomes that item's error; the
    batch goes on (before, it ended the whole batch and lost the items pulled behind it)."""
    import openrouter_async._batch as batch_module

    real = batch_module.estimate_prompt_tokens

    def estimate(messages: Any) -> int:
        if messages[0]["content"] == "poison":
            raise RuntimeError("not an OpenRouterError")
        return real(messages)

    monkeypatch.setattr(batch_module, "estimate_prompt_tokens", estimate)
    items = [
        (f"i{i}", {"model": "emulator/echo", "messages": user("poison" if i == 2 else f"m{i}")})
        for i in range(6)
    ]
    async with emulator.client() as client, client.batch(items, tpm=1e9) as batch:
        results = {r.id: r async for r in batch}
    assert set(results) == {f"i{i}" for i in range(6)}
    assert isinstance(results["i2"].error, RuntimeError)
    assert all(results[f"i{i}"].ok for i in (0, 1, 3, 4, 5))
    assert len(emulator.requests) == 5


def test_an_item_body_is_held_at_its_exact_size() -> None:
    """A body lives as long as its request is in flight: orjson's 4 KiB growth buffer must not
    come with it (256 in flight held 1 MB of slack), on the fast path or the full one."""
    from openrouter_async._resources.chat import ChatCompletions
    from openrouter_async.types.chat_request import ChatRequest

    plain = {"model": "m", "messages": user("hi")}
    rich = ChatRequest(model="m", messages=user("hi"), temperature=0.5)
    nested = {**plain, "extra_body": {"x": 1}}  # not for the fast path: built in full
    for item in (plain, rich, nested):
        ChatCompletions._item_body(item)  # the first call may load and cache things
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            request, body = ChatCompletions._item_body(item)
            assert request is item if item is not nested else isinstance(request, ChatRequest)
            del request  # only the body is measured
            held = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert b'"model":"m"' in body
        assert held < 2048, (item, held, len(body))  # over 4 KiB before
