"""The byte envelope of a stream's token chunks: everything around the ``content`` string.

Why it exists: within one stream, OpenRouter's token chunks differ only in the text. The id,
provider, model, ``created``, the role, ``finish_reason: null`` and the fingerprint are the same
bytes every time, and parsing them into a fresh dict per token was most of a stream's CPU. Once a
chunk is known to be typical, :func:`learn` finds the exact bytes before and after its content
string; a later payload with the same head and tail is then decoded by parsing only what lies
between them.

Why that is exact: JSON is read left to right, so after the same head a parser is in the same
state. :func:`learn` proves that state is "reading the value of ``choices[0].delta.content``" by
parsing the chunk again with another string put in that place and finding only that value
changed. A middle that parses on its own as one JSON string is one string token (``orjson``
refuses anything after a value), and a string token ends where its own bytes say; so head +
middle + tail parses to the learned chunk with that string as the content. Anything else (not
JSON, not a string, other bytes around it) goes the ordinary way.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["learn"]

_SENTINEL = "\x00envelope\x01"
_SENTINEL_TOKEN = orjson.dumps(_SENTINEL)
_ATTEMPTS = 4  # occurrences of the content's text tried, from the end


def learn(payload: bytes, chunk: dict[str, Any], content: str) -> tuple[bytes, bytes] | None:
    """``(head, tail)`` around ``chunk["choices"][0]["delta"]["content"]`` in ``payload`` (the
    bytes ``chunk`` was parsed from), or ``None`` when that string cannot be located exactly."""
    tokens = {orjson.dumps(content), _ascii_token(content)}
    for token in tokens:
        end = len(payload)
        for _ in range(_ATTEMPTS):
            start = payload.rfind(token, 0, end)
            if start < 0:
                break
            head, tail = payload[:start], payload[start + len(token) :]
            if _holds(head, tail, chunk, content):
                return head, tail
            end = start
    return None


def _holds(head: bytes, tail: bytes, chunk: dict[str, Any], content: str) -> bool:
    """Whether another string between ``head`` and ``tail`` changes only the content."""
    try:
        other = orjson.loads(head + _SENTINEL_TOKEN + tail)
        # Put the content back: the rest is equal only if the other string went there.
        other["choices"][0]["delta"]["content"] = content
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
        return False
    return bool(other == chunk)


def _ascii_token(content: str) -> bytes:
    # Servers that escape every non-ASCII character (Python's json.dumps default).
    return json.dumps(content).encode("ascii")
