"""The retry policy: what is retried, how long we wait, and the bounded loop."""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from openrouter_async import _retry
from openrouter_async._config import RetryPolicy
from openrouter_async._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BadRequestError,
    RateLimitError,
    ServiceUnavailableError,
    status_error_class,
)
from openrouter_async._retry import (
    backoff_delay,
    is_retryable,
    parse_retry_after,
    retry_wait,
    run_with_retries,
)

POLICY = RetryPolicy()


def status_error(status: int, **kw: object) -> APIStatusError:
    return status_error_class(status)("boom", status_code=status, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 524, 529])
def test_retryable_statuses(status: int) -> None:
    assert is_retryable(status_error(status), POLICY)


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 413, 422])
def test_never_retried_statuses(status: int) -> None:
    assert not is_retryable(status_error(status), POLICY)


def test_availability_retryable_overrides_status() -> None:
    err = status_error(404, metadata={"availability": {"retryable": True, "code": "x"}})
    assert is_retryable(err, POLICY)
    err = status_error(503, metadata={"availability": {"retryable": False}})
    assert not is_retryable(err, POLICY)


def test_connection_errors_retried_read_timeouts_only_on_opt_in() -> None:
    assert is_retryable(APIConnectionError("reset"), POLICY)
    assert is_retryable(APITimeoutError(kind="connect"), POLICY)
    assert not is_retryable(APITimeoutError(kind="read"), POLICY)
    assert not is_retryable(APITimeoutError(kind="total"), POLICY)
    assert is_retryable(APITimeoutError(kind="read"), RetryPolicy(retry_read_timeouts=True))


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after({"Retry-After": "7"}) == 7.0
    assert parse_retry_after({"retry-after": "1.5"}) == 1.5
    assert parse_retry_after({"retry-after-ms": "250", "Retry-After": "9"}) == 0.25
    assert parse_retry_after({}) is None
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({"Retry-After": "-3"}) is None
    now = time.time()
    when = datetime.fromtimestamp(now, tz=timezone.utc) + timedelta(seconds=30)
    value = parse_retry_after({"Retry-After": format_datetime(when, usegmt=True)}, now=now)
    assert value is not None and 28 <= value <= 30
    past = datetime.fromtimestamp(now, tz=timezone.utc) - timedelta(seconds=30)
    assert parse_retry_after({"Retry-After": format_datetime(past, usegmt=True)}, now=now) == 0


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


async def test_loop_retries_then_succeeds() -> None:
    calls: list[int] = []

    async def attempt(n: int) -> str:
        calls.append(n)
        if n < 2:
            raise RateLimitError("slow down", status_code=429, retry_after=1)
        return "ok"

    assert await run_with_retries(attempt, POLICY, deadline=None, describe="t") == "ok"
    assert calls == [0, 1, 2]


async def test_loop_bounded_by_max_retries() -> None:
    calls: list[int] = []

    async def attempt(n: int) -> str:
        calls.append(n)
        raise ServiceUnavailableError("down", status_code=503)

    with pytest.raises(ServiceUnavailableError):
        await run_with_retries(attempt, RetryPolicy(max_retries=3), deadline=None, describe="t")
    assert calls == [0, 1, 2, 3]


async def test_loop_never_retries_4xx() -> None:
    calls: list[int] = []

    async def attempt(n: int) -> str:
        calls.append(n)
        raise BadRequestError("bad", status_code=400)

    with pytest.raises(BadRequestError):
        await run_with_retries(attempt, POLICY, deadline=None, describe="t")
    assert calls == [0]


async def test_long_retry_after_raised_at_once() -> None:
    calls: list[int] = []

    async def attempt(n: int) -> str:
        calls.append(n)
        raise RateLimitError("later", status_code=429, retry_after=3600)

    with pytest.raises(RateLimitError) as info:
        await run_with_retries(attempt, POLICY, deadline=None, describe="t")
    assert calls == [0]
    assert info.value.retry_after == 3600


async def test_wait_past_deadline_raised_at_once() -> None:
    calls: list[int] = []

    async def attempt(n: int) -> str:
        calls.append(n)
        raise RateLimitError("later", status_code=429, retry_after=5)

    with pytest.raises(RateLimitError):
        await run_with_retries(attempt, POLICY, deadline=time.monotonic() + 1, describe="t")
    assert calls == [0]
