"""``GET /credits`` and ``GET /key``: the account's balance and the calling key's limits.

Amounts are USD credits. Everything may be absent or ``null`` (``limit`` is ``null`` for a key
without a credit limit); unknown keys land in ``extra``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .._convert import NO_EXTRA, response_model
from .responses import ResponseInfo

__all__ = ["Credits", "KeyInfo"]


@response_model
@attrs.frozen(kw_only=True)
class Credits:
    """Credits bought and used by the account (needs a management key)."""

    total_credits: float = 0.0
    total_usage: float = 0.0
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)
    response: ResponseInfo | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def remaining(self) -> float:
        """``total_credits - total_usage`` (can be negative when the account is overdrawn)."""
        return self.total_credits - self.total_usage


@response_model
@attrs.frozen(kw_only=True)
class KeyInfo:
    """The calling key: its label, credit limit and usage (``rate_limit`` is legacy)."""

    label: str | None = None
    limit: float | None = None
    limit_remaining: float | None = None
    limit_reset: str | None = None
    include_byok_in_limit: bool | None = None
    usage: float | None = None
    usage_daily: float | None = None
    usage_weekly: float | None = None
    usage_monthly: float | None = None
    byok_usage: float | None = None
    byok_usage_daily: float | None = None
    byok_usage_weekly: float | None = None
    byok_usage_monthly: float | None = None
    is_free_tier: bool | None = None
    is_management_key: bool | None = None
    is_provisioning_key: bool | None = None
    creator_user_id: str | None = None
    expires_at: str | None = None
    rate_limit: Any = attrs.field(default=None, repr=False)
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)
    response: ResponseInfo | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def unlimited(self) -> bool:
        """True when the key has no credit limit."""
        return self.limit is None
