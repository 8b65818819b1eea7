"""``OpenRouter``: the session manager. Lifecycle, the request pipeline, and the resources.

The lifecycle is an explicit state machine (unopened -> open -> closed): reuse after close
raises ``ClientClosedError``, ``aclose()`` is idempotent, a session passed in by the caller is
never closed by us, and a client dropped while open warns with a ``ResourceWarning`` and drops
its pooled sockets.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import logging
import ssl as ssl_module
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import attrs
import orjson

from ._config import (
    ClientConfig,
    PoolLimits,
    RetryPolicy,
    Timeouts,
    merge_timeouts,
    with_default_headers,
)
from ._deadline import DeadlineScope
from ._errors import (
    APIError,
    APITimeoutError,
    ClientClosedError,
    ProtocolError,
    RequestValidationError,
)
from ._hooks import CallInfo, Hook, Hooks
from ._http import Response, generation_id
from ._json import exact_bytes
from ._request import RequestPreparer
from ._retry import Retrier
from ._transport import Transport, read_body

if TYPE_CHECKING:
    import aiohttp

    from ._batch import Batch
    from ._resources.account import CreditsResource, KeyResource
    from ._resources.chat import Chat
    from ._resources.completions import Completions
    from ._resources.embeddings import Embeddings
    from ._resources.generations import Generations
    from ._resources.models import Models
    from ._resources.providers import Providers
    from ._streaming import Stream
    from .types.responses import ResponseInfo

__all__ = ["ClientState", "OpenRouter"]

S = TypeVar("S", bound="Stream[Any]")
T = TypeVar("T")

logger = logging.getLogger("openrouter_async")


class ClientState(enum.Enum):
    UNOPENED = "unopened"
    OPEN = "open"
    CLOSED = "closed"


class OpenRouter:
    """Async client for the OpenRouter API.

    ``async with OpenRouter() as client:`` (key from ``OPENROUTER_API_KEY``, base URL from
    ``OPENROUTER_BASE_URL`` or ``https://openrouter.ai/api/v1``), or create it and
    ``await client.aclose()`` when done.

    ``timeout`` is a :class:`Timeouts` or a number of seconds for every phase;
    ``max_retries``/``retry`` set the retry policy; ``limits`` the connection pool of the
    session the client creates. Pass ``session=`` to use your own ``aiohttp.ClientSession``
    (the client then never closes it). ``proxy`` names a forward proxy; without one,
    ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY`` and ``NO_PROXY`` are honoured unless
    ``trust_env=False``. TLS is verified (``ssl=True``), against ``SSL_CERT_FILE`` /
    ``SSL_CERT_DIR`` when set, or an ``ssl.SSLContext`` of yours.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        app_url: str | None = None,
        app_title: str | None = None,
        app_categories: Sequence[str] | str | None = None,
        default_headers: Mapping[str, str] | None = None,
        timeout: Timeouts | float | None = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        limits: PoolLimits | None = None,
        session: aiohttp.ClientSession | None = None,
        ssl: ssl_module.SSLContext | bool = True,
        max_response_bytes: int = 32 * 1024 * 1024,
        proxy: str | None = None,
        trust_env: bool = True,
        hooks: Sequence[Hook] = (),
    ) -> None:
        self._state = ClientState.UNOPENED
        self._hooks = Hooks(hooks)
        policy = retry or RetryPolicy()
        if max_retries is not None:
            policy = attrs.evolve(policy, max_retries=max_retries)
        self._config = ClientConfig.build(
            api_key=api_key,
            base_url=base_url,
            app_url=app_url,
            app_title=app_title,
            app_categories=app_categories,
            default_headers=default_headers,
            timeout=timeout,
            retry=policy,
            limits=limits or PoolLimits(),
            max_response_bytes=max_response_bytes,
            proxy=proxy,
            trust_env=trust_env,
        )
        self._transport = Transport(self._config, session=session, ssl=ssl)
        self._parent: OpenRouter | None = None
        self._prep = RequestPreparer(self._config)
        self._json_headers: dict[str, str] | None = None
        self._policies: dict[int, RetryPolicy] = {}

    def with_options(
        self,
        *,
        timeout: Timeouts | float | None = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        default_headers: Mapping[str, str] | None = None,
        max_response_bytes: int | None = None,
    ) -> OpenRouter:
        """A client with other defaults that shares this one's connection pool.

        ``client.with_options(timeout=5, max_retries=0).chat.completions.create(...)``. The
        new client lives as long as this one: closing it only marks it closed, and closing
        this one closes both. ``default_headers`` are added to (and override) this client's.
        """
        config = self._config
        policy = retry or config.retry
        if max_retries is not None:
            policy = attrs.evolve(policy, max_retries=max_retries)
        size = config.max_response_bytes if max_response_bytes is None else max_response_bytes
        derived = object.__new__(OpenRouter)
        derived._config = attrs.evolve(
            config,
            timeouts=merge_timeouts(config.timeouts, timeout),
            retry=policy,
            headers=with_default_headers(config.headers, default_headers),
            max_response_bytes=size,
        )
        derived._transport = self._transport
        derived._hooks = self._hooks  # the same object: a hook added later sees both
        derived._parent = self._parent or self
        derived._state = ClientState.UNOPENED
        derived._prep = RequestPreparer(derived._config)
        derived._json_headers = None
        derived._policies = {}
        return derived

    # -- resources (imported on first use: `import openrouter_async` stays light) ----------

    @functools.cached_property
    def chat(self) -> Chat:
        from ._resources.chat import Chat

        return Chat(self)

    @functools.cached_property
    def generations(self) -> Generations:
        from ._resources.generations import Generations

        return Generations(self)

    @functools.cached_property
    def models(self) -> Models:
        from ._resources.models import Models

        return Models(self)

    @functools.cached_property
    def providers(self) -> Providers:
        from ._resources.providers import Providers

        return Providers(self)

    @functools.cached_property
    def credits(self) -> CreditsResource:
        from ._resources.account import CreditsResource

        return CreditsResource(self)

    @functools.cached_property
    def key(self) -> KeyResource:
        from ._resources.account import KeyResource

        return KeyResource(self)

    @functools.cached_property
    def embeddings(self) -> Embeddings:
        from ._resources.embeddings import Embeddings

        return Embeddings(self)

    @functools.cached_property
    def completions(self) -> Completions:
        from ._resources.completions import Completions

        return Completions(self)

    def batch(self, requests: Any, /, **options: Any) -> Batch:
        """Run many chat requests concurrently; see :class:`openrouter_async.Batch`."""
        from ._batch import Batch

        return Batch(self, requests, **options)

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def state(self) -> ClientState:
        return self._state

    @property
    def base_url(self) -> str:
        return self._config.base_url

    @property
    def config(self) -> ClientConfig:
        return self._config

    def __repr__(self) -> str:
        return f"OpenRouter(base_url={self._config.base_url!r}, state={self._state.value})"

    async def __aenter__(self) -> OpenRouter:
        self._ensure_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (idempotent; a caller's session is left open).

        A client made by :meth:`with_options` only marks itself closed: the pool is its
        parent's."""
        if self._state is ClientState.CLOSED:
            return
        self._state = ClientState.CLOSED
        if self._parent is None:
            await self._transport.aclose()

    def __del__(self) -> None:
        state = getattr(self, "_state", ClientState.CLOSED)
        if state is ClientState.CLOSED or not hasattr(self, "_transport"):
            return  # closed, or the constructor raised before there was anything to close
        if getattr(self, "_parent", None) is not None:
            return  # the pool is the parent's to close
        dropped = self._transport.close_now()
        if state is ClientState.OPEN or dropped:
            warnings.warn(
                "OpenRouter client was garbage collected without `await client.aclose()` "
                "(or `async with`)",
                ResourceWarning,
                stacklevel=2,
                source=self,
            )

    def _ensure_open(self) -> None:
        if self._state is ClientState.CLOSED:
            raise ClientClosedError("This OpenRouter client is closed; create a new one")
        parent = self._parent
        if parent is not None:
            parent._ensure_open()
        self._state = ClientState.OPEN

    # -- request pipeline ------------------------------------------------------------------

    def _deadline(self, timeouts: Timeouts) -> float | None:
        return time.monotonic() + timeouts.total if timeouts.total is not None else None

    async def _request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        params: Mapping[str, str] | None = None,
        timeout: Timeouts | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        max_retries: int | None = None,
        extra_query: Mapping[str, str] | None = None,
        public: bool = False,
    ) -> tuple[Any, ResponseInfo]:
        """Send a non-streaming request with retries; return the parsed JSON and its info.

        ``timeout``, ``max_retries``, ``extra_headers`` and ``extra_query`` are the per-call
        options every resource method takes; this and :meth:`_open_stream` are the only
        places that resolve them against the client's settings."""
        self._ensure_open()
        config = self._config
        if extra_query:
            params = _merge_query(params, extra_query)
        if extra_headers is None and body is not None:
            headers = self._json_headers or self._cache_json_headers()
        else:
            # A public endpoint (the model and provider lists) is asked without a key when the
            # client has none, rather than refused; every other call needs one.
            auth = None if public and config.api_key is None else config.auth_header()
            headers = self._prep.headers(auth, json_body=body is not None, extra=extra_headers)
        url = self._prep.url(path)
        timeouts = config.timeouts if timeout is None else merge_timeouts(config.timeouts, timeout)
        deadline = self._deadline(timeouts)
        policy = config.retry if max_retries is None else self._retry_policy(max_retries)

        hooks = self._hooks
        call = None
        if hooks:
            call = CallInfo(method, path, body, streamed=False)
            hooks.emit("request", call)
        try:
            # The first attempt runs inline; only a failure pays for the retry engine (one
            # object, one loop, one closure): every await level here is paid again at each
            # suspension of a request.
            try:
                if deadline is None:
                    data, info = await self._exchange(
                        method, url, path, headers, body, params, timeouts
                    )
                else:
                    data, info = await self._bounded_exchange(
                        deadline, method, url, path, headers, body, params, timeouts
                    )
            except APIError as error:
                if policy.max_retries == 0:
                    raise
                exchange = (method, url, path, headers, body, params, timeouts)
                data, info = await self._retry(error, policy, deadline, exchange, call)
        except BaseException as exc:
            if call is not None:
                hooks.emit("error", call, error=exc)
            raise
        if call is not None:
            hooks.emit("response", call, status=info.status_code, headers=info.headers, body=data)
        return data, info

    async def _retry(
        self,
        first: APIError,
        policy: RetryPolicy,
        deadline: float | None,
        exchange: tuple[Any, ...],
        call: CallInfo | None,
    ) -> tuple[Any, ResponseInfo]:
        """The attempts after a failed first one, through the retry engine."""

        async def attempt() -> tuple[Any, ResponseInfo]:
            if deadline is None:
                return await self._exchange(*exchange)
            return await self._bounded_exchange(deadline, *exchange)

        on_retry = None
        if call is not None:
            hooks = self._hooks

            def on_retry(error: APIError, wait: float) -> None:
                call.attempts += 1
                hooks.emit("retry", call, error=error, wait=wait)

        method, _url, path = exchange[:3]
        retrier = Retrier(policy, deadline=deadline, describe=f"{method} {path}", on_retry=on_retry)
        return await retrier.run(attempt, failed=first)

    def add_hook(self, hook: Hook) -> None:
        """Call ``hook(event)`` at every step of every call (see :mod:`openrouter_async._hooks`;
        ``OpenRouter(hooks=[...])`` does the same at construction)."""
        self._hooks.add(hook)

    def remove_hook(self, hook: Hook) -> None:
        self._hooks.remove(hook)

    def _cache_json_headers(self) -> dict[str, str]:
        # Shared by every request without per-call headers: aiohttp copies, never mutates it.
        headers = self._prep.headers(self._config.auth_header(), json_body=True)
        self._json_headers = headers
        return headers

    async def _bounded_exchange(
        self, deadline: float, method: str, url: str, path: str, *args: Any
    ) -> tuple[Any, ResponseInfo]:
        with DeadlineScope(_loop_deadline(deadline)):
            return await self._exchange(method, url, path, *args)
        raise APITimeoutError(f"{method} {path} exceeded its total deadline", kind="total")

    async def _exchange(
        self,
        method: str,
        url: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes | None,
        params: Mapping[str, str] | None,
        timeouts: Timeouts,
    ) -> tuple[Any, ResponseInfo]:
        """One attempt: send, read the whole body, return it parsed with its info."""
        started = time.monotonic()
        response = await self._transport.send(
            method, url, headers=headers, body=body, params=params, timeouts=timeouts, stream=False
        )
        try:
            raw = await read_body(response, self._config.max_response_bytes)
        except BaseException:
            response.close()
            raise
        response.release()
        response_headers = response.headers
        info = _response_info()(
            status_code=response.status,
            headers=response_headers,
            elapsed=time.monotonic() - started,
            generation_id=generation_id(response_headers),
        )
        data = _parse_json(raw, path)
        if data.__class__ is dict and data.get("error") is not None:
            # An error envelope (even under a 200) is raised inside the attempt, so the retry
            # engine judges the code it declares; callers still check for it themselves.
            from ._error_body import error_from_payload

            error = error_from_payload(info.status_code, data, info.headers)
            if error.generation_id is None:
                error.generation_id = info.generation_id
            raise error
        return data, info

    def _open_stream(
        self,
        stream_cls: type[S],
        path: str,
        body: bytes,
        *,
        kind: Literal["chat", "completion"],
        timeout: Timeouts | float | None,
        extra_headers: Mapping[str, str] | None,
        accumulate: bool = True,
        max_retries: int | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> S:
        """Build a (not yet sent) stream of ``stream_cls`` for a POST of ``body`` to ``path``.

        Everything that can fail without the network (closed client, missing key, bad
        headers) fails here, before the caller gets a stream.
        """
        self._ensure_open()
        config = self._config
        headers = self._prep.headers(
            config.auth_header(), json_body=True, stream=True, extra=extra_headers
        )
        url = self._prep.url(path)
        timeouts = merge_timeouts(config.timeouts, timeout)
        params = _merge_query(None, extra_query) if extra_query else None
        body = exact_bytes(body)  # the stream keeps it for a re-send
        transport = self._transport

        async def send() -> Response:
            self._ensure_open()
            return await transport.send(
                "POST",
                url,
                headers=headers,
                body=body,
                params=params,
                timeouts=timeouts,
                stream=True,
            )

        stream = stream_cls(
            send,
            timeouts=timeouts,
            retry=self._retry_policy(max_retries),
            deadline=self._deadline(timeouts),
            kind=kind,
            describe=f"POST {path} (stream)",
            accumulate=accumulate,
        )
        if self._hooks:
            stream._hooks = self._hooks
            stream._call = CallInfo("POST", path, body, streamed=True)
        return stream

    def _retry_policy(self, max_retries: int | None) -> RetryPolicy:
        policy = self._config.retry
        if max_retries is None or max_retries == policy.max_retries:
            return policy
        # Cached: a batch asks for the same override on every item.
        cached = self._policies.get(max_retries)
        if cached is None:
            cached = self._policies[max_retries] = attrs.evolve(policy, max_retries=max_retries)
        return cached


def _merge_query(params: Mapping[str, str] | None, extra: Mapping[str, str]) -> dict[str, str]:
    merged = dict(params or {})
    for name, value in extra.items():
        if not isinstance(name, str) or not isinstance(value, (str, int, float)):
            raise RequestValidationError(
                "query parameters must map strings to strings or numbers",
                path=f"extra_query.{name!r}"[:80],
            )
        merged[name] = str(value)
    return merged


def _loop_deadline(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    loop = asyncio.get_running_loop()
    return loop.time() + (deadline - time.monotonic())


@functools.cache
def _response_info() -> Callable[..., ResponseInfo]:
    # Loaded on first use, not at import: the response models pull in the converter.
    from .types.responses import new_response_info

    return new_response_info


def _parse_json(raw: bytes, path: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        preview = raw[:200].decode("utf-8", errors="replace")
        raise ProtocolError(
            f"The response to {path} is not JSON ({len(raw)} bytes): {preview!r}"
        ) from exc
