"""One fold for streams (#16): what ``get_final_completion()`` returns is the fold of the events
the stream yielded, except for what events do not carry, listed here and in ``_accumulate``:

* the envelope (``id``, ``model``, ``created``, ``provider``, ``system_fingerprint``,
  ``service_tier``, ``openrouter_metadata``), per-token ``logprobs`` and ``audio`` pieces: the
  decoder folds these from the raw chunk;
* a choice that never produced an event (only ``{}`` / ``{"role": ...}`` deltas): it is in the
  final completion, with an empty message, but no event names it.
"""

from __future__ import annotations

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
