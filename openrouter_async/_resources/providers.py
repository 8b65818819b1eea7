"""``client.providers``: ``GET /providers``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .._config import Timeouts
from .._errors import ResponseValidationError
from ..types.providers import ProviderList
from ._raw import build, unwrap_data

if TYPE_CHECKING:
    from .._client import OpenRouter

__all__ = ["Providers"]


class Providers:
    """``client.providers``."""

    def __init__(self, client: OpenRouter) -> None:
        self._client = client

    async def list(
        self,
        *,
        timeout: Timeouts | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        max_retries: int | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> ProviderList:
        """Every provider, as a list-like :class:`ProviderList` (with ``.response``)."""
        data, info = await self._client._request(
            "GET",
            "/providers",
            timeout=timeout,
            extra_headers=extra_headers,
            max_retries=max_retries,
            extra_query=extra_query,
            public=True,
        )
        items = unwrap_data(data, "GET /providers", info)
        if not isinstance(items, list):
            raise ResponseValidationError(
                f"GET /providers: 'data' is {type(items).__name__}, expected a list"
            )
        return build({"data": items}, ProviderList, "providers", info)
