"""``client.credits`` (``GET /credits``) and ``client.key`` (``GET /key``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .._config import Timeouts
from ..types.account import Credits as CreditsInfo
from ..types.account import KeyInfo
from ._raw import build, unwrap_data

if TYPE_CHECKING:
    from .._client import OpenRouter

__all__ = ["CreditsResource", "KeyResource"]


class CreditsResource:
    """``client.credits``."""

    def __init__(self, client: OpenRouter) -> None:
        self._client = client

    async def get(
        self,
        *,
        timeout: Timeouts | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        max_retries: int | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> CreditsInfo:
        """Credits bought and used by the account.

        Needs a management key: any other key gets :class:`PermissionDeniedError` (403).
        """
        data, info = await self._client._request(
            "GET",
            "/credits",
            timeout=timeout,
            extra_headers=extra_headers,
            max_retries=max_retries,
            extra_query=extra_query,
        )
        return build(unwrap_data(data, "GET /credits", info), CreditsInfo, "credits", info)


class KeyResource:
    """``client.key``."""

    def __init__(self, client: OpenRouter) -> None:
        self._client = client

    async def get(
        self,
        *,
        timeout: Timeouts | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        max_retries: int | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> KeyInfo:
        """The calling key's label, credit limit and usage (works with any key)."""
        data, info = await self._client._request(
            "GET",
            "/key",
            timeout=timeout,
            extra_headers=extra_headers,
            max_retries=max_retries,
            extra_query=extra_query,
        )
        return build(unwrap_data(data, "GET /key", info), KeyInfo, "key", info)
