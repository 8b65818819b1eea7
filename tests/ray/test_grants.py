"""The cluster budget's arithmetic and the worker's permit queue, without a Ray cluster."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
import time

import pytest

from openrouter_async.ray._grants import GrantBook
from openrouter_async.ray._permits import LocalBook, Permits


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_importing_the_sdk_never_imports_ray() -> None:
    code = "import sys, openrouter_async; print(int('ray' in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0"]


def test_a_grant_covers_one_window_of_the_rate_and_workers_share_the_bucket() -> None:
    clock = FakeClock()
    book = GrantBook(rps=40, window=0.25, clock=clock)
    a = book.grant("a", 100)
    # permits 0, 1/40, 2/40 ... up to the window: about rps * window of them, evenly spaced
    assert a.delays == pytest.approx([i / 40 for i in range(11)])
    b = book.grant("b", 100)  # the bucket is already promised: b's first permit comes after a's
    assert b.delays == pytest.approx([11 / 40])
    clock.now += 0.25
    c = book.grant("a", 100)
    assert c.delays[0] == pytest.approx(12 / 40 - 0.25)
    assert all(y - x == pytest.approx(1 / 40) for x, y in itertools.pairwise(c.delays))
    assert book.stats().granted == len(a.delays) + len(b.delays) + len(c.delays)


def test_over_any_span_grants_never_exceed_the_rate() -> None:
    clock = FakeClock()
    book = GrantBook(rps=50, clock=clock)
    sends: list[float] = []
    for step in range(400):  # three workers asking every 0.1 s for 20 permits each
        clock.now = 100.0 + step * 0.1 / 3
        grant = book.grant(f"w{step % 3}", 20)
        sends.extend(clock.now + d for d in grant.delays)
    sends.sort()
    span = sends[-1] - sends[0]
    assert len(sends) <= 50 * span + 1
    assert min(y - x for x, y in itertools.pairwise(sends)) == pytest.approx(1 / 50)


def test_a_pause_grants_nothing_until_it_ends_and_keeps_the_longest() -> None:
    clock = FakeClock()
    book = GrantBook(rps=10, clock=clock)
    assert book.throttled(2.0) == pytest.approx(2.0)
    assert book.throttled(0.5) == pytest.approx(2.0)  # a shorter ask does not cut it
    paused = book.grant("a", 5)
    assert paused.delays == () and paused.pause == pytest.approx(2.0)
    clock.now += 2.0
    after = book.grant("a", 5)
    assert after.delays[0] == 0.0  # no debt built up during the pause: no burst, no wait
    assert book.stats().pauses == 2


def test_in_flight_is_shared_and_a_silent_worker_stops_counting() -> None:
    clock = FakeClock()
    book = GrantBook(max_in_flight=5, lease=10.0, clock=clock)
    assert len(book.grant("a", 4).delays) == 4
    assert len(book.grant("b", 4).delays) == 1
    full = book.grant("b", 4, held=1)
    assert full.delays == () and full.retry_in > 0
    book.report("a", 1)  # a finished three
    assert len(book.grant("b", 4, held=1).delays) == 3
    clock.now += 11  # a and b went silent (killed): their holdings lapse
    assert len(book.grant("c", 9).delays) == 5


def test_tokens_per_minute_are_charged_by_estimate_and_settled_by_usage() -> None:
    clock = FakeClock()
    book = GrantBook(tpm=600, clock=clock)  # 10 tokens/s, a bucket of 600
    first = book.grant("a", 2, estimates=[(100, 200), (100, 200)])
    assert first.charges == (300, 300) and first.delays == (0.0, 0.0)
    blocked = book.grant("a", 1, estimates=[(100, 200)])
    assert blocked.delays[0] == pytest.approx(30.0)  # 300 tokens at 10/s
    book.settle(settled=[(300, 20, 10), (300, 20, 10)], refunded=[300])  # used 40 of 900
    again = book.grant("a", 1, estimates=[(10, 10)])
    assert again.delays == (0.0,)


def test_bad_limits_fail_at_once() -> None:
    with pytest.raises(ValueError):
        GrantBook(rps=0)
    with pytest.raises(ValueError):
        GrantBook(max_in_flight=0)


async def test_permits_pace_rows_and_ask_the_book_in_batches() -> None:
    calls = 0
    book = LocalBook(GrantBook(rps=100))
    grant = book.grant

    async def counting(*args: object) -> object:
        nonlocal calls
        calls += 1
        return await grant(*args)  # type: ignore[arg-type]

    book.grant = counting  # type: ignore[method-assign]
    permits = Permits(book, "w")
    times: list[float] = []

    async def row() -> None:
        permit = await permits.acquire()
        times.append(time.monotonic())
        permits.done(permit, None, None)

    start = time.monotonic()
    await asyncio.gather(*(row() for _ in range(60)))
    await permits.aclose()
    assert time.monotonic() - start >= 0.55  # 60 rows at 100/s
    assert calls <= 60 / 10  # about a quarter second of permits per call
    assert permits.held == 0


async def test_a_throttle_holds_every_waiting_row_back() -> None:
    permits = Permits(LocalBook(GrantBook()), "w")
    first = await permits.acquire()
    permits.failed(first)
    await permits.throttled(0.3)
    start = time.monotonic()
    permit = await permits.acquire()
    assert time.monotonic() - start >= 0.25
    permits.done(permit, None, None)
    await permits.aclose()


async def test_a_cancelled_row_gives_its_place_back() -> None:
    permits = Permits(LocalBook(GrantBook(max_in_flight=1)), "w")
    held = await permits.acquire()
    waiting = asyncio.create_task(permits.acquire())
    await asyncio.sleep(0.05)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    permits.done(held, None, None)
    again = await asyncio.wait_for(permits.acquire(), 1)
    permits.done(again, None, None)
    assert permits.held == 0
    await permits.aclose()
