"""client.embeddings.create: float and base64 vectors, token input, validation before sending."""

from __future__ import annotations

import base64
import math
import struct
from typing import Any

import pytest

import openrouter_async as ora
from openrouter_async.testing import Emulator
from openrouter_async.types.embeddings import (
    EmbeddingsRequest,
    EmbeddingsResponse,
    decode_embedding,
)


async def test_float_vectors(emulator: Emulator) -> None:
    async with emulator.client() as client:
        result = await client.embeddings.create(model="emulator/embed", input=["alpha", "beta"])
    assert isinstance(result, EmbeddingsResponse)
    assert result.model == "emulator/embed"
    assert result.object == "list"
    assert [d.index for d in result.data] == [0, 1]
    vectors = result.vectors()
    assert len(vectors) == 2
    assert all(len(v) == 64 for v in vectors)
    assert all(isinstance(x, float) for x in vectors[0])
    assert math.isclose(sum(x * x for x in vectors[0]), 1.0, rel_tol=1e-5)
    assert vectors[0] != vectors[1]
    assert result.usage is not None
    assert result.usage.prompt_tokens == 2
    assert result.usage.total_tokens == 2
    assert result.usage.cost is not None
    assert emulator.requests[-1].body == {"model": "emulator/embed", "input": ["alpha", "beta"]}
    info = result.response
    assert info is not None
    assert info.status_code == 200
    assert info.elapsed > 0
    assert info.generation_id is not None
    assert info.generation_id == result.generation_id


async def test_base64_decodes_to_the_same_vectors(emulator: Emulator) -> None:
    async with emulator.client() as client:
        plain = await client.embeddings.create(model="emulator/embed", input=["x", "y z"])
        packed = await client.embeddings.create(
            model="emulator/embed", input=["x", "y z"], encoding_format="base64"
        )
        small = await client.embeddings.create(
            model="openai/text-embedding-3-small",
            input="x",
            encoding_format="base64",
            dimensions=8,
        )
    assert emulator.requests[-2].body["encoding_format"] == "base64"
    assert packed.vectors() == plain.vectors()
    assert all(isinstance(x, float) for x in packed.data[0].embedding)
    assert len(small.data[0].embedding) == 8
    assert small.model == "openai/text-embedding-3-small"
    assert emulator.requests[-1].body["dimensions"] == 8


async def test_token_inputs(emulator: Emulator) -> None:
    async with emulator.client() as client:
        single = await client.embeddings.create(model="emulator/embed", input=[1, 2, 3])
        many = await client.embeddings.create(model="emulator/embed", input=[[1, 2], [3]])
    assert len(single.data) == 1
    assert single.usage is not None
    assert single.usage.prompt_tokens == 3
    assert len(many.data) == 2
    assert many.usage is not None
    assert many.usage.prompt_tokens == 3
    assert emulator.requests[-1].body["input"] == [[1, 2], [3]]


async def test_multimodal_input_and_request_object(emulator: Emulator) -> None:
    request = EmbeddingsRequest(
        model="emulator/embed",
        input=[
            {
                "content": [
                    {"type": "text", "text": "a cat"},
                    {"type": "image_url", "image_url": "https://x.test/c.png"},
                ]
            }
        ],
        input_type="search_document",
        user="u-7",
        provider={"order": ["emulator"]},
        extra_body={"emulator": {"tokens": 1}},
    )
    async with emulator.client() as client:
        result = await client.embeddings.create(request)
    assert len(result.data) == 1
    assert emulator.requests[-1].body == {
        "model": "emulator/embed",
        "input": [
            {
                "content": [
                    {"type": "text", "text": "a cat"},
                    {"type": "image_url", "image_url": {"url": "https://x.test/c.png"}},
                ]
            }
        ],
        "input_type": "search_document",
        "provider": {"order": ["emulator"]},
        "user": "u-7",
        "emulator": {"tokens": 1},
    }


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"input": []}, "input"),
        ({"input": ""}, "input"),
        ({"input": ["a", 1]}, "input[1]"),
        ({"input": [1, "a"]}, "input[1]"),
        ({"input": [1, True]}, "input[1]"),
        ({"input": [True]}, "input[0]"),
        ({"input": [1, 2.5]}, "input[1]"),
        ({"input": [[1], [True]]}, "input[1][0]"),
        ({"input": [[1], []]}, "input[1]"),
        ({"input": [-1]}, "input[0]"),
        ({"input": ["ok", ""]}, "input[1]"),
        ({"input": [{"content": 5}]}, "input[0].content"),
        ({"input": [{"text": "x"}]}, "input[0].text"),
        ({"input": 3}, "input"),
        ({"input": b"bytes"}, "input"),
        ({"input": "x", "encoding_format": 8}, "encoding_format"),  # enum-like: any string
        ({"input": "x", "dimensions": 0}, "dimensions"),
        ({"input": "x", "model": ""}, "model"),
        ({"input": "x", "model": None}, "model"),
        ({"input": None}, "input"),
        ({"input": "x", "provider": {"order": "emulator"}}, "provider.order"),
    ],
)
async def test_validation_before_sending(
    emulator: Emulator, kwargs: dict[str, Any], path: str
) -> None:
    args = {"model": "emulator/embed", **kwargs}
    async with emulator.client() as client:
        with pytest.raises(ora.RequestValidationError) as caught:
            await client.embeddings.create(**args)
    assert caught.value.path == path
    assert emulator.requests == []


async def test_request_object_and_fields_are_exclusive(emulator: Emulator) -> None:
    request = EmbeddingsRequest(model="emulator/embed", input="x")
    async with emulator.client() as client:
        with pytest.raises(ora.RequestValidationError) as caught:
            await client.embeddings.create(request, dimensions=4)
    assert caught.value.path == "dimensions"


async def test_server_errors_are_typed(emulator: Emulator) -> None:
    async with emulator.client() as client:
        with pytest.raises(ora.BadRequestError, match="dimensions"):
            await client.embeddings.create(model="emulator/embed", input="x", dimensions=65)
        with pytest.raises(ora.NotFoundError, match="embeddings"):
            await client.embeddings.create(model="emulator/echo", input="x")


def test_decode_embedding() -> None:
    values = [0.5, -1.25, 3.0]
    encoded = base64.b64encode(struct.pack("<3f", *values)).decode()
    assert decode_embedding(encoded) == values
    assert decode_embedding("") == []
    with pytest.raises(ora.ResponseValidationError, match="float32"):
        decode_embedding(base64.b64encode(b"\x00" * 6).decode())
    with pytest.raises(ora.ResponseValidationError, match="base64"):
        decode_embedding("not base64!")
