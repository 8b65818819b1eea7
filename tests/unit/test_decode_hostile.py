"""StreamDecoder on hostile input (#12): any shape gives events or a typed error, quickly."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openrouter_async import _errors as e
from openrouter_async._accumulate import Accumulator
from openrouter_async._convert import structure
from openrouter_async._decode import StreamDecoder
from openrouter_async._json import ObjectScan, dumps, is_complete_object
from openrouter_async.types.chunks import ChatCompletionChunk, ChoiceDelta, chunk_from_wire
from openrouter_async.types.events import ReasoningDelta, TextDelta, ToolCallDone
from tests.unit.test_decode import chunk, of, run, tool, tools


def wire(delta: Any, finish: Any = None, native: Any = None) -> str:
    """A chunk payload for values orjson cannot write (too deep): see ``_json.dumps``."""
    choice = {"index": 0, "delta": delta, "finish_reason": finish, "native_finish_reason": native}
    return dumps({"id": "gen-1", "choices": [choice]}).decode()


def deep(depth: int) -> Any:
    return orjson.loads(b'{"a":' * depth + b"1" + b"}" * depth)


def test_non_object_reasoning_details_are_dropped_not_fatal() -> None:
    # Regression: a string item made partial(), get_final_completion() and even the idle
    # timeout (which reports the partial) raise a raw ValueError.
    details = ["oops", 3, None, {"type": "reasoning.text", "text": "think"}, ["x"]]
    decoder, events = run(chunk({"reasoning_details": details}), chunk({"content": "hi"}))
    [reasoning] = of(events, ReasoningDelta)
    assert reasoning.details == ({"type": "reasoning.text", "text": "think"},)
    message = decoder.partial().choices[0].message
    assert message.reasoning_details == [{"type": "reasoning.text", "text": "think"}]
    assert message.reasoning == "think" and message.content == "hi"


def test_accumulator_skips_non_object_details_it_is_given() -> None:
    accumulator = Accumulator()
    accumulator.add(ReasoningDelta(text="t", details=("bad", None)))  # type: ignore[arg-type]
    message = accumulator.snapshot().choices[0].message
    assert message.reasoning_details == [] and message.reasoning == "t"


def test_tool_arguments_nested_deeper_than_orjson_writes() -> None:
    # Regression: orjson.dumps raised TypeError past 254 levels.
    decoder, events = run(
        wire({"tool_calls": [tool(0, id="c1", name="f", arguments=deep(400))]}, "tool_calls")
    )
    [done] = of(events, ToolCallDone)
    assert orjson.loads(done.arguments) == deep(400)
    assert decoder.final().choices[0].message.tool_calls[0].function.arguments == done.arguments


@pytest.mark.parametrize("odd", [deep(400), {"x": [deep(300)]}])
def test_deeply_nested_values_where_strings_belong(odd: Any) -> None:
    decoder, events = run(
        wire({"content": odd}),
        wire({"tool_calls": [{"index": 0, "id": odd, "function": {"name": odd}}]}),
        wire({}, finish=odd, native=odd),
    )
    text = of(events, TextDelta)[0].text
    assert orjson.loads(text) == odd
    final = decoder.final()
    assert final.choices[0].finish_reason == "tool_calls"
    assert orjson.loads(final.choices[0].message.tool_calls[0].function.name) == odd


def decode_repeated_name(count: int) -> tuple[float, list[Any]]:
    pieces = ['{"text": "'] + ["ab"] * count + ['"}']
    payloads = [tools(tool(0, id="call_1", name="f", arguments=pieces[0]))]
    payloads += [tools(tool(0, name="f", arguments=piece)) for piece in pieces[1:]]
    decoder = StreamDecoder()
    started = time.process_time()
    for payload in payloads:
        decoder.feed(payload)
    events = decoder.feed("[DONE]")
    return time.process_time() - started, events


def test_name_repeated_on_40000_fragments_is_linear() -> None:
    # Regression: each repeat of the name re-joined and re-parsed all pieces so far, so
    # 40,000 fragments took ~10 s. Ten times the fragments must cost about ten times as much
    # (quadratic: a hundred times); a ratio, so a loaded machine does not make it flaky.
    small, _ = decode_repeated_name(4_000)
    large, events = decode_repeated_name(40_000)
    [done] = of(events, ToolCallDone)
    assert orjson.loads(done.arguments) == {"text": "ab" * 40_000}
    assert large < 30 * max(small, 0.01), (small, large)


def test_second_call_to_the_same_tool_is_still_found() -> None:
    decoder, events = run(
        tools(tool(0, name="f", arguments='{"a": "}{\\"')),
        tools(tool(0, name="f", arguments='x\\\\"}')),
        tools(tool(0, name="f", arguments='{"b": 1}')),
        chunk({}, finish="tool_calls"),
    )
    assert [d.arguments for d in of(events, ToolCallDone)] == ['{"a": "}{\\"x\\\\"}', '{"b": 1}']


JSON_TEXT = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(alphabet='{}[]"\\ab :,'),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text('ab{"\\'), inner),
    max_leaves=8,
).map(lambda v: orjson.dumps(v).decode())


@given(
    st.one_of(JSON_TEXT, st.text(alphabet='{}[]"\\ab :,\n')),
    st.lists(st.integers(0, 200), max_size=6),
)
def test_object_scan_agrees_with_parsing_at_every_prefix(text: str, cuts: list[int]) -> None:
    bounds = sorted({min(c, len(text)) for c in cuts} | {len(text)})
    parts: list[str] = []
    scan = ObjectScan()
    start = 0
    for end in bounds:
        parts.append(text[start:end])
        start = end
        assert scan.complete(parts) == is_complete_object("".join(parts)), parts


def test_role_only_or_empty_deltas_keep_their_choice() -> None:
    # Regression: a choice whose deltas were only {} or {"role": ...} vanished from the final
    # completion, leaving choices empty.
    for delta in ({}, {"role": "assistant"}):
        decoder = StreamDecoder()
        decoder.feed(orjson.dumps({"id": "g", "choices": [{"index": 0, "delta": delta}]}).decode())
        decoder.feed("[DONE]")
        [only] = decoder.final().choices
        assert only.index == 0 and only.message.content is None


@pytest.mark.parametrize("delta", [None, [], "text", 5, {"content": 5}, {"tool_calls": {}}])
def test_odd_deltas_keep_their_choice(delta: Any) -> None:
    decoder = StreamDecoder()
    decoder.feed(orjson.dumps({"choices": [{"index": 0, "delta": delta}]}).decode())
    decoder.feed("[DONE]")
    assert len(decoder.final().choices) == 1


def test_string_metadata_in_a_stream_error_chunk() -> None:
    decoder, _ = run(chunk({"content": "so far"}))
    with pytest.raises(e.StreamError) as info:
        decoder.feed(
            orjson.dumps({"error": {"code": 502, "message": "m", "metadata": "up"}}).decode()
        )
    assert info.value.metadata == {"raw": "up"}
    assert info.value.partial is not None
    assert info.value.partial.choices[0].message.content == "so far"


# ------------------------------------------------------------------ any JSON shape, only typed


SCALAR = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
ANY_JSON = st.recursive(
    SCALAR,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
KEYS = ["id", "choices", "usage", "error", "model", "created", "provider", "openrouter_metadata"]
CHOICE_KEYS = [
    "index",
    "delta",
    "finish_reason",
    "native_finish_reason",
    "logprobs",
    "text",
    "error",
]
DELTA_KEYS = [
    "role",
    "content",
    "reasoning",
    "reasoning_details",
    "refusal",
    "tool_calls",
    "annotations",
    "images",
    "audio",
]
FRAGMENT = st.fixed_dictionaries(
    {},
    optional={
        "index": ANY_JSON | st.integers(0, 2),
        "id": ANY_JSON,
        "function": st.fixed_dictionaries(
            {}, optional={"name": ANY_JSON, "arguments": ANY_JSON | st.text(max_size=6)}
        )
        | ANY_JSON,
    },
)
DELTA = (
    st.fixed_dictionaries(
        {},
        optional={
            k: (st.lists(FRAGMENT, max_size=3) if k == "tool_calls" else ANY_JSON)
            for k in DELTA_KEYS
        },
    )
    | ANY_JSON
)
CHOICE = (
    st.fixed_dictionaries(
        {}, optional={k: (DELTA if k == "delta" else ANY_JSON) for k in CHOICE_KEYS}
    )
    | ANY_JSON
)
CHUNK = st.fixed_dictionaries(
    {}, optional={k: (st.lists(CHOICE, max_size=3) if k == "choices" else ANY_JSON) for k in KEYS}
)
PAYLOAD = CHUNK.map(lambda c: orjson.dumps(c).decode()) | st.sampled_from(
    ["[DONE]", "", ": keep", "nope", "[1]", '"s"']
)


@settings(max_examples=100, deadline=None)
@given(st.lists(PAYLOAD, max_size=8), st.sampled_from(["chat", "completion"]))
def test_any_json_shape_gives_events_or_a_typed_error(payloads: list[str], kind: Any) -> None:
    decoder = StreamDecoder(kind=kind)
    texts: list[str] = []
    try:
        for payload in payloads:
            events = decoder.feed(payload)
            texts.extend(ev.text for ev in events if type(ev) is TextDelta and ev.choice_index == 0)
        decoder.finish()
    except e.OpenRouterError as exc:
        partial = getattr(exc, "partial", None)
        if partial is not None:
            if isinstance(exc, e.StreamError):  # the error chunk's own events, delivered first
                unreturned = decoder.unreturned
                texts += [
                    ev.text for ev in unreturned if type(ev) is TextDelta and not ev.choice_index
                ]
            assert text_of(partial) == "".join(texts)
        return
    assert text_of(decoder.final()) == "".join(texts) == text_of(decoder.partial())


def text_of(completion: Any) -> str:
    first = [c for c in completion.choices if c.index == 0]
    return (first[0].message.content if first else None) or ""


# ------------------------------------------------------------------ typed raw chunks


@pytest.mark.parametrize("delta", [None, [], "x", 3, {"content": ["a"], "tool_calls": "t"}])
def test_typed_chunks_take_any_delta(delta: Any) -> None:
    # Regression: stream.chunks() raised a raw TypeError/AttributeError for these deltas.
    raw = {"id": "g", "created": "soon", "choices": [{"index": 0, "delta": delta}, 7]}
    typed = chunk_from_wire(raw)
    assert typed.id == "g" and typed.created is None
    assert typed.extra["created"] == "soon"  # the value of the wrong type is kept, not lost
    [choice] = typed.choices or []
    assert choice.index == 0 and isinstance(choice.delta, ChoiceDelta)
    assert typed.extra["choices"] == raw["choices"]


def test_typed_chunks_of_the_usual_shape_are_unchanged() -> None:
    raw = orjson.loads(chunk({"content": "hi"}, finish="stop"))
    assert chunk_from_wire(raw) == structure(raw, ChatCompletionChunk)


def test_decoder_last_chunk_is_none_after_done() -> None:
    # Regression: [DONE] left the previous chunk in last_chunk; chunks() yielded it twice.
    decoder, _ = run(chunk({"content": "a"}))
    assert decoder.last_chunk is not None
    decoder.feed("[DONE]")
    assert decoder.last_chunk is None


@settings(max_examples=60, deadline=None)
@given(CHUNK)
def test_typed_chunks_from_any_shape(raw: dict[str, Any]) -> None:
    typed = chunk_from_wire(raw)
    assert isinstance(typed, ChatCompletionChunk)
