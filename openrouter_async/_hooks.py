"""Hooks: one callback shape for everything that happens to a call.

``OpenRouter(hooks=[fn])`` (or ``client.add_hook(fn)``) calls ``fn(event)`` with a
:class:`HookEvent` at each step of every call: ``"request"`` before the first attempt,
``"retry"`` before each re-send, then exactly one of ``"response"`` (a non-streaming call
succeeded), ``"error"`` (it failed) or, for a stream, ``"stream_start"`` when its headers are in
and ``"stream_end"`` when it finishes, fails, or is closed early. Events of one call share the
same :class:`CallInfo`, whose ``state`` dict is the hook's own (the OpenTelemetry integration
keeps its span there).

Hooks are synchronous and must be quick; one that raises is logged (logger
``openrouter_async.hooks``) and otherwise ignored, so instrumentation can never break a call.
With no hook installed the request path does no hook work at all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

import orjson

__all__ = ["CallInfo", "Hook", "HookEvent", "HookKind", "Hooks"]

logger = logging.getLogger("openrouter_async.hooks")

HookKind = Literal["request", "retry", "response", "error", "stream_start", "stream_end"]


class CallInfo:
    """One call (all its attempts): what was asked, and a scratch ``state`` for hooks."""

    __slots__ = ("attempts", "body", "method", "path", "started_at", "state", "streamed")

    def __init__(self, method: str, path: str, body: bytes | None, *, streamed: bool) -> None:
        self.method = method
        self.path = path
        self.body = body
        self.streamed = streamed
        self.started_at = time.monotonic()
        self.attempts = 1
        self.state: dict[str, Any] = {}

    def request_json(self) -> dict[str, Any] | None:
        """The request body as JSON (parsed on demand: only hooks that want it pay)."""
        if not self.body:
            return None
        try:
            value = orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return None
        return value if isinstance(value, dict) else None

    def __repr__(self) -> str:
        return f"CallInfo({self.method} {self.path}, attempts={self.attempts})"


class HookEvent:
    """What happened. ``status`` and ``headers`` once a response began; ``body`` the parsed
    JSON of a non-streaming response; ``completion`` what a stream assembled (final or
    partial); ``error`` the failure (for ``"retry"``, the one being retried after ``wait``
    seconds); ``outcome`` of a stream: ``"done"``, ``"error"`` or ``"closed"`` (left early);
    ``time_to_first_token`` seconds from the request to a stream's first data event."""

    __slots__ = (
        "body",
        "call",
        "completion",
        "elapsed",
        "error",
        "headers",
        "kind",
        "outcome",
        "status",
        "time_to_first_token",
        "wait",
    )

    def __init__(
        self,
        kind: HookKind,
        call: CallInfo,
        *,
        status: int | None = None,
        headers: Any = None,
        body: Any = None,
        completion: Any = None,
        error: BaseException | None = None,
        wait: float | None = None,
        outcome: str | None = None,
        time_to_first_token: float | None = None,
    ) -> None:
        self.kind = kind
        self.call = call
        self.status = status
        self.headers = headers
        self.body = body
        self.completion = completion
        self.error = error
        self.wait = wait
        self.outcome = outcome
        self.time_to_first_token = time_to_first_token
        self.elapsed = time.monotonic() - call.started_at

    def __repr__(self) -> str:
        return f"HookEvent({self.kind!r}, {self.call!r}, status={self.status})"


Hook = Callable[[HookEvent], object]


class Hooks:
    """The hooks of one client, called in order; never lets one break a call."""

    __slots__ = ("_hooks",)

    def __init__(self, hooks: Sequence[Hook] = ()) -> None:
        for hook in hooks:
            _check(hook)
        self._hooks: tuple[Hook, ...] = tuple(hooks)

    def __bool__(self) -> bool:
        return bool(self._hooks)

    def add(self, hook: Hook) -> None:
        _check(hook)
        self._hooks = (*self._hooks, hook)

    def remove(self, hook: Hook) -> None:
        self._hooks = tuple(h for h in self._hooks if h is not hook)

    def emit(self, kind: HookKind, call: CallInfo, **fields: Any) -> None:
        event = HookEvent(kind, call, **fields)
        for hook in self._hooks:
            try:
                hook(event)
            except Exception:
                logger.exception("hook %r raised on %s; ignored", hook, kind)


def _check(hook: object) -> None:
    if not callable(hook):
        from ._errors import RequestValidationError

        raise RequestValidationError(
            f"a hook must be callable, got {type(hook).__name__}", path="hooks"
        )
