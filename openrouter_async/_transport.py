"""The only module that imports aiohttp: session, connector, sending, error translation.

aiohttp and asyncio exceptions become SDK exceptions here and nowhere else, most specific
first, always ``raise ... from exc``. Redirects are followed by hand and only within the
configured origin, so the ``Authorization`` header can never travel to another host.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl as ssl_module
import time
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import urljoin, urlsplit

import aiohttp

from ._config import ClientConfig, Timeouts
from ._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    ClientClosedError,
    FailurePoint,
    ProtocolError,
)
from ._http import Response

__all__ = [
    "MAX_ERROR_BODY",
    "HTTPResponse",
    "Transport",
    "read_body",
    "read_error_body",
    "translate_exception",
]

logger = logging.getLogger("openrouter_async")

#: An error body is read only up to this many bytes; the rest is discarded with the connection.
MAX_ERROR_BODY = 64 * 1024
_MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

_ConnectionTimeout: type[BaseException] = getattr(
    aiohttp, "ConnectionTimeoutError", aiohttp.ServerTimeoutError
)
_SocketTimeout: type[BaseException] = getattr(
    aiohttp, "SocketTimeoutError", aiohttp.ServerTimeoutError
)


def translate_exception(exc: BaseException, *, phase: str = "body") -> APIError:
    """Map an aiohttp/asyncio/OS error to the SDK's tree (callers ``raise ... from exc``).

    ``phase`` is ``"send"`` while waiting for the status line and ``"body"`` after it. It
    decides ``failure_point``: a connect failure was ``not_sent``; a failure after the request
    was written but before any response byte is ``possibly_served``; anything after the
    status line is ``served``.
    """
    if isinstance(exc, APIError):
        return exc
    if isinstance(exc, _ConnectionTimeout):
        # aiohttp's ``connect`` timeout covers the wait for a pooled connection too.
        return APITimeoutError(
            "Timed out connecting to the server (or waiting for a pooled connection)",
            kind="connect",
            failure_point="not_sent",
        )
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return APIConnectionError(
            f"TLS certificate verification failed: {exc.certificate_error}",
            failure_point="not_sent",
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        return APIConnectionError(
            f"Could not connect to {exc.host}:{exc.port}: {exc.strerror}",
            failure_point="not_sent",
        )
    sent: FailurePoint = "possibly_served" if phase == "send" else "served"
    if isinstance(exc, (_SocketTimeout, aiohttp.ServerTimeoutError, asyncio.TimeoutError)):
        waited = "the response to begin" if phase == "send" else "the rest of the response"
        return APITimeoutError(
            f"Timed out waiting for {waited} (read)", kind="read", failure_point=sent
        )
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return APIConnectionError("Server disconnected", failure_point=sent)
    if isinstance(exc, aiohttp.ClientPayloadError):
        return APIConnectionError(
            f"Connection broke while reading the response: {exc}", failure_point="served"
        )
    if isinstance(exc, aiohttp.ClientResponseError):
        # A status line or headers we cannot parse: the server did answer, badly.
        return ProtocolError(f"Invalid HTTP response: {exc.message}")
    if isinstance(exc, (aiohttp.ClientError, OSError)):
        return APIConnectionError(
            f"Connection error: {type(exc).__name__}: {exc}", failure_point=sent
        )
    return APIConnectionError(
        f"Unexpected transport failure: {type(exc).__name__}: {exc}", failure_point=sent
    )


class HTTPResponse:
    """aiohttp's response as the SDK's :class:`~openrouter_async._http.Response`.

    The reading methods are aiohttp's own bound methods stored as attributes, so the stream's
    per-chunk read costs nothing over calling aiohttp directly.
    """

    __slots__ = (
        "at_eof",
        "close",
        "content_type",
        "headers",
        "read",
        "read_chunk",
        "release",
        "status",
    )

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        content = response.content
        self.status = response.status
        self.headers: Mapping[str, str] = response.headers
        self.content_type = response.content_type if "Content-Type" in response.headers else ""
        self.read_chunk: Callable[[], Awaitable[bytes]] = content.readany
        self.read: Callable[[int], Awaitable[bytes]] = content.read
        self.at_eof: Callable[[], bool] = content.at_eof
        self.release: Callable[[], None] = response.release
        self.close: Callable[[], None] = response.close


class Transport:
    """Owns (or borrows) one aiohttp ``ClientSession`` and sends requests through it."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        session: aiohttp.ClientSession | None = None,
        ssl: ssl_module.SSLContext | bool = True,
    ) -> None:
        self._config = config
        self._ssl = ssl
        self._owns_session = session is None
        self._session = session
        self._loop: asyncio.AbstractEventLoop | None = None
        self._proxy = config.proxy
        if ssl is True and (os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR")):
            # aiohttp's verified context is made once, at its import; a CA bundle named in
            # the environment (corporate proxies, private CAs) must be read now.
            self._ssl = ssl_module.create_default_context()
        self._timeouts: dict[tuple[Timeouts, bool], aiohttp.ClientTimeout] = {}
        self._last_timeout: tuple[Timeouts | None, bool | None, aiohttp.ClientTimeout | None] = (
            None,
            None,
            None,
        )

    def _timeout_for(self, timeouts: Timeouts, stream: bool) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get((timeouts, stream))
        if timeout is None:
            timeout = self._timeouts[(timeouts, stream)] = aiohttp.ClientTimeout(
                total=None,
                # ``connect`` bounds the wait for a pooled connection as well as the TCP/TLS
                # set-up; without it a full pool would make a request wait forever.
                connect=timeouts.connect,
                sock_connect=timeouts.connect,
                sock_read=None if stream else timeouts.read,
            )
        self._last_timeout = (timeouts, stream, timeout)
        return timeout

    @property
    def session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            if self._loop is not None and self._owns_session and self._session is not None:
                raise ClientClosedError(
                    "This OpenRouter client was opened in another event loop (an earlier "
                    "asyncio.run()?); its connections belong to that loop. Create one client "
                    "per event loop."
                )
            self._loop = loop
        if self._session is None:
            limits = self._config.limits
            connector = aiohttp.TCPConnector(
                limit=limits.total,
                limit_per_host=limits.per_host,
                keepalive_timeout=limits.keepalive_timeout,
                ssl=self._ssl,
            )
            # The JSON body is encoded by us; aiohttp must not add cookies across requests.
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=True,
            )
        return self._session

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            await session.close()

    def close_now(self) -> bool:
        """Synchronous best-effort close for a client dropped without ``aclose()``."""
        session, self._session = self._session, None
        if session is None or not self._owns_session or session.closed:
            return False
        connector = session.connector
        if connector is not None and not connector.closed:
            # The private sync half of close() drops every pooled socket without awaiting;
            # the public close() schedules a task, which a finalizer must not do.
            connector._close()
        return True

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None,
        params: Mapping[str, str] | None,
        timeouts: Timeouts,
        stream: bool,
    ) -> HTTPResponse:
        """Send one request and return the response with its status line and headers read.

        Raises ``APIStatusError`` (body read up to ``MAX_ERROR_BODY``) for status >= 400,
        and translated transport errors. The caller owns the returned response.
        """
        last = self._last_timeout
        if last[0] is timeouts and last[1] is stream:
            timeout = last[2]  # hashing the frozen Timeouts per request measured as a cost
        else:
            timeout = self._timeout_for(timeouts, stream)
        session = self.session
        started = time.monotonic()
        for _hop in range(_MAX_REDIRECTS + 1):
            try:
                response = await session.request(
                    method,
                    url,
                    headers=headers,
                    data=body,
                    params=params,
                    timeout=timeout,
                    allow_redirects=False,
                    # A caller's session may raise on >= 400 by default; we need the status.
                    raise_for_status=False,
                    ssl=self._ssl,
                    proxy=self._proxy,
                )
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
                raise translate_exception(exc, phase="send") from exc
            status = response.status
            if status in _REDIRECTS:
                location = response.headers.get("Location")
                response.close()
                url, method, body = self._follow(url, location, status, method, body)
                continue
            if logger.isEnabledFor(logging.DEBUG):
                elapsed = time.monotonic() - started
                logger.debug("%s %s -> %d in %.3fs", method, _safe_url(url), status, elapsed)
            if status >= 400:
                raise await self.status_error(response)
            return HTTPResponse(response)
        raise ProtocolError(f"More than {_MAX_REDIRECTS} redirects")

    def _follow(
        self, url: str, location: str | None, status: int, method: str, body: bytes | None
    ) -> tuple[str, str, bytes | None]:
        if not location:
            raise ProtocolError(f"Redirect {status} without a Location header")
        target = urljoin(url, location)
        parts = urlsplit(target)
        if f"{parts.scheme}://{parts.netloc}".lower() != self._config.origin:
            # Never carry the API key to another origin.
            raise APIStatusError(
                f"Refusing to follow a redirect to another origin ({parts.scheme}://{parts.netloc})",
                status_code=status,
            )
        if status == 303 or (status in (301, 302) and method == "POST"):
            return target, "GET", None
        return target, method, body

    async def status_error(self, response: aiohttp.ClientResponse) -> APIStatusError:
        """Read at most ``MAX_ERROR_BODY`` bytes of an error body, close, build the error."""
        # Imported here: the error-body parser (and the html module it uses) is ~0.5 MB that a
        # process whose requests all succeed never needs.
        from ._error_body import status_error_from_body

        headers = dict(response.headers)
        try:
            raw = await read_error_body(HTTPResponse(response))
        finally:
            response.close()
        return status_error_from_body(
            response.status, raw, headers, content_type=response.content_type
        )


async def read_error_body(response: Response) -> bytes:
    """At most ``MAX_ERROR_BODY`` bytes of a body that is only evidence of an error; a
    transport failure while reading just ends the evidence. The caller closes the response."""
    chunks: list[bytes] = []
    size = 0
    try:
        while size < MAX_ERROR_BODY:
            chunk = await response.read(MAX_ERROR_BODY - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except (aiohttp.ClientError, OSError, asyncio.TimeoutError):
        pass
    return b"".join(chunks)


async def read_body(response: Response, limit: int) -> bytes:
    """The whole (decompressed) body, or ``ProtocolError`` past ``limit`` bytes.

    Read in pieces and counted as it arrives, so a 300 MB body or a gzip bomb costs at most
    ``limit`` plus one piece of memory, never the whole thing. The caller closes the response.
    """
    read = response.read
    at_eof = response.at_eof
    body = b""
    chunks: list[bytes] | None = None  # only for a body that arrives in several pieces
    size = 0
    while True:
        try:
            chunk = await read(1 << 20)
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
            raise translate_exception(exc, phase="body") from exc
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise ProtocolError(
                f"The response body exceeded the limit of {limit} bytes "
                "(OpenRouter(max_response_bytes=...))"
            )
        if not body:
            body = chunk
        elif chunks is None:
            chunks = [body, chunk]
        else:
            chunks.append(chunk)
        if at_eof():  # the usual short body: no second read just to be told it ended
            break
    return body if chunks is None else b"".join(chunks)


def _safe_url(url: str) -> str:
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"
