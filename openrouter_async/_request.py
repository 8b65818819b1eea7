"""Pure: settings + call options -> URL and headers. No I/O, no aiohttp.

The per-client part of the headers is computed once; a request only copies that dict and adds
what varies, so the hot path of a batch job does no validation it already did.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._config import ClientConfig, check_header
from ._errors import RequestValidationError

__all__ = ["RequestPreparer"]


class RequestPreparer:
    """Builds URLs and headers for one client configuration."""

    __slots__ = ("_base", "_base_url", "_json", "_stream")

    def __init__(self, config: ClientConfig) -> None:
        self._base_url = config.base_url
        self._base = dict(config.headers)
        self._json = {**self._base, "Content-Type": "application/json"}
        self._stream = {**self._json, "Accept": "text/event-stream"}

    def url(self, path: str) -> str:
        if not path.startswith("/"):
            raise RequestValidationError("must start with '/'", path="path")
        return self._base_url + path

    def headers(
        self,
        auth: str | None,
        *,
        json_body: bool,
        stream: bool = False,
        extra: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """The headers of one request; ``extra`` (per call) is checked for CR/LF."""
        headers = dict(self._stream if stream else self._json if json_body else self._base)
        if auth is not None:
            headers["Authorization"] = auth
        if extra:
            for name, value in extra.items():
                check_header(name, value, where="extra_headers")
                if name.lower() == "authorization":
                    raise RequestValidationError(
                        "the API key is set on the client, not per call",
                        path="extra_headers.Authorization",
                    )
                headers[name] = value
        return headers
