"""Structured outputs: hold model JSON to a schema, then build the Python value from it.

::

    done = await client.chat.completions.parse(model=..., messages=..., response_format=Person)
    done.parsed                       # a Person

    fmt = response_format_for(Person)
    async with client.chat.completions.stream(model=..., messages=..., response_format=fmt) as s:
        person = parse_completion(await s.get_final_completion(), Person).parsed

Why it is built this way: the SDK's one converter (``_convert.structure``) is forgiving on
purpose (it turns ``5`` into ``"5"`` for a ``str`` field and ignores unknown keys), which is right
for API responses and wrong for model output that promised to follow a schema. So the parsed JSON
is first checked against the JSON Schema of the class (:func:`schema_errors`: type, required,
``additionalProperties: false``, enum, bounds), and only then structured by the converter. Every
failure is a :class:`~openrouter_async.StructuredOutputError` whose ``raw`` is the model's text.

The check uses the class's ordinary (non-strict) schema even when the request asked for strict
mode: anything valid under the strict schema is valid under it, and a field with a default that
the model left out simply takes its default.

A pydantic model (pydantic is optional; see ``_pydantic``) is its own validator: its schema is
``model_json_schema()`` and the parsed JSON goes to ``model_validate``, whose errors become the
same :class:`~openrouter_async.StructuredOutputError`.

This module sits between :mod:`openrouter_async._schema` (the schemas it asks for) and
:mod:`openrouter_async.tools` (which uses :func:`schema_errors` to check tool arguments).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import attrs
import orjson

from ._convert import structure
from ._errors import RequestValidationError, StructuredOutputError
from ._pydantic import is_model
from ._pydantic import validate as validate_model
from ._schema import json_kind, json_schema_for
from .types.responses import ChatCompletion
from .types.tools import JSONSchemaSpec, ResponseFormatJSONSchema

__all__ = [
    "ParsedChatCompletion",
    "parse_completion",
    "parse_json",
    "response_format_for",
]

T = TypeVar("T")

_MAX_ERRORS = 8
_FENCE = re.compile(r"\A\s*```[A-Za-z0-9_-]*[ \t]*\r?\n(.*?)\r?\n\s*```\s*\Z", re.DOTALL)
_NAME_CHARS = re.compile(r"[^a-zA-Z0-9_-]")


# --- checking JSON against a schema ---------------------------------------------------------------


def _type_ok(value: Any, kind: str) -> bool:
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "null":
        return value is None
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    return True  # an unknown type name: do not judge


def _json_equal(a: Any, b: Any) -> bool:
    # Python has True == 1 and 1 == 1.0; JSON Schema keeps booleans apart from numbers.
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, list) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    numbers = ("integer", "number")
    if (json_kind(a) in numbers) != (json_kind(b) in numbers):
        return False
    return bool(a == b)


def _describe(schema: Any, root: Any) -> str:
    if not isinstance(schema, Mapping):
        return "any value"
    schema = _deref(schema, root)
    if "enum" in schema:
        return "one of " + ", ".join(orjson.dumps(v).decode() for v in schema["enum"])
    if "const" in schema:
        return orjson.dumps(schema["const"]).decode()
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(str(k) for k in kind)
    if isinstance(kind, str):
        return "an object" if kind == "object" else ("an array" if kind == "array" else kind)
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            return " or ".join(_describe(s, root) for s in schema[key])
    return "any value"


def _deref(schema: Mapping[str, Any], root: Any, depth: int = 0) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#") or depth > 32:
        return schema
    target: Any = root
    for part in ref[1:].split("/"):
        if part:
            target = target.get(part) if isinstance(target, Mapping) else None
    if not isinstance(target, Mapping):
        return {}
    return _deref(target, root, depth + 1)


def schema_errors(value: Any, schema: Mapping[str, Any]) -> list[str]:
    """Where ``value`` (parsed JSON) breaks ``schema``: ``["$.city: expected string, got null"]``.

    Covers the keywords ``tools.json_schema_for`` writes plus the common validation keywords
    (``minimum``, ``maxLength``, ``pattern``…); keywords it does not know are ignored.
    """
    errors: list[str] = []
    _check(value, schema, schema, "$", errors)
    return errors


def _check(value: Any, schema: Any, root: Any, path: str, errors: list[str]) -> None:
    if len(errors) >= _MAX_ERRORS or schema is True or not isinstance(schema, Mapping):
        if schema is False:
            errors.append(f"{path}: no value is allowed here")
        return
    schema = _deref(schema, root)
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and branches:
            results = []
            for branch in branches:
                found: list[str] = []
                _check(value, branch, root, path, found)
                if not found:
                    break
                results.append((branch, found))
            else:
                fitting = [
                    found
                    for branch, found in results
                    if _type_ok(value, str(_deref(branch, root).get("type", "")))
                    and "type" in _deref(branch, root)
                ]
                if len(fitting) == 1:
                    errors.extend(fitting[0])
                else:
                    errors.append(
                        f"{path}: expected {_describe(schema, root)}, got {json_kind(value)}"
                    )
                return
    for branch in schema.get("allOf") or ():
        _check(value, branch, root, path, errors)
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if isinstance(kind, str) else None
    if kinds is not None and not any(_type_ok(value, k) for k in kinds):
        errors.append(f"{path}: expected {_describe(schema, root)}, got {json_kind(value)}")
        return
    if "enum" in schema and not any(_json_equal(value, v) for v in schema["enum"]):
        shown = orjson.dumps(value).decode() if json_kind(value) != "object" else "an object"
        errors.append(f"{path}: expected {_describe(schema, root)}, got {shown[:80]}")
        return
    if "const" in schema and not _json_equal(value, schema["const"]):
        errors.append(f"{path}: expected {_describe(schema, root)}")
        return
    if isinstance(value, dict):
        _check_object(value, schema, root, path, errors)
    elif isinstance(value, list):
        _check_array(value, schema, root, path, errors)
    elif isinstance(value, str):
        _check_string(value, schema, path, errors)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        _check_number(value, schema, path, errors)


def _check_object(
    value: dict[str, Any], schema: Mapping[str, Any], root: Any, path: str, errors: list[str]
) -> None:
    props = schema.get("properties")
    props = props if isinstance(props, Mapping) else {}
    for name in schema.get("required") or ():
        if name not in value:
            errors.append(f"{path}: missing required property {name!r}")
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in props:
            _check(item, props[key], root, f"{path}.{key}", errors)
        elif extra is False:
            errors.append(f"{path}: unexpected property {key!r}")
        elif isinstance(extra, Mapping):
            _check(item, extra, root, f"{path}.{key}", errors)


def _check_array(
    value: list[Any], schema: Mapping[str, Any], root: Any, path: str, errors: list[str]
) -> None:
    prefix = schema.get("prefixItems")
    prefix = prefix if isinstance(prefix, list) else []
    for i, item in enumerate(value):
        sub = prefix[i] if i < len(prefix) else schema.get("items", True)
        _check(item, sub, root, f"{path}[{i}]", errors)
    lo, hi = schema.get("minItems"), schema.get("maxItems")
    if isinstance(lo, int) and len(value) < lo:
        errors.append(f"{path}: expected at least {lo} items, got {len(value)}")
    if isinstance(hi, int) and len(value) > hi:
        errors.append(f"{path}: expected at most {hi} items, got {len(value)}")
    if schema.get("uniqueItems") is True:
        for i, item in enumerate(value):
            if any(_json_equal(item, other) for other in value[:i]):
                errors.append(f"{path}[{i}]: duplicate item")
                break


def _check_string(value: str, schema: Mapping[str, Any], path: str, errors: list[str]) -> None:
    lo, hi, pattern = schema.get("minLength"), schema.get("maxLength"), schema.get("pattern")
    if isinstance(lo, int) and len(value) < lo:
        errors.append(f"{path}: expected at least {lo} characters, got {len(value)}")
    if isinstance(hi, int) and len(value) > hi:
        errors.append(f"{path}: expected at most {hi} characters, got {len(value)}")
    if isinstance(pattern, str):
        try:
            matched = re.search(pattern, value) is not None
        except re.error:
            matched = True  # a pattern Python cannot read: leave it to the server
        if not matched:
            errors.append(f"{path}: does not match the pattern {pattern!r}")


_BOUNDS: tuple[tuple[str, Callable[[Any, Any], Any], str], ...] = (
    ("minimum", operator.ge, ">="),
    ("maximum", operator.le, "<="),
    ("exclusiveMinimum", operator.gt, ">"),
    ("exclusiveMaximum", operator.lt, "<"),
)


def _check_number(value: float, schema: Mapping[str, Any], path: str, errors: list[str]) -> None:
    for key, ok, sign in _BOUNDS:
        bound = schema.get(key)
        if isinstance(bound, int | float) and not isinstance(bound, bool) and not ok(value, bound):
            errors.append(f"{path}: must be {sign} {bound}, got {value}")


# --- parsing --------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ParsedChatCompletion(ChatCompletion, Generic[T]):
    """A :class:`~openrouter_async.ChatCompletion` plus ``parsed``: the first choice's content
    as an instance of the requested class."""

    parsed: T


def _class_schema(cls: type[Any], *, strict: bool) -> dict[str, Any]:

    schema = json_schema_for(cls, strict=strict)
    if schema.get("type") != "object":
        raise RequestValidationError(
            f"structured outputs need a class that maps to a JSON object (an attrs class, "
            f"dataclass, TypedDict or pydantic model), got {cls!r}",
            path="response_format",
        )
    return schema


def response_format_for(
    cls: type[Any],
    *,
    name: str | None = None,
    description: str | None = None,
    strict: bool = True,
) -> ResponseFormatJSONSchema:
    """The ``json_schema`` response format for ``cls`` (attrs class, dataclass, TypedDict or
    pydantic model).

    ``name`` defaults to the class name (characters outside ``[a-zA-Z0-9_-]`` become ``_``);
    ``strict=True`` (the default) asks the provider to enforce the schema, which then lists
    every field as required (a field that may be absent should be typed ``X | None``).
    """
    schema = _class_schema(cls, strict=strict)
    if name is None:
        name = _NAME_CHARS.sub("_", getattr(cls, "__name__", "") or "output")[:64]
    return ResponseFormatJSONSchema(
        json_schema=JSONSchemaSpec(name=name, description=description, schema=schema, strict=strict)
    )


def _strip_fence(text: str) -> str:
    # Models without enforced structured output often wrap JSON in a Markdown code fence.
    match = _FENCE.match(text)
    return match.group(1) if match else text


def parse_json(text: str | None, cls: type[T]) -> T:
    """``text`` (JSON, optionally inside one Markdown code fence) as an instance of ``cls``.

    Raises :class:`~openrouter_async.StructuredOutputError` (``raw=text``) when the text is empty,
    not JSON, does not match the class's schema (missing required field, wrong type, a key the
    class does not have, a value outside an enum…) or cannot be converted.
    """
    name = getattr(cls, "__name__", repr(cls))
    if text is None or not text.strip():
        raise StructuredOutputError(f"the model returned no content to parse as {name}", raw=text)
    try:
        data = orjson.loads(_strip_fence(text))
    except orjson.JSONDecodeError as exc:
        raise StructuredOutputError(f"the output is not valid JSON: {exc}", raw=text) from exc
    if is_model(cls):
        try:
            parsed: T = validate_model(cls, data)
        except ValueError as exc:
            raise StructuredOutputError(
                f"the output does not match {name}: {exc}", raw=text
            ) from exc
        return parsed
    errors = schema_errors(data, _class_schema(cls, strict=False))
    if errors:
        raise StructuredOutputError(
            f"the output does not match {name}: " + "; ".join(errors), raw=text
        )
    try:
        return structure(data, cls)
    except Exception as exc:
        raise StructuredOutputError(
            f"the output cannot be converted to {name}: {exc}", raw=text
        ) from exc


def parse_completion(completion: ChatCompletion, cls: type[T]) -> ParsedChatCompletion[T]:
    """``completion`` with its first choice's content parsed as ``cls`` (see :func:`parse_json`).

    Works on ``create()`` results and on ``await stream.get_final_completion()``. A refusal, a
    completion without choices, or output cut off by ``max_tokens`` raise
    :class:`~openrouter_async.StructuredOutputError` saying so.
    """
    if not completion.choices:
        raise StructuredOutputError("the completion has no choices to parse", raw=None)
    choice = completion.choices[0]
    message = choice.message
    if message.refusal and not (message.content or "").strip():
        raise StructuredOutputError(f"the model refused: {message.refusal}", raw=message.refusal)
    try:
        parsed = parse_json(message.content, cls)
    except StructuredOutputError as exc:
        if choice.finish_reason == "length":
            raise StructuredOutputError(
                f"{exc.message} (the output was cut off: finish_reason 'length'; raise max_tokens)",
                raw=exc.raw,
            ) from exc
        raise
    values = {f.name: getattr(completion, f.name) for f in attrs.fields(ChatCompletion)}
    return ParsedChatCompletion(**values, parsed=parsed)
