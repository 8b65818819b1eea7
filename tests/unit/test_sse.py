"""Named cases for the SSE parser, each run whole, bytewise and with extra split points."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from openrouter_async._errors import ProtocolError
from openrouter_async._sse import SSEComment, SSEEvent, SSEParser

Item = SSEEvent | SSEComment

# Partial lines to append after a stream: an unfinished line is dropped at EOF, so they change
# nothing.
TRAILERS = (b"data: never finished", b":partial comment", b"id: 99", b"\xef\xbb", b"x")


@dataclass(frozen=True)
class Parsed:
    items: list[Item]
    last_event_id: str | None
    retry: int | None

    @property
    def events(self) -> list[SSEEvent]:
        return [item for item in self.items if isinstance(item, SSEEvent)]

    @property
    def comments(self) -> list[str]:
        return [item.text for item in self.items if isinstance(item, SSEComment)]


def parse(chunks: list[bytes], **kwargs: int) -> Parsed:
    parser = SSEParser(**kwargs)
    items: list[Item] = []
    for chunk in chunks:
        items += parser.feed(chunk)
    items += parser.feed(b"")
    return Parsed(items, parser.last_event_id, parser.retry)


def split_at(stream: bytes, cuts: list[int]) -> list[bytes]:
    """``stream`` cut at ``cuts``, without empty pieces (``b""`` would mean end of input)."""
    bounds = [0, *sorted(cuts), len(stream)]
    return [stream[a:b] for a, b in itertools.pairwise(bounds) if a < b]


def parse_all_ways(stream: bytes, **kwargs: int) -> Parsed:
    """Parse ``stream`` whole, bytewise, with trailing partial lines and at many split points.

    Asserts that every way gives the same result, and returns it.
    """
    whole = parse([stream], **kwargs)
    bytewise = parse([stream[i : i + 1] for i in range(len(stream))], **kwargs)
    assert bytewise == whole, "one byte at a time"
    for trailer in TRAILERS:
        trailed = parse([stream, trailer], **kwargs)
        assert trailed.items == whole.items, f"trailing {trailer!r}"
        assert parse([stream + trailer], **kwargs).items == whole.items, f"joined {trailer!r}"
    for cut in range(1, len(stream)):
        assert parse(split_at(stream, [cut]), **kwargs) == whole, f"split at {cut}"
    for size in (2, 3, 7, 64):
        chunks = [stream[i : i + size] for i in range(0, len(stream), size)]
        assert parse(chunks, **kwargs) == whole, f"pieces of {size}"
    ends = [i + 1 for i, byte in enumerate(stream) if byte in b"\r\n"]
    assert parse(split_at(stream, ends), **kwargs) == whole, "split after every CR and LF"
    return whole


def ev(
    data: str, event: str = "message", id: str | None = None, retry: int | None = None
) -> SSEEvent:
    return SSEEvent(data, event, id, retry)


# -- the examples in the WHATWG HTML standard, "Interpreting an event stream" ----------------------


def test_whatwg_stock_example_joins_data_lines() -> None:
    stream = b"data: YHOO\ndata: +2\ndata: 10\n\n"
    assert parse_all_ways(stream).items == [ev("YHOO\n+2\n10")]


def test_whatwg_comment_and_id_example() -> None:
    stream = (
        b": test stream\n\n"
        b"data: first event\nid: 1\n\n"
        b"data:second event\nid\n\n"
        b"data:  third event\n\n"
    )
    parsed = parse_all_ways(stream)
    assert parsed.items == [
        SSEComment("test stream"),
        ev("first event", id="1"),
        ev("second event", id=""),
        ev(" third event", id=""),
    ]
    assert parsed.last_event_id == ""


def test_whatwg_first_second_event_example_drops_unterminated_event() -> None:
    stream = b"data\n\ndata\ndata\n\ndata:"
    assert parse_all_ways(stream).items == [ev(""), ev("\n")]


def test_whatwg_space_after_colon_is_optional() -> None:
    stream = b"data:test\n\ndata: test\n\n"
    assert parse_all_ways(stream).items == [ev("test"), ev("test")]


# -- line ends ---------------------------------------------------------------------------------


@pytest.mark.parametrize("eol", [b"\n", b"\r", b"\r\n"], ids=["LF", "CR", "CRLF"])
def test_each_line_end_style(eol: bytes) -> None:
    stream = b"data: a" + eol + b"data: b" + eol + eol + b": c" + eol + b"data: d" + eol + eol
    assert parse_all_ways(stream).items == [ev("a\nb"), SSEComment("c"), ev("d")]


def test_mixed_line_ends() -> None:
    stream = b"data: a\rdata: b\r\ndata: c\n\r\ndata: d\r\r"
    assert parse_all_ways(stream).items == [ev("a\nb\nc"), ev("d")]


def test_cr_at_chunk_end_then_lf_is_one_line_end() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\ndata: b\r") == []
    assert parser.feed(b"\n") == []  # a blank line here would have dispatched "a\nb"
    assert parser.feed(b"\r\n") == [ev("a\nb")]


def test_cr_at_chunk_end_then_cr_is_a_blank_line() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\r") == [ev("a")]


def test_lf_alone_after_cr_chunk_is_swallowed_once() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: a\r") == []
    assert parser.feed(b"\n") == []
    assert parser.feed(b"\n") == [ev("a")]


def test_lf_cr_is_two_line_ends() -> None:
    assert parse_all_ways(b"data: a\n\r").items == [ev("a")]


# -- fields ------------------------------------------------------------------------------------


def test_openrouter_keepalive_comments_and_done() -> None:
    stream = (
        b": OPENROUTER PROCESSING\n\n"
        b": OPENROUTER PROCESSING\n\n"
        b'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\n'
        b"data: [DONE]\n\n"
    )
    parsed = parse_all_ways(stream)
    assert parsed.items == [
        SSEComment("OPENROUTER PROCESSING"),
        SSEComment("OPENROUTER PROCESSING"),
        ev('{"choices":[{"delta":{"content":"Hi"}}]}'),
        ev("[DONE]"),
    ]


def test_comment_text_loses_exactly_one_space() -> None:
    stream = b":\n:x\n: y\n:  z\n::w\n"
    assert parse_all_ways(stream).comments == ["", "x", "y", " z", ":w"]


def test_comment_inside_an_event_does_not_end_it() -> None:
    stream = b"data: a\n: keep-alive\ndata: b\n\n"
    assert parse_all_ways(stream).items == [SSEComment("keep-alive"), ev("a\nb")]


def test_field_value_splits_at_first_colon_and_loses_one_space() -> None:
    stream = b"data: a: b:c\n\ndata:  two\n\ndata:\n\ndata:x\n\n"
    assert parse_all_ways(stream).items == [ev("a: b:c"), ev(" two"), ev(""), ev("x")]


def test_line_without_colon_is_a_field_with_empty_value() -> None:
    stream = b"data\n\nevent\ndata: x\n\n"
    assert parse_all_ways(stream).items == [ev(""), ev("x")]


def test_event_type_applies_to_one_event_only() -> None:
    stream = b"event: add\ndata: 1\n\ndata: 2\n\nevent:\ndata: 3\n\n"
    assert parse_all_ways(stream).items == [ev("1", "add"), ev("2"), ev("3")]


def test_event_type_is_forgotten_when_block_has_no_data() -> None:
    stream = b"event: lost\n\ndata: x\n\n"
    assert parse_all_ways(stream).items == [ev("x")]


def test_no_dispatch_without_data_but_id_still_updates() -> None:
    stream = b"id: 7\n\n\n\nevent: x\n\ndata: later\n\n"
    parsed = parse_all_ways(stream)
    assert parsed.items == [ev("later", id="7")]
    assert parsed.last_event_id == "7"


def test_id_persists_across_events_and_can_be_reset() -> None:
    stream = b"id: a\ndata: 1\n\ndata: 2\n\nid\ndata: 3\n\n"
    parsed = parse_all_ways(stream)
    assert parsed.items == [ev("1", id="a"), ev("2", id="a"), ev("3", id="")]


def test_id_is_set_when_its_line_ends_even_without_blank_line() -> None:
    assert parse_all_ways(b"data: x\nid: 5\n").last_event_id == "5"


def test_id_containing_nul_is_ignored() -> None:
    stream = b"id: good\ndata: 1\n\nid: b\x00d\ndata: 2\n\n"
    parsed = parse_all_ways(stream)
    assert parsed.items == [ev("1", id="good"), ev("2", id="good")]
    assert parsed.last_event_id == "good"


def test_retry_accepts_ascii_digits_only() -> None:
    stream = (
        b"retry: 1500\ndata: a\n\n"
        b"retry: 15x\ndata: b\n\n"
        b"retry: -1\nretry:\nretry:  9\nretry: \xef\xbc\x95\nretry: 1.5\ndata: c\n\n"
    )
    parsed = parse_all_ways(stream)
    assert parsed.items == [ev("a", retry=1500), ev("b"), ev("c")]
    assert parsed.retry == 1500


def test_retry_with_thousands_of_digits_is_ignored_not_fatal() -> None:
    # Regression (#12): int() refuses more than 4,300 digits and raised a raw ValueError.
    huge = b"9" * 5000
    parsed = parse_all_ways(
        b"retry: " + huge + b"\ndata: a\n\nretry: " + b"0" * 5000 + b"25\ndata: b\n\n"
    )
    assert parsed.items == [ev("a"), ev("b", retry=25)]
    assert parse_all_ways(b"retry: " + b"1" * 18 + b"\ndata: c\n\n").items == [
        ev("c", retry=int("1" * 18))
    ]
    assert parse_all_ways(b"retry: " + b"1" * 19 + b"\ndata: c\n\n").items == [ev("c")]


def test_retry_without_data_still_sets_reconnection_time() -> None:
    parsed = parse_all_ways(b"retry: 42\n\ndata: x\n\n")
    assert parsed.items == [ev("x")]
    assert parsed.retry == 42


def test_unknown_and_differently_cased_fields_are_ignored() -> None:
    stream = b"Data: no\nfoo: bar\ndata : no\n data: no\ndata: yes\n\n"
    assert parse_all_ways(stream).items == [ev("yes")]


def test_all_fields_together() -> None:
    stream = b"event: update\nid: 3\nretry: 10\ndata: {\ndata: }\n\n"
    assert parse_all_ways(stream).items == [ev("{\n}", "update", "3", 10)]


# -- bytes and text ----------------------------------------------------------------------------


def test_bom_at_start_is_stripped() -> None:
    assert parse_all_ways(b"\xef\xbb\xbfdata: x\n\n").items == [ev("x")]


def test_bom_split_across_first_chunks_is_stripped() -> None:
    assert parse([b"\xef", b"\xbb\xbfdata: x\n\n"]).items == [ev("x")]
    assert parse([b"\xef", b"\xbb", b"\xbf", b"data: x\n\n"]).items == [ev("x")]
    assert parse([b"\xef\xbb", b"\xbfdata: x\n\n"]).items == [ev("x")]


def test_only_one_leading_bom_is_stripped() -> None:
    # The second BOM makes the field name "\ufeffdata", which is unknown.
    assert parse_all_ways(b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\ndata: y\n\n").items == [ev("y")]


def test_bom_later_in_stream_is_data() -> None:
    assert parse_all_ways(b"data: \xef\xbb\xbfx\n\n").items == [ev("\ufeffx")]


def test_bom_prefix_that_is_not_a_bom() -> None:
    assert parse_all_ways(b"\xef\xbbdata: x\n\ndata: y\n\n").items == [ev("y")]
    assert parse([b"\xef", b"\n", b"data: y\n\n"]).items == [ev("y")]


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c"])
def test_unicode_line_separators_do_not_split_lines(char: str) -> None:
    stream = f"data: a{char}b\n\n".encode()
    assert parse_all_ways(stream).items == [ev(f"a{char}b")]


def test_multibyte_characters_survive_any_split() -> None:
    text = "é 東京 🎉 \u2028 ok"
    assert parse_all_ways(f"data: {text}\n\n: {text}\n".encode()).items == [
        ev(text),
        SSEComment(text),
    ]


def test_invalid_utf8_is_replaced_not_raised() -> None:
    stream = b"data: a\xffb\xe2\x82\ndata: \xc3\n\n: \x80\nid: \xfe\n\n"
    parsed = parse_all_ways(stream)
    assert parsed.items == [ev("a\ufffdb\ufffd\n\ufffd"), SSEComment("\ufffd")]
    assert parsed.last_event_id == "\ufffd"


def test_nul_in_data_is_kept() -> None:
    assert parse_all_ways(b"data: a\x00b\n\n").items == [ev("a\x00b")]


# -- end of input ------------------------------------------------------------------------------


def test_unfinished_event_is_discarded_at_eof() -> None:
    assert parse_all_ways(b"data: done\n\ndata: unfinished\n").items == [ev("done")]
    assert parse_all_ways(b"data: done\n\ndata: unfinished").items == [ev("done")]
    assert parse_all_ways(b"data: done\n\ndata: unfinished\r").items == [ev("done")]


def test_empty_stream() -> None:
    assert parse([]).items == []
    assert parse([b"\n\n\r\n"]).items == []


def test_feed_after_eof_raises_protocol_error() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: x\n\n") == [ev("x")]
    assert parser.feed(b"") == []
    with pytest.raises(ProtocolError):
        parser.feed(b"data: y\n\n")
    with pytest.raises(ProtocolError):
        parser.feed(b"")


def test_last_event_id_starts_as_none() -> None:
    parser = SSEParser()
    assert parser.last_event_id is None
    assert parser.retry is None
    parser.feed(b"data: x\n\n")
    assert parser.last_event_id is None


# -- the size cap ------------------------------------------------------------------------------


def raises_all_ways(stream: bytes, cap: int) -> None:
    for chunks in (
        [stream],
        [stream[i : i + 1] for i in range(len(stream))],
        [stream[i : i + 5] for i in range(0, len(stream), 5)],
    ):
        with pytest.raises(ProtocolError, match="max_event_bytes"):
            parse(chunks, max_event_bytes=cap)


def test_event_over_cap_raises_protocol_error() -> None:
    raises_all_ways(b"data: " + b"x" * 200 + b"\n\n", cap=100)


def test_unterminated_line_over_cap_raises_before_its_end() -> None:
    parser = SSEParser(max_event_bytes=100)
    parser.feed(b"data: " + b"x" * 90)
    with pytest.raises(ProtocolError):
        parser.feed(b"x" * 20)


def test_many_small_data_lines_add_up_to_the_cap() -> None:
    raises_all_ways(b"data: 0123456789\n" * 20 + b"\n", cap=100)


def test_many_small_events_never_hit_the_cap() -> None:
    stream = b"data: 0123456789\n\n" * 50
    assert len(parse_all_ways(stream, max_event_bytes=40).events) == 50


def test_event_at_cap_is_accepted_one_byte_more_is_not() -> None:
    # The cap counts the data values held so far plus the current line, here "data: " + value.
    parsed = parse_all_ways(b"data: " + b"x" * 94 + b"\n\n", max_event_bytes=100)
    assert parsed.items == [ev("x" * 94)]
    raises_all_ways(b"data: " + b"x" * 95 + b"\n\n", cap=100)
    parsed = parse_all_ways(
        b"data: " + b"x" * 44 + b"\ndata:" + b"y" * 50 + b"\n\n", max_event_bytes=100
    )
    assert parsed.items == [ev("x" * 44 + "\n" + "y" * 50)]
    raises_all_ways(b"data: " + b"x" * 44 + b"\ndata:" + b"y" * 52 + b"\n\n", cap=100)


def test_parser_is_unusable_after_cap_error() -> None:
    parser = SSEParser(max_event_bytes=10)
    with pytest.raises(ProtocolError):
        parser.feed(b"data: " + b"y" * 20)
    with pytest.raises(ProtocolError):
        parser.feed(b"\n\n")


def test_two_mib_event_fits_the_default_cap() -> None:
    payload = b"z" * (2 * 1024 * 1024)
    stream = b"data: " + payload + b"\n\n"
    assert parse([stream]).items == [ev(payload.decode())]
    chunks = [stream[i : i + 65536] for i in range(0, len(stream), 65536)]
    assert parse(chunks).items == [ev(payload.decode())]


def test_invalid_cap_is_rejected() -> None:
    with pytest.raises(ValueError):
        SSEParser(max_event_bytes=0)


# -- linear time -------------------------------------------------------------------------------


def _bytewise_seconds(stream: bytes) -> float:
    best = float("inf")
    for _ in range(3):
        parser = SSEParser()
        start = time.process_time()
        for i in range(len(stream)):
            parser.feed(stream[i : i + 1])
        best = min(best, time.process_time() - start)
    return best


@pytest.mark.parametrize(
    "make",
    [
        lambda n: b"data: " + b"x" * n + b"\n\n",  # one long line
        lambda n: b"data:x\n" * (n // 7) + b"\n",  # one event of many short lines
    ],
    ids=["long-line", "many-lines"],
)
def test_bytewise_feeding_is_linear(make: Callable[[int], bytes]) -> None:
    small = _bytewise_seconds(make(20_000))
    large = _bytewise_seconds(make(80_000))
    # 4x the input: about 4x the time when linear, 16x when quadratic.
    assert large < 9 * small


# -- value types -------------------------------------------------------------------------------


def test_event_defaults_equality_and_repr() -> None:
    event = SSEEvent("x")
    assert (event.data, event.event, event.id, event.retry) == ("x", "message", None, None)
    assert event == SSEEvent(data="x", event="message", id=None, retry=None)
    assert event != SSEEvent("x", id="1")
    assert event != SSEComment("x")
    assert repr(event) == "SSEEvent(data='x', event='message', id=None, retry=None)"
    assert not hasattr(event, "__dict__")


def test_comment_equality_and_repr() -> None:
    assert SSEComment("a") == SSEComment("a")
    assert SSEComment("a") != SSEComment("b")
    assert repr(SSEComment("a")) == "SSEComment(text='a')"


def test_events_support_match() -> None:
    match SSEEvent("payload", "update"):
        case SSEEvent(data=data, event="update"):
            assert data == "payload"
        case _:
            pytest.fail("no match")
    match SSEComment("ping"):
        case SSEComment(text):
            assert text == "ping"
