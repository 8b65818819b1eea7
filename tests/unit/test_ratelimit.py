"""Rate limiting bookkeeping, driven by a fake clock (no event loop, no sleeping)."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openrouter_async._ratelimit import (
    AdaptiveLimit,
    CoolDown,
    TokenBucket,
    TokenBudget,
    estimate_prompt_tokens,
)
from openrouter_async.types.chat_request import ChatRequest


class FakeClock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# -- TokenBucket (rps) -------------------------------------------------------------------------


def test_bucket_paces_callers_in_arrival_order() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10.0, clock=clock)
    waits = [bucket.reserve() for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])


def test_bucket_refills_with_time_but_never_above_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10.0, burst=3, clock=clock)
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve() == pytest.approx(0.1)
    clock.advance(60.0)  # a long idle period refills only up to the burst
    assert bucket.tokens == pytest.approx(3.0)
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve() == pytest.approx(0.1)


def test_bucket_reservation_waits_shrink_as_the_clock_moves() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2.0, clock=clock)
    assert bucket.reserve() == 0.0
    assert bucket.reserve() == pytest.approx(0.5)
    clock.advance(0.5)  # the second caller has now used its token
    assert bucket.reserve() == pytest.approx(0.5)
    clock.advance(0.25)
    assert bucket.reserve() == pytest.approx(0.75)


def test_bucket_refund_gives_back_an_unused_reservation() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1.0, clock=clock)
    assert bucket.reserve() == 0.0
    assert bucket.reserve() == pytest.approx(1.0)
    bucket.refund()  # that caller was cancelled while waiting
    assert bucket.reserve() == pytest.approx(1.0)


def test_bucket_refund_never_exceeds_burst() -> None:
    bucket = TokenBucket(1.0, burst=2, clock=FakeClock())
    bucket.refund(10)
    assert bucket.tokens == pytest.approx(2.0)


@given(
    rate=st.floats(min_value=0.5, max_value=1000),
    gaps=st.lists(st.floats(min_value=0, max_value=0.5), min_size=1, max_size=60),
)
def test_bucket_never_admits_more_than_rate_allows(rate: float, gaps: list[float]) -> None:
    """However callers arrive, the send times it hands out are >= 1/rate apart (burst 1)."""
    clock = FakeClock(0.0)
    bucket = TokenBucket(rate, clock=clock)
    send_times = []
    for gap in gaps:
        clock.advance(gap)
        send_times.append(clock.now + bucket.reserve())
    send_times.sort()
    for earlier, later in itertools.pairwise(send_times):
        assert later - earlier >= 1.0 / rate - 1e-9


@pytest.mark.parametrize("bad", [0, -1, math.inf, math.nan])
def test_bucket_rejects_bad_rates(bad: float) -> None:
    with pytest.raises(ValueError):
        TokenBucket(bad)


# -- TokenBudget (tpm) -------------------------------------------------------------------------


def test_budget_estimate_uses_max_tokens_or_the_running_mean() -> None:
    budget = TokenBudget(60_000, default_completion_tokens=200, clock=FakeClock())
    assert budget.estimate(100, 50) == 150
    assert budget.estimate(100, None) == 300
    for _ in range(10):
        budget.settle(budget.estimate(100, None), 110, completion_tokens=10)
    assert budget.estimate(100, None) == 110  # learned from usage


def test_budget_waits_when_a_minute_is_spent_and_settling_refunds() -> None:
    clock = FakeClock()
    budget = TokenBudget(6000, clock=clock)  # 100 tokens per second
    assert budget.reserve(3000) == 0.0
    assert budget.reserve(3000) == 0.0
    assert budget.reserve(500) == pytest.approx(5.0)  # 500 tokens at 100/s
    # the first two used only 1000 tokens each: 4000 come back, the third need not wait
    budget.settle(3000, 1000)
    budget.settle(3000, 1000)
    assert budget.available == pytest.approx(3500)


def test_budget_settling_above_the_estimate_is_a_debt() -> None:
    clock = FakeClock()
    budget = TokenBudget(6000, clock=clock)
    assert budget.reserve(1000) == 0.0
    budget.settle(1000, 6000)  # the answer was far longer than estimated
    assert budget.reserve(100) == pytest.approx(1.0)


def test_budget_caps_a_single_oversized_charge_at_one_minute() -> None:
    clock = FakeClock()
    budget = TokenBudget(600, clock=clock)
    assert budget.reserve(10_000) == 0.0  # charged 600, not 10,000
    assert budget.reserve(600) == pytest.approx(60.0)
    budget.refund(10_000)
    budget.refund(600)
    assert budget.available == pytest.approx(600)


# -- CoolDown ----------------------------------------------------------------------------------


def test_cooldown_only_moves_later() -> None:
    clock = FakeClock()
    cool = CoolDown(clock=clock)
    assert cool.remaining() == 0.0
    cool.extend(2.0)
    cool.extend(0.5)  # a shorter ask does not shorten the pause
    assert cool.remaining() == pytest.approx(2.0)
    clock.advance(1.5)
    assert cool.remaining() == pytest.approx(0.5)
    cool.extend(1.0)
    assert cool.remaining() == pytest.approx(1.0)
    clock.advance(1.0)
    assert cool.remaining() == 0.0
    assert cool.count == 3


# -- AdaptiveLimit -----------------------------------------------------------------------------


def test_limit_halves_once_per_pause_and_recovers_by_one_per_success() -> None:
    clock = FakeClock()
    limit = AdaptiveLimit(64, clock=clock)
    limit.throttled(until=clock.now + 1.0)
    limit.throttled(until=clock.now + 1.0)  # same pause: already accounted for
    limit.throttled(until=clock.now + 1.2)
    assert limit.limit == 32
    clock.advance(1.5)
    limit.throttled(until=clock.now + 1.0)  # a new pause after the last one ended
    assert limit.limit == 16
    for _ in range(100):
        limit.succeeded()
    assert limit.limit == 64  # back to the configured maximum, never above


def test_limit_counts_places() -> None:
    limit = AdaptiveLimit(2, clock=FakeClock())
    assert limit.try_acquire()
    assert limit.try_acquire()
    assert not limit.try_acquire()
    limit.release()
    assert limit.free
    limit.throttled(until=1e9)
    assert limit.limit == 1
    assert not limit.free  # one in use, limit one
    limit.throttled(until=1e9)
    assert limit.limit == 1  # never below one


# -- prompt estimate ---------------------------------------------------------------------------


def test_prompt_estimate_counts_text_and_media() -> None:
    request = ChatRequest(
        messages=[
            {"role": "system", "content": "x" * 400},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "y" * 40},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                ],
            },
        ]
    )
    typed = estimate_prompt_tokens(request.messages)
    plain = estimate_prompt_tokens(
        [
            {"role": "system", "content": "x" * 400},
            {"role": "user", "content": [{"type": "text", "text": "y" * 40}, {"type": "image"}]},
        ]
    )
    assert typed == plain == (4 + 101) + (4 + 11 + 1000)
