"""The fast completion builder against the generic path it stands in for.

For any body, the fast path either gives up (``Bail``) or returns exactly what the generic
path (repairs + the cattrs converter) returns: same classes, same values, same value types
(``1`` and ``1.0`` compare equal in Python, so equality alone would not do).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import attrs
import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from openrouter_async._convert import NO_EXTRA, structure
from openrouter_async._fast_parse import Bail, build_chat_completion
from openrouter_async._parse import _normalize_body, parse_chat_completion
from openrouter_async.types.responses import ChatCompletion


def same(a: Any, b: Any, where: str = "") -> None:
    """Assert ``a`` and ``b`` are the same value all the way down, types included."""
    if attrs.has(type(a)):
        assert type(a) is type(b), where
        for field in attrs.fields(type(a)):
            same(getattr(a, field.name), getattr(b, field.name), f"{where}.{field.name}")
    elif isinstance(a, Mapping):
        assert isinstance(b, Mapping), where
        assert set(a) == set(b), where
        for key in a:
            same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{where}[{i}]")
    else:
        assert type(a) is type(b) and a == b, f"{where}: {a!r} != {b!r}"


def generic(data: dict[str, Any]) -> ChatCompletion:
    return structure(_normalize_body(data, data["choices"]), ChatCompletion)


# --------------------------------------------------------------------------- strategies

text = st.text(max_size=6)
scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(-2, 2, allow_nan=False),
    text,
)
json_value = st.recursive(
    scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)),
    max_leaves=6,
)
unknown = st.dictionaries(st.sampled_from(["x_new", "weird", "extra"]), json_value, max_size=2)


def maybe(
    strategy: st.SearchStrategy[Any],
    *odd: st.SearchStrategy[Any],
    null: bool = True,
    absent: bool = True,
) -> Any:
    """Mostly ``strategy``, or absent (``...``) or null where those are usual; about one time
    in ten one of the ``odd`` values (null and absent among them where they are not usual),
    so that many bodies are well typed all the way down and take the fast path."""
    usual = [strategy, strategy]
    rare = list(odd)
    (usual if null else rare).append(st.none())
    (usual if absent else rare).append(st.just(...))
    if not rare:
        return st.one_of(*usual)
    # Hypothesis favours small and boundary integers, so the rare band sits mid-range.
    return st.integers(0, 99).flatmap(
        lambda roll: st.one_of(*rare) if 40 <= roll < 50 else st.one_of(*usual)
    )


def obj(fields: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    def build(values: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in values.items() if v is not ...}
        out.update(more)
        return out

    return st.builds(build, st.fixed_dictionaries(fields), unknown)


ints = st.integers(0, 10**6)
counts = maybe(ints, st.floats(0, 5, allow_nan=False), st.booleans(), text)
details = obj({k: counts for k in ("cached_tokens", "audio_tokens", "reasoning_tokens")})
costs = obj(
    {
        "upstream_inference_cost": maybe(
            st.floats(0, 1, allow_nan=False), ints, text, st.booleans()
        ),
        "upstream_inference_prompt_cost": maybe(st.floats(0, 1, allow_nan=False), ints),
    }
)
usage = obj(
    {
        "prompt_tokens": counts,
        "completion_tokens": counts,
        "total_tokens": counts,
        "cost": maybe(st.floats(0, 1, allow_nan=False), ints, text),
        "is_byok": maybe(st.booleans(), ints),
        "prompt_tokens_details": maybe(details, text),
        "completion_tokens_details": maybe(details),
        "cost_details": maybe(costs, ints),
        "server_tool_use": maybe(obj({"web_search_requests": counts})),
        "server_tool_use_details": maybe(obj({"web_search_requests": counts})),
    }
)
function = obj(
    {
        "name": maybe(text, ints),
        "arguments": maybe(
            st.sampled_from(['{"a": 1}', "", "  ", "{}"]), st.dictionaries(text, ints)
        ),
    }
)
tool_call = obj(
    {
        "id": maybe(
            st.uuids().map(str), st.just(""), st.just("call_1"), ints, null=False, absent=False
        ),
        "type": maybe(st.just("function"), ints),
        "function": maybe(function, text, null=False, absent=False),
    }
)
dict_list = maybe(st.lists(st.dictionaries(text, scalar, max_size=2), max_size=2), text)
message = obj(
    {
        "role": maybe(st.just("assistant"), ints, null=False),
        "content": maybe(
            text, st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": text}))
        ),
        "refusal": maybe(text),
        "reasoning": maybe(text, ints),
        "tool_calls": maybe(st.lists(tool_call, max_size=3), text),
        "reasoning_details": dict_list,
        "annotations": dict_list,
        "images": dict_list,
        "audio": maybe(st.dictionaries(text, scalar, max_size=2), text),
    }
)
logprobs = st.fixed_dictionaries(
    {"content": st.lists(st.fixed_dictionaries({"token": text, "logprob": st.floats(-5, 0)}))}
)
choice = obj(
    {
        "index": maybe(st.integers(0, 3), st.booleans(), text, null=False),
        "finish_reason": maybe(st.sampled_from(["stop", "length", "tool_calls"]), ints),
        "native_finish_reason": maybe(text),
        "logprobs": maybe(logprobs, text),
        "message": maybe(message, text, null=False, absent=False),
    }
)
body = obj(
    {
        "id": maybe(st.just("gen-1"), ints, null=False),
        "object": maybe(st.just("chat.completion"), null=False),
        "created": maybe(ints, st.floats(0, 5, allow_nan=False), text, null=False),
        "model": maybe(st.just("m/x"), null=False),
        "provider": maybe(text, ints),
        "system_fingerprint": maybe(text),
        "service_tier": maybe(text),
        "openrouter_metadata": maybe(st.dictionaries(text, scalar, max_size=2), text),
        "usage": maybe(usage, text),
        "choices": st.lists(choice, max_size=3),
    }
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body)
def test_fast_path_is_the_generic_path_or_bails(data: dict[str, Any]) -> None:
    before = copy.deepcopy(data)
    try:
        fast = build_chat_completion(data, data["choices"])
    except Bail:
        event("generic path")
        return
    finally:
        assert data == before  # the input is never modified
    event("fast path with choices" if fast.choices else "fast path without choices")
    same(fast, generic(data))
    if fast.usage is not None:
        same(fast.usage.server_tool_use_details, generic(data).usage.server_tool_use_details)


def test_the_typical_body_takes_the_fast_path() -> None:
    data = orjson.loads(
        b"""{"id":"gen-1","object":"chat.completion","created":1,"model":"m","provider":"P",
        "system_fingerprint":null,"choices":[{"index":0,"finish_reason":"tool_calls",
        "native_finish_reason":"tool_calls","logprobs":null,"message":{"role":"assistant",
        "content":null,"refusal":null,"reasoning":"r","reasoning_details":[{"type":"x"}],
        "tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":""}}]}}],
        "usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5,"cost":0,
        "is_byok":false,"prompt_tokens_details":{"cached_tokens":0},
        "cost_details":{"upstream_inference_cost":null},"new_thing":1}}"""
    )
    fast = build_chat_completion(data, data["choices"])
    same(fast, generic(data))
    assert fast.usage is not None and fast.usage.cost == 0.0 and type(fast.usage.cost) is float
    assert fast.usage.extra == {"new_thing": 1}
    assert fast.choices[0].message.extra is NO_EXTRA
    assert fast.choices[0].message.tool_calls[0].arguments == "{}"


def typical(**usage: Any) -> dict[str, Any]:
    call = {"id": "c1", "function": {"name": "f", "arguments": "  "}}
    message = {"content": "hi", "tool_calls": [call], "reasoning_details": None, "images": []}
    return {
        "id": "gen-1",
        "model": "m",
        "choices": [{"index": "0", "message": message, "finish_reason": None}],
        "usage": {"prompt_tokens": None, "total_tokens": 2, **usage},
    }


@pytest.mark.parametrize(
    "usage",
    [
        {"cost": 0, "cost_details": {"upstream_inference_cost": 1}},
        {"prompt_tokens_details": {"cached_tokens": 2, "new": 1}},
        {"server_tool_use_details": {"web_search_requests": 1}},
        {"server_tool_use": {"web_search_requests": 2}, "server_tool_use_details": None},
        {"is_byok": True, "completion_tokens_details": None},
    ],
)
def test_defaults_and_widening_match_the_generic_path(usage: dict[str, Any]) -> None:
    """Absent ``role``/``type``/``object``, null lists, a string index, int costs, and the
    ``server_tool_use_details`` alias: the fast path takes them and agrees with the generic."""
    data = typical(**usage)
    fast = build_chat_completion(data, data["choices"])
    same(fast, generic(data))
    assert fast.usage is not None
    same(fast.usage.server_tool_use_details, generic(data).usage.server_tool_use_details)
    message = fast.choices[0].message
    assert (message.role, message.tool_calls[0].type, fast.object) == (
        "assistant",
        "function",
        "chat.completion",
    )


@pytest.mark.parametrize(
    "change",
    [
        {"choices": [{"index": 0, "message": {"role": "assistant", "content": [{"text": "a"}]}}]},
        {"choices": [{"index": 0, "message": {"content": "a", "tool_calls": [{"id": ""}]}}]},
        {"choices": [{"index": 0, "text": "legacy"}]},
        {"created": 1.5},
        {"id": None},
    ],
    ids=["content parts", "tool call without id", "legacy text", "float created", "null id"],
)
def test_bodies_needing_repairs_take_the_generic_path(change: dict[str, Any]) -> None:
    data = {"id": "gen-1", "object": "chat.completion", "created": 1, "model": "m", "choices": []}
    data.update(change)
    with pytest.raises(Bail):
        build_chat_completion(data, data["choices"])
    same(parse_chat_completion(data), generic(data))
