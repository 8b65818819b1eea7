"""client.generations.get: typed stats after a create, 404s, and wait= riding out the lag."""

from __future__ import annotations

import datetime
import time

import pytest

import openrouter_async as ora
from openrouter_async.testing import Emulator
from openrouter_async.types.generation import Generation, ProviderResponse

MESSAGES = [{"role": "user", "content": "one two three"}]


async def test_get_after_create(emulator: Emulator) -> None:
    async with emulator.client(app_url="https://example.test") as client:
        done = await client.chat.completions.create(
            model="emulator/echo", messages=MESSAGES, user="u-1", session_id="s-1"
        )
        gen = await client.generations.get(done.id)
    assert isinstance(gen, Generation)
    assert emulator.requests[-1].endpoint == "/generation"
    assert emulator.requests[-1].query == {"id": done.id}
    assert gen.id == done.id
    assert gen.model == "emulator/echo"
    assert gen.provider_name == "FakeProvider"
    assert gen.api_type == "completions"
    assert gen.tokens_completion == 3
    assert gen.native_tokens_completion == 3
    assert gen.tokens_prompt == done.usage.prompt_tokens
    assert gen.total_cost == pytest.approx(done.usage.cost)
    assert gen.finish_reason == "stop"
    assert gen.streamed is False
    assert gen.cancelled is False
    assert gen.external_user == "u-1"
    assert gen.session_id == "s-1"
    assert gen.http_referer == "https://example.test"
    assert gen.is_byok is False
    assert gen.upstream_inference_cost is None
    assert gen.latency is not None
    assert gen.generation_time is not None
    assert isinstance(gen.created, datetime.datetime)
    assert gen.created.tzinfo is not None
    (attempt,) = gen.provider_responses
    assert isinstance(attempt, ProviderResponse)
    assert attempt.status == 200
    assert gen.response is not None
    assert gen.response.status_code == 200
    assert gen.response.elapsed > 0


async def test_streamed_generation(emulator: Emulator) -> None:
    async with emulator.client() as client:
        async with client.chat.completions.stream(
            model="emulator/lorem:tokens=4", messages=MESSAGES
        ) as s:
            final = await s.get_final_completion()
        gen = await client.generations.get(final.id)
    assert gen.streamed is True
    assert gen.tokens_completion == 4


async def test_unknown_id_is_not_found(emulator: Emulator) -> None:
    async with emulator.client() as client:
        started = time.monotonic()
        with pytest.raises(ora.NotFoundError) as caught:
            await client.generations.get("gen-nope")
    assert caught.value.status_code == 404
    assert time.monotonic() - started < 1.0
    assert len(emulator.requests) == 1  # no wait: one try


async def test_wait_rides_out_generation_lag() -> None:
    async with Emulator(api_key="test-key", generation_lag=0.3) as emu, emu.client() as client:
        done = await client.chat.completions.create(model="emulator/echo", messages=MESSAGES)
        with pytest.raises(ora.NotFoundError):
            await client.generations.get(done.id)
        gen = await client.generations.get(done.id, wait=5.0)
    assert gen.id == done.id
    polls = [r for r in emu.requests if r.endpoint == "/generation"]
    assert len(polls) >= 3
    assert polls[-1].status == 200
    assert all(r.status == 404 for r in polls[:-1])


async def test_wait_gives_up_with_not_found() -> None:
    async with Emulator(api_key="test-key", generation_lag=30) as emu, emu.client() as client:
        done = await client.chat.completions.create(model="emulator/echo", messages=MESSAGES)
        started = time.monotonic()
        with pytest.raises(ora.NotFoundError):
            await client.generations.get(done.id, wait=0.25)
        elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 1.0
    assert len([r for r in emu.requests if r.endpoint == "/generation"]) >= 2


@pytest.mark.parametrize(
    ("args", "kwargs", "path"),
    [(("",), {}, "id"), ((5,), {}, "id"), (("gen-1",), {"wait": -1}, "wait")],
)
async def test_validation(
    emulator: Emulator, args: tuple[object, ...], kwargs: dict[str, object], path: str
) -> None:
    async with emulator.client() as client:
        with pytest.raises(ora.RequestValidationError) as caught:
            await client.generations.get(*args, **kwargs)
    assert caught.value.path == path
    assert emulator.requests == []
