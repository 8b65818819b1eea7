"""Pure: serialize any value that came *from* the wire back to JSON, without ever raising.

``orjson.dumps`` refuses two things a server can hand us: values nested deeper than 254
levels (``orjson.loads`` accepts 1024), and ``str`` values with lone surrogates, which is how
aiohttp decodes a non-UTF-8 header byte. Both surfaced as a raw ``TypeError`` far from the
wire (tool-call arguments sent as an object, a relayed annotation, the generation id in a
relay's ``done`` event). :func:`dumps` takes orjson's fast path and, only when it refuses,
an iterative encoder with no depth limit that replaces unencodable characters with U+FFFD.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

__all__ = ["dumps"]

_dumps = orjson.dumps


def dumps(value: Any) -> bytes:
    """``orjson.dumps(value)``, or the same JSON for any depth and for lone surrogates.

    ``value`` is JSON-shaped (what ``orjson.loads`` produces, or tuples of it); anything orjson
    cannot serialize at all (an arbitrary object) still raises ``TypeError``.
    """
    try:
        return _dumps(value)
    except TypeError:
        return _dumps_slow(value)


def _scalar(value: Any) -> bytes:
    try:
        return _dumps(value)
    except TypeError:
        if isinstance(value, int) and not isinstance(value, bool):
            # Past 64 bits (only a caller's own int: orjson reads those as floats). JSON has
            # no size limit; Python's int-to-str limit (4300 digits) still applies.
            try:
                return str(value).encode()
            except ValueError:
                raise TypeError("integer too large to serialize") from None
        if isinstance(value, str):
            # Lone surrogates: aiohttp's surrogateescape bytes come back as themselves, and
            # whatever is still not UTF-8 becomes U+FFFD.
            raw = value.encode("utf-8", "surrogateescape" if _escaped(value) else "replace")
            return _dumps(raw.decode("utf-8", "replace"))
        raise


def _escaped(value: str) -> bool:
    try:
        value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return False
    return True


def _dumps_slow(value: Any) -> bytes:
    """An explicit stack instead of recursion: no depth limit, same bytes as orjson."""
    out: list[bytes] = []
    # Work items: a value to encode, or literal bytes to emit.
    stack: list[tuple[bool, Any]] = [(False, value)]
    while stack:
        literal, item = stack.pop()
        if literal:
            out.append(item)
        elif isinstance(item, Mapping):
            if not item:
                out.append(b"{}")
                continue
            todo: list[tuple[bool, Any]] = [(True, b"{")]
            for n, (key, member) in enumerate(item.items()):
                if not isinstance(key, str):
                    raise TypeError(f"dict key must be str, not {type(key).__name__}")
                prefix = b"," if n else b""
                todo.append((True, prefix + _scalar(key) + b":"))
                todo.append((False, member))
            todo.append((True, b"}"))
            stack.extend(reversed(todo))
        elif isinstance(item, (list, tuple)):
            if not item:
                out.append(b"[]")
                continue
            todo = [(True, b"[")]
            for n, member in enumerate(item):
                if n:
                    todo.append((True, b","))
                todo.append((False, member))
            todo.append((True, b"]"))
            stack.extend(reversed(todo))
        else:
            out.append(_scalar(item))
    return b"".join(out)
