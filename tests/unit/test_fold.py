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
