"""client.credits, client.key and client.providers against the emulator."""

from __future__ import annotations

import pytest

import openrouter_async as ora
from openrouter_async.testing import Emulator
from openrouter_async.types.account import Credits, KeyInfo
from openrouter_async.types.providers import Provider, ProviderList

MANAGEMENT_KEY = "test-management-key"


async def test_credits_need_a_management_key(emulator: Emulator) -> None:
    async with emulator.client() as client:
        with pytest.raises(ora.PermissionDeniedError) as caught:
            await client.credits.get()
    assert caught.value.status_code == 403
    assert len(emulator.requests) == 1  # a 403 is not retried


async def test_credits_with_management_key(emulator: Emulator) -> None:
    async with emulator.client() as client:
        await client.chat.completions.create(
            model="emulator/echo", messages=[{"role": "user", "content": "spend a little"}]
        )
    async with ora.OpenRouter(api_key=MANAGEMENT_KEY, base_url=emulator.base_url) as admin:
        credits = await admin.credits.get()
    assert isinstance(credits, Credits)
    assert credits.total_credits == 100.0
    assert 0 < credits.total_usage < 0.001
    assert credits.remaining == pytest.approx(100.0 - credits.total_usage)
    assert credits.response is not None
    assert credits.response.status_code == 200
    assert credits.response.elapsed > 0
    assert emulator.requests[-1].endpoint == "/credits"


async def test_key_info(emulator: Emulator) -> None:
    async with emulator.client() as client:
        key = await client.key.get()
    assert isinstance(key, KeyInfo)
    assert key.label == "sk-or-v1-emu...key"
    assert key.limit is None
    assert key.unlimited
    assert key.is_management_key is False
    assert key.is_free_tier is False
    assert key.usage == 0
    assert key.byok_usage == 0
    assert key.creator_user_id == "user_emulator"
    assert key.rate_limit is not None  # legacy field kept as sent
    assert key.response is not None
    assert key.response.status_code == 200
    async with ora.OpenRouter(api_key=MANAGEMENT_KEY, base_url=emulator.base_url) as admin:
        assert (await admin.key.get()).is_management_key is True


async def test_providers(emulator: Emulator) -> None:
    async with emulator.client() as client:
        providers = await client.providers.list()
    assert isinstance(providers, ProviderList)
    assert len(providers) == 5
    assert all(isinstance(p, Provider) for p in providers)
    assert [p.slug for p in providers][:2] == ["anthropic", "fake-provider"]
    openai = providers.by_slug("openai")
    assert openai is not None
    assert openai.name == "OpenAI"
    assert openai.status_page_url == "https://status.openai.com"
    assert openai.datacenters == ["US"]
    assert openai.headquarters == "US"
    emu = providers[1]
    assert emu.status_page_url is None
    assert emu.headquarters is None
    assert providers[-2:] == list(providers)[-2:]
    assert providers.response is not None
    assert providers.response.status_code == 200
    assert providers.by_slug("nope") is None


async def test_wrong_key_is_authentication_error(emulator: Emulator) -> None:
    async with ora.OpenRouter(api_key="wrong", base_url=emulator.base_url) as client:
        with pytest.raises(ora.AuthenticationError):
            await client.key.get()


async def test_read_endpoints_are_retried(emulator: Emulator) -> None:
    ora.set_testing(True)
    try:
        emulator.fail_next(2, status=503, path="/providers")
        async with emulator.client() as client:
            providers = await client.providers.list()
    finally:
        ora.set_testing(False)
    assert len(providers) == 5
    assert [r.status for r in emulator.requests] == [503, 503, 200]
