"""Fault injection: typed fault values, the text syntax that names them, and scripting rules.

One vocabulary serves three entry points: the ``X-Emulator-Fault`` request header, the
``:fault=`` model suffix, and Python (``Emulator.add_fault`` / ``script`` / ``fail_next``).
Text specs are parsed into the same frozen classes Python users build directly, so each fault
has exactly one implementation in the server.

Spec syntax::

    spec  := fault (";" fault)*
    fault := name [ "(" [arg ("," arg)*] ")" ]
    arg   := value | key "=" value       (a bare value fills the fault's first field)

e.g. ``http(429,retry_after=1)``, ``mid_error(after=3,code=server_error)``, ``crlf;split(1)``.
Values are ints, floats, ``true``/``false``, ``none``/``forever`` (no limit) or bare strings
(no commas, semicolons or parentheses; use Python for anything richer).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeAlias, cast

import attrs

__all__ = [
    "Coalesce",
    "Drop",
    "ErrorIn200",
    "FailFirst",
    "Fault",
    "FaultRule",
    "FaultSpecError",
    "HTMLError",
    "HTTPError",
    "MAX_HUGE_SIZE",
    "HugeEvent",
    "LineEndings",
    "Malformed",
    "MidStreamError",
    "SlowResponse",
    "SplitWrites",
    "Stall",
    "Truncate",
    "coerce_faults",
    "fault_name",
    "parse_faults",
]


class FaultSpecError(ValueError):
    """A fault spec string could not be parsed (the emulator answers 400)."""


@attrs.frozen
class HTTPError:
    """Answer with an OpenRouter JSON error body and this status instead of a response.

    ``code`` defaults to ``status``; ``message``/``error_type`` default per status;
    ``retry_after`` adds a ``Retry-After`` header (seconds).
    """

    status: int = 500
    message: str | None = attrs.field(default=None, kw_only=True)
    code: int | str | None = attrs.field(default=None, kw_only=True)
    error_type: str | None = attrs.field(default=None, kw_only=True)
    metadata: Mapping[str, Any] | None = attrs.field(default=None, kw_only=True, eq=False)
    retry_after: float | None = attrs.field(default=None, kw_only=True)


@attrs.frozen
class HTMLError:
    """Answer with a non-JSON, Cloudflare-like ``text/html`` error page (default 502)."""

    status: int = 502
    retry_after: float | None = attrs.field(default=None, kw_only=True)


@attrs.frozen
class FailFirst:
    """Fail the first ``n`` attempts of each distinct request, then let it through.

    Attempts are counted per request key: the ``X-Emulator-Request-Key`` header when sent,
    else a hash of method + path + raw body bytes (so identical retries share a counter).
    The failure is an :class:`HTTPError` built from ``status``/``retry_after``/``message``.
    """

    n: int = 1
    status: int = attrs.field(default=429, kw_only=True)
    retry_after: float | None = attrs.field(default=None, kw_only=True)
    message: str | None = attrs.field(default=None, kw_only=True)

    def error(self) -> HTTPError:
        return HTTPError(self.status, retry_after=self.retry_after, message=self.message)


@attrs.frozen
class ErrorIn200:
    """HTTP 200 whose body is an error envelope (§5.6); a stream gets one ``{"error":…}`` event."""

    code: int | str = 502
    message: str = attrs.field(default="Provider returned error", kw_only=True)
    error_type: str = attrs.field(default="provider_unavailable", kw_only=True)


@attrs.frozen
class MidStreamError:
    """After ``after`` tokens, send the in-band error chunk of §4.8 and end the stream.

    ``code`` may be an int or a string (both occur). ``done`` appends ``data: [DONE]``.
    Non-streaming: a 200 completion whose choice has ``finish_reason:"error"`` and ``error``.
    """

    after: int = 0
    code: int | str = attrs.field(default=502, kw_only=True)
    message: str = attrs.field(default="Provider disconnected unexpectedly", kw_only=True)
    error_type: str = attrs.field(default="provider_unavailable", kw_only=True)
    done: bool = attrs.field(default=False, kw_only=True)


@attrs.frozen
class Stall:
    """After ``after`` tokens go quiet for ``seconds`` (``None``: until the client leaves).

    With ``comments`` the emulator keeps sending ``: OPENROUTER PROCESSING`` every
    ``interval`` seconds; without, total silence. Non-streaming: delay before the headers.
    """

    after: int = 0
    seconds: float | None = attrs.field(default=None, kw_only=True)
    comments: bool = attrs.field(default=True, kw_only=True)
    interval: float = attrs.field(default=0.5, kw_only=True)


@attrs.frozen
class Drop:
    """After ``after`` tokens abort the TCP connection (no terminating chunk, no ``[DONE]``).

    Non-streaming: the connection is aborted before any response byte.
    """

    after: int = 0


@attrs.frozen
class Truncate:
    """After ``after`` tokens end the body cleanly but without finish chunk, usage or ``[DONE]``.

    Non-streaming: send the headers and half the declared body, then abort.
    """

    after: int = 0


@attrs.frozen
class Malformed:
    """After ``after`` tokens insert one event whose JSON is cut short (then carry on).

    Non-streaming: the body is cut short (with a matching Content-Length).
    """

    after: int = 0


#: Largest ``huge(size=...)``: the event is built in memory (a few copies of it), so an
#: unbounded size would let one request make the emulator allocate gigabytes.
MAX_HUGE_SIZE = 32 * 1024 * 1024


def _check_huge_size(_instance: object, _attribute: object, size: int) -> None:
    if not 0 <= size <= MAX_HUGE_SIZE:
        raise ValueError(f"size must be between 0 and {MAX_HUGE_SIZE} (the emulator's cap)")


@attrs.frozen
class HugeEvent:
    """After ``after`` tokens send one event with a ``size``-byte base64 image in ``delta.images``.

    Non-streaming: the image goes into ``message.images``. ``size`` is capped at
    ``MAX_HUGE_SIZE`` (32 MiB): larger values raise ``ValueError`` (a spec string gets 400).
    """

    after: int = 0
    size: int = attrs.field(default=2 * 1024 * 1024, kw_only=True, validator=_check_huge_size)


@attrs.frozen
class LineEndings:
    """Frame SSE lines with ``"crlf"`` (``\\r\\n``) or ``"cr"`` (``\\r``) instead of ``\\n``."""

    style: Literal["crlf", "cr", "lf"] = "crlf"

    @property
    def newline(self) -> bytes:
        return {"crlf": b"\r\n", "cr": b"\r", "lf": b"\n"}[self.style]


@attrs.frozen
class SplitWrites:
    """Write the body in pieces of ``size`` bytes, each its own write, ``delay`` s apart.

    Even with ``delay=0`` the server yields to the event loop between pieces, so on loopback
    they leave (and mostly arrive) as separate TCP segments.
    """

    size: int = 1
    delay: float = attrs.field(default=0.0, kw_only=True)


@attrs.frozen
class Coalesce:
    """Buffer the whole body and send it in one write (stalls and drops flush first)."""


@attrs.frozen
class SlowResponse:
    """Wait ``headers`` seconds before the status line, then ``body`` seconds before the body."""

    headers: float = 0.0
    body: float = attrs.field(default=0.0, kw_only=True)


Fault: TypeAlias = (
    HTTPError
    | HTMLError
    | FailFirst
    | ErrorIn200
    | MidStreamError
    | Stall
    | Drop
    | Truncate
    | Malformed
    | HugeEvent
    | LineEndings
    | SplitWrites
    | Coalesce
    | SlowResponse
)


@attrs.define
class FaultRule:
    """Faults applied to matching requests; returned by ``Emulator.add_fault``.

    ``path`` is the endpoint relative to ``/api/v1`` (``"/chat/completions"``); ``None``
    matches the inference endpoints (chat, legacy completions, embeddings), ``"*"`` any path.
    ``model`` matches the base model id (suffixes stripped). ``times`` bounds how many requests
    the rule fires for (``None``: forever); ``hits`` counts them.
    """

    faults: tuple[Fault, ...]
    path: str | None = None
    model: str | None = None
    times: int | None = None
    hits: int = 0

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times


# --- text syntax -------------------------------------------------------------------------

_Conv = Callable[[str], Any]


def _num(text: str) -> float:
    return float(text)


def _opt_num(text: str) -> float | None:
    return None if text.lower() in ("none", "forever", "inf", "null") else float(text)


def _bool(text: str) -> bool:
    low = text.lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {text!r}")


def _int_or_str(text: str) -> int | str:
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def _style(text: str) -> str:
    if text.lower() not in ("crlf", "cr", "lf"):
        raise ValueError(f"line ending style must be crlf, cr or lf, not {text!r}")
    return text.lower()


# name -> (class, ordered {field: converter}); the first field takes a bare positional value
_SPECS: dict[str, tuple[Callable[..., Fault], dict[str, _Conv]]] = {
    "http": (
        HTTPError,
        {
            "status": int,
            "retry_after": _opt_num,
            "message": str,
            "code": _int_or_str,
            "error_type": str,
        },
    ),
    "html": (HTMLError, {"status": int, "retry_after": _opt_num}),
    "fail_first": (
        FailFirst,
        {"n": int, "status": int, "retry_after": _opt_num, "message": str},
    ),
    "error_200": (ErrorIn200, {"code": _int_or_str, "message": str, "error_type": str}),
    "mid_error": (
        MidStreamError,
        {
            "after": int,
            "code": _int_or_str,
            "message": str,
            "error_type": str,
            "done": _bool,
        },
    ),
    "stall": (
        Stall,
        {"after": int, "seconds": _opt_num, "comments": _bool, "interval": _num},
    ),
    "drop": (Drop, {"after": int}),
    "truncate": (Truncate, {"after": int}),
    "malformed": (Malformed, {"after": int}),
    "huge": (HugeEvent, {"after": int, "size": int}),
    "line_endings": (LineEndings, {"style": _style}),
    "crlf": (lambda: LineEndings("crlf"), {}),
    "cr": (lambda: LineEndings("cr"), {}),
    "split": (SplitWrites, {"size": int, "delay": _num}),
    "coalesce": (Coalesce, {}),
    "slow": (SlowResponse, {"headers": _num, "body": _num}),
}

_ITEM = re.compile(r"\s*([a-z_0-9]+)\s*(?:\((.*)\))?\s*", re.DOTALL)


def _parse_one(text: str) -> Fault:
    m = _ITEM.fullmatch(text)
    if m is None:
        raise FaultSpecError(f"cannot parse fault {text.strip()!r}")
    name, argtext = m.group(1), m.group(2)
    if name not in _SPECS:
        known = ", ".join(sorted(_SPECS))
        raise FaultSpecError(f"unknown fault {name!r} (known: {known})")
    factory, fields = _SPECS[name]
    kwargs: dict[str, Any] = {}
    if argtext is not None and argtext.strip():
        for i, raw in enumerate(argtext.split(",")):
            key, eq, value = raw.partition("=")
            if not eq:
                if i != 0 or not fields:
                    raise FaultSpecError(f"{name}: only the first argument may be positional")
                key, value = next(iter(fields)), raw
            key, value = key.strip(), value.strip()
            if key not in fields:
                raise FaultSpecError(f"{name}: unknown argument {key!r}")
            try:
                kwargs[key] = fields[key](value)
            except ValueError as exc:
                raise FaultSpecError(f"{name}: bad value for {key}: {exc}") from None
    try:
        return factory(**kwargs)
    except (TypeError, ValueError) as exc:  # a field's own check, e.g. huge(size=) past its cap
        raise FaultSpecError(f"{name}: {exc}") from None


def parse_faults(spec: str) -> list[Fault]:
    """Parse ``"http(429,retry_after=1);crlf"`` into fault values; raises FaultSpecError."""
    return [_parse_one(part) for part in spec.split(";") if part.strip()]


_NAMES: dict[type, str] = {
    HTTPError: "http",
    HTMLError: "html",
    FailFirst: "fail_first",
    ErrorIn200: "error_200",
    MidStreamError: "mid_error",
    Stall: "stall",
    Drop: "drop",
    Truncate: "truncate",
    Malformed: "malformed",
    HugeEvent: "huge",
    SplitWrites: "split",
    Coalesce: "coalesce",
    SlowResponse: "slow",
}


def fault_name(fault: Fault) -> str:
    """The spec name of a fault (``LineEndings`` reports its style: ``"crlf"``/``"cr"``)."""
    if isinstance(fault, LineEndings):
        return fault.style
    return _NAMES[type(fault)]


def coerce_faults(item: Fault | str | Sequence[Fault] | None) -> tuple[Fault, ...]:
    """Accept a fault, a spec string, a sequence of faults, or None (no fault)."""
    if item is None:
        return ()
    if isinstance(item, str):
        return tuple(parse_faults(item))
    if isinstance(item, Sequence):
        return tuple(cast("Sequence[Fault]", item))
    return (item,)
