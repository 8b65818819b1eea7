"""Pure JSON helpers for values that came from the wire.

:func:`dumps` serializes any such value back to JSON without raising; :class:`ObjectScan` tells,
piece by piece, when streamed tool-call arguments form a whole object.

``orjson.dumps`` refuses two things a server can hand us: values nested deeper than 254
levels (``orjson.loads`` accepts 1024), and ``str`` values with lone surrogates, which is how
aiohttp decodes a non-UTF-8 header byte. Both surfaced as a raw ``TypeError`` far from the
wire (tool-call arguments sent as an object, a relayed annotation, the generation id in a
relay's ``done`` event). :func:`dumps` takes orjson's fast path and, only when it refuses,
an iterative encoder with no depth limit that replaces unencodable characters with U+FFFD.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

__all__ = ["ObjectScan", "as_text", "dumps", "exact_bytes", "is_complete_object"]

_dumps = orjson.dumps


def as_text(value: Any) -> str:
    """A non-string where the API has a string, as text: JSON for containers (Python's repr
    differs from what a stream shows, and recurses past any depth), ``str()`` for the rest."""
    if value.__class__ is dict or value.__class__ is list or value.__class__ is tuple:
        return dumps(value).decode()
    return str(value)


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


def is_complete_object(text: str) -> bool:
    """Whether ``text`` is one JSON object (surrounding whitespace allowed)."""
    try:
        return isinstance(orjson.loads(text), dict)
    except orjson.JSONDecodeError:
        return False


_STRUCTURAL = re.compile(r'["\\{}\[\]]')
_NOTHING, _OPEN_OBJECT, _CLOSED_OBJECT, _NOT_AN_OBJECT = range(4)


class ObjectScan:
    """Follows argument pieces as they arrive to tell when they form one whole JSON object.

    Some providers repeat ``function.name`` on every fragment; each repeat asks whether the
    call so far is complete (then the fragment starts a second call to the same tool).
    Joining and parsing all pieces each time made 40,000 fragments cost ~10 s; this scans
    each piece once (brackets outside strings), and parses only when the brackets balance.
    """

    __slots__ = ("depth", "escape", "in_string", "result", "scanned", "state")

    def __init__(self) -> None:
        self.scanned = 0
        self.state = _NOTHING
        self.depth = 0
        self.in_string = False
        self.escape = False
        self.result: bool | None = None

    def complete(self, parts: list[str]) -> bool:
        for piece in parts[self.scanned :]:
            self._feed(piece)
        self.scanned = len(parts)
        if self.state != _CLOSED_OBJECT:
            return False
        if self.result is None:  # balanced brackets: confirm once that it parses
            self.result = is_complete_object("".join(parts))
        return self.result

    def _feed(self, piece: str) -> None:
        state = self.state
        if state == _NOT_AN_OBJECT:
            return
        if state == _CLOSED_OBJECT:
            if piece.strip():
                self.state = _NOT_AN_OBJECT
            return
        start = 0
        if state == _NOTHING:
            text = piece.lstrip()
            if not text:
                return
            if text[0] != "{":
                self.state = _NOT_AN_OBJECT
                return
            self.state = _OPEN_OBJECT
            start = len(piece) - len(text) + 1
            self.depth = 1
        skip = start
        if self.escape:  # a backslash ended the previous piece: this first character is escaped
            self.escape = False
            skip += 1
        for match in _STRUCTURAL.finditer(piece, start):
            at = match.start()
            if at < skip:
                continue
            char = piece[at]
            if self.in_string:
                if char == "\\":
                    skip = at + 2
                    if skip > len(piece):
                        self.escape = True
                elif char == '"':
                    self.in_string = False
            elif char == '"':
                self.in_string = True
            elif char in "{[":
                self.depth += 1
            elif char != "\\":  # a backslash outside a string: invalid, loads will say so
                self.depth -= 1
                if self.depth == 0:
                    rest = piece[at + 1 :]
                    self.state = _NOT_AN_OBJECT if rest.strip() else _CLOSED_OBJECT
                    return


def exact_bytes(body: bytes) -> bytes:
    """``body`` in an allocation of its own size. orjson's output keeps its growth buffer (4 KiB
    for a short request) as its allocation; a body held until its answer is in (256 batch
    requests in flight, a stream kept for a re-send) would hold that slack. One small memcpy."""
    return bytes(memoryview(body))
