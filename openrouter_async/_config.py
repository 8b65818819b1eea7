"""Frozen client settings: timeouts, retry policy, pool limits, headers.

Everything here is a value object, checked once when the client is built, so the request path
never re-validates. The API key lives in a :class:`Secret` whose repr never shows it.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import attrs

from ._errors import MissingAPIKeyError, RequestValidationError

__all__ = [
    "DEFAULT_BASE_URL",
    "ClientConfig",
    "PoolLimits",
    "RetryPolicy",
    "Secret",
    "Timeouts",
    "check_header",
    "check_header_value",
    "resolve_proxy",
    "with_default_headers",
]

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
API_KEY_ENV = "OPENROUTER_API_KEY"
BASE_URL_ENV = "OPENROUTER_BASE_URL"
VERSION = "0.1.0"

_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


#: RFC 9110 field-value characters: visible ASCII, space, tab and obs-text; no other controls
#: (CR and LF would split the request; NUL, VT, FF, DEL make aiohttp raise a bare ValueError).
_BAD_VALUE_CHAR = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def check_header_value(name: str, value: str) -> str:
    """Reject header values that could split a request or that HTTP forbids (control
    characters such as CR, LF, NUL, VT, FF and DEL)."""
    if not isinstance(value, str):
        raise RequestValidationError(f"header value must be a string, got {type(value).__name__}")
    if _BAD_VALUE_CHAR.search(value):
        raise RequestValidationError(
            "header value contains a control character (CR, LF, NUL, DEL or similar)",
            path=f"headers.{_safe_name(name)}",
        )
    return value


def check_header(name: str, value: str, *, where: str = "headers") -> str:
    """Check a header name (an RFC 9110 token) and its value; returns the value."""
    if not isinstance(name, str) or not _HEADER_NAME.match(name):
        raise RequestValidationError("invalid header name", path=f"{where}.{_safe_name(name)}")
    return check_header_value(name, value)


def _safe_name(name: object) -> str:
    # A rejected name is echoed in the error; keep it printable and short.
    return repr(name)[:60] if not isinstance(name, str) or not _HEADER_NAME.match(name) else name


def _check_timeout(value: float | None, name: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RequestValidationError("must be a number of seconds or None", path=name)
    if not math.isfinite(value) or value <= 0:
        raise RequestValidationError("must be a positive, finite number of seconds", path=name)


@attrs.frozen(kw_only=True)
class Secret:
    """Holds the API key; its repr and str never reveal it."""

    _value: str = attrs.field(repr=False, alias="value")

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__


@attrs.frozen(kw_only=True)
class Timeouts:
    """Timeouts in seconds; ``None`` disables one.

    * ``connect``: establishing the TCP/TLS connection (from the pool).
    * ``read``: waiting for the next bytes of a non-streaming response.
    * ``total``: the whole call, retries and backoff included.
    * ``first_event``: a stream's wait for its first *data* event. Reasoning models can think for
      minutes while OpenRouter sends only keep-alive comments, so the default is generous.
    * ``idle``: a stream's wait between data events. Keep-alive comments do **not** reset it,
      so a stream that only sends comments still times out; pauses of several seconds between
      tokens are normal, so the default is minutes, not seconds.
    """

    connect: float | None = 10.0
    read: float | None = 600.0
    total: float | None = None
    first_event: float | None = 600.0
    idle: float | None = 300.0

    def __attrs_post_init__(self) -> None:
        for field in attrs.fields(Timeouts):
            _check_timeout(getattr(self, field.name), f"timeout.{field.name}")

    @classmethod
    def coerce(cls, value: Timeouts | float | None) -> Timeouts:
        """A number sets ``total``-free per-phase timeouts (connect, read, first_event, idle)."""
        if value is None:
            return cls()
        if isinstance(value, Timeouts):
            return value
        _check_timeout(value, "timeout")
        return cls(connect=value, read=value, first_event=value, idle=value)


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """When and how long to retry (see :mod:`openrouter_async._retry`).

    ``max_retry_after`` caps how long the SDK will sleep for a server's ``Retry-After``; a
    longer ask is raised at once (the error carries ``retry_after``) rather than slept through.
    ``retry_read_timeouts`` allows re-sending a non-streaming request whose response was being
    awaited when it timed out; off by default because every re-send is billed again.
    """

    max_retries: int = 2
    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 60.0
    retry_read_timeouts: bool = False

    def __attrs_post_init__(self) -> None:
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int):
            raise RequestValidationError("must be an integer", path="max_retries")
        if self.max_retries < 0:
            raise RequestValidationError("must be >= 0", path="max_retries")
        for name in ("initial_backoff", "max_backoff", "max_retry_after"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise RequestValidationError("must be a finite number >= 0", path=name)


@attrs.frozen(kw_only=True)
class PoolLimits:
    """Connection pool limits of the client-owned aiohttp connector (0 = unlimited)."""

    total: int = 100
    per_host: int = 0
    keepalive_timeout: float = 30.0

    def __attrs_post_init__(self) -> None:
        for name in ("total", "per_host"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise RequestValidationError("must be an integer >= 0", path=f"limits.{name}")
        _check_timeout(self.keepalive_timeout, "limits.keepalive_timeout")


def _user_agent() -> str:
    # sys only: importlib.metadata and platform would cost more import time than the rest.
    python = ".".join(str(part) for part in sys.version_info[:3])
    return f"openrouter-async/{VERSION} (Python {python}; {sys.platform})"


@attrs.frozen(kw_only=True)
class ClientConfig:
    """Everything a request needs from the client, checked once."""

    api_key: Secret | None = attrs.field(repr=False)
    base_url: str
    origin: str
    headers: Mapping[str, str]
    timeouts: Timeouts
    retry: RetryPolicy
    limits: PoolLimits
    #: A non-streaming body (decompressed) larger than this is refused with ProtocolError.
    #: Checked here, so ``attrs.evolve`` (``with_options``) checks it too.
    max_response_bytes: int = attrs.field(
        default=32 * 1024 * 1024, validator=lambda _i, _a, v: _check_size(v)
    )
    #: The forward proxy for the base URL, or None (see :func:`resolve_proxy`).
    proxy: str | None = attrs.field(default=None, repr=False)

    @classmethod
    def build(
        cls,
        *,
        api_key: str | None,
        base_url: str | None,
        app_url: str | None,
        app_title: str | None,
        app_categories: Sequence[str] | str | None,
        default_headers: Mapping[str, str] | None,
        timeout: Timeouts | float | None,
        retry: RetryPolicy,
        limits: PoolLimits,
        max_response_bytes: int = 32 * 1024 * 1024,
        proxy: str | None = None,
        trust_env: bool = True,
        environ: Mapping[str, str] | None = None,
    ) -> ClientConfig:
        _check_size(max_response_bytes)  # first: before the key or URL is even looked at
        env = os.environ if environ is None else environ
        key = api_key if api_key is not None else env.get(API_KEY_ENV) or None
        if key is not None:
            if not isinstance(key, str) or not key.strip():
                raise RequestValidationError("must be a non-empty string", path="api_key")
            if any(c in key for c in "\r\n\0"):
                raise RequestValidationError("contains CR, LF or NUL", path="api_key")
        url = (base_url or env.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")
        try:
            parts = urlsplit(url)
            port = parts.port  # raises for a port that is not a number or out of range
        except ValueError:
            parts, port = None, None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise RequestValidationError(
                "must be an absolute http(s) URL such as https://openrouter.ai/api/v1",
                path="base_url",
            )
        if "@" in parts.netloc:
            # Credentials in the URL would be shown by every repr and sent in the clear by
            # some proxies; the message must not echo them.
            raise RequestValidationError(
                "must not contain credentials (user:password@); the API key goes in api_key=",
                path="base_url",
            )
        if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
            raise RequestValidationError(
                "must not contain spaces or control characters", path="base_url"
            )
        del port
        headers: dict[str, str] = {
            "User-Agent": _user_agent(),
            "Accept": "application/json",
        }
        if app_url is not None:
            headers["HTTP-Referer"] = check_header_value("HTTP-Referer", app_url)
        if app_title is not None:
            check_header_value("X-OpenRouter-Title", app_title)
            headers["X-OpenRouter-Title"] = app_title
            headers["X-Title"] = app_title
        if app_categories is not None:
            cats = [app_categories] if isinstance(app_categories, str) else list(app_categories)
            headers["X-OpenRouter-Categories"] = check_header_value(
                "X-OpenRouter-Categories", ",".join(cats)
            )
        return cls(
            api_key=Secret(value=key) if key is not None else None,
            base_url=url,
            origin=f"{parts.scheme}://{parts.netloc}".lower(),
            headers=with_default_headers(headers, default_headers),
            timeouts=Timeouts.coerce(timeout),
            retry=retry,
            limits=limits,
            max_response_bytes=max_response_bytes,
            proxy=resolve_proxy(url, proxy, trust_env=trust_env, environ=env),
        )

    def auth_header(self) -> str:
        if self.api_key is None:
            raise MissingAPIKeyError(
                "No API key: pass api_key=... to OpenRouter() or set the "
                f"{API_KEY_ENV} environment variable"
            )
        return f"Bearer {self.api_key.get()}"


def with_default_headers(
    headers: Mapping[str, str], default_headers: Mapping[str, str] | None
) -> dict[str, str]:
    """``headers`` plus a caller's ``default_headers`` (which win), each name and value
    checked; the key cannot be set this way."""
    merged = dict(headers)
    for name, value in (default_headers or {}).items():
        check_header(name, value)
        if name.lower() == "authorization":
            raise RequestValidationError(
                "set the key with api_key=, not a default header", path="headers.Authorization"
            )
        merged[name] = value
    return merged


def _check_size(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise RequestValidationError("must be an integer >= 1", path="max_response_bytes")


def resolve_proxy(
    base_url: str, proxy: str | None, *, trust_env: bool, environ: Mapping[str, str]
) -> str | None:
    """The proxy to reach ``base_url`` through: ``proxy`` when given, else (with
    ``trust_env``) ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY`` for its scheme unless
    ``NO_PROXY`` names its host, as curl, httpx and the ``openai`` SDK do.

    Through a proxy an ``https`` base URL is tunnelled with CONNECT: the proxy sees the host
    name, never the API key. Over plain ``http`` the proxy sees everything, key included.
    """
    if proxy is not None:
        if not isinstance(proxy, str):
            raise RequestValidationError("must be a URL string or None", path="proxy")
        _check_proxy_url(proxy)
        return proxy
    if not trust_env:
        return None
    lowered = {k.lower(): v for k, v in environ.items() if isinstance(v, str)}
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if _no_proxy(host, parts.port, lowered.get("no_proxy", "")):
        return None
    found = lowered.get(f"{parts.scheme}_proxy") or lowered.get("all_proxy")
    if not found:
        return None
    if "://" not in found:
        found = "http://" + found  # curl and httpx read a bare host:port as http
    _check_proxy_url(found, source=f"{parts.scheme.upper()}_PROXY")
    return found


def _check_proxy_url(url: str, *, source: str = "proxy") -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a bad port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        # The value may hold proxy credentials: never echo it.
        raise RequestValidationError(
            "must be an http:// or https:// proxy URL such as http://proxy.example:3128",
            path=source,
        )


def _no_proxy(host: str, port: int | None, value: str) -> bool:
    host = host.lower().strip("[]")
    for entry in value.replace(" ", ",").split(","):
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        name, _, entry_port = entry.partition(":") if entry.count(":") == 1 else (entry, "", "")
        if entry_port and port is not None and entry_port != str(port):
            continue
        name = name.lstrip(".").strip("[]")
        if host == name or host.endswith("." + name):
            return True
    return False


def merge_timeouts(base: Timeouts, override: Timeouts | float | Any | None) -> Timeouts:
    """Per-call timeout override: a Timeouts replaces, a number sets every phase."""
    if override is None:
        return base
    return Timeouts.coerce(override)
