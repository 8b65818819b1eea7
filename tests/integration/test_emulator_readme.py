"""The README's "rest of the API" block runs against the emulator as written (issue #17 item 4).

``credits.get()`` is the one call that needs more than ``emu.client()``: like OpenRouter, the
emulator answers 403 to an ordinary key there, and the README says so and shows the
management-key client.
"""

from __future__ import annotations

import pytest

import openrouter_async as ora
from openrouter_async.testing import Emulator


async def test_the_rest_of_the_api_block(emulator: Emulator) -> None:
    async with emulator.client() as client:
        done = await client.chat.completions.create(
            model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "Say hi"}]
        )
        gen = await client.generations.get(done.id, wait=2.0)
        page = await client.models.list(
            supported_parameters=["tools"], output_modalities=["text"], limit=50
        )
        pages = [page async for page in client.models.iter(q="claude")]
        count = await client.models.count()
        endpoints = await client.models.endpoints("openai/gpt-4o-mini")
        providers = await client.providers.list()
        key = await client.key.get()
        emb = await client.embeddings.create(
            model="openai/text-embedding-3-small", input=["a", "b"], encoding_format="base64"
        )
        vectors = emb.vectors()
        legacy = await client.completions.create(
            model="openai/gpt-3.5-turbo-instruct", prompt="Once"
        )
        async with client.completions.stream(
            model="openai/gpt-3.5-turbo-instruct", prompt="Once upon a time"
        ) as s:
            streamed = "".join([t async for t in s.text_stream])
        with pytest.raises(ora.PermissionDeniedError):
            await client.credits.get()  # an ordinary key, as on OpenRouter
    async with emulator.client(api_key="test-management-key") as admin:
        credits = await admin.credits.get()

    assert gen.id == done.id and gen.provider_name == "OpenAI"
    assert "openai/gpt-4o-mini" in page.ids()
    assert [p.ids() for p in pages] == [["anthropic/claude-sonnet-4.5"]]
    assert count == 10
    assert endpoints.id == "openai/gpt-4o-mini"
    assert providers.by_slug("fake-provider") is not None
    assert key.is_management_key is False
    assert [len(v) for v in vectors] == [1536, 1536]
    assert legacy.choices[0].text == "Once"
    assert legacy.model == "openai/gpt-3.5-turbo-instruct"
    assert streamed == "Once upon a time"
    assert credits.total_credits == emulator.credits


async def test_only_the_configured_key_is_accepted(emulator: Emulator) -> None:
    """``Emulator()`` accepts ``test-key`` (and the management key), nothing else."""
    assert emulator.api_key == "test-key"
    async with ora.OpenRouter(api_key="sk-or-v1-real-looking", base_url=emulator.base_url) as c:
        with pytest.raises(ora.AuthenticationError, match="User not found"):
            await c.key.get()
    async with Emulator(api_key=None) as anything:
        async with ora.OpenRouter(api_key="whatever", base_url=anything.base_url) as c:
            assert (await c.key.get()).is_management_key is False
