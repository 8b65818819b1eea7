"""``GET /providers``: the inference providers OpenRouter routes to."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, overload

import attrs

from .._convert import NO_EXTRA, response_model
from .responses import ResponseInfo

__all__ = ["Provider", "ProviderList"]


@response_model
@attrs.frozen(kw_only=True)
class Provider:
    """One provider; ``slug`` is what ``provider.order`` / ``only`` / ``ignore`` accept."""

    name: str = ""
    slug: str = ""
    privacy_policy_url: str | None = None
    terms_of_service_url: str | None = None
    status_page_url: str | None = None
    headquarters: str | None = None
    datacenters: list[str] = attrs.field(factory=list)
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)


@response_model
@attrs.frozen(kw_only=True)
class ProviderList:
    """The providers, as a read-only list (``for p in providers``, ``providers[0]``, ``len``),
    with the HTTP ``response`` info."""

    data: list[Provider] = attrs.field(factory=list)
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)
    response: ResponseInfo | None = attrs.field(default=None, eq=False, repr=False)

    def by_slug(self, slug: str) -> Provider | None:
        return next((p for p in self.data if p.slug == slug), None)

    def __iter__(self) -> Iterator[Provider]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    @overload
    def __getitem__(self, index: int) -> Provider: ...
    @overload
    def __getitem__(self, index: slice) -> list[Provider]: ...
    def __getitem__(self, index: int | slice) -> Provider | list[Provider]:
        return self.data[index]

    def __bool__(self) -> bool:
        return bool(self.data)
