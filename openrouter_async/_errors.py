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
    ├── StructuredOutputError (ValueError)  model output did not match the requested schema
    └── BatchFileError                     a batch file refused (same file, locked, not ours…)
        ├── OutputLockedError              another run holds the output's lock (``pid``)
        └── BatchIOError                   reading or appending failed during the run

Status codes without their own class map to the nearest parent: other 4xx → ``APIStatusError``,
other 5xx → ``InternalServerError``. Every error that follows a request carries the
``generation_id`` when the server sent one, and never the API key.

Every :class:`APIError` also says where the request failed (``failure_point``), because that
decides whether sending it again could bill a second generation:

* ``"not_sent"``: nothing reached the server (connect failed, TLS failed, no pooled connection
  in time). Always safe to send again.
* ``"possibly_served"``: the request was written but no response byte came back (the server
  closed or reset the connection, or the wait for the status line timed out). The server may be
  generating, and billing, right now; sending again is an explicit opt-in.
* ``"served"``: a status line arrived. Only a failure the server itself declared transient
  (408, 429, 5xx, or an error event before any content) may be sent again; a body that breaks
  after a 200 is never re-sent.

:func:`is_retryable` is the one place that turns this and the status into a decision; the
``retryable`` property of every error and the retry engine (:mod:`openrouter_async._retry`)
both ask it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

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
    "BatchFileError",
    "BatchIOError",
    "ClientClosedError",
    "ConflictError",
    "EdgeTimeoutError",
    "GatewayTimeoutError",
    "IncompleteStreamError",
    "InternalServerError",
    "MissingAPIKeyError",
    "NotFoundError",
    "OutputLockedError",
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
    "is_retryable",
    "status_error_class",
]

FailurePoint = Literal["not_sent", "possibly_served", "served"]

#: Status-like codes the server uses for a transient failure: sending again may succeed. A 4xx
#: outside this set is the caller's mistake and is never retried, whatever its body says.
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504, 524, 529})


def is_retryable(error: BaseException, *, retry_possibly_served: bool = False) -> bool:
    """Whether sending the request again is safe and may succeed (attempts and deadline aside).

    The one rule of the package: ``not_sent`` always; ``possibly_served`` only when the caller
    opted in (``RetryPolicy(retry_read_timeouts=True)``); ``served`` only when the server
    declared a transient status, 408 and 429 being the only 4xx, and an ``availability`` block
    in the error body may veto it but never make a 4xx retryable.
    """
    if not isinstance(error, APIError):
        return False
    point = error.failure_point
    if point == "not_sent":
        return True
    if point == "possibly_served":
        return retry_possibly_served
    status = error.declared_status()
    if status is None:
        return False
    availability = error.metadata_availability()
    says = availability.get("retryable") if availability is not None else None
    if says is False:
        return False
    if 400 <= status <= 499:
        return status in (408, 429)
    return status in RETRYABLE_STATUS or says is True


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


class BatchFileError(OpenRouterError):
    """A batch file refused before the run, or broken during it. ``path`` names the file."""

    def __init__(self, message: str, *, path: str) -> None:
        self.message = message
        self.path = path
        super().__init__(message)


class OutputLockedError(BatchFileError):
    """Another run holds the output's lock; ``pid`` is its process id when it could be found."""

    def __init__(self, message: str, *, path: str, pid: int | None) -> None:
        super().__init__(message, path=path)
        self.pid = pid


class BatchIOError(BatchFileError):
    """Reading the input or appending to the output failed during the run (disk full, an I/O
    error): the run stopped, and every record written before it is intact."""


class APIError(OpenRouterError):
    """An error that came from the server, or from failing to reach it."""

    message: str
    generation_id: str | None
    #: Where the request failed: ``"not_sent"``, ``"possibly_served"`` or ``"served"``.
    failure_point: FailurePoint = "served"

    def __init__(self, message: str, *, generation_id: str | None = None) -> None:
        self.message = message
        self.generation_id = generation_id
        super().__init__(message)

    @property
    def retryable(self) -> bool:
        """Whether sending the same request again is safe (nothing billed twice) and may
        succeed; see :func:`is_retryable`."""
        return is_retryable(self)

    def declared_status(self) -> int | None:
        """The status-like code the server declared for this failure, if it declared one."""
        return None

    def metadata_availability(self) -> Mapping[str, Any] | None:
        return None


class APIConnectionError(APIError):
    """The request could not reach the server, or the connection broke.

    ``failure_point`` says whether the request may have been served (see the module doc)."""

    def __init__(
        self,
        message: str,
        *,
        generation_id: str | None = None,
        failure_point: FailurePoint = "possibly_served",
    ) -> None:
        super().__init__(message, generation_id=generation_id)
        self.failure_point = failure_point


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
        failure_point: FailurePoint | None = None,
    ) -> None:
        if failure_point is None:
            failure_point = "not_sent" if kind == "connect" else "possibly_served"
        super().__init__(message, generation_id=generation_id, failure_point=failure_point)
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
        self.metadata: Mapping[str, Any] = metadata if isinstance(metadata, Mapping) else {}
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

    def metadata_availability(self) -> Mapping[str, Any] | None:
        return self.availability

    def declared_status(self) -> int | None:
        # A 200 carrying an error envelope declares its status in ``error.code``.
        code = self.code
        if isinstance(code, int) and not isinstance(code, bool) and 100 <= code <= 599:
            return code
        return self.status_code


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
    completion assembled from everything received before the error; ``after_content`` whether
    any content had arrived before it. ``retryable`` is true only for a transient code (408,
    429, 5xx) that arrived before any content: such a stream is re-sent by the SDK itself within
    the retry budget, and one that had begun is never re-sent (its generation is billed).
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | str | None,
        metadata: Mapping[str, Any] | None = None,
        generation_id: str | None = None,
        partial: ChatCompletion | None = None,
        after_content: bool = False,
    ) -> None:
        super().__init__(message, generation_id=generation_id)
        self.code = code
        self.metadata: Mapping[str, Any] = metadata if isinstance(metadata, Mapping) else {}
        self.partial = partial
        self.after_content = after_content

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

    def declared_status(self) -> int | None:
        return None if self.after_content else self.status_code

    def metadata_availability(self) -> Mapping[str, Any] | None:
        value = self.metadata.get("availability")
        return value if isinstance(value, Mapping) else None


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
