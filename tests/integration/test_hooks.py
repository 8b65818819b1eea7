"""Hooks: one callback shape, the events of each kind of call, and a hook that raises."""

from __future__ import annotations

import logging

import pytest

import openrouter_async as ora
from openrouter_async._hooks import HookEvent
from openrouter_async.testing import Emulator

pytestmark = pytest.mark.usefixtures("zero_waits")

MESSAGES = [{"role": "user", "content": "hi"}]


class Recorder:
    def __init__(self) -> None:
        self.events: list[HookEvent] = []

    def __call__(self, event: HookEvent) -> None:
        self.events.append(event)

    @property
    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]


async def test_a_create_with_a_retry(emulator: Emulator) -> None:
    seen = Recorder()
    async with emulator.client(hooks=[seen]) as client:
        emulator.fail_next(1, 503)
        await client.chat.completions.create(model="emulator/echo", messages=MESSAGES)
    assert seen.kinds == ["request", "retry", "response"]
    request, retry, response = seen.events
    assert request.call is retry.call is response.call
    assert request.call.path == "/chat/completions" and not request.call.streamed
    assert request.call.request_json() == {"model": "emulator/echo", "messages": MESSAGES}
    assert isinstance(retry.error, ora.ServiceUnavailableError) and retry.wait == 0
    assert response.status == 200 and response.call.attempts == 2
    assert response.body["choices"][0]["message"]["content"]


async def test_a_failed_call(emulator: Emulator) -> None:
    seen = Recorder()
    async with emulator.client(hooks=[seen]) as client:
        with pytest.raises(ora.NotFoundError):
            await client.chat.completions.create(model="nobody/nothing", messages=MESSAGES)
    assert seen.kinds == ["request", "error"]
    assert isinstance(seen.events[-1].error, ora.NotFoundError)


async def test_a_stream_that_finishes(emulator: Emulator) -> None:
    seen = Recorder()
    async with emulator.client() as client:
        client.add_hook(seen)
        async with client.chat.completions.stream(
            model="emulator/echo", messages=MESSAGES
        ) as stream:
            final = await stream.get_final_completion()
    assert seen.kinds == ["request", "stream_start", "stream_end"]
    end = seen.events[-1]
    assert end.outcome == "done" and end.error is None
    assert end.completion.choices[0].message.content == final.choices[0].message.content
    assert end.time_to_first_token is not None and 0 <= end.time_to_first_token <= end.elapsed


@pytest.mark.parametrize("how", ["break", "error"])
async def test_a_stream_left_early_or_failing(emulator: Emulator, how: str) -> None:
    seen = Recorder()
    model = (
        "emulator/lorem:tokens=50:tps=100"  # slow enough never to finish before the break
        if how == "break"
        else "emulator/lorem:tokens=30:fault=mid_error(after=5,code=502)"
    )
    async with emulator.client(hooks=[seen]) as client:
        try:
            async with client.chat.completions.stream(model=model, messages=MESSAGES) as stream:
                async for _ in stream.text_stream:
                    if how == "break":
                        break
        except ora.StreamError:
            assert how == "error"
    end = seen.events[-1]
    assert seen.kinds == ["request", "stream_start", "stream_end"]
    assert end.outcome == ("closed" if how == "break" else "error")
    assert (end.error is None) == (how == "break")
    assert end.completion.choices[0].message.content  # what had arrived


async def test_a_hook_that_raises_never_breaks_a_call(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: HookEvent) -> None:
        raise RuntimeError("instrumentation bug")

    seen = Recorder()
    with caplog.at_level(logging.ERROR, logger="openrouter_async.hooks"):
        async with emulator.client(hooks=[broken, seen]) as client:
            done = await client.chat.completions.create(model="emulator/echo", messages=MESSAGES)
    assert done.choices[0].message.content
    assert seen.kinds == ["request", "response"]  # later hooks still ran
    assert "instrumentation bug" in caplog.text


def test_hooks_must_be_callable() -> None:
    with pytest.raises(ora.RequestValidationError):
        ora.OpenRouter(api_key="k", hooks=[42])  # type: ignore[list-item]
