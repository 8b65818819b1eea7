"""Pure: a non-streaming response body -> a :class:`ChatCompletion`, or the typed error it is.

Kept apart from the stream decoder so that ``create()`` loads nothing of the streaming
machinery. Two error shapes hide inside HTTP 200 (an ``{"error": ...}`` envelope, and a choice
that finished with ``"error"``) and are raised as the matching status error; everything the
models cannot express (null lists, content-part lists, tool calls with missing ids or empty
arguments) is repaired on a copy before structuring, so ``create()`` and a stream's final
completion have the same shape.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import orjson

from ._convert import structure
from ._error_body import error_from_payload
from ._errors import APIStatusError, ResponseValidationError
from ._fast_parse import Bail, build_chat_completion
from .types.responses import ChatCompletion, header_value

__all__ = ["parse_chat_completion"]


def _body_error(
    error: Any,
    *,
    status_code: int,
    headers: Mapping[str, str] | None,
    user_id: Any = None,
    generation_id: str | None = None,
) -> APIStatusError:
    exc = error_from_payload(status_code, {"error": error, "user_id": user_id}, headers)
    if exc.generation_id is None:
        exc.generation_id = generation_id
    return exc


class _IdSynth:
    """Makes tool-call ids unique: missing, empty and repeated ids become ``call_<gen>_<n>``."""

    __slots__ = ("count", "generation", "used")

    def __init__(self, generation: str | None) -> None:
        self.generation = generation
        self.count = 0
        self.used: set[str] = set()

    def unique(self, wire_id: str | None) -> str:
        if wire_id and wire_id not in self.used:
            self.used.add(wire_id)
            return wire_id
        while True:
            if self.generation is None:
                self.generation = os.urandom(6).hex()
            candidate = f"call_{self.generation}_{self.count}"
            self.count += 1
            if candidate not in self.used:
                self.used.add(candidate)
                return candidate


# =========================================================================== non-streaming


def _text_of_parts(parts: list[Any]) -> str | None:
    texts = [
        p["text"]
        for p in parts
        if isinstance(p, Mapping)
        and isinstance(p.get("text"), str)
        and p.get("type") != "image_url"
    ]
    return "".join(texts) if texts else None


_MESSAGE_LISTS = ("tool_calls", "reasoning_details", "annotations", "images")


def _normalize_message(message: dict[str, Any], synth: _IdSynth) -> dict[str, Any]:
    """Copy-on-write repairs the models cannot express: null lists, content-part lists,
    tool calls with missing ids or null/empty arguments."""
    out = dict(message)
    for key in _MESSAGE_LISTS:
        if key in out and not isinstance(out[key], list):
            del out[key]
    if out.get("role") is None:
        out.pop("role", None)
    content = out.get("content")
    if isinstance(content, list):
        out["content_parts"] = content
        out["content"] = _text_of_parts(content)
    elif content is not None and not isinstance(content, str):
        out["content"] = str(content)
    calls = out.get("tool_calls")
    if calls:
        out["tool_calls"] = [_normalize_tool_call(c, synth) for c in calls if isinstance(c, dict)]
    return out


def _normalize_tool_call(call: dict[str, Any], synth: _IdSynth) -> dict[str, Any]:
    out = dict(call)
    call_id = out.get("id")
    out["id"] = synth.unique(call_id if isinstance(call_id, str) else None)
    if out.get("type") is None:
        out.pop("type", None)
    fn = out.get("function")
    fn = dict(fn) if isinstance(fn, dict) else {}
    if fn.get("name") is None:
        fn["name"] = ""
    args = fn.get("arguments")
    if args is None or (isinstance(args, str) and not args.strip()):
        fn["arguments"] = "{}"
    elif not isinstance(args, str):  # some providers send the object itself
        fn["arguments"] = orjson.dumps(args).decode()
    out["function"] = fn
    return out


_TOP_NON_NULL = ("id", "object", "created", "model")
_USAGE_NON_NULL = ("prompt_tokens", "completion_tokens", "total_tokens")


def _normalize_body(data: dict[str, Any], choices: list[Any]) -> dict[str, Any]:
    synth = _IdSynth(data.get("id") if isinstance(data.get("id"), str) else None)
    body = {k: v for k, v in data.items() if not (v is None and k in _TOP_NON_NULL)}
    new_choices = []
    for position, choice in enumerate(choices):
        if not isinstance(choice, dict):
            raise ResponseValidationError(f"choices[{position}] is not an object")
        fixed = dict(choice)
        if not isinstance(fixed.get("index"), int):
            fixed["index"] = position
        message = fixed.get("message")
        if message is None and isinstance(fixed.get("text"), str):  # legacy /completions
            message = {"role": "assistant", "content": fixed.pop("text")}
        fixed["message"] = _normalize_message(message if isinstance(message, dict) else {}, synth)
        new_choices.append(fixed)
    body["choices"] = new_choices
    usage = body.get("usage")
    if isinstance(usage, dict):
        body["usage"] = {k: v for k, v in usage.items() if not (v is None and k in _USAGE_NON_NULL)}
    elif usage is not None:
        del body["usage"]
    return body


def parse_chat_completion(
    data: Any, *, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> ChatCompletion:
    """Turn a parsed non-streaming response body into a :class:`ChatCompletion`, or raise.

    * an ``{"error": …}`` envelope (even with HTTP 200) raises the matching ``APIStatusError``;
    * a choice with ``finish_reason == "error"`` or an ``error`` object raises likewise, with the
      choice's error message;
    * a body that is not an object, or has no ``choices`` list, raises ``ResponseValidationError``.
    """
    if not isinstance(data, dict):
        raise ResponseValidationError(
            f"expected a JSON object as the response body, got {type(data).__name__}"
        )
    if data.get("error") is not None:
        exc = error_from_payload(status_code, data, headers)
        if exc.generation_id is None:
            exc.generation_id = _body_id(data)
        raise exc
    choices = data.get("choices")
    if not isinstance(choices, list):
        what = "no 'choices'" if choices is None else f"'choices' of type {type(choices).__name__}"
        raise ResponseValidationError(f"response body has {what}; expected a list")
    for choice in choices:
        if not isinstance(choice, dict):
            continue
        error = choice.get("error")
        if error is not None or choice.get("finish_reason") == "error":
            if error is None:
                error = {"message": "the provider reported finish_reason 'error'"}
            raise _body_error(
                error,
                status_code=status_code,
                headers=headers,
                user_id=data.get("user_id"),
                generation_id=_generation_id(data, headers),
            )
    try:
        return build_chat_completion(data, choices)
    except Bail:
        pass  # repairs, coercions or a shape error: the generic path below decides
    body = _normalize_body(data, choices)
    try:
        return structure(body, ChatCompletion)
    except Exception as exc:  # cattrs' errors stay inside the SDK
        raise ResponseValidationError(
            f"response body does not match the documented shape: {exc!r}",
            generation_id=_generation_id(data, headers),
        ) from exc


def _body_id(data: dict[str, Any]) -> str | None:
    gid = data.get("id")
    return gid if isinstance(gid, str) and gid else None


def _generation_id(data: dict[str, Any], headers: Mapping[str, str] | None) -> str | None:
    """For errors only: the body's id, else the ``X-Generation-Id`` header."""
    gid = _body_id(data)
    if gid is None and headers:
        gid = header_value(headers, "X-Generation-Id")
    return gid
