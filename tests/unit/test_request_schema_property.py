"""Requests generated from OpenRouter's own ``ChatRequest`` schema are sent as given, or refused
only for a constraint the schema (or one of its descriptions) states.

The schema is the vendored subset in ``tests/data/openapi_request`` (see its ``SOURCE.md``). The
strategies below are written for it rather than taken from a general JSON-Schema generator: the
file is OpenAPI 3.1 with ``discriminator`` hints and nullable type lists, and a small generator
that knows exactly which keywords it honours keeps the test fast and its failures readable.

What "sent as given" means: the body, parsed back, equals the generated request once ``null``
values are removed on both sides (a ``None`` field is "not set" and is left out, as the README
documents). Objects that allow further keys get some (``x-`` prefixed), so keys the SDK does not
model are checked to pass through at every level that allows them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openrouter_async import RequestValidationError
from openrouter_async.types.chat_request import chat_request_body, coerce_chat_request

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "data" / "openapi_request"
SCHEMAS: dict[str, Any] = orjson.loads((SCHEMA_FILE / "chat_request.schema.json").read_bytes())[
    "components"
]["schemas"]

INT64 = 2**63
MAX_DEPTH = 7

# --- strategies from the schema ------------------------------------------------------------------

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8)
NAMES = st.from_regex(r"[a-z_-]{1,8}", fullmatch=True)
STRINGS = NAMES | TEXT  # names often satisfy the documented name patterns; text often does not
NUMBERS = st.floats(-3, 3) | st.integers(-3, 25) | st.floats(allow_nan=False, allow_infinity=False)
INTEGERS = st.integers(-3, 25) | st.integers(-INT64, INT64 - 1)
JSON_LEAF = st.none() | st.booleans() | st.integers(-1000, 1000) | st.floats(-1e6, 1e6) | TEXT
JSON_VALUE = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(NAMES, inner, max_size=2),
    max_leaves=4,
)
EXTRA_KEYS = st.dictionaries(NAMES.map(lambda name: "x-" + name), JSON_VALUE, max_size=1)


def resolve(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]
    if "allOf" in schema:
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            part = resolve(part)
            for key, value in part.items():
                if key == "properties":
                    merged["properties"] = {**merged.get("properties", {}), **value}
                elif key == "required":
                    merged["required"] = [*merged.get("required", []), *value]
                else:
                    merged.setdefault(key, value)
        return merged
    return schema


def strategy(schema: Mapping[str, Any], depth: int = 0, *, root: bool = False) -> Any:
    schema = resolve(schema)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return st.one_of([strategy(branch, depth + 1) for branch in schema[key]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kinds = schema.get("type")
    if kinds is None:
        kinds = "object" if "properties" in schema else None
    if kinds is None:
        return JSON_VALUE
    if isinstance(kinds, list):
        return st.one_of([strategy({**schema, "type": kind}, depth) for kind in kinds])
    return _typed(schema, kinds, depth, root)


def _typed(schema: Mapping[str, Any], kind: str, depth: int, root: bool) -> Any:
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "string":
        if "maxLength" in schema or "minLength" in schema:
            lo, hi = schema.get("minLength", 0), schema.get("maxLength", 300)
            return st.text(
                alphabet=st.characters(blacklist_categories=("Cs",)), min_size=lo, max_size=hi
            ) | NAMES.filter(lambda s: lo <= len(s) <= hi)
        return STRINGS
    if kind == "integer":
        lo, hi = schema.get("minimum", -INT64), schema.get("maximum", INT64 - 1)
        return INTEGERS.filter(lambda n: lo <= n <= hi)
    if kind == "number":
        lo, hi = schema.get("minimum"), schema.get("maximum")
        return NUMBERS.filter(lambda x: (lo is None or x >= lo) and (hi is None or x <= hi))
    if kind == "array":
        low = schema.get("minItems", 0)
        high = min(schema.get("maxItems", low + 2), low + 2)
        if depth > MAX_DEPTH and low == 0:
            return st.just([])
        return st.lists(strategy(schema.get("items", {}), depth + 1), min_size=low, max_size=high)
    return _object(schema, depth, root)


def _object(schema: Mapping[str, Any], depth: int, root: bool) -> Any:
    props: Mapping[str, Any] = schema.get("properties", {})
    required = [name for name in schema.get("required", ()) if name in props]
    fixed = {name: strategy(props[name], depth + 1) for name in required}
    optional = (
        {}
        if depth > MAX_DEPTH
        else {name: strategy(sub, depth + 1) for name, sub in props.items() if name not in required}
    )
    objects = st.fixed_dictionaries(fixed, optional=optional)
    extra = schema.get("additionalProperties", True)
    if root or extra is False:
        return objects
    if isinstance(extra, Mapping) and extra:
        values = st.dictionaries(NAMES.map(lambda n: "x-" + n), strategy(extra, depth + 1))
        more = values.filter(lambda d: len(d) <= 2)
    else:
        more = EXTRA_KEYS
    return st.tuples(objects, more).map(lambda pair: {**pair[1], **pair[0]})


CHAT_REQUESTS = strategy(SCHEMAS["ChatRequest"], root=True)

# --- the constraints a refusal may cite ----------------------------------------------------------


def _description(*path: str) -> str:
    node: Any = SCHEMAS
    for step in path:
        node = resolve(node)[step] if step != "properties" else node["properties"]
    text = resolve(node).get("description") if isinstance(node, Mapping) else None
    assert isinstance(text, str), path
    return text


STATED: list[tuple[str, str, str]] = [
    # (refused path pattern, the schema text that states the constraint, where it is stated)
    (r"temperature", "(0-2)", _description("ChatRequest", "properties", "temperature")),
    (r"top_p", "(0-1)", _description("ChatRequest", "properties", "top_p")),
    (
        r"frequency_penalty",
        "(-2.0 to 2.0)",
        _description("ChatRequest", "properties", "frequency_penalty"),
    ),
    (
        r"presence_penalty",
        "(-2.0 to 2.0)",
        _description("ChatRequest", "properties", "presence_penalty"),
    ),
    (r"top_logprobs", "(0-20)", _description("ChatRequest", "properties", "top_logprobs")),
    (
        r"metadata.*",
        "max 16 pairs, 64 char keys, 512 char values",
        _description("ChatRequest", "properties", "metadata"),
    ),
    (
        r"reasoning_effort",
        "Cannot be used simultaneously with reasoning.effort if they differ",
        _description("ChatRequest", "properties", "reasoning_effort"),
    ),
    (
        r"response_format\.json_schema\.name",
        "(a-z, A-Z, 0-9, underscores, dashes, max 64 chars)",
        _description("ChatJsonSchemaConfig", "properties", "name"),
    ),
    (
        r"messages\[\d+\]\.content\[\d+\]\.input_audio\.data",
        "Base64 encoded audio data",
        _description("ChatContentAudio", "properties", "input_audio", "properties", "data"),
    ),
]
_FUNCTION_NAME = resolve(SCHEMAS["ChatFunctionTool"]["anyOf"][0])["properties"]["function"]
STATED.append(
    (
        r"tools\[\d+\]\.function\.name",
        "(a-z, A-Z, 0-9, underscores, dashes, max 64 chars)",
        _FUNCTION_NAME["properties"]["name"]["description"],
    )
)


def stated_constraint(exc: RequestValidationError) -> str | None:
    for pattern, quote, description in STATED:
        if re.fullmatch(pattern, exc.path) and quote in description:
            return quote
    return None


def test_every_cited_constraint_is_quoted_from_the_schema() -> None:
    for _, quote, description in STATED:
        assert quote in description


# --- the property ---------------------------------------------------------------------------------


def without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def canonical(value: Any) -> bytes:
    return orjson.dumps(without_nulls(value), option=orjson.OPT_SORT_KEYS)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(CHAT_REQUESTS)
def test_schema_requests_are_sent_as_given_or_refused_for_a_stated_constraint(
    request: dict[str, Any],
) -> None:
    try:
        body = chat_request_body(coerce_chat_request(request))
    except RequestValidationError as exc:
        assert stated_constraint(exc) is not None, f"refused without a documented reason: {exc}"
        return
    assert canonical(orjson.loads(body)) == canonical(request)
