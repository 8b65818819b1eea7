"""The stream against a fake transport: timers, backpressure, drain and close, without sockets.

``FakeResponse`` implements the SDK's ``_http.Response``; the test decides when each body chunk
arrives, so every claim about reads (only on demand, never ahead of the consumer) and about
timers (keep-alive comments never move the first-event or idle deadline) is exact.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping

import orjson
import pytest

import openrouter_async as ora
from openrouter_async._config import RetryPolicy, Timeouts
from openrouter_async._http import Response
from openrouter_async._streaming import ChatStream, ChunkStream


class FakeResponse:
    """Body chunks are fed by the test; ``read_chunk`` waits until one is there."""

    def __init__(self, content_type: str = "text/event-stream") -> None:
        self.status = 200
        self.headers: Mapping[str, str] = {"Content-Type": content_type}
        self.content_type = content_type
        self._chunks: deque[bytes] = deque()
        self._arrived = asyncio.Event()
        self.eof = False
        self.reads = 0
        self.released = False
        self.closed = False

    def feed(self, data: bytes) -> None:
        self._chunks.append(data)
        self._arrived.set()

    def end(self) -> None:
        self.feed(b"")

    async def read_chunk(self) -> bytes:
        self.reads += 1
        while not self._chunks:
            self._arrived.clear()
            await self._arrived.wait()
        data = self._chunks.popleft()
        if not data:
            self.eof = True
        return data

    async def read(self, n: int) -> bytes:
        return await self.read_chunk()

    def at_eof(self) -> bool:
        return self.eof

    def release(self) -> None:
        self.released = True

    def close(self) -> None:
        self.closed = True


def chunk(text: str, finish: str | None = None) -> bytes:
    body = {
        "id": "gen-f",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m/x",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}],
    }
    return b"data: " + orjson.dumps(body) + b"\n\n"


def make_stream(response: FakeResponse, **timeouts: float) -> tuple[ChatStream, list[int]]:
    sends: list[int] = []

    async def send() -> Response:
        sends.append(1)
        return response

    stream = ChatStream(
        send,
        timeouts=Timeouts(connect=1, **timeouts),  # type: ignore[arg-type]
        retry=RetryPolicy(max_retries=0),
        deadline=None,
    )
    return stream, sends


async def test_reads_only_when_the_consumer_asks() -> None:
    response = FakeResponse()
    response.feed(chunk("a") + chunk("b"))  # two events in one read
    response.feed(chunk("c"))
    stream, _ = make_stream(response)
    async with stream:
        assert response.reads == 0  # opening reads no body
        first = await stream.__anext__()
        assert isinstance(first, ora.TextDelta) and first.text == "a"
        assert response.reads == 1
        second = await stream.__anext__()
        assert second.text == "b"  # type: ignore[union-attr]
        assert response.reads == 1  # served from what was already decoded
        assert stream.buffered == 0
        third = await stream.__anext__()
        assert third.text == "c"  # type: ignore[union-attr]
        assert response.reads == 2
    assert response.closed  # left early: the connection is dropped, never pooled


async def test_a_finished_body_goes_back_to_the_pool() -> None:
    response = FakeResponse()
    response.feed(chunk("hi", finish="stop") + b"data: [DONE]\n\n")
    response.end()
    stream, _ = make_stream(response)
    async with stream:
        texts = [t async for t in stream.text_stream]
    assert texts == ["hi"]
    assert response.released and not response.closed


async def test_drain_after_done_is_bounded_in_time() -> None:
    response = FakeResponse()
    response.feed(chunk("hi", finish="stop") + b"data: [DONE]\n\n")  # then nothing, no EOF
    stream, _ = make_stream(response)
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with stream:
        assert [t async for t in stream.text_stream] == ["hi"]
    assert loop.time() - started < 1.0
    assert response.closed and not response.released  # not at EOF: never pooled


async def test_keep_alive_comments_do_not_move_the_first_event_deadline() -> None:
    response = FakeResponse()
    stream, _ = make_stream(response, first_event=0.3)

    async def comments() -> None:
        for _ in range(20):
            response.feed(b": OPENROUTER PROCESSING\n\n")
            await asyncio.sleep(0.05)

    feeder = asyncio.create_task(comments())
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(ora.APITimeoutError) as info:
        async with stream:
            async for _ in stream:
                pass
    feeder.cancel()
    await asyncio.gather(feeder, return_exceptions=True)
    assert info.value.kind == "first_event"
    assert 0.25 <= loop.time() - started < 0.8
    assert response.closed


async def test_idle_deadline_starts_after_the_last_data_event() -> None:
    response = FakeResponse()
    response.feed(chunk("a"))
    stream, _ = make_stream(response, idle=0.2)
    got: list[str] = []
    with pytest.raises(ora.APITimeoutError) as info:
        async with stream:
            async for text in stream.text_stream:
                got.append(text)
    assert got == ["a"]
    assert info.value.kind == "idle"
    assert info.value.partial is not None
    assert info.value.partial.choices[0].message.content == "a"


async def test_break_closes_at_once_even_with_events_pending() -> None:
    response = FakeResponse()
    response.feed(chunk("a") + chunk("b") + chunk("c"))
    stream, _ = make_stream(response)
    async with stream:
        async for _ in stream:
            break
    assert response.closed
    assert stream.closed


async def test_a_wrong_content_type_is_refused_before_any_event() -> None:
    response = FakeResponse(content_type="text/html")
    response.feed(b"<html><title>Maintenance</title></html>")
    response.end()
    stream, sends = make_stream(response)
    with pytest.raises(ora.ProtocolError, match="Maintenance"):
        async with stream:
            pass
    assert response.closed
    assert sends == [1]


async def test_chunks_is_its_own_typed_iterator() -> None:
    response = FakeResponse()
    response.feed(chunk("a") + chunk("b", finish="stop") + b"data: [DONE]\n\n")
    response.end()
    stream, _ = make_stream(response)
    async with stream:
        chunks = stream.chunks()
        assert isinstance(chunks, ChunkStream)
        got = [c async for c in chunks]
        with pytest.raises(ora.ClientClosedError, match="chunks"):
            async for _ in stream:  # the stream itself never yields chunks as events
                pass
    assert [c.choices[0].delta.content for c in got] == ["a", "b"]
    assert all(isinstance(c, ora.ChatCompletionChunk) for c in got)
    final = await stream.get_final_completion()
    assert final.choices[0].message.content == "ab"


async def test_chunks_must_be_chosen_before_reading() -> None:
    response = FakeResponse()
    response.feed(chunk("a") + chunk("b"))
    stream, _ = make_stream(response)
    async with stream:
        await stream.__anext__()
        with pytest.raises(ora.ClientClosedError):
            stream.chunks()
