"""``client.models``: the catalog (``GET /models``, ``/models/count``, ``.../endpoints``).

Filters are checked and turned into query text here, before anything is sent: lists become
comma lists, booleans ``true``/``false``, prices plain decimals. ``iter()`` follows the
``offset`` of ``links.next`` but always asks our own base URL with our own parameters, so a
``next`` link can never send the key to another host.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Literal
from urllib.parse import quote

from .._config import Timeouts
from .._errors import ProtocolError, ResponseValidationError
from ..types._validators import check_choice, check_int, check_str, fail, type_name
from ..types.models import ModelEndpoints, ModelsPage
from ._raw import build, expect_object, join_values, number_param, unwrap_data

if TYPE_CHECKING:
    from .._client import OpenRouter

__all__ = ["Models"]

Number = int | float | Decimal
Names = str | Sequence[str]
_MAX_LIMIT = 1000


def _flag(value: object, path: str) -> str:
    if not isinstance(value, bool):
        fail(f"must be a boolean, got {type_name(value)}", path)
    return "true" if value else "false"


def _query(
    *,
    category: str | None,
    supported_parameters: Names | None,
    input_modalities: Names | None,
    output_modalities: Names | None,
    q: str | None,
    sort: str | None,
    offset: int | None,
    limit: int | None,
    context: int | None,
    min_price: Number | None,
    max_price: Number | None,
    min_output_price: Number | None,
    max_output_price: Number | None,
    model_authors: Names | None,
    providers: Names | None,
    distillable: bool | None,
    zdr: bool | None,
    region: str | None,
    extra_params: Mapping[str, str | int | float | bool] | None,
) -> dict[str, str]:
    params: dict[str, str] = {}
    if category is not None:
        params["category"] = check_str(category, "category", nonempty=True)
    if supported_parameters is not None:
        params["supported_parameters"] = join_values(supported_parameters, "supported_parameters")
    if input_modalities is not None:
        params["input_modalities"] = join_values(input_modalities, "input_modalities")
    if output_modalities is not None:
        params["output_modalities"] = join_values(output_modalities, "output_modalities")
    if q is not None:
        params["q"] = check_str(q, "q")
    if sort is not None:
        params["sort"] = check_str(sort, "sort", nonempty=True)
    if offset is not None:
        params["offset"] = str(check_int(offset, "offset", lo=0))
    if limit is not None:
        params["limit"] = str(check_int(limit, "limit", lo=1, hi=_MAX_LIMIT))
    if context is not None:
        params["context"] = str(check_int(context, "context", lo=0))
    prices = (
        ("min_price", min_price),
        ("max_price", max_price),
        ("min_output_price", min_output_price),
        ("max_output_price", max_output_price),
    )
    for name, price in prices:
        if price is not None:
            params[name] = number_param(price, name)
    if model_authors is not None:
        params["model_authors"] = join_values(model_authors, "model_authors")
    if providers is not None:
        params["providers"] = join_values(providers, "providers")
    if distillable is not None:
        params["distillable"] = _flag(distillable, "distillable")
    if zdr is not None:
        params["zdr"] = _flag(zdr, "zdr")
    if region is not None:
        params["region"] = check_choice(region, "region", ("eu", "us"))
    if extra_params is not None:
        if not isinstance(extra_params, Mapping):
            fail(f"must be a mapping, got {type_name(extra_params)}", "extra_params")
        for key, value in extra_params.items():
            path = f"extra_params[{key!r}]"
            check_str(key, path, nonempty=True)
            if isinstance(value, bool):
                params[key] = _flag(value, path)
            elif isinstance(value, str):
                params[key] = value
            elif isinstance(value, (int, float, Decimal)):
                params[key] = str(value) if isinstance(value, int) else number_param(value, path)
            else:
                fail(f"must be a string, number or boolean, got {type_name(value)}", path)
    return params


def _endpoint_path(model: str) -> str:
    """``/models/{author}/{slug}/endpoints`` for ``"author/slug"``, parts URL-quoted."""
    check_str(model, "model", nonempty=True)
    if any(ch.isspace() for ch in model):
        fail(f"must not contain whitespace, got {model!r}", "model")
    author, sep, slug = model.partition("/")
    if not sep or not author or not slug or "/" in slug:
        fail(f"must be 'author/slug' with exactly one '/', got {model!r}", "model")
    if ":" in slug:
        base = f"{author}/{slug.partition(':')[0]}"
        fail(
            f"a ':variant' suffix is not part of a model's endpoints path; use {base!r}",
            "model",
        )
    return f"/models/{quote(author, safe='')}/{quote(slug, safe='')}/endpoints"


class Models:
    """``client.models``."""

    def __init__(self, client: OpenRouter) -> None:
        self._client = client

    async def list(
        self,
        *,
        category: str | None = None,
        supported_parameters: Names | None = None,
        input_modalities: Names | None = None,
        output_modalities: Names | Literal["all"] | None = None,
        q: str | None = None,
        sort: str | None = None,
        offset: int | None = None,
        limit: int | None = None,
        context: int | None = None,
        min_price: Number | None = None,
        max_price: Number | None = None,
        min_output_price: Number | None = None,
        max_output_price: Number | None = None,
        model_authors: Names | None = None,
        providers: Names | None = None,
        distillable: bool | None = None,
        zdr: bool | None = None,
        region: Literal["eu", "us"] | None = None,
        extra_params: Mapping[str, str | int | float | bool] | None = None,
        timeout: Timeouts | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        max_retries: int | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> ModelsPage:
        """One page of the catalog (the whole catalog when ``offset`` and ``limit`` are unset).

        ``output_modalities`` defaults to ``text`` on the server; pass ``"all"`` for every
        model (embeddings included). Lists of names may be given as lists or comma strings.
        Prices are USD per million tokens. ``sort``: ``most-popular``, ``newest``,
        ``top-weekly``, ``pricing-low-to-high``, ... ``extra_params`` adds query parameters the
        SDK does not model (and overrides those it does).
        """
        params = _query(
            category=category,
            supported_parameters=supported_parameters,
            input_modalities=input_modalities,
            output_modalities=output_modalities,
            q=q,
            sort=sort,
            offset=offset,
            limit=limit,
            context=context,
            min_price=min_price,
            max_price=max_price,
            min_output_price=min_output_price,
            max_output_price=max_output_price,
            model_authors=model_authors,
            providers=providers,
            distillable=distillable,
            zdr=zdr,
            region=region,
            extra_params=extra_params,
        )
        return await self._page(
            params,
            timeout=timeout,
            extra_headers=extra_headers,
            max_retries=max_retries,
            extra_query=extra_query,
        )

    async def _page(
        self,
        params: dict[str, str],
        *,
        timeout: Timeouts | float | None,
        extra_headers: Mapping[str, str] | None,
        max_retries: int | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> ModelsPage:
        data, info = await self._client._request(
            "GET",
            "/models",
            params=params,
            timeout=timeout,
            extra_headers=extra_headers,
            max_retries=max_retries,
            extra_query=extra_query,
            public=True,
        )
        body = expect_object(data, "GET /models", info)
        if not isinstance(body.get("data"), list):
            raise ResponseValidationError(
                "GET /models: the response body has no 'data' list",
                generation_id=info.generation_id,
            )
        return build(body, ModelsPage, "GET /models", info)

    async def iter(
        self,
        *,
        category: str | None = None,
        supported_parameters: Names | None = None,
        input_modalities: Names | None = None,
        output_modalities: Names | Literal["all"] | None = None,
        q: str | None = None,
        sort: str | None = None,
        offset: int | None = None,
        limit: int | None = None,
        context: int | None = None,
        min_price: Number | None = None,
        max_price: Number | None = None,
        min_output_price: Number | None = None,
        max_output_price: Number | None = None,
        model_authors: Names | None = None,
        providers: Names | None = None,
        distillable: bool | None = None,
        zdr: bool | None = None,
        region: Literal["eu", "us"] | None = None,
        extra_params: Mapping[str, str | int | float | bool] | None = None,
        timeout: Timeouts | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        max_retries: int | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> AsyncIterator[ModelsPage]:
        """Every page, following ``links.next``: ``async for page in client.models.iter(...)``.

        Same filters as :meth:`list`; ``limit`` is the page size (without it the server sends
        everything in one page). Arguments are checked on the first iteration.
        """
        params = _query(
            category=category,
            supported_parameters=supported_parameters,
            input_modalities=input_modalities,
            output_modalities=output_modalities,
            q=q,
            sort=sort,
            offset=offset,
            limit=limit,
            context=context,
            min_price=min_price,
            max_price=max_price,
            min_output_price=min_output_price,
            max_output_price=max_output_price,
            model_authors=model_authors,
            providers=providers,
            distillable=distillable,
            zdr=zdr,
            region=region,
            extra_params=extra_params,
        )
        while True:
            page = await self._page(
                params,
                timeout=timeout,
                extra_headers=extra_headers,
                max_retries=max_retries,
                extra_query=extra_query,
            )
            yield page
            if page.next is None or not page.data:
                return
            current = int(params.get("offset", "0"))
            following = page.next_offset
            if following is None:
                following = current + len(page.data)
            if following <= current:
                raise ProtocolError(
                    f"GET /models: links.next does not move forward (offset {current} -> "
                    f"{following}): {page.next!r}"
                )
            params = {**params, "offset": str(following)}

    async def count(
        self,
        *,
        output_modalities: Names | Literal["all"] | None = None,
        timeout: Timeouts | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        max_retries: int | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> int:
        """How many models the catalog has (``output_modalities`` defaults to text)."""
        params: dict[str, str] = {}
        if output_modalities is not None:
            params["output_modalities"] = join_values(output_modalities, "output_modalities")
        data, info = await self._client._request(
            "GET",
            "/models/count",
            params=params,
            timeout=timeout,
            extra_headers=extra_headers,
            max_retries=max_retries,
            extra_query=extra_query,
            public=True,
        )
        inner = unwrap_data(data, "GET /models/count", info)
        value = inner.get("count") if isinstance(inner, dict) else None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ResponseValidationError(
                f"GET /models/count: expected data.count to be an integer, got {data!r:.200}"
            )
        return value

    async def endpoints(
        self,
        model: str,
        *,
        timeout: Timeouts | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        max_retries: int | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> ModelEndpoints:
        """The provider endpoints serving ``model`` (``"author/slug"``, no ``:variant``),
        with their pricing, limits, uptime, latency and throughput."""
        path = _endpoint_path(model)
        data, info = await self._client._request(
            "GET",
            path,
            timeout=timeout,
            extra_headers=extra_headers,
            max_retries=max_retries,
            extra_query=extra_query,
            public=True,
        )
        return build(
            unwrap_data(data, f"GET {path}", info), ModelEndpoints, "model endpoints", info
        )
