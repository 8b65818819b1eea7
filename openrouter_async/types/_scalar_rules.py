"""The checks of the chat request's plain scalar fields, in one table.

``ChatRequest`` attaches these as its field validators, and the fast body path
(:mod:`._fast_body`) runs the very same functions without loading the request-model graph, so
there is one definition of every range. The order is the fields' order in ``ChatRequest`` (the
order they are written to the body).

A range is checked only where OpenRouter's API description states it (``temperature`` 0-2,
``top_p`` 0-1, the penalties -2..2, ``session_id`` at most 256 characters). Integers without a
stated range are held to 64 bits, the most a JSON number carries through the encoder; enum-like
strings take any value (see ``_validators.check_open_choice``).
"""

from __future__ import annotations

from typing import Any

from ._validators import optional_bool, optional_choice, optional_int, optional_number, optional_str

__all__ = ["INT64", "MAX_SESSION_ID", "SCALAR_RULES"]

INT64 = 2**63  # orjson encodes only 64-bit integers
MAX_SESSION_ID = 256

SCALAR_RULES: dict[str, Any] = {
    "model": optional_str(),
    "max_tokens": optional_int(lo=-INT64, hi=INT64 - 1),
    "max_completion_tokens": optional_int(lo=-INT64, hi=INT64 - 1),
    "temperature": optional_number(lo=0, hi=2),
    "top_p": optional_number(lo=0, hi=1),
    "top_k": optional_int(lo=-INT64, hi=INT64 - 1),
    "frequency_penalty": optional_number(lo=-2, hi=2),
    "presence_penalty": optional_number(lo=-2, hi=2),
    "repetition_penalty": optional_number(),
    "min_p": optional_number(),
    "top_a": optional_number(),
    "seed": optional_int(lo=-INT64, hi=INT64 - 1),
    "parallel_tool_calls": optional_bool,
    "include_reasoning": optional_bool,
    "verbosity": optional_choice("low", "medium", "high", "xhigh", "max"),
    "route": optional_choice("fallback", "sort"),
    "user": optional_str(),
    "session_id": optional_str(max_len=MAX_SESSION_ID),
    "service_tier": optional_choice("auto", "default", "fast", "flex", "priority", "scale"),
    "prompt_cache_key": optional_str(),
    "preset": optional_str(),
}
