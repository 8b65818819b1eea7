"""Shared plumbing of the resources: JSON body -> typed result with its :class:`ResponseInfo`.

Why it exists: every endpoint other than chat answers ``{"data": ...}`` (or the object itself),
may answer an ``{"error": ...}`` envelope with HTTP 200, and must never fail on a field the SDK
does not know. Three rules live here so each resource stays a few lines:

* an ``error`` member in a 200 body raises the status error it names (as chat does);
* a ``null`` where the model has a non-``None`` default (``[]``, ``""``, ``0``) means "not set"
  (API reference §0): the converter's structure hook applies the default, nested models and
  null items of lists of models included;
* a body that does not fit raises :class:`ResponseValidationError` (the hook's own, with the
  endpoint named here), never a cattrs error.

The HTTP facts (status, headers, timing, generation id) are attached as ``result.response``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import orjson

from .._convert import structure
from .._error_body import error_from_payload
from .._errors import RequestValidationError, ResponseValidationError
from ..types._validators import check_number, check_str, deep_merge, fail, type_name
from ..types.responses import ResponseInfo

__all__ = [
    "attach",
    "build",
    "encode_body",
    "expect_object",
    "join_values",
    "number_param",
    "unwrap_data",
]

T = TypeVar("T")


# --------------------------------------------------------------------------- responses


def expect_object(data: Any, what: str, info: ResponseInfo) -> dict[str, Any]:
    """``data`` as a JSON object; an ``error`` member raises the matching status error."""
    if not isinstance(data, dict):
        raise ResponseValidationError(
            f"{what}: expected a JSON object as the response body, got {type_name(data)}",
            generation_id=info.generation_id,
        )
    if data.get("error") is not None:
        exc = error_from_payload(info.status_code, data, info.headers)
        if exc.generation_id is None:
            exc.generation_id = info.generation_id
        raise exc
    return data


def unwrap_data(data: Any, what: str, info: ResponseInfo) -> Any:
    """The ``data`` member of a ``{"data": ...}`` envelope (errors raised as above)."""
    body = expect_object(data, what, info)
    if "data" not in body:
        keys = ", ".join(sorted(body)) or "none"
        raise ResponseValidationError(
            f"{what}: the response body has no 'data' member (keys: {keys})",
            generation_id=info.generation_id,
        )
    return body["data"]


def build(value: Any, cls: type[T], what: str, info: ResponseInfo | None) -> T:
    """Structure ``value`` into ``cls`` (nulls mean "not set") and attach ``info``."""
    try:
        result = structure(value, cls)
    except ResponseValidationError as exc:
        raise ResponseValidationError(
            f"{what}: the response does not match the documented shape: {exc.message}",
            generation_id=info.generation_id if info is not None else None,
        ) from exc
    return attach(result, info)


def attach(result: T, info: ResponseInfo | None) -> T:
    """Set ``result.response`` on a frozen model (it never comes from the JSON body)."""
    if info is not None:
        object.__setattr__(result, "response", info)
    return result


# --------------------------------------------------------------------------- requests


def encode_body(body: Mapping[str, Any], extra_body: Mapping[str, Any] | None = None) -> bytes:
    """JSON bytes of ``body`` with ``extra_body`` merged last and deeply (objects key by key,
    anything else replaced; see ``types._validators.deep_merge``)."""
    merged = dict(body)
    if extra_body:
        deep_merge(merged, extra_body)
    try:
        return orjson.dumps(merged)
    except (orjson.JSONEncodeError, TypeError) as exc:
        raise RequestValidationError(f"the request cannot be encoded as JSON: {exc}") from exc


def join_values(value: str | Sequence[str], path: str, *, allowed: tuple[str, ...] = ()) -> str:
    """A query list: a string is sent as given, a list of strings is comma-joined.

    Items must be non-empty and contain no comma (it would split them on the server).
    """
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",")]
        if not all(items):
            fail(f"must be a comma-separated list of non-empty names, got {value!r}", path)
    elif isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        if not value:
            fail("must not be empty (leave it unset instead)", path)
        items = []
        for i, item in enumerate(value):
            text = check_str(item, f"{path}[{i}]", nonempty=True).strip()
            if not text or "," in text:
                fail(f"must be a name without commas, got {item!r}", f"{path}[{i}]")
            items.append(text)
    else:
        fail(f"must be a string or a list of strings, got {type_name(value)}", path)
    if allowed:
        for i, item in enumerate(items):
            if item not in allowed:
                shown = ", ".join(repr(a) for a in allowed)
                fail(f"must be one of {shown}, got {item!r}", f"{path}[{i}]")
    return ",".join(items)


def number_param(value: object, path: str) -> str:
    """A non-negative finite number as query text, never in exponent form (``1e-07``)."""
    if isinstance(value, Decimal):
        if not value.is_finite() or value < 0:
            fail(f"must be a finite number >= 0, got {value}", path)
        return format(value.normalize(), "f")
    number = check_number(value, path, lo=0)
    if isinstance(number, int):
        return str(number)
    assert math.isfinite(number)
    return format(Decimal(repr(number)).normalize(), "f")
