"""Per-call options on every method that sends a request, and ``with_options``."""

from __future__ import annotations

import pytest

import openrouter_async as ora
from openrouter_async.testing import Emulator

pytestmark = pytest.mark.usefixtures("zero_waits")

MESSAGES = [{"role": "user", "content": "hi"}]
OPTIONS = {"extra_headers": {"X-Trace": "t1"}, "extra_query": {"trace": "q1"}}


def last(emulator: Emulator, endpoint: str):
    return [r for r in emulator.requests if r.endpoint == endpoint][-1]


def assert_options_arrived(emulator: Emulator, endpoint: str) -> None:
    record = last(emulator, endpoint)
    assert record.headers.get("X-Trace") == "t1"
    assert record.query.get("trace") == "q1"


async def test_every_method_takes_the_per_call_options(emulator: Emulator) -> None:
    async with emulator.client() as client:
        await client.chat.completions.create(
            model="emulator/echo", messages=MESSAGES, max_retries=0, timeout=5, **OPTIONS
        )
        assert_options_arrived(emulator, "/chat/completions")
        async with client.chat.completions.stream(
            model="emulator/echo", messages=MESSAGES, max_retries=0, timeout=5, **OPTIONS
        ) as stream:
            await stream.get_final_completion()
        assert_options_arrived(emulator, "/chat/completions")
        await client.embeddings.create(
            model="emulator/embed", input="x", max_retries=0, timeout=5, **OPTIONS
        )
        assert_options_arrived(emulator, "/embeddings")
        await client.models.list(max_retries=1, timeout=5, **OPTIONS)
        assert_options_arrived(emulator, "/models")
        await client.providers.list(max_retries=1, timeout=5, **OPTIONS)
        assert_options_arrived(emulator, "/providers")
        await client.key.get(max_retries=1, timeout=5, **OPTIONS)
        assert_options_arrived(emulator, "/key")


async def test_max_retries_per_call_on_stream_and_parse(emulator: Emulator) -> None:
    async with emulator.client() as client:
        emulator.fail_next(3, 503)
        with pytest.raises(ora.ServiceUnavailableError):
            async with client.chat.completions.stream(
                model="emulator/echo", messages=MESSAGES, max_retries=0
            ) as stream:
                await stream.get_final_completion()
        chat = [r for r in emulator.requests if r.endpoint == "/chat/completions"]
        assert len(chat) == 1
        # Two failures left, three attempts allowed: the stream gets through.
        async with client.chat.completions.stream(
            model="emulator/echo", messages=MESSAGES, max_retries=2
        ) as stream:
            done = await stream.get_final_completion()
        assert done.choices[0].message.content
        assert len([r for r in emulator.requests if r.endpoint == "/chat/completions"]) == 4


async def test_batch_takes_the_per_call_options(emulator: Emulator) -> None:
    async with emulator.client() as client:
        emulator.fail_next(1, 503)
        items = [{"model": "emulator/echo", "messages": MESSAGES}]
        results = [r async for r in client.batch(items, max_retries=0, **OPTIONS)]
    assert isinstance(results[0].error, ora.ServiceUnavailableError)
    assert results[0].attempts == 1
    assert_options_arrived(emulator, "/chat/completions")


async def test_with_options_shares_the_pool_and_the_lifecycle(emulator: Emulator) -> None:
    client = emulator.client()
    async with client:
        quick = client.with_options(max_retries=0, default_headers={"X-Team": "a"})
        emulator.fail_next(1, 503)
        with pytest.raises(ora.ServiceUnavailableError):
            await quick.chat.completions.create(model="emulator/echo", messages=MESSAGES)
        done = await quick.chat.completions.create(model="emulator/echo", messages=MESSAGES)
        assert done.choices[0].message.content
        assert last(emulator, "/chat/completions").headers.get("X-Team") == "a"
        assert quick._transport is client._transport  # one pool
        await quick.aclose()  # only marks the derived client closed
        with pytest.raises(ora.ClientClosedError):
            await quick.chat.completions.create(model="emulator/echo", messages=MESSAGES)
        await client.chat.completions.create(model="emulator/echo", messages=MESSAGES)
        other = client.with_options(timeout=30)
    with pytest.raises(ora.ClientClosedError):  # the parent closed: so is every derived one
        await other.chat.completions.create(model="emulator/echo", messages=MESSAGES)


def test_with_options_checks_its_arguments() -> None:
    client = ora.OpenRouter(api_key="k")
    with pytest.raises(ora.RequestValidationError):
        client.with_options(default_headers={"Authorization": "Bearer other"})
    with pytest.raises(ora.RequestValidationError):
        client.with_options(default_headers={"X-Bad": "a\nb"})
    with pytest.raises(ora.RequestValidationError):
        client.with_options(max_response_bytes=0)
    with pytest.raises(ora.RequestValidationError):
        client.with_options(timeout=-1)


async def test_extra_query_is_checked(emulator: Emulator) -> None:
    async with emulator.client() as client:
        with pytest.raises(ora.RequestValidationError):
            await client.models.list(extra_query={"a": object()})  # type: ignore[dict-item]


async def test_public_lists_need_no_key(emulator: Emulator, monkeypatch) -> None:
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    emulator.api_key = None  # accept anything, so the test sees what was sent
    async with ora.OpenRouter(base_url=emulator.base_url) as client:
        assert await client.models.list()
        await client.models.count()
        assert await client.providers.list()
        with pytest.raises(ora.MissingAPIKeyError):
            await client.chat.completions.create(model="emulator/echo", messages=MESSAGES)
    public = [
        r for r in emulator.requests if r.endpoint in ("/models", "/models/count", "/providers")
    ]
    assert len(public) == 3
    assert all("Authorization" not in r.headers for r in public)
