"""The fast body path for plain keyword arguments sends exactly what the full path sends,
and defers to the full path (and its errors) for anything else."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openrouter_async import RequestValidationError
from openrouter_async.types._fast_body import fast_chat_body
from openrouter_async.types._scalar_rules import SCALAR_RULES
from openrouter_async.types.chat_request import chat_request_body, coerce_chat_request


def full_path(kwargs: dict[str, Any], stream: bool | None) -> bytes | RequestValidationError:
    try:
        return chat_request_body(coerce_chat_request(**kwargs), stream=stream)
    except RequestValidationError as exc:
        return exc


numbers = st.one_of(
    st.integers(-5, 300),
    st.integers(-(2**64), 2**64),
    st.floats(-3, 3),
    st.sampled_from([float("nan"), float("inf")]),
    st.booleans(),
)
texts = st.text(max_size=12)
scalars = numbers | texts | st.sampled_from(["low", "fallback", "flex", "loud", ""]) | st.none()
message = st.fixed_dictionaries(
    {
        "role": st.sampled_from(["system", "developer", "user", "assistant", "tool", "bot"]),
        "content": st.one_of(texts, st.none(), st.integers()),
    }
)
# Every field of the rule table is generated (so a new rule is covered the day it is added),
# plus fields the fast path does not take, which must defer to the full path.
kwargs_strategy = st.fixed_dictionaries(
    {"messages": st.lists(message, max_size=4)},
    optional={
        **{name: scalars for name in SCALAR_RULES},
        "session_id": st.text(max_size=300),
        "logprobs": st.booleans(),  # not fast-path: must defer
        "stop": st.lists(texts, max_size=5),  # not fast-path: must defer
    },
)


def _accepted_value(name: str) -> Any:
    for value in (1, 0.5, True, "low"):
        if not isinstance(full_path({"messages": [HI], name: value}, None), Exception):
            return value
    raise AssertionError(f"no sample value passes the rule for {name}")


HI = {"role": "user", "content": "x"}


@pytest.mark.parametrize("name", list(SCALAR_RULES))
def test_every_rule_table_field_takes_the_fast_path(name: str) -> None:
    kwargs = {"messages": [HI], name: _accepted_value(name)}
    fast = fast_chat_body(kwargs)
    assert fast is not None
    assert fast == full_path(kwargs, None)


@settings(max_examples=400, deadline=None)
@given(kwargs_strategy, st.sampled_from([None, True]))
def test_fast_path_matches_the_full_path(kwargs: dict[str, Any], stream: bool | None) -> None:
    fast = fast_chat_body(kwargs, stream=stream)
    full = full_path(kwargs, stream)
    if isinstance(full, RequestValidationError):
        assert fast is None  # errors always come from the full path
    elif fast is not None:
        assert fast == full


def test_common_request_takes_the_fast_path() -> None:
    kwargs = {
        "model": "openai/gpt-4o-mini",
        "messages": [{"role": "system", "content": "Be brief."}, {"content": "Hi", "role": "user"}],
        "max_tokens": 50,
        "temperature": 0.2,
    }
    fast = fast_chat_body(kwargs)
    assert fast is not None
    assert fast == chat_request_body(coerce_chat_request(**kwargs))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"messages": [{"role": "user", "content": "x"}], "temperature": 7},
        {"messages": [{"role": "tool", "content": "x"}]},
        {"messages": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]},
        {"messages": [{"role": "user", "content": "x", "name": "n"}]},
        {"messages": [{"role": "user", "content": "x"}], "tools": []},
        {"messages": [{"role": "user", "content": "x"}], "extra_body": {"a": 1}},
        {"messages": []},
        {"messages": ({"role": "user", "content": "x"},)},
    ],
)
def test_anything_else_defers_to_the_full_path(kwargs: dict[str, Any]) -> None:
    assert fast_chat_body(kwargs) is None


valid_kwargs = st.fixed_dictionaries(
    {
        "messages": st.lists(
            st.fixed_dictionaries(
                {
                    "role": st.sampled_from(["system", "developer", "user"]),
                    "content": st.text(min_size=1, max_size=12),
                }
            ),
            min_size=1,
            max_size=4,
        )
    },
    optional={
        "model": st.sampled_from(["openai/gpt-4o-mini", "a/b:free"]),
        "max_tokens": st.integers(1, 10_000),
        "temperature": st.floats(0, 2),
        "top_p": st.floats(0.01, 1),
        "seed": st.integers(-(2**40), 2**40),
        "user": texts,
    },
)


@settings(max_examples=200, deadline=None)
@given(valid_kwargs, st.sampled_from([None, True]))
def test_valid_simple_requests_always_take_the_fast_path(
    kwargs: dict[str, Any], stream: bool | None
) -> None:
    full = full_path(kwargs, stream)
    fast = fast_chat_body(kwargs, stream=stream)
    if isinstance(full, RequestValidationError):
        assert fast is None
    else:
        assert fast is not None  # a valid simple request never falls back
        assert fast == full


def test_rule_table_order_is_chat_request_field_order() -> None:
    # The shortcut writes fields in the rule table's order; the full path writes them in
    # ChatRequest's. Pinned here so a field added to one in another place fails at once.
    import attrs

    from openrouter_async.types.chat_request import ChatRequest

    declared = [f.name for f in attrs.fields(ChatRequest) if f.name in SCALAR_RULES]
    assert declared == list(SCALAR_RULES)
