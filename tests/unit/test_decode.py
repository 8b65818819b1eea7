"""StreamDecoder: the reference's example streams, every quirk of §7 by name, and properties."""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path
from typing import Any

import attrs
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openrouter_async import _errors as e
from openrouter_async._convert import structure
from openrouter_async._decode import StreamDecoder
from openrouter_async.types.chunks import ChatCompletionChunk
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

GEN = "gen-1760000000-Xy12"
_UNSET: Any = object()


def chunk(
    delta: dict[str, Any] | None = None,
    *,
    finish: str | None = None,
    native: str | None = None,
    index: Any = 0,
    choices: Any = _UNSET,
    **top: Any,
) -> str:
    """One SSE data payload shaped like OpenRouter's chunks."""
    data: dict[str, Any] = {
        "id": GEN,
        "provider": "OpenAI",
        "model": "openai/gpt-4o-mini",
        "object": "chat.completion.chunk",
        "created": 1760000000,
    }
    if choices is _UNSET:
        choice: dict[str, Any] = {
            "delta": {"role": "assistant", **(delta or {})},
            "finish_reason": finish,
            "native_finish_reason": native,
            "logprobs": None,
        }
        if index is not _UNSET:
            choice["index"] = index
        choices = [choice]
    if choices is not None:
        data["choices"] = choices
    data.update(top)
    return orjson.dumps(data).decode()


def tool(
    index: Any = 0, id: Any = _UNSET, name: Any = _UNSET, arguments: Any = _UNSET
) -> dict[str, Any]:
    fragment: dict[str, Any] = {}
    if index is not _UNSET:
        fragment["index"] = index
    if id is not _UNSET:
        fragment["id"] = id
        fragment["type"] = "function"
    function: dict[str, Any] = {}
    if name is not _UNSET:
        function["name"] = name
    if arguments is not _UNSET:
        function["arguments"] = arguments
    if function:
        fragment["function"] = function
    return fragment


def tools(*fragments: dict[str, Any], finish: str | None = None) -> str:
    return chunk({"content": None, "tool_calls": list(fragments)}, finish=finish)


USAGE = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15, "cost": 0.001}


def run(*payloads: str, kind: Any = "chat") -> tuple[StreamDecoder, list[StreamEvent]]:
    decoder = StreamDecoder(kind=kind)
    events: list[StreamEvent] = []
    for payload in payloads:
        events.extend(decoder.feed(payload))
    return decoder, events


def of(events: list[StreamEvent], cls: type) -> list[Any]:
    return [event for event in events if type(event) is cls]


# --------------------------------------------------------------------------- reference §4.7


def reference_stream(section: str) -> list[str]:
    """The example stream of a section of the API reference, as SSE lines."""
    text = REFERENCE_PATH.read_text(encoding="utf-8")
    start = text.index(f"### {section}")
    block = text[start:].split("```", 2)[1]
    return block.splitlines()


def feed_lines(decoder: StreamDecoder, lines: list[str]) -> list[StreamEvent]:
    events: list[StreamEvent] = []
    for line in lines:
        if line.startswith(":"):
            events.append(decoder.keep_alive(line[1:]))
        elif line.startswith("data: "):
            events.extend(decoder.feed(line[len("data: ") :]))
    return events


# The shared reference sits beside the repository (in CI: beside the clone).
REFERENCE_PATH = next(
    (
        p
        for p in (
            Path(__file__).resolve().parents[3] / "shared" / "openrouter-api.md",
            Path("/work/shared/openrouter-api.md"),
        )
        if p.exists()
    ),
    Path("/work/shared/openrouter-api.md"),
)
REFERENCE_AVAILABLE = REFERENCE_PATH.exists()
needs_reference = pytest.mark.skipif(not REFERENCE_AVAILABLE, reason="API reference not present")

# The same stream, inlined so the test does not depend on the shared file.
EXAMPLE_4_7 = [
    ": OPENROUTER PROCESSING",
    ": OPENROUTER PROCESSING",
    "data: " + chunk({"content": ""}, system_fingerprint="fp_x1"),
    "data: " + chunk({"content": "Let me check"}, system_fingerprint="fp_x1"),
    "data: " + chunk({"content": " the weather."}, system_fingerprint="fp_x1"),
    "data: " + tools(tool(0, "call_abc123", "get_weather", "")),
    "data: " + tools(tool(0, arguments='{"city":')),
    "data: " + tools(tool(0, arguments=' "Paris"}')),
    "data: " + chunk({"content": ""}, finish="tool_calls", native="tool_calls"),
    "data: "
    + chunk(
        choices=[],
        usage={
            "prompt_tokens": 82,
            "completion_tokens": 17,
            "total_tokens": 99,
            "cost": 0.0000225,
            "is_byok": False,
        },
    ),
    "data: [DONE]",
]


def check_example_4_7(decoder: StreamDecoder, events: list[StreamEvent]) -> None:
    assert events[:2] == [KeepAlive(comment="OPENROUTER PROCESSING")] * 2
    assert events[2:9] == [
        TextDelta(text="Let me check"),
        TextDelta(text=" the weather."),
        ToolCallDelta(index=0, id="call_abc123", name="get_weather", arguments=""),
        ToolCallDelta(index=0, id=None, name=None, arguments='{"city":'),
        ToolCallDelta(index=0, id=None, name=None, arguments=' "Paris"}'),
        ToolCallDone(index=0, id="call_abc123", name="get_weather", arguments='{"city": "Paris"}'),
        Finish(finish_reason="tool_calls", native_finish_reason="tool_calls"),
    ]
    (usage,) = events[9:]
    assert isinstance(usage, Usage)
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (82, 17, 99)
    assert usage.cost == pytest.approx(0.0000225)
    assert decoder.done
    assert decoder.finished
    final = decoder.final()
    assert final.id == GEN
    assert final.object == "chat.completion"
    assert final.model == "openai/gpt-4o-mini"
    assert final.provider == "OpenAI"
    assert final.created == 1760000000
    assert final.system_fingerprint == "fp_x1"
    (choice,) = final.choices
    assert choice.message.content == "Let me check the weather."
    (call,) = choice.message.tool_calls
    assert (call.id, call.name) == ("call_abc123", "get_weather")
    assert call.parsed_arguments() == {"city": "Paris"}
    assert choice.finish_reason == "tool_calls"
    assert choice.native_finish_reason == "tool_calls"
    assert final.usage == usage.usage


@needs_reference
def test_reference_example_4_7_from_the_reference_file() -> None:
    decoder = StreamDecoder()
    events = feed_lines(decoder, reference_stream("4.7"))
    check_example_4_7(decoder, events)


def test_reference_example_4_7_inline() -> None:
    decoder = StreamDecoder()
    check_example_4_7(decoder, feed_lines(decoder, EXAMPLE_4_7))


# --------------------------------------------------------------------------- mid-stream errors


def check_example_4_8(err: e.StreamError) -> None:
    assert err.code == 502
    assert err.status_code == 502
    assert err.message == "Provider disconnected unexpectedly"
    assert err.metadata["error_type"] == "provider_unavailable"
    assert err.error_type == "provider_unavailable"
    assert err.generation_id == "gen-1760000100-Ab34"
    assert err.retryable
    assert err.partial is not None
    assert err.partial.choices[0].message.content == "The first three steps are"
    assert err.partial.model == "anthropic/claude-sonnet-4.5"


@needs_reference
def test_reference_example_4_8_mid_stream_error() -> None:
    decoder = StreamDecoder()
    with pytest.raises(e.StreamError) as info:
        feed_lines(decoder, reference_stream("4.8"))
    check_example_4_8(info.value)


def test_mid_stream_error_inline() -> None:
    top = {"id": "gen-1760000100-Ab34", "model": "anthropic/claude-sonnet-4.5"}
    first = chunk({"content": "The first three steps are"}, **top)
    error = {
        "code": 502,
        "message": "Provider disconnected unexpectedly",
        "metadata": {"error_type": "provider_unavailable"},
    }
    last = chunk({"content": ""}, finish="error", error=error, **top)
    decoder, _ = run(first)
    with pytest.raises(e.StreamError) as info:
        decoder.feed(last)
    check_example_4_8(info.value)
    assert info.value.partial is not None
    assert info.value.partial.choices[0].finish_reason == "error"


def test_mid_stream_error_with_a_string_code() -> None:
    decoder, _ = run(chunk({"content": "Hi"}))
    error = {"code": "server_error", "message": "Internal error"}
    with pytest.raises(e.StreamError) as info:
        decoder.feed(chunk({"content": ""}, finish="error", error=error))
    assert info.value.code == "server_error"
    assert info.value.status_code is None
    assert str(info.value) == "server_error Internal error"
    assert info.value.generation_id == GEN


def test_openai_style_error_without_choices() -> None:
    decoder, _ = run(chunk({"content": "Hi"}))
    payload = orjson.dumps(
        {"error": {"message": "The server had an error", "type": "server_error", "param": None}}
    ).decode()
    with pytest.raises(e.StreamError) as info:
        decoder.feed(payload)
    err = info.value
    assert err.code is None
    assert err.message == "The server had an error"
    assert err.metadata["type"] == "server_error"
    assert err.partial is not None
    assert err.partial.choices[0].message.content == "Hi"


def test_error_chunk_as_first_event_has_an_empty_partial() -> None:
    payload = orjson.dumps({"error": {"code": 429, "message": "slow down"}}).decode()
    with pytest.raises(e.StreamError) as info:
        StreamDecoder().feed(payload)
    assert info.value.code == 429
    assert info.value.partial is not None
    assert info.value.partial.choices == []


def test_stream_error_parses_raw_and_availability() -> None:
    error = {
        "code": 429,
        "message": "Provider returned error",
        "metadata": {"provider_name": "Groq", "raw": '{"error":{"message":"Rate limit reached"}}'},
        "availability": {"code": "capacity_exhausted", "retryable": False},
    }
    with pytest.raises(e.StreamError) as info:
        StreamDecoder().feed(chunk(finish="error", error=error))
    err = info.value
    assert err.metadata["raw"] == {"error": {"message": "Rate limit reached"}}
    assert "Rate limit reached" in err.message
    assert err.retryable is False  # availability.retryable overrides the 429


def test_error_without_message_gets_one() -> None:
    with pytest.raises(e.StreamError) as info:
        StreamDecoder().feed(orjson.dumps({"error": {"code": 500}}).decode())
    assert info.value.message
    assert info.value.code == 500


def test_error_as_a_plain_string() -> None:
    with pytest.raises(e.StreamError, match="upstream went away"):
        StreamDecoder().feed(orjson.dumps({"error": "upstream went away"}).decode())


def test_null_error_key_is_not_an_error() -> None:
    _, events = run(chunk({"content": "ok"}, error=None))
    assert events == [TextDelta(text="ok")]


# --------------------------------------------------------------------------- §7 quirks


def test_keep_alive_comment() -> None:
    decoder = StreamDecoder()
    assert decoder.keep_alive(" OPENROUTER PROCESSING") == KeepAlive(
        comment="OPENROUTER PROCESSING"
    )
    assert decoder.partial().choices == []


def test_proxy_rewrapped_keep_alive() -> None:
    decoder, events = run(": OPENROUTER PROCESSING", chunk({"content": "Hi"}))
    assert events == [KeepAlive(comment="OPENROUTER PROCESSING"), TextDelta(text="Hi")]
    assert decoder.final().choices[0].message.content == "Hi"


def test_usage_with_empty_choices() -> None:
    _, events = run(chunk({"content": "Hi"}, finish="stop"), chunk(choices=[], usage=USAGE))
    assert events[-1] == Usage(usage=events[-1].usage)
    assert events[-1].total_tokens == 15


def test_usage_with_dummy_choice_after_finish() -> None:
    decoder, events = run(
        chunk({"content": "Hi"}),
        chunk({"content": ""}, finish="stop", native="end_turn"),
        chunk({"content": ""}, finish=None, usage=USAGE),
        "[DONE]",
    )
    assert [type(ev) for ev in events] == [TextDelta, Finish, Usage]
    choice = decoder.final().choices[0]
    assert choice.finish_reason == "stop"
    assert choice.native_finish_reason == "end_turn"
    assert choice.message.content == "Hi"
    assert decoder.final().usage is not None


def test_duplicate_finish_chunks_produce_one_finish() -> None:
    decoder, events = run(
        chunk({"content": "Hi"}),
        chunk({}, finish="stop", native="stop"),
        chunk({}, finish="stop", native="stop", usage=USAGE),
        "[DONE]",
    )
    assert of(events, Finish) == [Finish(finish_reason="stop", native_finish_reason="stop")]
    assert len(of(events, Usage)) == 1
    assert decoder.final().choices[0].finish_reason == "stop"


def test_later_finish_reason_never_overrides_the_first() -> None:
    decoder, events = run(chunk({}, finish="length"), chunk({}, finish="stop"))
    assert of(events, Finish) == [Finish(finish_reason="length")]
    assert decoder.final().choices[0].finish_reason == "length"


def test_repeated_role_and_empty_content_emit_nothing() -> None:
    decoder, events = run(
        chunk({"content": ""}),
        chunk({}),
        chunk({"content": None}),
        chunk({"content": "x"}),
        chunk({"content": ""}),
    )
    assert events == [TextDelta(text="x")]
    assert decoder.final().choices[0].message.content == "x"


def test_missing_or_null_choices_key() -> None:
    decoder, events = run(chunk(choices=None), chunk(choices=None, usage=USAGE))
    assert [type(ev) for ev in events] == [Usage]
    assert decoder.final().choices == []
    _, events = run(orjson.dumps({"id": "g", "choices": None}).decode())
    assert events == []


def test_malformed_choice_entries_are_skipped() -> None:
    _, events = run(chunk(choices=["junk", None, {"index": 0, "delta": {"content": "ok"}}]))
    assert events == [TextDelta(text="ok")]


def test_choice_without_index_uses_its_position() -> None:
    decoder, events = run(
        chunk({"content": "a"}, index=_UNSET), chunk({"content": "b"}, index=None)
    )
    assert events == [TextDelta(text="a"), TextDelta(text="b")]
    assert decoder.final().choices[0].message.content == "ab"


def test_id_less_tool_fragments_get_synthesized_ids() -> None:
    decoder, events = run(
        tools(tool(0, name="lookup", arguments='{"q":')),
        tools(tool(0, arguments=' "x"}')),
        chunk({}, finish="tool_calls"),
    )
    first = of(events, ToolCallDelta)[0]
    assert first.id == f"call_{GEN}_0"
    (done,) = of(events, ToolCallDone)
    assert done == ToolCallDone(index=0, id=f"call_{GEN}_0", name="lookup", arguments='{"q": "x"}')
    assert decoder.final().choices[0].message.tool_calls[0].id == f"call_{GEN}_0"


def test_gemini_style_empty_ids_and_null_indices() -> None:
    decoder, events = run(
        tools(tool(None, "", "get_weather", '{"city":"Paris"}')),
        tools(tool(None, "", "get_time", '{"tz":"CET"}')),
        chunk({}, finish="stop"),
    )
    done = of(events, ToolCallDone)
    assert [(d.index, d.name, d.arguments) for d in done] == [
        (0, "get_weather", '{"city":"Paris"}'),
        (1, "get_time", '{"tz":"CET"}'),
    ]
    assert done[0].id != done[1].id
    calls = decoder.final().choices[0].message.tool_calls
    assert [c.parsed_arguments() for c in calls] == [{"city": "Paris"}, {"tz": "CET"}]


def test_gemini_style_two_calls_to_the_same_tool() -> None:
    _, events = run(
        tools(tool(None, "", "get_weather", '{"city":"Paris"}')),
        tools(tool(None, "", "get_weather", '{"city":"Rome"}')),
        chunk({}, finish="tool_calls"),
    )
    done = of(events, ToolCallDone)
    assert [d.parsed_arguments() for d in done] == [{"city": "Paris"}, {"city": "Rome"}]


def test_name_repeated_on_every_fragment_is_one_call() -> None:
    _, events = run(
        tools(tool(0, "call_1", "f", '{"a"')),
        tools(tool(0, "call_1", "f", ": 1}")),
        chunk({}, finish="tool_calls"),
    )
    (done,) = of(events, ToolCallDone)
    assert done.arguments == '{"a": 1}'


def test_different_id_on_the_same_index_is_a_new_call() -> None:
    decoder, events = run(
        tools(tool(0, "call_a", "first", '{"n": 1}')),
        tools(tool(0, "call_b", "second", '{"n": 2}')),
        tools(tool(0, arguments="")),
        chunk({}, finish="tool_calls"),
    )
    deltas = of(events, ToolCallDelta)
    assert [(d.index, d.id) for d in deltas] == [(0, "call_a"), (1, "call_b")]
    done = of(events, ToolCallDone)
    assert [(d.index, d.id, d.name, d.arguments) for d in done] == [
        (0, "call_a", "first", '{"n": 1}'),
        (1, "call_b", "second", '{"n": 2}'),
    ]
    # The Done of the first call comes before the second call's first fragment.
    assert events.index(done[0]) < events.index(deltas[1])
    assert [c.id for c in decoder.final().choices[0].message.tool_calls] == ["call_a", "call_b"]


def test_new_name_without_id_on_the_same_index_is_a_new_call() -> None:
    _, events = run(
        tools(tool(0, name="first", arguments="{}")),
        tools(tool(0, name="second", arguments="{}")),
        "[DONE]",
    )
    assert [d.name for d in of(events, ToolCallDone)] == ["first", "second"]


def test_duplicate_ids_across_parallel_calls_are_made_unique() -> None:
    _, events = run(
        tools(tool(0, "call_0", "a", "{}"), tool(1, "call_0", "b", "{}")),
        "[DONE]",
    )
    done = of(events, ToolCallDone)
    assert done[0].id == "call_0"
    assert done[1].id not in ("call_0", "")
    assert [d.index for d in done] == [0, 1]


def test_fragment_without_index_continues_the_last_call() -> None:
    _, events = run(
        tools(tool(0, "call_1", "f", '{"a":')),
        tools(tool(_UNSET, arguments=" 1")),
        tools(tool(None, arguments="}")),
        chunk({}, finish="tool_calls"),
    )
    (done,) = of(events, ToolCallDone)
    assert done.arguments == '{"a": 1}'


def test_whole_call_in_one_fragment() -> None:
    decoder, events = run(
        tools(tool(0, "call_9", "get_time", '{"tz": "UTC"}'), finish="tool_calls"),
        "[DONE]",
    )
    assert [type(ev) for ev in events] == [ToolCallDelta, ToolCallDone, Finish]
    assert events[1] == ToolCallDone(
        index=0, id="call_9", name="get_time", arguments='{"tz": "UTC"}'
    )
    assert decoder.final().choices[0].finish_reason == "tool_calls"


@pytest.mark.parametrize("arguments", ["", None, _UNSET, "  "])
def test_empty_or_null_arguments_become_empty_object(arguments: Any) -> None:
    decoder, events = run(
        tools(tool(0, "call_1", "ping", arguments)), chunk({}, finish="tool_calls")
    )
    (done,) = of(events, ToolCallDone)
    assert done.arguments == "{}"
    assert done.parsed_arguments() == {}
    assert decoder.final().choices[0].message.tool_calls[0].function.arguments == "{}"


def test_arguments_sent_as_an_object() -> None:
    _, events = run(tools(tool(0, "c", "f", {"a": 1})), "[DONE]")
    assert of(events, ToolCallDone)[0].parsed_arguments() == {"a": 1}


def test_finish_stop_with_tool_calls_becomes_tool_calls() -> None:
    decoder, events = run(tools(tool(0, "c", "f", "{}")), chunk({}, finish="stop", native="STOP"))
    assert of(events, Finish) == [Finish(finish_reason="stop", native_finish_reason="STOP")]
    choice = decoder.final().choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.native_finish_reason == "STOP"


@pytest.mark.parametrize(("reason", "expected"), [("weird", "tool_calls"), ("length", "length")])
def test_unknown_finish_with_tool_calls_is_upgraded_but_length_is_kept(
    reason: str, expected: str
) -> None:
    decoder, _ = run(tools(tool(0, "c", "f", "{}")), chunk({}, finish=reason))
    assert decoder.final().choices[0].finish_reason == expected


def test_unknown_finish_reason_without_tool_calls_passes_through() -> None:
    decoder, events = run(chunk({"content": "x"}, finish="brand_new"))
    assert of(events, Finish) == [Finish(finish_reason="brand_new")]
    assert decoder.final().choices[0].finish_reason == "brand_new"


def test_reasoning_and_reasoning_details_in_one_delta_are_one_event() -> None:
    detail = {"type": "reasoning.text", "text": "Hmm", "format": "anthropic-claude-v1", "index": 0}
    decoder, events = run(chunk({"content": "", "reasoning": "Hmm", "reasoning_details": [detail]}))
    assert events == [ReasoningDelta(text="Hmm", details=(detail,))]
    message = decoder.final().choices[0].message
    assert message.reasoning == "Hmm"
    assert message.reasoning_details == [detail]
    assert message.content is None


def test_reasoning_details_alone_give_their_text() -> None:
    details = [
        {"type": "reasoning.summary", "summary": "Sum. "},
        {"type": "reasoning.text", "text": "Text."},
    ]
    _, events = run(chunk({"reasoning": None, "reasoning_details": details}))
    assert events == [ReasoningDelta(text="Sum. Text.", details=tuple(details))]


def test_reasoning_details_order_is_kept_including_encrypted() -> None:
    d1 = {"type": "reasoning.text", "text": "A", "signature": None, "index": 0}
    d2 = {"type": "reasoning.encrypted", "data": "[REDACTED]", "index": 1}
    d3 = {"type": "reasoning.text", "text": "B", "signature": "sig", "index": 0}
    d4 = {"type": "reasoning.encrypted", "data": "opaque==", "id": "rs_1", "format": "x"}
    decoder, events = run(
        chunk({"reasoning": "A", "reasoning_details": [d1]}),
        chunk({"reasoning_details": [d2]}),
        chunk({"reasoning": "B", "reasoning_details": [d3, d4]}),
        chunk({"content": "Answer"}, finish="stop"),
    )
    assert of(events, ReasoningDelta) == [
        ReasoningDelta(text="A", details=(d1,)),
        ReasoningDelta(text="", details=(d2,)),
        ReasoningDelta(text="B", details=(d3, d4)),
    ]
    message = decoder.final().choices[0].message
    assert message.reasoning == "AB"
    assert message.reasoning_details == [d1, d2, d3, d4]
    assert message.content == "Answer"


def test_reasoning_then_text_ordering_within_one_delta() -> None:
    _, events = run(chunk({"content": "x", "reasoning": "r"}))
    assert events == [ReasoningDelta(text="r"), TextDelta(text="x")]


def test_refusal_annotations_and_images_are_events() -> None:
    annotation = {"type": "url_citation", "url_citation": {"url": "https://a", "title": "A"}}
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}}
    decoder, events = run(
        chunk({"refusal": "I can't"}),
        chunk({"refusal": " help."}),
        chunk({"content": "see", "annotations": [annotation]}),
        chunk({"images": [image]}, finish="stop"),
    )
    assert events == [
        RefusalDelta(text="I can't"),
        RefusalDelta(text=" help."),
        TextDelta(text="see"),
        AnnotationsDelta(annotations=(annotation,)),
        ImagesDelta(images=(image,)),
        Finish(finish_reason="stop"),
    ]
    message = decoder.final().choices[0].message
    assert message.refusal == "I can't help."
    assert message.annotations == [annotation]
    assert message.images == [image]


def test_audio_and_logprobs_are_accumulated() -> None:
    lp1 = {"token": "Hi", "logprob": -0.1, "bytes": [72, 105], "top_logprobs": []}
    lp2 = {"token": "!", "logprob": -0.2, "bytes": [33], "top_logprobs": []}
    first = orjson.loads(
        chunk({"content": "Hi", "audio": {"id": "a1", "data": "AA", "transcript": "Hi"}})
    )
    first["choices"][0]["logprobs"] = {"content": [lp1], "refusal": None}
    second = orjson.loads(chunk({"content": "!", "audio": {"data": "BB", "transcript": "!"}}))
    second["choices"][0]["logprobs"] = {"content": [lp2]}
    decoder, events = run(orjson.dumps(first).decode(), orjson.dumps(second).decode())
    assert events == [TextDelta(text="Hi"), TextDelta(text="!")]
    choice = decoder.final().choices[0]
    assert choice.message.audio == {"id": "a1", "data": "AABB", "transcript": "Hi!"}
    assert choice.logprobs is not None
    assert choice.logprobs.content is not None
    assert [t.token for t in choice.logprobs.content] == ["Hi", "!"]


def test_content_parts_in_a_delta() -> None:
    _, events = run(
        chunk({"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]})
    )
    assert events == [TextDelta(text="ab")]


def test_multiple_choices_are_kept_apart() -> None:
    def two(a: str, b: str, finish: str | None = None) -> str:
        return chunk(
            choices=[
                {"index": 0, "delta": {"content": a}, "finish_reason": finish},
                {"index": 1, "delta": {"content": b}, "finish_reason": finish},
            ]
        )

    decoder, events = run(two("Hel", "Bon"), two("lo", "jour", "stop"), "[DONE]")
    assert events == [
        TextDelta(text="Hel"),
        TextDelta(text="Bon", choice_index=1),
        TextDelta(text="lo"),
        Finish(finish_reason="stop"),
        TextDelta(text="jour", choice_index=1),
        Finish(finish_reason="stop", choice_index=1),
    ]
    final = decoder.final()
    assert [c.index for c in final.choices] == [0, 1]
    assert [c.message.content for c in final.choices] == ["Hello", "Bonjour"]


def test_tool_calls_on_two_choices_are_independent() -> None:
    payload = chunk(
        choices=[
            {"index": 0, "delta": {"tool_calls": [tool(0, "a", "f", "{}")]}},
            {"index": 1, "delta": {"tool_calls": [tool(0, "b", "g", "{}")]}},
        ]
    )
    decoder, events = run(payload, "[DONE]")
    done = of(events, ToolCallDone)
    assert [(d.choice_index, d.index, d.id) for d in done] == [(0, 0, "a"), (1, 0, "b")]
    assert [c.message.tool_calls[0].name for c in decoder.final().choices] == ["f", "g"]


# --------------------------------------------------------------------------- protocol errors


def test_malformed_json_is_a_protocol_error() -> None:
    decoder, _ = run(chunk({"content": "ok"}))
    with pytest.raises(e.ProtocolError) as info:
        decoder.feed('{"id": "gen-1", "choices": [')
    err = info.value
    assert not isinstance(err, e.IncompleteStreamError)
    assert "#2" in err.message
    assert '{"id": "gen-1"' in err.message
    assert err.generation_id == GEN
    assert isinstance(err.__cause__, orjson.JSONDecodeError)


def test_malformed_json_preview_is_truncated() -> None:
    with pytest.raises(e.ProtocolError) as info:
        StreamDecoder().feed("{" + "x" * 10_000)
    assert len(info.value.message) < 400


@pytest.mark.parametrize("payload", ["[1, 2]", "42", '"text"', "null", "true"])
def test_non_object_json_is_a_protocol_error(payload: str) -> None:
    with pytest.raises(e.ProtocolError, match="expected an object"):
        StreamDecoder().feed(payload)


def test_plain_text_payload_is_a_protocol_error() -> None:
    with pytest.raises(e.ProtocolError, match="not valid JSON"):
        StreamDecoder().feed("OPENROUTER PROCESSING")


@pytest.mark.parametrize("payload", ["", "   "])
def test_empty_payload_carries_nothing(payload: str) -> None:
    assert StreamDecoder().feed(payload) == []


# --------------------------------------------------------------------------- end of stream


def test_truncated_stream_raises_incomplete_with_partial() -> None:
    decoder, _ = run(chunk({"content": "Once upon"}), chunk({"content": " a time"}))
    with pytest.raises(e.IncompleteStreamError) as info:
        decoder.finish()
    err = info.value
    assert err.generation_id == GEN
    assert not err.retryable  # served and billed: a broken body is never re-sent
    assert err.partial is not None
    assert err.partial.choices[0].message.content == "Once upon a time"
    assert err.partial.choices[0].finish_reason is None


def test_empty_body_is_incomplete() -> None:
    with pytest.raises(e.IncompleteStreamError):
        StreamDecoder().finish()


def test_body_ends_after_finish_but_before_done() -> None:
    decoder, events = run(tools(tool(0, "c1", "f", '{"x": 1}')), chunk({}, finish="tool_calls"))
    assert not decoder.done
    assert decoder.finished
    assert decoder.finish() == []  # the Done already went out before the Finish
    assert [type(ev) for ev in events] == [ToolCallDelta, ToolCallDone, Finish]
    assert decoder.final().choices[0].message.tool_calls[0].id == "c1"
    assert decoder.finish() == []


def test_finish_returns_pending_tool_calls_when_finish_reason_came_on_another_choice() -> None:
    payload = chunk(
        choices=[
            {"index": 0, "delta": {"content": "x"}, "finish_reason": "stop"},
            {"index": 1, "delta": {"tool_calls": [tool(0, "c", "f", "{}")]}},
        ]
    )
    decoder, _ = run(payload)
    tail = decoder.finish()
    assert tail == [ToolCallDone(index=0, id="c", name="f", arguments="{}", choice_index=1)]


def test_done_flushes_pending_tool_calls() -> None:
    decoder, events = run(tools(tool(0, "c1", "f", "{}")))
    assert of(events, ToolCallDone) == []
    tail = decoder.feed("[DONE]")
    assert tail == [ToolCallDone(index=0, id="c1", name="f", arguments="{}")]
    assert decoder.done
    assert decoder.feed(" [DONE] ") == []
    assert decoder.finish() == []


def test_done_without_finish_reason_completes() -> None:
    decoder, _ = run(chunk({"content": "Hi"}), "[DONE]")
    assert decoder.finish() == []
    assert decoder.final().choices[0].message.content == "Hi"


# --------------------------------------------------------------------------- other kinds / state


def test_legacy_completion_kind() -> None:
    def legacy(text: str | None, finish: str | None = None, **top: Any) -> str:
        choice = {"text": text, "index": 0, "logprobs": None, "finish_reason": finish}
        return orjson.dumps(
            {"id": "gen-c", "object": "text_completion", "model": "m", "choices": [choice], **top}
        ).decode()

    decoder, events = run(
        legacy("Once"),
        legacy(""),
        legacy(" upon", "length"),
        legacy(None, usage=USAGE),
        "[DONE]",
        kind="completion",
    )
    assert [type(ev) for ev in events] == [TextDelta, TextDelta, Finish, Usage]
    final = decoder.final()
    assert final.object == "text_completion"
    assert final.choices[0].message.content == "Once upon"
    assert final.choices[0].finish_reason == "length"


def test_chat_kind_ignores_choice_text() -> None:
    _, events = run(chunk(choices=[{"index": 0, "text": "legacy", "delta": {}}]))
    assert events == []


def test_decoder_state_attributes() -> None:
    decoder = StreamDecoder()
    assert (decoder.generation_id, decoder.model, decoder.last_chunk) == (None, None, None)
    payload = chunk({"content": "Hi"}, service_tier="default")
    decoder.feed(payload)
    assert decoder.generation_id == GEN
    assert decoder.model == "openai/gpt-4o-mini"
    assert decoder.last_chunk == orjson.loads(payload)
    assert not decoder.done
    assert not decoder.finished
    typed = structure(decoder.last_chunk, ChatCompletionChunk)
    assert typed.choices is not None
    assert typed.choices[0].delta.content == "Hi"
    assert decoder.partial().service_tier == "default"


def test_envelope_fields_first_non_null_wins() -> None:
    decoder, _ = run(
        chunk({"content": "a"}, id="gen-first", provider=None),
        chunk({"content": "b"}, id="gen-second", provider="Anthropic", system_fingerprint="fp"),
        chunk(choices=[], usage=USAGE, openrouter_metadata={"strategy": "price"}),
    )
    final = decoder.final()
    assert final.id == "gen-first"
    assert final.provider == "Anthropic"
    assert final.system_fingerprint == "fp"
    assert final.openrouter_metadata == {"strategy": "price"}


def test_malformed_usage_is_kept_raw_rather_than_failing_the_stream() -> None:
    bad = {"prompt_tokens": "many", "completion_tokens": None}
    _, events = run(chunk({"content": "x"}, finish="stop"), chunk(choices=[], usage=bad))
    (usage,) = of(events, Usage)
    assert usage.usage.extra == bad


def test_usage_null_counts_default_to_zero() -> None:
    _, events = run(chunk(choices=[], usage={"prompt_tokens": None, "total_tokens": 3}))
    (usage,) = of(events, Usage)
    assert (usage.prompt_tokens, usage.total_tokens) == (0, 3)


def test_fast_path_text_delta_is_a_normal_text_delta() -> None:
    decoder, _ = run(chunk({"content": "first"}))
    (event,) = decoder.feed(chunk({"content": "second"}))  # fast path: state exists
    assert event == TextDelta(text="second", choice_index=0)
    assert hash(event) == hash(TextDelta(text="second"))
    assert repr(event) == "TextDelta(text='second', choice_index=0)"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        event.text = "changed"  # type: ignore[misc]
    match event:
        case TextDelta(text):
            assert text == "second"
        case _:  # pragma: no cover
            pytest.fail("positional match failed")


def test_synthesized_ids_without_a_generation_id_are_still_unique() -> None:
    payload = orjson.dumps(
        {"choices": [{"index": 0, "delta": {"tool_calls": [tool(0, name="a"), tool(1, name="b")]}}]}
    ).decode()
    _, events = run(payload, "[DONE]")
    ids = [d.id for d in of(events, ToolCallDone)]
    assert len(set(ids)) == 2
    assert all(re.fullmatch(r"call_[0-9a-f]+_\d", i) for i in ids)


# --------------------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None)
@given(text=st.text(min_size=0, max_size=300), cuts=st.lists(st.integers(0, 300), max_size=40))
def test_text_split_into_random_chunks_accumulates_back(text: str, cuts: list[int]) -> None:
    points = sorted({min(c, len(text)) for c in cuts} | {0, len(text)})
    pieces = [text[a:b] for a, b in pairwise(points)]
    payloads = [chunk({"content": piece}) for piece in pieces]
    decoder, events = run(*payloads, chunk({}, finish="stop"), "[DONE]")
    texts = of(events, TextDelta)
    assert "".join(ev.text for ev in texts) == text
    assert all(ev.text for ev in texts)
    assert decoder.final().choices[0].message.content == (text or None)


@settings(max_examples=60, deadline=None)
@given(
    args=st.lists(
        st.dictionaries(
            st.text(max_size=8), st.integers(-(2**53), 2**53) | st.text(max_size=12), max_size=4
        ),
        min_size=1,
        max_size=3,
    ),
    cuts=st.lists(st.integers(0, 200), max_size=20),
)
def test_tool_argument_fragments_rejoin_exactly(
    args: list[dict[str, Any]], cuts: list[int]
) -> None:
    payloads = []
    texts = [orjson.dumps(a).decode() for a in args]
    for i, text in enumerate(texts):
        points = sorted({min(c, len(text)) for c in cuts} | {0, len(text)})
        pieces = [text[a:b] for a, b in pairwise(points)]
        payloads.append(tools(tool(i, f"call_{i}", f"fn{i}", pieces[0])))
        payloads.extend(tools(tool(i, arguments=piece)) for piece in pieces[1:])
    decoder, events = run(*payloads, chunk({}, finish="tool_calls"), "[DONE]")
    done = of(events, ToolCallDone)
    assert [d.arguments for d in done] == texts
    assert [d.parsed_arguments() for d in done] == args
    calls = decoder.final().choices[0].message.tool_calls
    assert [c.function.arguments for c in calls] == texts
    assert [c.id for c in calls] == [f"call_{i}" for i in range(len(args))]


def test_payload_bytes_read_as_their_replacement_decoded_text() -> None:
    # The stream hands the decoder raw data bytes; invalid UTF-8 reads as the WHATWG decoder
    # would have made it (U+FFFD), whichever path the chunk takes.
    raw = b'{"choices":[{"index":0,"delta":{"content":"a\xffb"}}]}'
    by_bytes, by_text = StreamDecoder(), StreamDecoder()
    assert by_bytes.feed(raw) == by_text.feed(raw.decode("utf-8", "replace"))
    out: list[Any] = []
    by_items = StreamDecoder()
    by_items.feed_items([raw, raw], out)
    assert [event.text for event in out] == ["a\ufffdb", "a\ufffdb"]
    with pytest.raises(e.ProtocolError, match=r"event #3 is not valid JSON.*\ufffd"):
        by_items.feed_items([b"\xff"], out)
