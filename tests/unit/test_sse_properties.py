"""Properties of the SSE parser: chunking never matters, and no input raises anything but ours.

Besides the split-invariance properties, a deliberately plain reference parser (a line-by-line
transcription of the WHATWG algorithm over the whole input) checks the fast one on biased random
bytes.
"""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openrouter_async._errors import ProtocolError
from openrouter_async._sse import SSEComment, SSEEvent, SSEParser

Item = SSEEvent | SSEComment

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def feed_all(chunks: list[bytes], **kwargs: int) -> tuple[list[Item], str | None]:
    parser = SSEParser(**kwargs)
    items: list[Item] = []
    for chunk in chunks:
        if chunk:  # b"" means end of input
            items += parser.feed(chunk)
    items += parser.feed(b"")
    return items, parser.last_event_id


def outcome(chunks: list[bytes], **kwargs: int) -> tuple[list[Item], str | None] | str:
    """The parse result, or ``"ProtocolError"``; any other exception propagates and fails."""
    try:
        return feed_all(chunks, **kwargs)
    except ProtocolError:
        return "ProtocolError"


@st.composite
def splits(draw: st.DrawFn, stream: bytes) -> list[bytes]:
    """``stream`` cut at random points (sometimes at every byte)."""
    if len(stream) > 1 and draw(st.integers(0, 9)) == 0:
        return [stream[i : i + 1] for i in range(len(stream))]
    cuts = draw(st.lists(st.integers(0, len(stream)), max_size=12))
    bounds = [0, *sorted(cuts), len(stream)]
    return [stream[a:b] for a, b in itertools.pairwise(bounds)]


# -- 1. streams built from random events ---------------------------------------------------------

EOLS = st.sampled_from([b"\n", b"\r", b"\r\n"])
# Anything but CR and LF may appear in a value; bias towards the characters that break parsers.
VALUE_CHARS = st.one_of(
    st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]),
    st.sampled_from(["\u2028", "\u2029", "\x85", ":", " ", "\ufeff", "\x00", "é", "🎉"]),
)
VALUES = st.text(VALUE_CHARS, max_size=12)


@st.composite
def event_streams(draw: st.DrawFn) -> tuple[bytes, list[Item], str | None]:
    """A well-formed stream and the items (events and comments) it must produce, in order."""
    out: list[bytes] = []
    expected: list[Item] = []
    last_id: str | None = None
    if draw(st.booleans()):
        out.append(b"\xef\xbb\xbf")

    def line(text: bytes) -> None:
        eol = draw(EOLS)
        if not text and out and out[-1].endswith(b"\r") and eol == b"\n":
            eol = b"\r\n"  # CR then a bare LF would read as one CRLF, losing this blank line
        out.append(text + eol)

    for _ in range(draw(st.integers(0, 6))):
        for _ in range(draw(st.integers(0, 2))):
            comment = draw(VALUES)
            space = draw(st.booleans())
            line(b": " + comment.encode() if space else b":" + comment.encode())
            # Exactly one space after the colon is dropped, ours or the comment's own.
            text = comment[1:] if not space and comment.startswith(" ") else comment
            expected.append(SSEComment(text))
        data_lines = draw(st.lists(VALUES, min_size=1, max_size=3))
        event_type = draw(st.one_of(st.none(), VALUES))
        new_id = draw(st.one_of(st.none(), VALUES.filter(lambda v: "\x00" not in v)))
        retry = draw(st.one_of(st.none(), st.integers(0, 10**6)))
        fields: list[bytes] = [b"data: " + value.encode() for value in data_lines]
        if event_type is not None:
            fields.append(b"event: " + event_type.encode())
        if new_id is not None:
            fields.append(b"id: " + new_id.encode())
            last_id = new_id
        if retry is not None:
            fields.append(b"retry: " + str(retry).encode())
        # The order of fields inside one event does not matter, except among data lines.
        others = draw(st.permutations(fields[len(data_lines) :]))
        for field in [*fields[: len(data_lines)], *others]:
            line(field)
        line(b"")
        expected.append(SSEEvent("\n".join(data_lines), event_type or "message", last_id, retry))
    return b"".join(out), expected, last_id


@SETTINGS
@given(st.data())
def test_any_split_of_an_event_stream_gives_the_expected_events(data: st.DataObject) -> None:
    stream, expected, last_id = data.draw(event_streams())
    assert feed_all([stream]) == (expected, last_id)
    chunks = data.draw(splits(stream))
    assert feed_all(chunks) == (expected, last_id)


# -- 2. arbitrary bytes --------------------------------------------------------------------------

# Raw bytes, biased towards the pieces of the format so that parses go somewhere interesting.
TOKENS = st.sampled_from(
    [
        *(b"data", b"event", b"id", b"retry", b":", b": ", b" ", b"x", b"12", b"\x00"),
        *(b"\n", b"\r", b"\r\n"),
        *(b"\xef\xbb\xbf", b"\xef", b"\xe2\x80\xa8", b"\xc2\x85", b"\xff", b"\xe6\x9d\xb1"),
    ]
)
BIASED_BYTES = st.lists(st.one_of(TOKENS, st.binary(max_size=4)), max_size=40).map(b"".join)
ANY_BYTES = st.one_of(st.binary(max_size=200), BIASED_BYTES)


@SETTINGS
@given(st.data(), ANY_BYTES, st.sampled_from([8, 16, 64, 32 * 1024 * 1024]))
def test_arbitrary_bytes_raise_only_protocol_error_and_ignore_splits(
    data: st.DataObject, stream: bytes, cap: int
) -> None:
    whole = outcome([stream], max_event_bytes=cap)
    assert outcome(data.draw(splits(stream)), max_event_bytes=cap) == whole


# -- 3. against a plain reference implementation -------------------------------------------------


def reference(stream: bytes) -> tuple[list[Item], str | None]:
    """The WHATWG algorithm, transcribed as plainly as possible over the whole input."""
    if stream.startswith(b"\xef\xbb\xbf"):
        stream = stream[3:]
    *lines, _unfinished = re.split(rb"\r\n|\r|\n", stream)
    items: list[Item] = []
    data_buffer = ""
    event_type = ""
    last_id: str | None = None
    retry: int | None = None
    for raw in lines:
        line = raw.decode("utf-8", "replace")
        if line == "":
            if data_buffer:
                items.append(SSEEvent(data_buffer[:-1], event_type or "message", last_id, retry))
            data_buffer = ""
            event_type = ""
            retry = None
            continue
        if line.startswith(":"):
            items.append(SSEComment(line[2:] if line.startswith(": ") else line[1:]))
            continue
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            data_buffer += value + "\n"
        elif name == "event":
            event_type = value
        elif name == "id":
            if "\x00" not in value:
                last_id = value
        elif (
            name == "retry"
            and value
            and all(c in "0123456789" for c in value)
            and len(value.lstrip("0")) <= 18  # longer values are ignored
        ):
            retry = int(value)
    return items, last_id


@SETTINGS
@given(st.data(), ANY_BYTES)
def test_matches_reference_parser(data: st.DataObject, stream: bytes) -> None:
    expected = reference(stream)
    assert feed_all([stream]) == expected
    assert feed_all(data.draw(splits(stream))) == expected


# -- 4. payload mode (what a stream uses) ---------------------------------------------------------


def feed_payloads(chunks: list[bytes]) -> tuple[list[Item | bytes], str | None] | str:
    parser = SSEParser(payloads=True)
    items: list[Item | bytes] = []
    try:
        for chunk in chunks:
            if chunk:
                items += parser.feed(chunk)
        items += parser.feed(b"")
    except ProtocolError:
        return "ProtocolError"
    return items, parser.last_event_id


@SETTINGS
@given(st.data(), ANY_BYTES)
def test_payload_mode_gives_the_same_events_as_data_bytes(
    data: st.DataObject, stream: bytes
) -> None:
    expected, last_id = reference(stream)
    got = feed_payloads(data.draw(splits(stream)))
    assert got != "ProtocolError"
    items, got_last_id = got
    assert got_last_id == last_id
    assert len(items) == len(expected)
    for item, event in zip(items, expected, strict=True):
        if type(item) is bytes:
            # Only an event without fields of its own comes out as its bare data.
            assert type(event) is SSEEvent
            assert (event.event, event.retry) == ("message", None)
            assert item.decode("utf-8", "replace") == event.data
        else:
            assert item == event


def test_payload_mode_keeps_events_with_fields_whole() -> None:
    parser = SSEParser(payloads=True)
    stream = (
        b"data: a\n\nid: 7\ndata: b\n\nevent: x\ndata: c\n\nretry: 5\ndata: d\n\n"
        b"data: e\ndata: f\n\n: ping\n\ndata: \xff\n\n"
    )
    assert parser.feed(stream) == [
        b"a",
        SSEEvent("b", "message", "7", None),
        SSEEvent("c", "x", "7", None),
        SSEEvent("d", "message", "7", 5),
        b"e\nf",
        SSEComment("ping"),
        b"\xff",
    ]
    assert (parser.last_event_id, parser.retry) == ("7", 5)


# -- 5. runs of plain data events (the payload mode's whole-chunk path) -------------------------

# Pieces that make a run of ``data: value`` events almost right: a stray LF or CR, a second data
# line, a field, a comment, ``data:`` without its space, a value that looks like a separator.
RUN_PIECES = st.sampled_from(
    [
        b"data: {}\n\n",
        b'data: {"a":1}\n\n',
        b"data: \n\n",
        b"data: data: x\n\n",
        b"data: [DONE]\n\n",
        b"data: a\nb\n\n",
        b"data: a\r\n\r\n",
        b"data: a\r\n\n",
        b"data: a\rb\n\n",
        b"data: a\n\n\n\n",
        b"data: a\ndata: b\n\n",
        b"data:x\n\n",
        b": ping\n\n",
        b"id: 3\ndata: c\n\n",
        b"event: e\ndata: d\n\n",
        b"\n\n",
        b"data: \xff\xfe\n\n",
        b"data: " + b"v" * 40 + b"\n\n",
    ]
)
RUNS = st.lists(
    st.one_of(RUN_PIECES, RUN_PIECES, RUN_PIECES, st.binary(max_size=6)), max_size=12
).map(b"".join)


@SETTINGS
@given(st.data(), RUNS, st.sampled_from([8, 48, 32 * 1024 * 1024]))
def test_runs_of_data_events_read_the_same_in_payload_mode(
    data: st.DataObject, stream: bytes, cap: int
) -> None:
    chunks = data.draw(splits(stream))
    # The event mode never takes the whole-chunk path: its events are the line loop's.
    plain = outcome(chunks, max_event_bytes=cap)
    parser = SSEParser(payloads=True, max_event_bytes=cap)
    try:
        got: list[Item | bytes] = []
        for chunk in chunks:
            if chunk:
                got += parser.feed(chunk)
        got += parser.feed(b"")
    except ProtocolError:
        assert plain == "ProtocolError"
        return
    assert plain != "ProtocolError"
    items, last_id = plain
    assert parser.last_event_id == last_id
    as_events = [
        SSEEvent(g.decode("utf-8", "replace"), "message", last_id_at, None)
        if type(g) is bytes
        else g
        for g, last_id_at in zip(got, [getattr(i, "id", None) for i in items], strict=True)
    ]
    assert as_events == items
    if cap > len(stream):
        assert (items, last_id) == reference(stream)


def test_a_run_of_data_events_skips_the_line_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = SSEParser._lines

    def counting(self: SSEParser, lines: list[bytes], size: int) -> list[Item | bytes]:
        calls.append(len(lines))
        return real(self, lines, size)  # type: ignore[return-value]

    monkeypatch.setattr(SSEParser, "_lines", counting)
    parser = SSEParser(payloads=True)
    stream = b": hi\n\n" + b"".join(b'data: {"n":%d}\n\n' % i for i in range(50))
    got: list[Item | bytes] = []
    for start in range(0, len(stream), 64):
        got += parser.feed(stream[start : start + 64])
    assert got == [SSEComment("hi")] + [b'{"n":%d}' % i for i in range(50)]
    # Only the chunk with the comment (and a chunk cut between the two LFs) needs the loop.
    assert len(calls) <= 3
