"""client.completions (legacy): create and stream through the shared stream machinery."""

from __future__ import annotations

from typing import Any

import pytest

import openrouter_async as ora
from openrouter_async.testing import Emulator
from openrouter_async.types.completions import TextCompletion, TextCompletionRequest


async def test_create(emulator: Emulator) -> None:
    async with emulator.client() as client:
        done = await client.completions.create(
            model="emulator/echo", prompt="the quick brown fox", max_tokens=3, temperature=0.2
        )
    assert isinstance(done, TextCompletion)
    assert done.text == "the quick brown"
    assert done.choices[0].finish_reason == "length"
    assert done.object == "text_completion"
    assert done.model == "emulator/echo"
    assert done.usage is not None
    assert done.usage.completion_tokens == 3
    assert emulator.requests[-1].body == {
        "model": "emulator/echo",
        "prompt": "the quick brown fox",
        "max_tokens": 3,
        "temperature": 0.2,
    }
    info = done.response
    assert info is not None
    assert info.status_code == 200
    assert info.elapsed > 0
    assert info.generation_id == done.id == done.generation_id


async def test_create_with_request_object_and_extra_body(emulator: Emulator) -> None:
    request = TextCompletionRequest(
        model="emulator/lorem",
        prompt=["ignored"],
        stop=["\n"],
        logit_bias={50256: -100},
        seed=7,
        n=1,
        best_of=2,
        echo=False,
        suffix="!",
        provider={"allow_fallbacks": False},
        extra_body={"emulator": {"tokens": 2}},
    )
    async with emulator.client() as client:
        done = await client.completions.create(request)
    assert done.text == "Lorem ipsum"
    body = emulator.requests[-1].body
    assert body["logit_bias"] == {"50256": -100}
    assert body["stop"] == ["\n"]
    assert body["provider"] == {"allow_fallbacks": False}
    assert body["emulator"] == {"tokens": 2}
    assert "extra_body" not in body
    assert "stream" not in body


async def test_stream_assembles_text(emulator: Emulator) -> None:
    async with (
        emulator.client() as client,
        client.completions.stream(model="emulator/echo", prompt="one two three") as stream,
    ):
        pieces = [piece async for piece in stream.text_stream]
        final = await stream.get_final_text_completion()
        chat_shaped = await stream.get_final_completion()
    assert "".join(pieces) == "one two three"
    assert len(pieces) == 3
    assert emulator.requests[-1].body["stream"] is True
    assert final.text == "one two three"
    assert final.choices[0].finish_reason == "stop"
    assert final.object == "text_completion"
    assert final.usage is not None
    assert final.usage.completion_tokens == 3
    assert chat_shaped.content == "one two three"
    assert stream.response is not None
    assert stream.response.status_code == 200
    assert final.response is stream.response
    assert final.id == stream.generation_id == stream.response.generation_id


async def test_stream_events_are_typed(emulator: Emulator) -> None:
    async with emulator.client() as client:
        stream = client.completions.stream(model="emulator/lorem:tokens=3", prompt="x")
        async with stream:
            kinds = [type(event).__name__ async for event in stream]
    assert kinds.count("TextDelta") == 3
    assert "Finish" in kinds
    assert "Usage" in kinds


async def test_stream_mid_error_is_stream_error(emulator: Emulator) -> None:
    async with (
        emulator.client() as client,
        client.completions.stream(
            model="emulator/lorem:tokens=5:fault=mid_error(after=2,code=502)", prompt="x"
        ) as stream,
    ):
        with pytest.raises(ora.StreamError):
            async for _ in stream:
                pass


async def test_error_in_200_raises(emulator: Emulator) -> None:
    async with emulator.client() as client:
        with pytest.raises(ora.APIStatusError) as caught:
            await client.completions.create(
                model="emulator/echo:fault=error_200(code=429,message=slow down)", prompt="x"
            )
    assert caught.value.status_code == 200
    assert caught.value.code == 429


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({}, "prompt"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": []}, "prompt"),
        ({"prompt": ["a", 1]}, "prompt[1]"),
        ({"prompt": [[1], [False]]}, "prompt[1][0]"),
        ({"prompt": [{"content": []}]}, "prompt"),
        ({"prompt": "x", "max_tokens": 0}, "max_tokens"),
        ({"prompt": "x", "temperature": 3}, "temperature"),
        ({"prompt": "x", "best_of": 21}, "best_of"),
        ({"prompt": "x", "best_of": 1, "n": 2}, "best_of"),
        ({"prompt": "x", "stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"prompt": "x", "stream": True}, "stream"),
        ({"prompt": "x", "messages": []}, "messages"),
    ],
)
async def test_validation_before_sending(
    emulator: Emulator, kwargs: dict[str, Any], path: str
) -> None:
    async with emulator.client() as client:
        with pytest.raises(ora.RequestValidationError) as caught:
            await client.completions.create(model="emulator/echo", **kwargs)
        if path != "stream":
            with pytest.raises(ora.RequestValidationError):
                client.completions.stream(model="emulator/echo", **kwargs)
    assert caught.value.path == path
    assert emulator.requests == []
