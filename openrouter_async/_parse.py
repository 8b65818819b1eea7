"""Pure: a non-streaming response body -> a :class:`ChatCompletion`, or the typed error it is.

Kept apart from the stream decoder so that ``create()`` loads nothing of the streaming
machinery. Two error shapes hide inside HTTP 200 (an ``{"error": ...}`` envelope, and a choice
that finished with ``"error"``) and are raised as the matching status error. The body is
structured by the converter's generated hook for :class:`ChatCompletion` (one pass, no copy of
the body); what one field cannot decide alone (a choice's position as its index, the raw
content-part list, legacy ``text`` choices, tool-call ids unique across the completion) is then
fixed on the objects just built (``_finish_*``), so ``create()`` and a stream's final
completion agree.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ._convert import NO_EXTRA, structurer
from ._errors import APIStatusError, ResponseValidationError
from ._http import generation_id
from .types.responses import ChatCompletion, ChatMessage

__all__ = ["IdSynth", "parse_chat_completion"]


def _body_error(
    error: Any,
    *,
    status_code: int,
    headers: Mapping[str, str] | None,
    user_id: Any = None,
    generation_id: str | None = None,
) -> APIStatusError:
    exc = _error_from_payload(status_code, {"error": error, "user_id": user_id}, headers)
    if exc.generation_id is None:
        exc.generation_id = generation_id
    return exc


def _error_from_payload(
    status_code: int, data: dict[str, Any], headers: Mapping[str, str] | None
) -> APIStatusError:
    # Imported on the error path only: the error-body parser (with the html module it uses) is
    # ~0.5 MB that a process whose requests all succeed never loads.
    from ._error_body import error_from_payload

    return error_from_payload(status_code, data, headers)


class IdSynth:
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


def _set(obj: Any, name: str, value: Any) -> None:
    """Fix a field of an object this module just built (frozen for users, not for its parser)."""
    object.__setattr__(obj, name, value)


def _finish_choices(completion: ChatCompletion, choices: list[dict[str, Any]]) -> None:
    """The repairs of a choice that need more than one field: its position as its index, the
    raw content-part list, legacy ``text`` choices. ``choices`` are the wire dicts behind
    ``completion.choices``."""
    for position, (choice, raw) in enumerate(zip(completion.choices, choices, strict=True)):
        if raw.get("index").__class__ is not int:
            _set(choice, "index", position)
        wire_message = raw.get("message")
        if wire_message.__class__ is dict:
            parts = wire_message.get("content")
            if parts.__class__ is list:
                _set(choice.message, "content_parts", [p for p in parts if p.__class__ is dict])
        elif wire_message is None and raw.get("text").__class__ is str:  # legacy /completions
            _set(choice, "message", ChatMessage(content=raw["text"]))
            rest = {k: v for k, v in choice.extra.items() if k != "text"}
            _set(choice, "extra", rest or NO_EXTRA)


def _finish_tool_calls(completion: ChatCompletion) -> None:
    """Tool-call ids unique across the completion (an :class:`IdSynth` only once one is
    missing or repeated), and empty or blank arguments as ``{}``."""
    seen: set[str] = set()
    synth: IdSynth | None = None
    for choice in completion.choices:
        for call in choice.message.tool_calls:
            call_id = call.id
            if synth is None and call_id and call_id not in seen:
                seen.add(call_id)
            else:
                if synth is None:
                    synth = IdSynth(completion.id or None)
                    synth.used = seen
                unique = synth.unique(call_id)
                if unique != call_id:
                    _set(call, "id", unique)
            arguments = call.function.arguments
            if not arguments or (arguments[0].isspace() and not arguments.strip()):
                _set(call.function, "arguments", "{}")


_completion_of = structurer(ChatCompletion)


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
        exc = _error_from_payload(status_code, data, headers)
        if exc.generation_id is None:
            exc.generation_id = _body_id(data)
        raise exc
    choices = data.get("choices")
    if not isinstance(choices, list):
        what = "no 'choices'" if choices is None else f"'choices' of type {type(choices).__name__}"
        raise ResponseValidationError(f"response body has {what}; expected a list")
    # What the structured completion will need fixed, found by the loop that runs anyway.
    plain = True  # every choice has an int index, a message object and no content parts
    calls = False  # some choice has tool calls
    for position, choice in enumerate(choices):
        if choice.__class__ is not dict:
            raise ResponseValidationError(
                f"choices[{position}] is not an object",
                generation_id=_generation_id(data, headers),
            )
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
        message = choice.get("message")
        if message.__class__ is dict:
            if message.get("tool_calls"):
                calls = True
            if plain and (
                choice.get("index").__class__ is not int or message.get("content").__class__ is list
            ):
                plain = False
        else:
            plain = False
    try:
        completion = _completion_of(data)
        if not plain:
            _finish_choices(completion, choices)
        if calls:
            _finish_tool_calls(completion)
    except ResponseValidationError as exc:
        raise ResponseValidationError(
            f"response body does not match the documented shape: {exc.message}",
            generation_id=_generation_id(data, headers),
        ) from exc
    return completion


def _body_id(data: dict[str, Any]) -> str | None:
    gid = data.get("id")
    return gid if isinstance(gid, str) and gid else None


def _generation_id(data: dict[str, Any], headers: Mapping[str, str] | None) -> str | None:
    """For errors only: the body's id, else the ``X-Generation-Id`` header."""
    return _body_id(data) or generation_id(headers)
