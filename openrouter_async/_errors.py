"""Every exception the SDK raises, in one tree with one root.

::

    OpenRouterError
    ├── ClientClosedError                  the client was used after aclose()
    ├── MissingAPIKeyError                 no key given and OPENROUTER_API_KEY unset
    ├── RequestValidationError (ValueError) bad request input, caught before anything is sent
    ├── APIError                           anything that came from (or failed to reach) the server
    │   ├── APIConnectionError             DNS, refused, reset, TLS, server disconnected
    │   │   └── APITimeoutError (TimeoutError)  connect / read / idle / total deadline
    │   ├── APIStatusError                 the server answered with an error (status, or 200 body)
    │   │   ├── BadRequestError                400
    │   │   ├── AuthenticationError            401
    │   │   ├── PaymentRequiredError           402
    │   │   ├── PermissionDeniedError          403
    │   │   ├── NotFoundError                  404
    │   │   ├── RequestTimeoutError            408
    │   │   ├── ConflictError                  409
    │   │   ├── PayloadTooLargeError           413
    │   │   ├── UnprocessableEntityError       422
    │   │   ├── RateLimitError                 429
    │   │   └── InternalServerError            5xx
    │   │       ├── BadGatewayError                502
    │   │       ├── ServiceUnavailableError        503
    │   │       ├── GatewayTimeoutError            504
    │   │       ├── EdgeTimeoutError               524
    │   │       └── ProviderOverloadedError        529
    │   ├── StreamError                    an error chunk arrived after the stream began (HTTP 200)
    │   ├── ProtocolError                  the server sent bytes we cannot read as the protocol says
    │   │   └── IncompleteStreamError      the body ended without [DONE] and without a finish reason
    │   └── ResponseValidationError        a response did not match what the API documents
    └── StructuredOutputError (ValueError)  model output did not match the requested schema

Status codes without their own class map to the nearest parent: other 4xx → ``APIStatusError``,
other 5xx → ``InternalServerError``. Every error that follows a request carries the
``generation_id`` when the server sent one, and never the API key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .types.responses import ChatCompletion

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadGatewayError",
    "BadRequestError",
    "ClientClosedError",
    "ConflictError",
    "EdgeTimeoutError",
    "GatewayTimeoutError",
    "IncompleteStreamError",
    "InternalServerError",
    "MissingAPIKeyError",
    "NotFoundError",
    "OpenRouterError",
    "PayloadTooLargeError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "ProtocolError",
    "ProviderOverloadedError",
    "RateLimitError",
    "RequestTimeoutError",
    "RequestValidationError",
    "ResponseValidationError",
    "ServiceUnavailableError",
    "StreamError",
    "StructuredOutputError",
    "UnprocessableEntityError",
    "status_error_class",
]

#: Status-like codes whose failure is transient: a retry (or a new request) may succeed.
RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 524, 529})


class OpenRouterError(Exception):
    """Root of every exception raised by openrouter_async."""


class ClientClosedError(OpenRouterError, RuntimeError):
    """The client (or a stream) was used after it was closed."""


class MissingAPIKeyError(OpenRouterError):
    """No API key was given and the ``OPENROUTER_API_KEY`` environment variable is unset."""


class RequestValidationError(OpenRouterError, ValueError):
    """Request input failed validation before anything was sent.

    ``path`` names the offending field (``"messages[2].tool_call_id"``, ``"temperature"``).
    """

    def __init__(self, message: str, *, path: str = "") -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


class StructuredOutputError(OpenRouterError, ValueError):
    """The model's output did not match the requested response format; ``raw`` is its text."""

    def __init__(self, message: str, *, raw: str | None) -> None:
        self.message = message
        self.raw = raw
        super().__init__(message)


class APIError(OpenRouterError):
    """An error that came from the server, or from failing to reach it."""

    message: str
    generation_id: str | None

    def __init__(self, message: str, *, generation_id: str | None = None) -> None:
        self.message = message
        self.generation_id = generation_id
        super().__init__(message)

    @property
    def retryable(self) -> bool:
        """Whether sending the same request again may succeed."""
        return False


class APIConnectionError(APIError):
    """The request could not reach the server, or the connection broke."""

    @property
    def retryable(self) -> bool:
        return True


class APITimeoutError(APIConnectionError, TimeoutError):
    """A connect, read, idle or total deadline passed.

    ``kind`` says which ("connect", "read", "first_event", "idle", "total"). ``partial`` holds
    what a stream had produced before the deadline, when it had begun.
    """

    def __init__(
        self,
        message: str = "Request timed out",
        *,
        kind: str = "total",
        generation_id: str | None = None,
        partial: ChatCompletion | None = None,
    ) -> None:
        super().__init__(message, generation_id=generation_id)
        self.kind = kind
        self.partial = partial


class APIStatusError(APIError):
    """The server answered with an error.

    ``status_code`` is the HTTP status (200 when the error came inside a successful response);
    ``code`` is OpenRouter's ``error.code`` (usually the same number, sometimes a string).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: int | str | None = None,
        metadata: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        retry_after: float | None = None,
        generation_id: str | None = None,
        user_id: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message, generation_id=generation_id)
        self.status_code = status_code
        self.code = code if code is not None else status_code
        self.metadata: Mapping[str, Any] = metadata or {}
        self.headers: Mapping[str, str] = headers or {}
        self.retry_after = retry_after
        self.user_id = user_id
        self.body = body

    def __str__(self) -> str:
        return f"{self.status_code} {self.message}"

    @property
    def error_type(self) -> str | None:
        value = self.metadata.get("error_type")
        return value if isinstance(value, str) else None

    @property
    def provider_name(self) -> str | None:
        value = self.metadata.get("provider_name")
        return value if isinstance(value, str) else None

    @property
    def availability(self) -> Mapping[str, Any] | None:
        value = self.metadata.get("availability")
        return value if isinstance(value, Mapping) else None

    @property
    def retryable(self) -> bool:
        availability = self.availability
        if availability is not None and isinstance(availability.get("retryable"), bool):
            return bool(availability["retryable"])
        return _effective_code(self) in RETRYABLE_STATUS


def _effective_code(error: APIStatusError) -> int:
    if isinstance(error.code, int) and 100 <= error.code <= 599:
        return error.code
    return error.status_code


class BadRequestError(APIStatusError):
    """400: invalid parameters, context length exceeded, content policy."""


class AuthenticationError(APIStatusError):
    """401: missing, invalid or disabled key."""


class PaymentRequiredError(APIStatusError):
    """402: insufficient credits."""


class PermissionDeniedError(APIStatusError):
    """403: management key required, moderation or guardrail block, region restriction."""


class NotFoundError(APIStatusError):
    """404: model or resource not found, or no endpoints left after filtering."""


class RequestTimeoutError(APIStatusError):
    """408: the server timed out waiting."""


class ConflictError(APIStatusError):
    """409: conflicting concurrent request."""


class PayloadTooLargeError(APIStatusError):
    """413: request body too large."""


class UnprocessableEntityError(APIStatusError):
    """422: semantically invalid request."""


class RateLimitError(APIStatusError):
    """429: rate limited by OpenRouter or by the provider; see ``retry_after``."""


class InternalServerError(APIStatusError):
    """5xx: a server-side failure."""


class BadGatewayError(InternalServerError):
    """502: the provider is down or returned an invalid response."""


class ServiceUnavailableError(InternalServerError):
    """503: no provider meets the routing requirements, or it is overloaded."""


class GatewayTimeoutError(InternalServerError):
    """504: the provider did not answer in time."""


class EdgeTimeoutError(InternalServerError):
    """524: edge-network timeout."""


class ProviderOverloadedError(InternalServerError):
    """529: the provider is overloaded."""


class StreamError(APIError):
    """An error chunk arrived after the stream had begun (the HTTP status was already 200).

    ``code`` is status-like (int, or a string such as ``"server_error"``); ``partial`` is the
    completion assembled from everything received before the error. ``retryable`` is true for
    429/502/503/529-like codes, but the SDK never re-sends a stream by itself: the generation has
    already been billed.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | str | None,
        metadata: Mapping[str, Any] | None = None,
        generation_id: str | None = None,
        partial: ChatCompletion | None = None,
    ) -> None:
        super().__init__(message, generation_id=generation_id)
        self.code = code
        self.metadata: Mapping[str, Any] = metadata or {}
        self.partial = partial

    def __str__(self) -> str:
        return f"{self.code} {self.message}" if self.code is not None else self.message

    @property
    def status_code(self) -> int | None:
        """``code`` as an HTTP-like status, when it is one."""
        if isinstance(self.code, int) and 100 <= self.code <= 599:
            return self.code
        if isinstance(self.code, str) and self.code.isdigit():
            return int(self.code)
        return None

    @property
    def error_type(self) -> str | None:
        value = self.metadata.get("error_type")
        return value if isinstance(value, str) else None

    @property
    def retryable(self) -> bool:
        availability = self.metadata.get("availability")
        if isinstance(availability, Mapping) and isinstance(availability.get("retryable"), bool):
            return bool(availability["retryable"])
        return self.status_code in {429, 502, 503, 529}


class ProtocolError(APIError):
    """The server sent something that does not follow the wire protocol (bad SSE, bad JSON)."""


class IncompleteStreamError(ProtocolError):
    """The stream ended without ``[DONE]`` and without a finish reason.

    ``partial`` holds what came before the end."""

    def __init__(
        self,
        message: str,
        *,
        generation_id: str | None = None,
        partial: ChatCompletion | None = None,
    ) -> None:
        super().__init__(message, generation_id=generation_id)
        self.partial = partial

    @property
    def retryable(self) -> bool:
        return True


class ResponseValidationError(APIError):
    """A response body did not have the shape the API documents."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: PaymentRequiredError,
    403: PermissionDeniedError,
    404: NotFoundError,
    408: RequestTimeoutError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    500: InternalServerError,
    502: BadGatewayError,
    503: ServiceUnavailableError,
    504: GatewayTimeoutError,
    524: EdgeTimeoutError,
    529: ProviderOverloadedError,
}


def status_error_class(status: int) -> type[APIStatusError]:
    """The exception class for an HTTP status (or an in-body status-like code)."""
    cls = _BY_STATUS.get(status)
    if cls is not None:
        return cls
    if 500 <= status <= 599:
        return InternalServerError
    return APIStatusError
