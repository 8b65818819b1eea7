"""Stream helpers defined once on every stream (#16): ``text_stream``, ``get_final_text()``,
``until_done()``, as in anthropic's stream helpers."""

from __future__ import annotations

import pytest

import openrouter_async as ora
from openrouter_async.testing import Emulator

MESSAGES = [{"role": "user", "content": "one two three"}]


async def test_get_final_text_is_the_text_create_returns(emulator: Emulator) -> None:
    async with emulator.client() as client:
        done = await client.chat.completions.create(model="emulator/echo", messages=MESSAGES)
        async with client.chat.completions.stream(model="emulator/echo", messages=MESSAGES) as s:
            text = await s.get_final_text()
    assert text == done.content and text


async def test_until_done_consumes_the_stream_and_keeps_the_fold(emulator: Emulator) -> None:
    async with (
        emulator.client() as client,
        client.chat.completions.stream(model="emulator/echo", messages=MESSAGES) as stream,
    ):
        assert await stream.until_done() is None
        assert stream.closed
        assert stream.partial().content == (await stream.get_final_completion()).content
        assert [t async for t in stream.text_stream] == []  # nothing left to yield


async def test_until_done_raises_what_iteration_raises(emulator: Emulator) -> None:
    async with emulator.client() as client:
        stream = client.chat.completions.stream(model="emulator/echo", messages=MESSAGES)
        await stream.aclose()
        with pytest.raises(ora.ClientClosedError):
            await stream.until_done()


async def test_text_stream_and_get_final_text_on_legacy_completions(emulator: Emulator) -> None:
    async with emulator.client() as client:
        async with client.completions.stream(model="emulator/echo", prompt="one two") as stream:
            texts = [t async for t in stream.text_stream]
        async with client.completions.stream(model="emulator/echo", prompt="one two") as stream:
            final = await stream.get_final_text()
    assert "".join(texts) == final and final
