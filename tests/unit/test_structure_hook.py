"""The converter's generated structure hook for response models, against an independent
reference, and against hostile values.

The reference is plain cattrs, configured here and nowhere else: ``make_dict_structure_fn`` per
class (wire renames, unknown keys kept, field repairs as ``struct_hook`` overrides) after a
pre-pass that drops the nulls the API means as "not set". For any value the hook and the
reference either both refuse (the hook with ``ResponseValidationError`` only) or build the same
objects: same classes, same values, same value types (``1 == 1.0`` in Python, so equality
alone would not do).
"""

from __future__ import annotations

import linecache
import re
import traceback
import typing
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs
import cattrs
import orjson
import pytest
from cattrs.gen import make_dict_structure_fn, override
from cattrs.strategies import configure_union_passthrough
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import openrouter_async.types.account
import openrouter_async.types.chunks
import openrouter_async.types.completions
import openrouter_async.types.embeddings
import openrouter_async.types.generation
import openrouter_async.types.models
import openrouter_async.types.providers  # noqa: F401  # every response model registered
from openrouter_async import OpenRouterError
from openrouter_async._convert import (
    _RESPONSE_MODELS,
    NO_EXTRA,
    response_model,
    structure,
    structurer,
)
from openrouter_async._errors import ResponseValidationError
from openrouter_async._parse import parse_chat_completion
from openrouter_async.types.responses import (
    ChatCompletion,
    ChatMessage,
    ChoiceLogprobs,
    CompletionUsage,
    FunctionCall,
    ResponseInfo,
)

MODELS = sorted(_RESPONSE_MODELS, key=lambda cls: (cls.__module__, cls.__qualname__))
for _cls in MODELS:  # field types as classes, not strings, before any strategy reads them
    attrs.resolve_types(_cls)


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
        equal = a == b or (a != a and b != b)  # NaN is NaN here
        assert type(a) is type(b) and equal, f"{where}: {a!r} != {b!r}"


# --------------------------------------------------------------------------- the reference


def _unoptional(tp: Any) -> Any:
    args = typing.get_args(tp)
    if type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0] if len(rest) == 1 else tp
    return tp


def _wire(field: attrs.Attribute[Any]) -> str:
    return str(field.metadata.get("json", field.name))


def _is_transport(field: attrs.Attribute[Any]) -> bool:
    return _unoptional(field.type) is ResponseInfo


def _fits(value: Any, tp: Any) -> bool:
    """Whether ``value`` already has the JSON type a field of type ``tp`` declares."""
    tp = _unoptional(tp)
    origin = typing.get_origin(tp)
    if tp in (str, int, float, bool):
        return type(value) is tp
    if origin is list:
        (item,) = typing.get_args(tp)
        if typing.get_origin(item) is dict:
            return type(value) is list and all(type(x) is dict for x in value)
        return type(value) is list
    return True


def _drop_nulls(value: Any, cls: type) -> Any:
    """Null means "not set" where the field has a non-None default; null items of lists of
    models are skipped; the transport's own fields are never read from a body."""
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    by_wire = {_wire(f): f for f in attrs.fields(cls) if f.name != "extra"}
    for key, item in value.items():
        field = by_wire.get(key)
        if field is None:
            out[key] = item
            continue
        if _is_transport(field) or (item is None and field.default is not None):
            continue
        inner = _unoptional(field.type)
        if attrs.has(inner):
            item = _drop_nulls(item, inner)
        elif isinstance(item, list) and typing.get_origin(inner) is list:
            (model,) = typing.get_args(inner)
            if attrs.has(model):
                item = [_drop_nulls(x, model) for x in item if x is not None]
        out[key] = item
    return out


def _reference_converter() -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=False)
    configure_union_passthrough(int | float | str | bool | None, conv)
    conv.register_structure_hook_func(lambda t: t is Any, lambda v, _: v)

    def make(cls: type) -> Any:
        overrides: dict[str, Any] = {}
        for field in attrs.fields(cls):
            if field.name == "extra" or _is_transport(field):
                overrides[field.name] = override(omit=True)
                continue
            repair = field.metadata.get("repair")
            hook = None
            if repair is not None:
                inner = field.type

                def hook(v: Any, t: Any, repair: Any = repair, inner: Any = inner) -> Any:
                    if v is None or _fits(v, inner):
                        return conv.structure(v, inner)
                    return repair(v)

            overrides[field.name] = override(
                rename=_wire(field) if _wire(field) != field.name else None, struct_hook=hook
            )
        base = make_dict_structure_fn(cls, conv, _cattrs_forbid_extra_keys=False, **overrides)
        known = {_wire(f) for f in attrs.fields(cls) if f.name != "extra"}

        def structure_one(data: Any, t: Any) -> Any:
            if not isinstance(data, dict):
                raise TypeError(f"{cls.__name__} needs a JSON object")
            obj = base(data, t)
            unknown = {k: v for k, v in data.items() if k not in known}
            if unknown:
                object.__setattr__(obj, "extra", unknown)
            return obj

        return structure_one

    conv.register_structure_hook_factory(lambda t: t in _RESPONSE_MODELS, make)
    return conv


REFERENCE = _reference_converter()


def reference(data: Any, cls: type) -> Any:
    return REFERENCE.structure(_drop_nulls(data, cls), cls)


# --------------------------------------------------------------------------- strategies

text = st.text(max_size=5)
scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.integers(2**63, 2**70),  # past a C long, and far past a float's exact range
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([float("inf"), float("nan"), 1e308]),
    text,
)
json_value = st.recursive(
    scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)),
    max_leaves=6,
)
unknown = st.dictionaries(st.sampled_from(["x_new", "weird", "response"]), json_value, max_size=2)


def usually(good: st.SearchStrategy[Any], odd_in_100: int) -> st.SearchStrategy[Any]:
    """Mostly the declared shape, else null, absent (``...``) or any JSON value; Hypothesis
    favours small integers, so the odd band sits mid-range."""
    odd = st.one_of(st.none(), st.just(...), json_value)
    return st.integers(0, 99).flatmap(lambda roll: odd if 40 <= roll < 40 + odd_in_100 else good)


def for_type(tp: Any, depth: int, odd_in_100: int) -> st.SearchStrategy[Any]:
    tp = _unoptional(tp)
    origin = typing.get_origin(tp)
    if tp is str:
        return text
    if tp is bool:
        return st.booleans()
    if tp is int:
        return st.integers(0, 10**6)
    if tp is float:
        return st.one_of(st.floats(0, 1, allow_nan=False), st.integers(0, 9))
    if attrs.has(tp):
        return body_of(tp, depth + 1, odd_in_100) if depth < 4 else st.builds(dict)
    if origin is list:
        (item,) = typing.get_args(tp)
        items = for_type(item, depth, odd_in_100)
        if attrs.has(item):  # at least one, or a completion rarely has a choice
            return st.lists(st.one_of(items, items, items, st.none()), min_size=1, max_size=2)
        return st.lists(items, max_size=2)
    if origin is dict:
        return st.dictionaries(text, scalar, max_size=2)
    if typing.get_args(tp) and origin not in (list, dict):  # a union of JSON scalars
        return st.one_of([for_type(a, depth, odd_in_100) for a in typing.get_args(tp)])
    return json_value


def body_of(cls: type, depth: int = 0, odd_in_100: int = 15) -> st.SearchStrategy[dict[str, Any]]:
    """A body of ``cls``: each field odd about ``odd_in_100`` times in a hundred."""
    fields = {
        _wire(f): usually(for_type(f.type, depth, odd_in_100), odd_in_100)
        for f in attrs.fields(cls)
        if f.name != "extra" and not _is_transport(f)
    }

    def build(values: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in values.items() if v is not ...}
        out.update(more)
        return out

    return st.builds(build, st.fixed_dictionaries(fields), unknown)


# --------------------------------------------------------------------------- properties


models_and_bodies = st.sampled_from(MODELS).flatmap(
    lambda cls: st.tuples(st.just(cls), body_of(cls))
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models_and_bodies)
def test_the_hook_is_the_reference_or_both_refuse(case: tuple[type, dict[str, Any]]) -> None:
    cls, value = case
    before = repr(value)
    try:
        expected = reference(value, cls)
    except Exception:
        event("refused")
        with pytest.raises(ResponseValidationError):
            structure(value, cls)
        return
    event("built")
    same(structure(value, cls), expected, cls.__name__)
    assert repr(value) == before  # the input is never modified


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body_of(ChatCompletion, odd_in_100=2))
def test_completions_built_from_well_typed_bodies_match_the_reference(value: Any) -> None:
    """The completion is the class with the most repairs and fields: a run of its own, with
    odd values rare enough that many bodies are built all the way down."""
    try:
        expected = reference(value, ChatCompletion)
    except Exception as exc:
        event(f"refused ({type(exc).__name__})")
        with pytest.raises(ResponseValidationError):
            structure(value, ChatCompletion)
        return
    event("built with choices" if expected.choices else "built without choices")
    same(structure(value, ChatCompletion), expected)


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(MODELS), json_value)
def test_any_json_value_gives_a_model_or_a_typed_error(cls: type, value: Any) -> None:
    try:
        result = structure(value, cls)
    except ResponseValidationError:
        return
    assert type(result) is cls


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["id", "choices", "usage", "model", "created"]), json_value))
def test_any_json_body_gives_a_completion_or_a_typed_error(value: dict[str, Any]) -> None:
    try:
        result = parse_chat_completion(value)
    except OpenRouterError:
        return
    assert type(result) is ChatCompletion


def nested(depth: int, leaf: Any) -> Any:
    for i in range(depth):
        leaf = [leaf] if i % 2 else {"k": leaf}
    return leaf


def test_arguments_sent_as_a_deep_object_become_json_text() -> None:
    # Past orjson's 254 levels too: the same text a stream gives (one as_text rule).
    call = structure({"arguments": nested(300, 1)}, FunctionCall)
    assert call.arguments.startswith('[{"k":[{"k":') and call.arguments.endswith("}]" * 150)


@pytest.mark.parametrize(
    ("cls", "data", "where"),
    [
        # str() of a value nested past the recursion limit
        (ChatCompletion, {"model": nested(100_000, 1)}, "ChatCompletion.model"),
        # a float too large for an int, and not a number at all
        (CompletionUsage, {"prompt_tokens": 1e308 * 10}, "CompletionUsage.prompt_tokens"),
        (CompletionUsage, {"total_tokens": float("nan")}, "CompletionUsage.total_tokens"),
        (CompletionUsage, {"cost": 10**400}, "CompletionUsage.cost"),
        (CompletionUsage, {"cost": "lots"}, "CompletionUsage.cost"),
        (ChoiceLogprobs, {"content": [{"logprob": "x"}]}, "TokenLogprob.logprob"),
        (CompletionUsage, [1, 2], "CompletionUsage"),
        (ChatCompletion, {"choices": [[]]}, "Choice"),
    ],
    ids=[
        "deep str",
        "inf int",
        "nan int",
        "huge float",
        "text float",
        "nested",
        "list for object",
        "list item not an object",
    ],
)
def test_hostile_values_raise_a_typed_error_naming_the_field(
    cls: type, data: Any, where: str
) -> None:
    with pytest.raises(ResponseValidationError, match=re.escape(where)) as caught:
        structure(data, cls)
    assert isinstance(caught.value, OpenRouterError)


# --------------------------------------------------------------------------- rules


def test_null_means_the_default_at_every_level() -> None:
    usage = structure(
        {"prompt_tokens": None, "prompt_tokens_details": {"cached_tokens": None}}, CompletionUsage
    )
    assert usage.prompt_tokens == 0 and usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens is None
    done = structure(
        {"id": None, "object": None, "choices": [None, {"message": None, "index": None}]},
        ChatCompletion,
    )
    assert (done.id, done.object) == ("", "chat.completion")
    (choice,) = done.choices  # null items of a list of objects are skipped
    assert choice.index == 0 and choice.message == ChatMessage()


def test_post_init_runs_on_the_structured_object() -> None:
    usage = structure({"server_tool_use_details": {"web_search_requests": 2}}, CompletionUsage)
    assert usage.server_tool_use is not None and usage.server_tool_use.web_search_requests == 2


def test_values_of_the_declared_type_are_taken_as_sent() -> None:
    metadata = {"a": [1]}
    done = structure({"openrouter_metadata": metadata, "created": 5}, ChatCompletion)
    assert done.openrouter_metadata is metadata  # no copy on the usual path
    assert done.extra is NO_EXTRA
    usage = structure({"cost": 0, "is_byok": False}, CompletionUsage)
    assert usage.cost == 0.0 and type(usage.cost) is float  # int widened by the fallback


def test_unknown_keys_are_kept_and_transport_fields_never_read() -> None:
    done = structure({"response": {"status_code": 1}, "new": 1}, ChatCompletion)
    assert done.response is None
    assert done.extra == {"new": 1}


def test_field_repairs_apply_only_to_values_of_another_type() -> None:
    message = structure(
        {"content": [{"type": "text", "text": "a"}], "tool_calls": "x", "images": [1, {"u": 2}]},
        ChatMessage,
    )
    assert (message.content, message.tool_calls, message.images) == ("a", [], [{"u": 2}])
    assert structure({"arguments": {"a": 1}}, FunctionCall).arguments == '{"a":1}'
    assert structure({"arguments": "  "}, FunctionCall).arguments == "  "  # a str is a str


def test_structurer_is_the_hook_structure_calls() -> None:
    data = {"prompt_tokens": 3, "total_tokens": 3}
    same(structurer(CompletionUsage)(data), structure(data, CompletionUsage))
    # any mapping is read as an object (a JSON parser gives dicts; callers may not)
    same(structure(MappingProxyType(data), CompletionUsage), structure(data, CompletionUsage))


def test_generated_source_is_in_linecache_for_tracebacks() -> None:
    @response_model
    @attrs.frozen(kw_only=True)
    class Exploding:
        name: str = ""

        def __attrs_post_init__(self) -> None:
            raise RuntimeError("boom")

    hook = structurer(Exploding)
    filename = hook.__code__.co_filename
    assert linecache.getline(filename, 1).startswith("def structure(")
    with pytest.raises(RuntimeError) as caught:
        hook({"name": "x"})
    shown = "".join(traceback.format_exception(caught.value))
    assert "post_init(obj)" in shown  # the generated line, not a blank
    assert "v = get('name')" in linecache.getline(filename, 5) + linecache.getline(filename, 6)


def test_typical_completion_through_parse() -> None:
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
    done = parse_chat_completion(data)
    assert done.usage is not None and done.usage.cost == 0.0 and type(done.usage.cost) is float
    assert done.usage.extra == {"new_thing": 1}
    assert done.choices[0].message.extra is NO_EXTRA
    assert done.choices[0].message.tool_calls[0].arguments == "{}"
    assert done.choices[0].message.reasoning_details == [{"type": "x"}]


@response_model
@attrs.frozen(kw_only=True)
class Node:
    """A response model that contains itself: its hook is generated once, not forever."""

    name: str = ""
    child: Node | None = None
    children: list[Node] = attrs.field(factory=list)


@response_model
@attrs.frozen(kw_only=True)
class Strict:
    """Shapes no SDK model has today, so the generator's other branches are exercised."""

    key: str
    limit: float = float("inf")
    tags: tuple[str, ...] = ("a",)


def test_a_model_that_contains_itself() -> None:
    tree = structure({"name": "a", "child": {"name": "b"}, "children": [{"name": "c"}]}, Node)
    assert tree == Node(name="a", child=Node(name="b"), children=[Node(name="c")])


def test_a_required_field_and_non_literal_defaults() -> None:
    assert structure({"key": "k", "limit": None, "tags": None}, Strict) == Strict(key="k")
    assert structure({"key": "k", "tags": ["x"]}, Strict).tags == ("x",)
    for missing in ({}, {"key": None}):
        with pytest.raises(ResponseValidationError, match=r"Strict\.key: required"):
            structure(missing, Strict)
