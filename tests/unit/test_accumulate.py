"""Accumulator: events fold into the completion create() would return, linearly."""

from __future__ import annotations

import time
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openrouter_async._accumulate import Accumulator, effective_finish_reason
from openrouter_async.types.events import (
    AnnotationsDelta,
    Finish,
    ImagesDelta,
    KeepAlive,
    ReasoningDelta,
    RefusalDelta,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallDone,
    Usage,
)
from openrouter_async.types.responses import ChatCompletion, CompletionUsage


def fold(*events: Any) -> ChatCompletion:
    acc = Accumulator()
    for event in events:
        acc.add(event)
    return acc.snapshot()


def test_empty_accumulator() -> None:
    done = Accumulator().snapshot()
    assert done == ChatCompletion(object="chat.completion")
    assert done.choices == []
    assert done.usage is None


def test_text_is_joined_and_meta_recorded() -> None:
    acc = Accumulator()
    acc.set_meta(id="gen-1", model="m", created=5, provider="P", system_fingerprint=None)
    acc.set_meta(id="gen-2", model="other", system_fingerprint="fp", service_tier="flex")
    for piece in ("Hel", "lo", ", ", "world"):
        acc.add(TextDelta(text=piece))
    acc.add(Finish(finish_reason="stop", native_finish_reason="end_turn"))
    done = acc.snapshot()
    assert (done.id, done.model, done.created, done.provider) == ("gen-1", "m", 5, "P")
    assert (done.system_fingerprint, done.service_tier) == ("fp", "flex")
    assert done.object == "chat.completion"
    (choice,) = done.choices
    assert choice.index == 0
    assert choice.message.role == "assistant"
    assert choice.message.content == "Hello, world"
    assert (choice.finish_reason, choice.native_finish_reason) == ("stop", "end_turn")


def test_no_text_means_none_not_empty_string() -> None:
    message = (
        fold(ReasoningDelta(text="thinking"), Finish(finish_reason="length")).choices[0].message
    )
    assert message.content is None
    assert message.reasoning == "thinking"
    assert message.refusal is None


def test_no_reasoning_means_none() -> None:
    message = fold(TextDelta(text="x")).choices[0].message
    assert message.reasoning is None
    assert message.reasoning_details == []


def test_fragments_of_one_reasoning_block_are_merged_others_kept_in_order() -> None:
    d1 = {"type": "reasoning.text", "text": "a", "index": 0}
    d2 = {"type": "reasoning.text", "text": "b", "index": 0}
    d3 = {"type": "reasoning.encrypted", "data": "xyz", "index": 1}
    message = (
        fold(
            ReasoningDelta(text="a", details=(d1,)),
            ReasoningDelta(text="b", details=(d2, d3)),
        )
        .choices[0]
        .message
    )
    assert message.reasoning == "ab"
    assert message.reasoning_details == [{"type": "reasoning.text", "text": "ab", "index": 0}, d3]


def test_signed_block_streamed_in_fragments_echoes_as_one_block() -> None:
    """Anthropic-style: text fragments, the signature on the last one; echoing fragments back
    would break the signature, so the block must come out whole."""
    parts = [
        {"type": "reasoning.text", "text": "Let me ", "index": 0, "format": "anthropic-claude-v1"},
        {"type": "reasoning.text", "text": "think.", "index": 0, "format": "anthropic-claude-v1"},
        {"type": "reasoning.text", "text": "", "signature": "sig==", "index": 0},
        {"type": "reasoning.text", "text": "Second", "index": 0},  # after a signature: new block
    ]
    message = (
        fold(*(ReasoningDelta(text=p["text"], details=(p,)) for p in parts)).choices[0].message
    )
    assert message.reasoning_details == [
        {
            "type": "reasoning.text",
            "text": "Let me think.",
            "index": 0,
            "format": "anthropic-claude-v1",
            "signature": "sig==",
        },
        {"type": "reasoning.text", "text": "Second", "index": 0},
    ]
    assert parts[0]["text"] == "Let me "  # the events' own dicts are never mutated


def test_many_reasoning_fragments_stay_linear() -> None:
    piece = {"type": "reasoning.text", "text": "x" * 10, "index": 0}
    message = (
        fold(*(ReasoningDelta(text="x" * 10, details=(piece,)) for _ in range(20000)))
        .choices[0]
        .message
    )
    assert len(message.reasoning_details) == 1
    assert len(message.reasoning_details[0]["text"]) == 200000


def test_tool_calls_from_fragments_only() -> None:
    calls = (
        fold(
            ToolCallDelta(index=0, id="c0", name="f", arguments='{"a"'),
            ToolCallDelta(index=0, arguments=": 1}"),
            ToolCallDelta(index=1, id="c1", name="g", arguments=""),
        )
        .choices[0]
        .message.tool_calls
    )
    assert [(c.id, c.type, c.name, c.arguments) for c in calls] == [
        ("c0", "function", "f", '{"a": 1}'),
        ("c1", "function", "g", "{}"),
    ]


def test_tool_call_done_is_authoritative() -> None:
    call = (
        fold(
            ToolCallDelta(index=0, id="tmp", name="f", arguments="{"),
            ToolCallDone(index=0, id="c0", name="f", arguments='{"x": 2}'),
        )
        .choices[0]
        .message.tool_calls[0]
    )
    assert (call.id, call.arguments) == ("c0", '{"x": 2}')


def test_fragments_after_done_reopen_the_call() -> None:
    call = (
        fold(
            ToolCallDelta(index=0, id="c0", name="f", arguments='{"x":'),
            ToolCallDone(index=0, id="c0", name="f", arguments='{"x":'),
            ToolCallDelta(index=0, arguments=" 1}"),
        )
        .choices[0]
        .message.tool_calls[0]
    )
    assert call.arguments == '{"x": 1}'


def test_late_name_is_taken_but_never_overwritten() -> None:
    call = (
        fold(
            ToolCallDelta(index=0, id="c0", arguments="{}"),
            ToolCallDelta(index=0, name="late"),
            ToolCallDelta(index=0, name="ignored"),
        )
        .choices[0]
        .message.tool_calls[0]
    )
    assert call.name == "late"


@pytest.mark.parametrize(
    ("reason", "has_calls", "expected"),
    [
        ("stop", True, "tool_calls"),
        (None, True, "tool_calls"),
        ("something_new", True, "tool_calls"),
        ("tool_calls", True, "tool_calls"),
        ("length", True, "length"),
        ("content_filter", True, "content_filter"),
        ("error", True, "error"),
        ("stop", False, "stop"),
        (None, False, None),
        ("something_new", False, "something_new"),
    ],
)
def test_effective_finish_reason(reason: str | None, has_calls: bool, expected: str | None) -> None:
    assert effective_finish_reason(reason, has_calls) == expected


def test_finish_stop_with_tool_calls_is_upgraded_in_the_snapshot() -> None:
    choice = fold(
        ToolCallDone(index=0, id="c", name="f", arguments="{}"),
        Finish(finish_reason="stop", native_finish_reason="STOP"),
    ).choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.native_finish_reason == "STOP"


def test_first_finish_reason_wins() -> None:
    choice = fold(Finish(finish_reason="length"), Finish(finish_reason="stop")).choices[0]
    assert choice.finish_reason == "length"


def test_last_usage_wins() -> None:
    first = CompletionUsage(prompt_tokens=1, completion_tokens=1, total_tokens=2)
    last = CompletionUsage(prompt_tokens=3, completion_tokens=4, total_tokens=7, cost=0.5)
    done = fold(Usage(usage=first), TextDelta(text="x"), Usage(usage=last))
    assert done.usage == last
    assert Usage(usage=last).cost == 0.5


def test_refusal_annotations_images() -> None:
    a1 = {"type": "url_citation", "url_citation": {"url": "https://a"}}
    a2 = {"type": "file", "file": {"hash": "h", "name": "doc.pdf"}}
    image = {"type": "image_url", "image_url": {"url": "data:,"}}
    message = (
        fold(
            RefusalDelta(text="No"),
            RefusalDelta(text="pe"),
            AnnotationsDelta(annotations=(a1,)),
            AnnotationsDelta(annotations=(a2,)),
            ImagesDelta(images=(image,)),
        )
        .choices[0]
        .message
    )
    assert message.refusal == "Nope"
    assert message.annotations == [a1, a2]
    assert message.images == [image]


def test_keep_alive_and_unknown_objects_are_ignored() -> None:
    acc = Accumulator()
    acc.add(KeepAlive(comment="OPENROUTER PROCESSING"))
    acc.add("not an event")  # type: ignore[arg-type]
    assert acc.snapshot().choices == []


def test_choices_are_ordered_by_index() -> None:
    done = fold(
        TextDelta(text="b", choice_index=1),
        TextDelta(text="a", choice_index=0),
        Finish(finish_reason="stop", choice_index=1),
    )
    assert [(c.index, c.message.content, c.finish_reason) for c in done.choices] == [
        (0, "a", None),
        (1, "b", "stop"),
    ]


def test_snapshots_are_independent() -> None:
    acc = Accumulator()
    acc.add(TextDelta(text="a"))
    acc.add(AnnotationsDelta(annotations=({"n": 1},)))
    first = acc.snapshot()
    acc.add(TextDelta(text="b"))
    acc.add(AnnotationsDelta(annotations=({"n": 2},)))
    second = acc.snapshot()
    assert first.choices[0].message.content == "a"
    assert first.choices[0].message.annotations == [{"n": 1}]
    assert second.choices[0].message.content == "ab"
    assert second.choices[0].message.annotations == [{"n": 1}, {"n": 2}]


def test_text_completion_object_name() -> None:
    acc = Accumulator(object_name="text_completion")
    acc.add(TextDelta(text="x"))
    assert acc.snapshot().object == "text_completion"


def test_logprobs_and_audio_folds() -> None:
    acc = Accumulator()
    acc.add_logprobs(0, {"content": [{"token": "a", "logprob": -1.0}], "refusal": None})
    acc.add_logprobs(0, {"content": [{"token": "b", "logprob": -2.0}]})
    acc.add_audio(0, {"id": "au", "data": "AA", "transcript": "he", "expires_at": 1})
    acc.add_audio(0, {"id": "other", "data": "BB", "transcript": "llo", "expires_at": None})
    choice = acc.snapshot().choices[0]
    assert choice.logprobs is not None
    assert choice.logprobs.content is not None
    assert [(t.token, t.logprob) for t in choice.logprobs.content] == [("a", -1.0), ("b", -2.0)]
    assert choice.logprobs.refusal is None
    assert choice.message.audio == {
        "id": "au",
        "data": "AABB",
        "transcript": "hello",
        "expires_at": 1,
    }


def test_folding_is_linear_in_output_length() -> None:
    # 200k one-character deltas: quadratic concatenation would take minutes; a join takes ms.
    acc = Accumulator()
    event = TextDelta(text="x")
    args = ToolCallDelta(index=0, arguments="y")
    acc.add(ToolCallDelta(index=0, id="c", name="f"))
    started = time.perf_counter()
    for _ in range(200_000):
        acc.add(event)
        acc.add(args)
    message = acc.snapshot().choices[0].message
    elapsed = time.perf_counter() - started
    assert message.content is not None
    assert len(message.content) == 200_000
    assert len(message.tool_calls[0].arguments) == 200_000
    assert elapsed < 20  # generous for a shared CI box; quadratic would be far beyond


# --------------------------------------------------------------------------- properties


@settings(max_examples=80, deadline=None)
@given(text=st.text(max_size=400), cuts=st.lists(st.integers(0, 400), max_size=50))
def test_random_text_splits_fold_back_to_the_text(text: str, cuts: list[int]) -> None:
    points = sorted({min(c, len(text)) for c in cuts} | {0, len(text)})
    events: list[StreamEvent] = [TextDelta(text=text[a:b]) for a, b in pairwise(points) if b > a]
    done = fold(*events)
    if text:
        assert done.choices[0].message.content == text
    else:
        assert done.choices == []


@settings(max_examples=80, deadline=None)
@given(
    arguments=st.lists(st.text(max_size=60), min_size=1, max_size=4),
    cuts=st.lists(st.integers(0, 60), max_size=12),
)
def test_tool_argument_pieces_rejoin_exactly(arguments: list[str], cuts: list[int]) -> None:
    events: list[StreamEvent] = []
    for index, text in enumerate(arguments):
        points = sorted({min(c, len(text)) for c in cuts} | {0, len(text)})
        events.append(ToolCallDelta(index=index, id=f"c{index}", name="f"))
        events.extend(
            ToolCallDelta(index=index, arguments=text[a:b]) for a, b in pairwise(points) if b > a
        )
    calls = fold(*events).choices[0].message.tool_calls
    expected = [text if text.strip() else "{}" for text in arguments]
    assert [c.arguments for c in calls] == expected
    assert [c.id for c in calls] == [f"c{i}" for i in range(len(arguments))]
