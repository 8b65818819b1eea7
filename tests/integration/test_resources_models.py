"""client.models: list with filters sent as query parameters, paging, count, endpoints."""

from __future__ import annotations

from decimal import Decimal

import pytest

import openrouter_async as ora
from openrouter_async.testing import Emulator
from openrouter_async.types.models import Model, ModelEndpoints, ModelsPage


async def test_list_is_typed_and_list_like(emulator: Emulator) -> None:
    async with emulator.client() as client:
        page = await client.models.list()
    assert isinstance(page, ModelsPage)
    assert len(page) == len(page.data) == page.total_count
    assert page.next is None
    assert page.next_offset is None
    ids = [m.id for m in page]
    assert "emulator/echo" in ids
    assert "openai/gpt-4o-mini" in ids
    assert "emulator/embed" not in ids  # output_modalities defaults to text on the server
    model = next(m for m in page if m.id == "openai/gpt-4o-mini")
    assert isinstance(model, Model)
    assert page[ids.index(model.id)] is model
    assert model.author == "openai"
    assert model.name == "OpenAI: GPT-4o-mini"
    assert model.architecture is not None
    assert "image" in model.architecture.input_modalities
    assert model.architecture.tokenizer == "GPT"
    assert model.pricing is not None
    assert model.pricing.prompt == "0.00000015"
    assert model.pricing.decimal("prompt") == Decimal("0.00000015")
    assert model.pricing.per_million("completion") == Decimal("0.6")
    assert model.top_provider is not None
    assert model.top_provider.is_moderated is True
    assert model.supports("logprobs")
    assert not model.supports("reasoning")
    assert model.knowledge_cutoff == "2023-10-01"
    assert model.links == {"details": "/api/v1/models/openai/gpt-4o-mini/endpoints"}
    assert page.response is not None
    assert page.response.status_code == 200
    assert page.response.elapsed > 0


async def test_filters_are_sent_as_query_parameters(emulator: Emulator) -> None:
    async with emulator.client() as client:
        page = await client.models.list(
            supported_parameters=["tools", "reasoning"],
            input_modalities=["text", "image"],
            output_modalities="text",
            model_authors=["anthropic", "openai"],
            providers="anthropic",
            min_price=0.5,
            max_price=Decimal("10"),
            max_output_price=20,
            context=200_000,
            sort="newest",
            q="claude",
            category="programming",
            zdr=True,
            distillable=False,
            region="eu",
        )
    query = emulator.requests[-1].query
    assert query == {
        "supported_parameters": "tools,reasoning",
        "input_modalities": "text,image",
        "output_modalities": "text",
        "model_authors": "anthropic,openai",
        "providers": "anthropic",
        "min_price": "0.5",
        "max_price": "10",
        "max_output_price": "20",
        "context": "200000",
        "sort": "newest",
        "q": "claude",
        "category": "programming",
        "zdr": "true",
        "distillable": "false",
        "region": "eu",
    }
    assert page.ids() == ["anthropic/claude-sonnet-4.5"]


async def test_filters_are_reflected_in_results(emulator: Emulator) -> None:
    async with emulator.client() as client:
        everything = await client.models.list(output_modalities="all")
        embeds = await client.models.list(output_modalities=["embeddings"])
        cheap_first = await client.models.list(sort="pricing-low-to-high")
        tiny_price = await client.models.list(max_price=0.0000001)
        extra = await client.models.list(extra_params={"q": "gemini", "use_rss": False})
    assert {m.id for m in embeds} == {"emulator/embed", "openai/text-embedding-3-small"}
    assert len(everything) == everything.total_count == 12
    assert {m.id for m in embeds} <= {m.id for m in everything}
    prices = [m.pricing.decimal("prompt") for m in cheap_first if m.pricing]
    assert prices == sorted(prices)
    assert len(tiny_price) == 0
    assert not tiny_price
    assert emulator.requests[-2].query == {"max_price": "0.0000001"}  # never "1e-07"
    assert emulator.requests[-1].query == {"q": "gemini", "use_rss": "false"}
    assert all("gemini" in m.id for m in extra)
    assert len(extra) == 2


async def test_iter_follows_next_offsets(emulator: Emulator) -> None:
    async with emulator.client() as client:
        whole = await client.models.list(output_modalities="all", sort="most-popular")
        pages = [
            p
            async for p in client.models.iter(output_modalities="all", sort="most-popular", limit=3)
        ]
    assert [len(p) for p in pages] == [3, 3, 3, 3]
    assert [m.id for p in pages for m in p] == whole.ids()
    offsets = [r.query.get("offset") for r in emulator.requests[-4:]]
    assert offsets == [None, "3", "6", "9"]
    assert all(
        r.query["limit"] == "3" and r.query["sort"] == "most-popular"
        for r in emulator.requests[-4:]
    )
    assert pages[0].next_offset == 3
    assert pages[-1].next is None
    assert all(p.total_count == 12 and p.response is not None for p in pages)


async def test_iter_without_limit_is_one_page(emulator: Emulator) -> None:
    async with emulator.client() as client:
        pages = [p async for p in client.models.iter()]
    assert len(pages) == 1
    assert len(pages[0]) == pages[0].total_count


async def test_count(emulator: Emulator) -> None:
    async with emulator.client() as client:
        text = await client.models.count()
        every = await client.models.count(output_modalities="all")
        several = await client.models.count(output_modalities=["text", "embeddings"])
    assert text == 10
    assert every == 12
    assert several == 12
    assert emulator.requests[-1].endpoint == "/models/count"
    assert emulator.requests[-1].query == {"output_modalities": "text,embeddings"}


async def test_endpoints(emulator: Emulator) -> None:
    async with emulator.client() as client:
        info = await client.models.endpoints("anthropic/claude-sonnet-4.5")
    assert isinstance(info, ModelEndpoints)
    assert info.id == "anthropic/claude-sonnet-4.5"
    assert info.architecture is not None
    assert emulator.requests[-1].endpoint == "/models/anthropic/claude-sonnet-4.5/endpoints"
    (endpoint,) = info.endpoints
    assert endpoint.provider_name == "Anthropic"
    assert endpoint.tag == "anthropic"
    assert endpoint.context_length == 1_000_000
    assert endpoint.status == 0
    assert endpoint.pricing is not None
    assert endpoint.pricing.discount == 0
    assert endpoint.latency_last_30m is not None
    assert endpoint.latency_last_30m.p50 == 250
    assert endpoint.throughput_last_30m is not None
    assert endpoint.throughput_last_30m.p99 == 30
    assert endpoint.uptime_last_1d == 100
    assert "reasoning" in endpoint.supported_parameters
    assert info.response is not None
    assert info.response.status_code == 200


async def test_endpoints_unknown_model_is_not_found(emulator: Emulator) -> None:
    async with emulator.client() as client:
        with pytest.raises(ora.NotFoundError):
            await client.models.endpoints("nobody/nothing")


@pytest.mark.parametrize(
    ("slug", "fragment"),
    [
        ("openai", "exactly one '/'"),
        ("openai/gpt-4o/mini", "exactly one '/'"),
        ("/gpt", "exactly one '/'"),
        ("openai/", "exactly one '/'"),
        ("openai/gpt 4o", "whitespace"),
        ("openai/gpt-4o-mini:free", "'openai/gpt-4o-mini'"),
        ("", "non-empty"),
    ],
)
async def test_endpoints_bad_slug_fails_before_sending(
    emulator: Emulator, slug: str, fragment: str
) -> None:
    async with emulator.client() as client:
        with pytest.raises(ora.RequestValidationError, match=fragment) as caught:
            await client.models.endpoints(slug)
    assert caught.value.path == "model"
    assert emulator.requests == []


async def test_endpoints_quotes_path_parts(emulator: Emulator) -> None:
    async with emulator.client() as client:
        with pytest.raises(ora.NotFoundError):
            await client.models.endpoints("a?b/c#d")
    assert emulator.requests[-1].endpoint == "/models/a?b/c#d/endpoints"


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": True}, "limit"),
        ({"offset": -1}, "offset"),
        ({"min_price": -1}, "min_price"),
        ({"max_price": float("nan")}, "max_price"),
        ({"region": "asia"}, "region"),
        ({"zdr": "yes"}, "zdr"),
        ({"supported_parameters": []}, "supported_parameters"),
        ({"supported_parameters": ["tools", ""]}, "supported_parameters[1]"),
        ({"providers": ["a,b"]}, "providers[0]"),
        ({"output_modalities": 3}, "output_modalities"),
        ({"extra_params": {"x": [1]}}, "extra_params['x']"),
    ],
)
async def test_list_validates_before_sending(
    emulator: Emulator, kwargs: dict[str, object], path: str
) -> None:
    async with emulator.client() as client:
        with pytest.raises(ora.RequestValidationError) as caught:
            await client.models.list(**kwargs)
        with pytest.raises(ora.RequestValidationError):
            async for _ in client.models.iter(**kwargs):
                pass
    assert caught.value.path == path
    assert emulator.requests == []


async def test_server_rejection_surfaces_as_bad_request(emulator: Emulator) -> None:
    async with emulator.client() as client:
        with pytest.raises(ora.BadRequestError, match="sort"):
            await client.models.list(sort="alphabetical")
