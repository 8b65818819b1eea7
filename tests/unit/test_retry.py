"""The retry policy: what is retried, how long we wait, and the bounded loop."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from openrouter_async import _retry
from openrouter_async._backoff import backoff_delay, parse_retry_after, retry_wait
from openrouter_async._config import RetryPolicy
from openrouter_async._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BadRequestError,
    RateLimitError,
    ServiceUnavailableError,
    StreamError,
    is_retryable,
    status_error_class,
)
from openrouter_async._retry import Retrier

POLICY = RetryPolicy()


def status_error(status: int, **kw: object) -> APIStatusError:
    return status_error_class(status)("boom", status_code=status, **kw)  # type: ignore[arg-type]


def allowed(error: BaseException, policy: RetryPolicy = POLICY) -> bool:
    return is_retryable(error, retry_possibly_served=policy.retry_read_timeouts)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504, 524, 529])
def test_retryable_statuses(status: int) -> None:
    assert allowed(status_error(status))
    assert status_error(status).retryable


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 409, 413, 422, 451, 501])
def test_never_retried_statuses(status: int) -> None:
    assert not allowed(status_error(status))


def test_a_4xx_body_never_makes_it_retryable() -> None:
    err = status_error(404, metadata={"availability": {"retryable": True, "code": "x"}})
    assert not allowed(err)
    err = status_error(409, metadata={"availability": {"retryable": True}})
    assert not allowed(err)


def test_availability_can_veto_a_transient_status() -> None:
    assert not allowed(status_error(503, metadata={"availability": {"retryable": False}}))
    assert not allowed(status_error(429, metadata={"availability": {"retryable": False}}))


def test_a_200_error_envelope_is_judged_by_its_declared_code() -> None:
    assert allowed(status_error(200, code=503))
    assert not allowed(status_error(200, code=400))
    assert not allowed(status_error(200, code="server_error"))


def test_failure_points() -> None:
    not_sent = APIConnectionError("refused", failure_point="not_sent")
    possibly = APIConnectionError("reset before any byte", failure_point="possibly_served")
    served = APIConnectionError("body broke", failure_point="served")
    assert allowed(not_sent) and not_sent.retryable
    assert not allowed(possibly) and not possibly.retryable
    assert allowed(possibly, RetryPolicy(retry_read_timeouts=True))
    assert not allowed(served)
    assert not allowed(served, RetryPolicy(retry_read_timeouts=True))


def test_timeouts_by_failure_point() -> None:
    assert APITimeoutError(kind="connect").failure_point == "not_sent"
    assert allowed(APITimeoutError(kind="connect"))
    assert not allowed(APITimeoutError(kind="read"))
    assert not allowed(APITimeoutError(kind="total"))
    assert allowed(APITimeoutError(kind="read"), RetryPolicy(retry_read_timeouts=True))
    body = APITimeoutError(kind="read", failure_point="served")
    assert not allowed(body, RetryPolicy(retry_read_timeouts=True))


def test_stream_errors_only_before_content() -> None:
    before = StreamError("overloaded", code=503)
    after = StreamError("overloaded", code=503, after_content=True)
    assert before.retryable and allowed(before)
    assert not after.retryable and not allowed(after)
    assert not allowed(StreamError("bad", code=400))
    assert not allowed(StreamError("odd", code="server_error"))


def test_non_api_errors_are_never_retryable() -> None:
    assert not is_retryable(ValueError("x"))
    assert not is_retryable(asyncio.CancelledError())


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after({"Retry-After": "7"}) == 7.0
    assert parse_retry_after({"retry-after": " 12 "}) == 12.0
    assert parse_retry_after({"retry-after-ms": "250", "Retry-After": "9"}) == 0.25
    assert parse_retry_after({"retry-after-ms": "2.5"}) == 0.0025
    assert parse_retry_after({}) is None
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({"Retry-After": "-3"}) is None
    now = time.time()
    when = datetime.fromtimestamp(now, tz=timezone.utc) + timedelta(seconds=30)
    value = parse_retry_after({"Retry-After": format_datetime(when, usegmt=True)}, now=now)
    assert value is not None and 28 <= value <= 30
    past = datetime.fromtimestamp(now, tz=timezone.utc) - timedelta(seconds=30)
    assert parse_retry_after({"Retry-After": format_datetime(past, usegmt=True)}, now=now) == 0


@pytest.mark.parametrize(
    "value", ["1_0", "1.5", "1e3", "nan", "inf", "+5", "0x10", "\u0661", "", "10 s"]
)
def test_retry_after_is_digits_or_a_date_only(value: str) -> None:
    # Python's float() reads "1_0" as 10 and "1e3" as 1000; HTTP does not.
    assert parse_retry_after({"Retry-After": value}) is None


def test_retry_after_with_thousands_of_digits_is_a_very_long_wait() -> None:
    value = parse_retry_after({"Retry-After": "9" * 5000})
    assert value is not None and value > 1e9
    assert parse_retry_after({"retry-after-ms": "9" * 5000}) is None


def test_backoff_is_capped_full_jitter() -> None:
    rng = random.Random(1)
    policy = RetryPolicy(initial_backoff=0.5, max_backoff=4.0)
    for attempt in range(10):
        cap = min(4.0, 0.5 * 2**attempt)
        samples = [backoff_delay(attempt, policy, rng) for _ in range(200)]
        assert all(0 <= s <= cap for s in samples)
        assert max(samples) > cap * 0.8  # full jitter spreads up to the cap


def test_retry_wait_prefers_server_ask() -> None:
    assert retry_wait(status_error(429, retry_after=3.0), 0, POLICY) == 3.0
    err = status_error(503, metadata={"availability": {"retryable": True, "retry_after": 4}})
    assert retry_wait(err, 0, POLICY) == 4.0


@pytest.fixture(autouse=True)
def _zero_waits():
    _retry.set_testing(True)
    yield
    _retry.set_testing(False)


def engine(policy: RetryPolicy = POLICY, deadline: float | None = None) -> Retrier:
    return Retrier(policy, deadline=deadline, describe="t")


async def test_loop_retries_then_succeeds() -> None:
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(len(calls))
        if len(calls) < 3:
            raise RateLimitError("slow down", status_code=429, retry_after=1)
        return "ok"

    retrier = engine()
    assert await retrier.run(attempt) == "ok"
    assert calls == [0, 1, 2]
    assert retrier.attempt == 2


async def test_loop_bounded_by_max_retries() -> None:
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        raise ServiceUnavailableError("down", status_code=503)

    with pytest.raises(ServiceUnavailableError):
        await engine(RetryPolicy(max_retries=3)).run(attempt)
    assert len(calls) == 4


async def test_loop_never_retries_4xx() -> None:
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        raise BadRequestError("bad", status_code=400)

    with pytest.raises(BadRequestError):
        await engine().run(attempt)
    assert calls == [1]


async def test_loop_never_resends_a_possibly_served_request_by_default() -> None:
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        raise APIConnectionError("Server disconnected", failure_point="possibly_served")

    with pytest.raises(APIConnectionError):
        await engine().run(attempt)
    assert calls == [1]
    calls.clear()
    with pytest.raises(APIConnectionError):
        await engine(RetryPolicy(retry_read_timeouts=True)).run(attempt)
    assert len(calls) == 1 + POLICY.max_retries


async def test_long_retry_after_raised_at_once() -> None:
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        raise RateLimitError("later", status_code=429, retry_after=3600)

    with pytest.raises(RateLimitError) as info:
        await engine().run(attempt)
    assert calls == [1]
    assert info.value.retry_after == 3600


async def test_a_long_wait_named_in_the_body_is_raised_at_once_too() -> None:
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        raise ServiceUnavailableError(
            "later",
            status_code=503,
            metadata={"availability": {"retryable": True, "retry_after": float("inf")}},
        )

    with pytest.raises(ServiceUnavailableError):
        await engine().run(attempt)
    assert calls == [1]


async def test_wait_past_deadline_raised_at_once() -> None:
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        raise RateLimitError("later", status_code=429, retry_after=5)

    with pytest.raises(RateLimitError):
        await engine(deadline=time.monotonic() + 1).run(attempt)
    assert calls == [1]


async def test_on_error_sees_every_failed_attempt() -> None:
    seen: list[tuple[str, float]] = []

    async def attempt() -> str:
        raise RateLimitError("later", status_code=429, retry_after=2)

    retrier = Retrier(
        RetryPolicy(max_retries=2),
        deadline=None,
        describe="t",
        on_error=lambda error, wait: seen.append((type(error).__name__, wait)),
    )
    with pytest.raises(RateLimitError):
        await retrier.run(attempt)
    assert [name for name, _ in seen] == ["RateLimitError"] * 3


async def test_run_continues_after_a_first_attempt_the_caller_made() -> None:
    """``failed=``: the caller ran attempt one inline; the engine judges that error first, so
    the attempts are counted and bounded exactly as if it had run it."""
    seen: list[str] = []
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        if len(calls) < 2:
            raise ServiceUnavailableError("down", status_code=503)
        return "ok"

    retrier = Retrier(
        RetryPolicy(max_retries=2),
        deadline=None,
        describe="t",
        on_error=lambda error, wait: seen.append(type(error).__name__),
    )
    first = RateLimitError("later", status_code=429, retry_after=0)
    assert await retrier.run(attempt, failed=first) == "ok"
    assert (len(calls), retrier.attempt) == (2, 2)
    assert seen == ["RateLimitError", "ServiceUnavailableError"]

    # the budget counts the caller's attempt: max_retries=2 allows two more, not three
    calls.clear()

    async def always_down() -> str:
        calls.append(1)
        raise ServiceUnavailableError("down", status_code=503)

    with pytest.raises(ServiceUnavailableError):
        await engine(RetryPolicy(max_retries=2)).run(always_down, failed=first)
    assert len(calls) == 2


async def test_run_raises_a_first_error_that_may_not_be_retried_without_sending() -> None:
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        return "ok"

    first = BadRequestError("bad", status_code=400)
    with pytest.raises(BadRequestError) as caught:
        await engine().run(attempt, failed=first)
    assert caught.value is first and calls == []
