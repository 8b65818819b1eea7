"""``client.generations``: ``GET /generation?id=`` (stats and cost of one generation)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .._config import Timeouts
from .._errors import NotFoundError
from ..types._validators import check_number, check_str
from ..types.generation import Generation
from ._raw import build, unwrap_data

if TYPE_CHECKING:
    from .._client import OpenRouter

__all__ = ["Generations"]

#: Polling while a fresh generation still 404s: start small, back off, never sleep longer.
_FIRST_POLL = 0.1
_MAX_POLL = 1.0


class Generations:
    """``client.generations``."""

    def __init__(self, client: OpenRouter) -> None:
        self._client = client

    async def get(
        self,
        id: str,
        *,
        wait: float = 0.0,
        timeout: Timeouts | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        max_retries: int | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> Generation:
        """The stats of generation ``id`` (a completion's ``id`` / ``X-Generation-Id``).

        Right after a generation finishes OpenRouter answers 404 for a short while. With
        ``wait > 0`` a 404 is retried with short, growing sleeps until ``wait`` seconds have
        passed; then the :class:`NotFoundError` is raised. Other errors raise at once.
        """
        check_str(id, "id", nonempty=True)
        check_number(wait, "wait", lo=0)
        params = {"id": id}
        give_up = time.monotonic() + wait
        pause = _FIRST_POLL
        while True:
            try:
                data, info = await self._client._request(
                    "GET",
                    "/generation",
                    params=params,
                    timeout=timeout,
                    extra_headers=extra_headers,
                    max_retries=max_retries,
                    extra_query=extra_query,
                )
            except NotFoundError:
                left = give_up - time.monotonic()
                if left <= 0:
                    raise
                await asyncio.sleep(min(pause, left))
                pause = min(pause * 2, _MAX_POLL)
                continue
            return build(unwrap_data(data, "GET /generation", info), Generation, "generation", info)
