"""One fold for streams (#16): what ``get_final_completion()`` returns is the fold of the events
the stream yielded, except for what events do not carry, listed here and in ``_accumulate``:

* the envelope (``id``, ``model``, ``created``, ``provider``, ``system_fingerprint``,
  ``service_tier``, ``openrouter_metadata``), per-token ``logprobs`` and ``audio`` pieces: the
  decoder folds these from the raw chunk;
* a choice that never produced an event (only ``{}`` / ``{"role": ...}`` deltas): it is in the
  final completion, with an empty message, but no event names it.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import attrs
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from openrouter_async import _errors as e
from openrouter_async._accumulate import Accumulator
from openrouter_async._decode import StreamDecoder
from openrouter_async._sse import SSEComment, SSEEvent
from openrouter_async.types.events import StreamEvent
from openrouter_async.types.responses import ChatCompletion
from tests.unit.test_decode_hostile import CHUNK

TEXT = st.text(max_size=5)
FRAGMENT = st.fixed_dictionaries(
    {"index": st.integers(0, 1)},
    optional={
        "id": st.sampled_from(["a", "b", ""]),
        "function": st.fixed_dictionaries(
            {},
            optional={
                "name": st.sampled_from(["f", "g"]),
                "arguments": st.sampled_from(['{"x"', ": 1}", "{}", "", "[", '"s"']),
            },
        ),
    },
)
DELTA = st.fixed_dictionaries(
    {},
    optional={
        "role": st.just("assistant"),
        "content": TEXT,
        "reasoning": TEXT,
        "reasoning_details": st.lists(
            st.fixed_dictionaries(
                {"type": st.sampled_from(["reasoning.text", "reasoning.encrypted"])},
                optional={"text": TEXT, "index": st.integers(0, 1), "signature": TEXT},
            ),
            max_size=2,
        ),
        "refusal": TEXT,
        "tool_calls": st.lists(FRAGMENT, max_size=2),
        "annotations": st.lists(st.fixed_dictionaries({"type": st.just("url_citation")})),
        "images": st.lists(st.fixed_dictionaries({"image_url": st.just({"url": "u"})})),
        "audio": st.fixed_dictionaries({}, optional={"data": TEXT, "id": TEXT}),
    },
)
PLAUSIBLE = st.fixed_dictionaries(
    {"id": st.just("gen-1")},
    optional={
        "choices": st.lists(
            st.fixed_dictionaries(
                {"index": st.integers(0, 1), "delta": DELTA},
                optional={
                    "finish_reason": st.sampled_from([None, "stop", "length", "tool_calls"]),
                    "logprobs": st.just({"content": [{"token": "t", "logprob": -1.0}]}),
                },
            ),
            max_size=2,
        ),
        "usage": st.just({"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}),
        "model": st.just("m"),
    },
)


def without_what_events_omit(done: ChatCompletion, folded: ChatCompletion) -> ChatCompletion:
    """``done`` with the fields events do not carry reset, and the choices ``folded`` lacks
    dropped when they are empty."""
    named = {c.index for c in folded.choices}
    choices = []
    for choice in done.choices:
        if choice.index not in named:
            message = choice.message
            assert not (message.content or message.tool_calls or message.reasoning), choice
            continue
        message = attrs.evolve(choice.message, audio=None)
        choices.append(attrs.evolve(choice, message=message, logprobs=None))
    return attrs.evolve(
        done,
        id="",
        model="",
        created=0,
        provider=None,
        system_fingerprint=None,
        service_tier=None,
        openrouter_metadata=None,
        choices=choices,
    )


def fold(events: list[StreamEvent]) -> ChatCompletion:
    accumulator = Accumulator()
    for event in events:
        accumulator.add(event)
    return accumulator.snapshot()


def check(payloads: list[str]) -> None:
    decoder = StreamDecoder()
    events: list[StreamEvent] = []
    try:
        for payload in payloads:
            events += decoder.feed(payload)
        events += decoder.finish()
    except e.OpenRouterError:
        return  # a typed error: nothing more is yielded, and the partial is the error's
    folded = fold(events)
    assert without_what_events_omit(decoder.final(), folded) == folded


@settings(max_examples=80, deadline=None)
@given(st.lists(PLAUSIBLE, max_size=6), st.booleans())
def test_final_completion_is_the_fold_of_the_events(chunks: list[Any], done: bool) -> None:
    check([orjson.dumps(c).decode() for c in chunks] + (["[DONE]"] if done else []))


@settings(max_examples=50, deadline=None)
@given(st.lists(CHUNK, max_size=6))
def test_the_fold_holds_for_any_chunk_shape(chunks: list[Any]) -> None:
    check([orjson.dumps(c).decode() for c in chunks] + ["[DONE]"])


def test_what_events_omit_is_exactly_the_documented_list() -> None:
    chunks = [
        {
            "id": "gen-1",
            "model": "m",
            "created": 5,
            "provider": "p",
            "choices": [
                {
                    "index": 0,
                    "delta": {"content": "a", "audio": {"data": "x"}},
                    "logprobs": {"content": [{"token": "a", "logprob": 0.0}]},
                },
                {"index": 1, "delta": {"role": "assistant"}},
            ],
        }
    ]
    decoder = StreamDecoder()
    events = decoder.feed(orjson.dumps(chunks[0]).decode()) + decoder.feed("[DONE]")
    final, folded = decoder.final(), fold(events)
    assert (final.id, final.model, final.created, final.provider) == ("gen-1", "m", 5, "p")
    assert final.choices[0].message.audio == {"data": "x"} and final.choices[0].logprobs
    assert [c.index for c in final.choices] == [0, 1]
    assert [c.index for c in folded.choices] == [0]
    assert folded.choices[0].message.content == "a"
    assert without_what_events_omit(final, folded) == folded


# ---------------------------------------------------------------- the stream's per-token path
#
# ``StreamDecoder.feed_items`` (what a stream runs) decodes the typical token chunk inline and
# hands every other chunk to the path ``feed`` runs; the two must agree on everything.

TYPICAL = st.fixed_dictionaries(
    {
        "choices": st.lists(
            st.fixed_dictionaries(
                {
                    "index": st.integers(0, 1),
                    "delta": st.fixed_dictionaries(
                        {"content": TEXT},
                        optional={"role": st.just("assistant"), "refusal": st.just("no")},
                    ),
                },
                optional={
                    "finish_reason": st.sampled_from([None, "stop"]),
                    "logprobs": st.sampled_from(
                        [None, {"content": [{"token": "t", "logprob": -1.0}]}]
                    ),
                    "native_finish_reason": st.none(),
                },
            ),
            min_size=1,
            max_size=2,
        ),
    },
    optional={
        "id": st.just("gen-1"),
        "service_tier": st.sampled_from([None, "default"]),
        "usage": st.sampled_from([None, {"prompt_tokens": 1}]),
        "error": st.sampled_from([None, {"message": "boom", "code": 502}]),
        "object": st.just("chat.completion.chunk"),
    },
)
ITEM = st.one_of(
    TYPICAL.map(lambda c: orjson.dumps(c)),
    PLAUSIBLE.map(lambda c: orjson.dumps(c)),
    CHUNK.map(lambda c: orjson.dumps(c)),
    st.sampled_from([b"[DONE]", b"", b"not json", b"\xff{}", b'"text"', b": comment"]),
    st.sampled_from([SSEComment("OPENROUTER PROCESSING"), SSEEvent('{"choices": []}', "x")]),
)


def _outcome(run: Any) -> tuple[list[Any], Any]:
    events: list[Any] = []
    try:
        run(events)
    except e.OpenRouterError as exc:
        return events, (type(exc), str(exc))
    return events, None


@settings(max_examples=200, deadline=None)
@given(st.lists(ITEM, max_size=8))
def test_the_stream_path_decodes_exactly_as_feed(items: list[Any]) -> None:
    same_as_feed(items)


@settings(max_examples=200, deadline=None)
@given(st.lists(TYPICAL.map(orjson.dumps), min_size=2, max_size=6))
def test_near_typical_chunks_decode_exactly_as_feed(items: list[Any]) -> None:
    # Each chunk is one field away from the inline path's shape, or in it.
    same_as_feed(items)


def same_as_feed(items: list[Any]) -> None:
    by_feed, by_items = StreamDecoder(), StreamDecoder()
    # Tool-call ids made up for a stream without an id are random per stream: make them agree.
    by_feed._ids.generation = by_items._ids.generation = "same"

    def feed_each(events: list[Any]) -> None:
        for item in items:
            if type(item) is SSEComment:
                events.append(by_feed.keep_alive(item.text))
                continue
            events += by_feed.feed(item if type(item) is bytes else item.data)
            if by_feed.done:
                break

    feed_events, feed_error = _outcome(feed_each)
    item_events, item_error = _outcome(lambda events: by_items.feed_items(items, events))
    if feed_error is not None and feed_error[0] is e.StreamError:
        feed_events += by_feed.unreturned  # feed() returns nothing when it raises
    assert item_events == feed_events
    assert item_error == feed_error
    assert by_items.partial() == by_feed.partial()
    assert (by_items.done, by_items._count) == (by_feed.done, by_feed._count)


# ---------------------------------------------------------------- the learned byte envelope
#
# Token chunks whose bytes around the content string repeat are decoded by parsing only that
# string (``_envelope``). Whatever a server puts between (or around) those bytes, the result
# must be what parsing the whole chunk gives.

ENVELOPE = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["gen-1", "gen-2", 'gen-"content":"x"', "gen-\\", ""]),
        "index": st.integers(0, 1),
        "role": st.booleans(),
        "extra_before": st.sampled_from([None, "", '"content":"', "a"]),
        "fingerprint": st.sampled_from([None, "fp", '"}]}', "a"]),
        "object_first": st.booleans(),
        "finish": st.none(),
    }
)
# How servers spell a JSON string: orjson's, Python's json with ASCII escapes, with spaces.
ENCODERS = st.sampled_from(
    [
        orjson.dumps,
        lambda v: json.dumps(v).encode(),
        lambda v: json.dumps(v, ensure_ascii=False, separators=(", ", ": ")).encode("utf-8"),
    ]
)
MIDDLE_TEXT = st.text(
    st.one_of(st.characters(blacklist_categories=["Cs"]), st.sampled_from('"\\{}[],:\n\x00é🎉')),
    max_size=6,
)
# The text of a chunk, often equal to another string in its envelope.
CONTENT = st.one_of(
    MIDDLE_TEXT, st.sampled_from(["fp", "fp2", "gen-1", "assistant", "chat.completion.chunk", "a"])
)
# Middles that are not one string token, or are one in a form another encoder would not use.
HOSTILE_MIDDLES = st.sampled_from(
    [
        b'"a","content":"b"',
        b'"a"}',
        b'"a\\"',
        b'"a" "b"',
        b'"a",',
        b' "a" ',
        b'"\\ud800"',
        b'"\\u00e9"',
        b'"\xff"',
        b"1",
        b"12",
        b"true",
        b'["a"]',
        b'{"a":1}',
        b"null",
        b"[]",
        b"{}",
        b'"',
        b"",
        b'"a"}],"usage":{"prompt_tokens":1},"x":[{"y":"',
        b'"a"},"finish_reason":"stop","z":{"w":"',
    ]
)


def _chunk(env: dict[str, Any], content: str) -> dict[str, Any]:
    delta: dict[str, Any] = {"role": "assistant"} if env["role"] else {}
    delta["content"] = content
    chunk: dict[str, Any] = {"object": "chat.completion.chunk"} if env["object_first"] else {}
    chunk["id"] = env["id"]
    if env["extra_before"] is not None:
        chunk["x"] = env["extra_before"]
    chunk["choices"] = [
        {"index": env["index"], "delta": delta, "finish_reason": env["finish"], "logprobs": None}
    ]
    if env["fingerprint"] is not None:
        chunk["system_fingerprint"] = env["fingerprint"]
    return chunk


@st.composite
def enveloped_items(draw: st.DrawFn) -> list[Any]:
    env = draw(ENVELOPE)
    encode = draw(ENCODERS)
    # The whole chunk spelled by the encoder, and its head and tail around a marker string.
    marker = "\x01marker\x02"
    whole = encode(_chunk(env, marker))
    head, _, tail = whole.partition(encode(marker))
    items: list[Any] = []
    for _ in range(draw(st.integers(2, 10))):
        kind = draw(st.integers(0, 5))
        if kind <= 2:
            items.append(head + encode(draw(CONTENT)) + tail)
        elif kind == 3:
            items.append(head + draw(HOSTILE_MIDDLES) + tail)
        elif kind == 4:
            # Another envelope: often the same length (another index or id), so only its
            # head or only its tail differs.
            other = dict(
                env,
                fingerprint=draw(st.sampled_from([None, "fp", "fp2", "a"])),
                index=draw(st.integers(0, 1)),
                id=draw(st.sampled_from(["gen-1", "gen-2"])),
                finish=draw(st.sampled_from([None, "st", "stop"])),  # "st": as long as null
            )
            items.append(encode(_chunk(other, draw(CONTENT))))
        else:
            items.append(draw(ITEM))
    return items


@settings(max_examples=400, deadline=None)
@given(enveloped_items())
def test_the_learned_envelope_decodes_exactly_as_feed(items: list[Any]) -> None:
    same_as_feed(items)


def test_a_stream_of_token_chunks_uses_the_learned_envelope() -> None:
    env = {"id": "g", "index": 0, "role": True, "extra_before": None}
    env |= {"fingerprint": "fp", "object_first": True, "finish": None}
    items = [orjson.dumps(_chunk(env, f"t{i}")) for i in range(50)]
    decoder = StreamDecoder()
    events: list[Any] = []
    decoder.feed_items(items, events)
    assert [ev.text for ev in events] == [f"t{i}" for i in range(50)]
    # Learned from the first chunk, and used for all the others.
    assert decoder._envelope is not None and decoder._learning == 7
    assert decoder.partial().choices[0].message.content == "".join(f"t{i}" for i in range(50))


def test_a_text_equal_to_a_later_string_is_not_taken_for_it() -> None:
    # The learned chunk's text is also its fingerprint, which comes later in its bytes.
    env = {"id": "g", "index": 0, "role": True, "extra_before": None}
    env |= {"fingerprint": "fp", "object_first": True, "finish": None}
    items = [orjson.dumps(_chunk(env, "x")), orjson.dumps(_chunk(env, "fp"))]
    items.append(orjson.dumps(_chunk(env | {"fingerprint": "zz"}, "fp")))
    items.append(orjson.dumps(_chunk(env, "y")))
    decoder = StreamDecoder()
    events: list[Any] = []
    decoder.feed_items(items, events)
    assert [ev.text for ev in events] == ["x", "fp", "fp", "y"]
    assert decoder._envelope is not None and decoder._envelope[1].startswith(b"}")


def test_bytes_of_the_same_length_around_the_text_are_not_the_envelope() -> None:
    env = {"id": "g", "index": 0, "role": True, "extra_before": None}
    env |= {"fingerprint": "fp", "object_first": True, "finish": None}
    items = [orjson.dumps(_chunk(env, text)) for text in ("a", "b")]
    items.append(orjson.dumps(_chunk(env | {"index": 1}, "c")))  # another head
    items.append(orjson.dumps(_chunk(env | {"finish": "st"}, "d")))  # another tail
    same_as_feed(items)
    decoder = StreamDecoder()
    events: list[Any] = []
    decoder.feed_items(items, events)
    assert [type(ev).__name__ for ev in events] == ["TextDelta"] * 4 + ["Finish"]
    assert [ev.choice_index for ev in events] == [0, 0, 1, 0, 0]


def test_a_middle_that_is_not_one_string_goes_the_full_way() -> None:
    env = {"id": "g", "index": 0, "role": True, "extra_before": None}
    env |= {"fingerprint": "fp", "object_first": True, "finish": None}
    marker = orjson.dumps("\x01m")
    head, _, tail = orjson.dumps(_chunk(env, "\x01m")).partition(marker)
    learned = [orjson.dumps(_chunk(env, text)) for text in ("a", "b")]
    for middle in [b"12", b"true", b'["x"]', b'{"a":1}', b'"a","content":"b"', b'"\xff"']:
        items = [*learned, head + middle + tail]
        same_as_feed(items)
        decoder = StreamDecoder()
        events: list[Any] = []
        with contextlib.suppress(e.OpenRouterError):
            decoder.feed_items(items, events)
        assert decoder._envelope is not None
        assert all(type(ev.text) is str for ev in events if hasattr(ev, "text")), middle


def test_the_envelope_is_learned_from_ascii_escaped_chunks_too() -> None:
    env = {"id": "g", "index": 0, "role": False, "extra_before": None}
    env |= {"fingerprint": None, "object_first": False, "finish": None}
    texts = ["é", "🎉 x", '"q"', "\\", "ok"]
    items = [json.dumps(_chunk(env, text)).encode() for text in texts * 3]
    decoder = StreamDecoder()
    events: list[Any] = []
    decoder.feed_items(items, events)
    assert [ev.text for ev in events] == texts * 3
    assert decoder._learning == 7  # one search, then every chunk in the envelope
