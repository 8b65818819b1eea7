"""Resources against hand-made bodies: nulls, unknown keys, error envelopes, odd links."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

import openrouter_async as ora
from openrouter_async import _retry
from openrouter_async.types.models import ModelsPage
from tests.localserver import serve


@pytest.fixture(autouse=True)
def _zero_waits() -> Any:
    _retry.set_testing(True)
    yield
    _retry.set_testing(False)


def answer(payload: Any, headers: dict[str, str] | None = None) -> Any:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response(payload, headers=headers)

    return handler


MODEL = {
    "id": "x/y",
    "name": "X: Y",
    "supported_parameters": None,
    "architecture": {"input_modalities": None, "output_modalities": ["text"], "brand_new": 1},
    "pricing": {"prompt": "0.000001", "completion": None, "video": "0.5"},
    "top_provider": None,
    "shiny_new_field": {"a": 1},
    "response": {"not": "ours"},
}


async def test_nulls_mean_unset_and_unknown_keys_are_kept() -> None:
    body = {
        "data": [MODEL, None],
        "links": None,
        "total_count": 1,
        "meta": "new",
        "response": {"status_code": "x"},
    }
    async with (
        serve({("GET", "/models"): answer(body)}) as url,
        ora.OpenRouter(api_key="k", base_url=url) as client,
    ):
        page = await client.models.list()
    (model,) = page
    assert model.supported_parameters == []
    assert model.top_provider is None
    assert model.architecture is not None
    assert model.architecture.input_modalities == []
    assert model.architecture.extra == {"brand_new": 1}
    assert model.pricing is not None
    assert model.pricing.completion is None
    assert model.pricing.decimal("video") is not None
    assert model.pricing.extra == {"video": "0.5"}
    assert model.extra == {"shiny_new_field": {"a": 1}, "response": {"not": "ours"}}
    assert page.extra == {"meta": "new"}
    assert page.next is None
    # A body key named like our `response` field is never read into it.
    assert page.response is not None
    assert page.response.status_code == 200


async def test_error_envelope_in_200_raises_status_error() -> None:
    envelope = {"error": {"code": 402, "message": "no credits"}}
    routes = {
        ("GET", "/key"): answer(envelope),
        ("GET", "/providers"): answer(envelope),
        ("POST", "/embeddings"): answer(envelope),
    }
    async with serve(routes) as url, ora.OpenRouter(api_key="k", base_url=url) as client:
        with pytest.raises(ora.PaymentRequiredError, match="no credits"):
            await client.key.get()
        with pytest.raises(ora.PaymentRequiredError):
            await client.providers.list()
        with pytest.raises(ora.PaymentRequiredError):
            await client.embeddings.create(model="m", input="x")


async def test_wrong_shapes_raise_response_validation_error() -> None:
    routes = {
        ("GET", "/key"): answer([1, 2]),
        ("GET", "/credits"): answer({"credits": 1}),
        ("GET", "/providers"): answer({"data": {"name": "x"}}),
        ("GET", "/models/count"): answer({"data": {"count": "many"}}),
        ("GET", "/generation"): answer({"data": {"id": "g", "tokens_prompt": "lots"}}),
        ("POST", "/embeddings"): answer(
            {"data": [{"index": 0, "embedding": "AAAA!"}]}, {"X-Generation-Id": "gen-e"}
        ),
    }
    async with serve(routes) as url, ora.OpenRouter(api_key="k", base_url=url) as client:
        with pytest.raises(ora.ResponseValidationError, match="JSON object"):
            await client.key.get()
        with pytest.raises(ora.ResponseValidationError, match="'data'"):
            await client.credits.get()
        with pytest.raises(ora.ResponseValidationError, match="list"):
            await client.providers.list()
        with pytest.raises(ora.ResponseValidationError, match="count"):
            await client.models.count()
        with pytest.raises(ora.ResponseValidationError, match="generation"):
            await client.generations.get("g")
        with pytest.raises(ora.ResponseValidationError, match="base64") as caught:
            await client.embeddings.create(model="m", input="x", encoding_format="base64")
    assert caught.value.generation_id == "gen-e"


async def test_iter_stops_on_a_next_link_that_does_not_advance() -> None:
    body = {"data": [{"id": "a/b"}], "links": {"next": "https://elsewhere.test/models?offset=0"}}
    pages: list[ModelsPage] = []

    async def walk(client: ora.OpenRouter) -> None:
        async for page in client.models.iter(limit=1):
            pages.append(page)

    async with (
        serve({("GET", "/models"): answer(body)}) as url,
        ora.OpenRouter(api_key="k", base_url=url) as client,
    ):
        with pytest.raises(ora.ProtocolError, match="does not move forward"):
            await walk(client)
    assert len(pages) == 1


async def test_iter_uses_own_base_url_and_offset_fallback() -> None:
    seen: list[dict[str, str]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(dict(request.query))
        offset = int(request.query.get("offset", "0"))
        if offset >= 2:
            return web.json_response({"data": [{"id": "c/d"}], "links": {"next": None}})
        # A next link without an offset: the client advances by the page length.
        return web.json_response({"data": [{"id": "a/b"}], "links": {"next": "https://evil.test/"}})

    async with (
        serve({("GET", "/models"): handler}) as url,
        ora.OpenRouter(api_key="k", base_url=url) as client,
    ):
        ids = [m.id async for page in client.models.iter(limit=1) for m in page]
    assert ids == ["a/b", "a/b", "c/d"]
    assert [q.get("offset") for q in seen] == [None, "1", "2"]


def deep(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("route", "payload", "where"),
    [
        (("GET", "/key"), {"data": {"limit": [1]}}, "KeyInfo.limit"),
        (("GET", "/credits"), {"data": {"total_usage": {"a": 1}}}, "Credits.total_usage"),
        (("GET", "/generation"), {"data": {"provider_responses": [[]]}}, "ProviderResponse"),
        (("GET", "/generation"), {"data": {"latency": deep(200)}}, "Generation.latency"),
        (("GET", "/models"), {"data": [{"architecture": "text"}]}, "Architecture"),
        (("GET", "/models"), {"data": [{"context_length": "lots"}]}, "Model.context_length"),
    ],
    ids=["list for number", "object for number", "list for object", "deep", "text", "word"],
)
async def test_mutated_shapes_raise_a_typed_error_naming_the_field(
    route: tuple[str, str], payload: Any, where: str
) -> None:
    async with (
        serve({route: answer(payload)}) as url,
        ora.OpenRouter(api_key="k", base_url=url) as client,
    ):
        call = {
            "/key": client.key.get,
            "/credits": client.credits.get,
            "/generation": lambda: client.generations.get("g"),
            "/models": client.models.list,
        }[route[1]]
        with pytest.raises(ora.ResponseValidationError, match=where.replace(".", r"\.")):
            await call()
