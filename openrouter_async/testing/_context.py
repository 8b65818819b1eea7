"""Per-request state shared by the middleware and the handlers, and early-exit replies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
from aiohttp import web

from ._faults import Fault
from ._records import RequestRecord
from ._wire import dumps, error_body

if TYPE_CHECKING:
    from ._server import Emulator

__all__ = ["Ctx", "Reply", "json_response"]

_F = TypeVar("_F")


class Reply(Exception):
    """Raised by a handler to answer at once with ``response`` (errors, injected faults)."""

    def __init__(self, response: web.StreamResponse) -> None:
        super().__init__(response.status)
        self.response = response


def json_response(
    payload: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=dumps(payload), status=status, headers=headers, content_type="application/json"
    )


@attrs.define(eq=False)
class Ctx:
    """One request in flight: the emulator, the aiohttp request, its log record, its faults."""

    emu: Emulator
    request: web.Request
    record: RequestRecord
    faults: tuple[Fault, ...] = ()
    raw_body: bytes = b""
    #: the bearer key that authenticated this request (kept out of the record)
    api_key: str | None = attrs.field(default=None, repr=False)
    #: ``created`` (Unix seconds) of the generation this request started, if any
    created: int = 0
    #: set when the emulator itself aborted the connection (so it is not a client disconnect)
    dropped: bool = False

    def find(self, cls: type[_F]) -> _F | None:
        """The first applied fault of type ``cls``."""
        return next((f for f in self.faults if isinstance(f, cls)), None)

    def find_all(self, cls: type[_F]) -> list[_F]:
        return [f for f in self.faults if isinstance(f, cls)]

    def error(
        self,
        status: int,
        message: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> Reply:
        """A ready-to-raise OpenRouter error reply (§5.1 body)."""
        kwargs.setdefault("user_id", self.emu.user_id)
        return Reply(json_response(error_body(status, message, **kwargs), status, headers))
