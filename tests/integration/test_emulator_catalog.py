"""The emulator's catalog: /models (filters, paging), /models/count, endpoints, providers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from openrouter_async.testing import Emulator

MODEL_KEYS = {
    "id",
    "canonical_slug",
    "hugging_face_id",
    "name",
    "created",
    "description",
    "context_length",
    "architecture",
    "pricing",
    "top_provider",
    "per_request_limits",
    "supported_parameters",
    "default_parameters",
    "knowledge_cutoff",
    "expiration_date",
    "links",
    "supported_voices",
}


@pytest.fixture
async def models(emulator: Emulator) -> AsyncIterator[Any]:
    async with aiohttp.ClientSession() as session:  # the catalog needs no key

        async def fetch(path: str = "/models", **params: str) -> tuple[int, Any]:
            async with session.get(emulator.base_url + path, params=params) as resp:
                return resp.status, await resp.json()

        yield fetch


async def ids(fetch: Any, **params: str) -> list[str]:
    status, body = await fetch(**params)
    assert status == 200, body
    return [m["id"] for m in body["data"]]


async def test_model_shape(models: Any) -> None:
    status, body = await models()
    assert status == 200
    assert set(body) == {"data", "links", "total_count"}
    assert body["links"] == {"next": None}
    assert body["total_count"] == len(body["data"]) >= 8
    by_id = {m["id"]: m for m in body["data"]}
    for wanted in ("emulator/echo", "openai/gpt-4o-mini", "anthropic/claude-sonnet-4.5"):
        assert wanted in by_id
    for model in body["data"]:
        assert set(model) >= MODEL_KEYS
        assert isinstance(model["pricing"]["prompt"], str)
        assert set(model["architecture"]) >= {"input_modalities", "output_modalities", "tokenizer"}
        assert model["links"]["details"] == f"/api/v1/models/{model['id']}/endpoints"
    assert by_id["emulator/echo"]["pricing"]["completion"] == "0.000002"
    assert "reasoning" in by_id["anthropic/claude-sonnet-4.5"]


async def test_output_modalities_default_to_text(models: Any) -> None:
    text = await ids(models)
    assert "emulator/embed" not in text
    every = await ids(models, output_modalities="all")
    assert set(every) > set(text)
    assert await ids(models, output_modalities="embeddings") == [
        "emulator/embed",
        "openai/text-embedding-3-small",
    ]
    assert await ids(models, output_modalities="image") == ["google/gemini-2.5-flash-image"]


async def test_filters(models: Any) -> None:
    vision = await ids(models, input_modalities="image,file")
    assert "openai/gpt-4o-mini" in vision
    assert "emulator/echo" not in vision
    reasoning = await ids(models, supported_parameters="reasoning,tools")
    assert set(reasoning) == {"emulator/reasoning", "anthropic/claude-sonnet-4.5"}
    assert await ids(models, category="science") == ["emulator/reasoning"]
    assert await ids(models, q="SONNET") == ["anthropic/claude-sonnet-4.5"]
    assert set(await ids(models, model_authors="openai")) == {
        "openai/gpt-4o-mini",
        "openai/gpt-3.5-turbo-instruct",
    }
    assert "openai/gpt-4o-mini" in await ids(models, providers="openai")
    cheap = await ids(models, max_price="0.5")  # prompt $/M
    assert "openai/gpt-4o-mini" in cheap
    assert "anthropic/claude-sonnet-4.5" not in cheap
    assert await ids(models, min_output_price="10") == ["anthropic/claude-sonnet-4.5"]
    assert set(await ids(models, context="1000000")) == {
        "anthropic/claude-sonnet-4.5",
        "google/gemini-2.5-flash",
    }


async def test_sorting(models: Any) -> None:
    popular = await ids(models, sort="most-popular")
    assert popular[:2] == ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4.5"]
    assert (await ids(models, sort="pricing-high-to-low"))[0] == "anthropic/claude-sonnet-4.5"
    _, newest = await models(sort="newest")
    created = [m["created"] for m in newest["data"]]
    assert created == sorted(created, reverse=True)
    status, err = await models(sort="sideways")
    assert status == 400
    assert err["error"]["code"] == 400


async def test_paging(models: Any) -> None:
    everything = await ids(models)
    status, page = await models(limit="2", model_authors="emulator")
    assert status == 200
    assert page["total_count"] == 5
    assert [m["id"] for m in page["data"]] == [i for i in everything if i.startswith("emulator/")][
        :2
    ]
    next_url = page["links"]["next"]
    assert "offset=2" in next_url
    assert "limit=2" in next_url
    assert "model_authors=emulator" in next_url
    async with aiohttp.ClientSession() as session, session.get(next_url) as resp:
        second = await resp.json()
    assert [m["id"] for m in second["data"]] == [
        i for i in everything if i.startswith("emulator/")
    ][2:4]
    _, last = await models(limit="2", offset="4", model_authors="emulator")
    assert len(last["data"]) == 1
    assert last["links"]["next"] is None
    for bad in ({"limit": "0"}, {"limit": "1001"}, {"offset": "-1"}, {"limit": "x"}):
        assert (await models(**bad))[0] == 400


async def test_count_endpoints_providers(models: Any) -> None:
    status, count = await models("/models/count")
    assert status == 200
    assert count == {"data": {"count": len(await ids(models))}}
    _, count = await models("/models/count", output_modalities="embeddings")
    assert count["data"]["count"] == 2
    status, body = await models("/models/openai/gpt-4o-mini/endpoints")
    assert status == 200
    data = body["data"]
    assert data["id"] == "openai/gpt-4o-mini"
    (endpoint,) = data["endpoints"]
    assert endpoint["provider_name"] == "OpenAI"
    assert endpoint["status"] == 0
    assert {"context_length", "pricing", "supported_parameters", "uptime_last_30m"} <= set(endpoint)
    status, err = await models("/models/nobody/nothing/endpoints")
    assert status == 404
    assert err["error"]["code"] == 404
    status, providers = await models("/providers")
    assert status == 200
    slugs = {p["slug"] for p in providers["data"]}
    assert {"openai", "anthropic", "fake-provider"} <= slugs
    fake = next(p for p in providers["data"] if p["name"] == "FakeProvider")
    assert fake["datacenters"] == ["US"]  # ISO 3166-1 alpha-2, as the schema requires
    assert set(providers["data"][0]) == {
        "name",
        "slug",
        "privacy_policy_url",
        "terms_of_service_url",
        "status_page_url",
        "headquarters",
        "datacenters",
    }
