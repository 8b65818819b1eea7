"""Only typed errors, from any server input (#12): a property test at the public boundary.

A raw TCP server on 127.0.0.1 (one per module) answers every request with the bytes Hypothesis
generated: a status line, headers (non-UTF-8 bytes included), and a body that is a mutated
completion, a mutated stream of chunks, or arbitrary bytes, written in arbitrary pieces, and
sometimes never finished. Through ``create()``, stream events, ``chunks()``, ``text_stream``,
``partial()``, ``get_final_completion()``, ``sse_events``, ``relay_to_aiohttp`` and
``client.batch``, the only exceptions are ``OpenRouterError`` subclasses, every call ends
within its deadline, and what was delivered before an error is kept (text deltas are a prefix
of the served text; the partial completion holds them).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from itertools import pairwise
from typing import Any

import aiohttp
import orjson
import pytest
import pytest_asyncio
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import openrouter_async as ora
from openrouter_async._json import dumps
from openrouter_async._relay_encode import encode_done
from openrouter_async._retry import set_testing
from openrouter_async.relay import relay_to_aiohttp, sse_events
from tests.localserver import serve

pytestmark = pytest.mark.asyncio(loop_scope="module")

#: Client deadlines: short, so a body that never ends costs a fraction of a second.
TIMEOUTS = ora.Timeouts(connect=2.0, read=0.5, first_event=0.3, idle=0.2, total=1.0)
#: Each call must end within the client's total deadline plus slack for a loaded machine.
EXAMPLE_DEADLINE = 1.0 + 3.0
#: ``ORA_BOUNDARY_EXAMPLES=500`` for a longer hunt; ``make test`` runs the default in seconds.
SCALE = int(os.environ.get("ORA_BOUNDARY_EXAMPLES", "20"))
EXAMPLES = settings(
    max_examples=SCALE,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
MESSAGES = [{"role": "user", "content": "hi"}]


# ------------------------------------------------------------------ the raw server


class Script:
    """What the server sends for the next requests: ``head`` then ``pieces``, then it closes
    the connection, or (``hang``) keeps it open until the client gives up."""

    def __init__(self) -> None:
        self.head = b"HTTP/1.1 200 OK\r\n\r\n"
        self.pieces: list[bytes] = []
        self.hang = False


class RawServer:
    def __init__(self) -> None:
        self.script = Script()
        self.url = ""
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/api/v1"

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        script = self.script
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            writer.write(script.head)
            for piece in script.pieces:
                writer.write(piece)
                await writer.drain()
            if script.hang:
                await reader.read()  # until the client closes its end
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server() -> AsyncIterator[RawServer]:
    set_testing(True)
    raw = RawServer()
    await raw.start()
    try:
        yield raw
    finally:
        await raw.stop()
        set_testing(False)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(server: RawServer) -> AsyncIterator[ora.OpenRouter]:
    async with ora.OpenRouter(
        api_key="k", base_url=server.url, timeout=TIMEOUTS, max_retries=0
    ) as c:
        yield c


# ------------------------------------------------------------------ what the server sends

DEEP = orjson.loads(b'{"a":' * 300 + b"[1]" + b"}" * 300)  # past orjson's 254 levels
WEIRD = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, -1, 2**63 - 1, -(2**63), 2**64 - 1, 1e308, -1e-308, 0.5]),
    st.text(max_size=6),
    st.just([]),
    st.just({}),
    st.lists(st.integers(-2, 2) | st.text(max_size=2) | st.none(), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(0, 3) | st.none(), max_size=2),
    st.just(DEEP),
    st.just([DEEP]),
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if len(prefix) > 6:  # not into DEEP: its 300 levels would draw every later mutation
        return out
    if isinstance(value, dict):
        for key, member in value.items():
            out += _paths(member, (*prefix, key))
    elif isinstance(value, list):
        for i, member in enumerate(value):
            out += _paths(member, (*prefix, i))
    return out


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(copy[head], rest, new)
    return copy


@st.composite
def mutated(draw: st.DrawFn, base: Any, most: int = 3) -> Any:
    """``base`` with up to ``most`` values (anywhere, the root excepted) of the wrong type."""
    value = base
    for _ in range(draw(st.integers(0, most))):
        paths = [p for p in _paths(value) if p]
        if not paths:
            break
        value = _replace(value, draw(st.sampled_from(paths)), draw(WEIRD))
    return value


def completion(text: str, *, reasoning: str = "", tool_args: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if reasoning:
        message["reasoning"] = reasoning
        message["reasoning_details"] = [{"type": "reasoning.text", "text": reasoning}]
    if tool_args is not None:
        message["tool_calls"] = [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": tool_args}}
        ]
    return {
        "id": "gen-1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "provider": "p",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3, "cost": 0.1},
    }


def chunk(delta: dict[str, Any], finish: str | None = None, **top: Any) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {
        "id": "gen-1",
        "object": "chat.completion.chunk",
        "model": "m",
        "choices": [choice],
        **top,
    }


TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6)


@st.composite
def chunk_stream(draw: st.DrawFn, odd: bool) -> tuple[list[Any], str]:
    """Chunks of a plausible stream (text, reasoning, tool fragments, annotations, usage), and
    the text a clean reading delivers. ``odd``: any field may hold a value of the wrong type."""

    def value(proper: Any) -> Any:
        return draw(st.one_of(st.just(proper), WEIRD)) if odd else proper

    def items(*proper: Any) -> Any:
        return value([value(item) for item in proper])

    texts = draw(st.lists(TEXT, max_size=5))
    chunks: list[Any] = [chunk({"role": "assistant", "content": ""})]
    for text in texts:
        chunks.append(chunk({"content": text}))
        if draw(st.booleans()):
            detail = {"type": "reasoning.text", "text": value("r"), "index": value(0)}
            chunks.append(chunk({"reasoning": value("r"), "reasoning_details": items(detail)}))
    if draw(st.booleans()):
        function = {"name": value("f"), "arguments": value('{"a"')}
        fragment = {"index": value(0), "id": value("c"), "function": value(function)}
        chunks.append(chunk({"tool_calls": items(fragment)}))
        more = {"index": value(0), "function": {"arguments": value(": 1}")}}
        chunks.append(chunk({"tool_calls": items(more)}))
    if odd and draw(st.booleans()):
        annotation = {"type": "url_citation", "url_citation": value({"url": "u"})}
        extra = {"annotations": items(annotation), "images": items({"image_url": {"url": "u"}})}
        extra["refusal"] = value("no")
        chunks.append(chunk(extra))
    chunks.append(chunk(value({}), finish=value("stop")))
    usage = {"prompt_tokens": value(1), "total_tokens": value(2), "cost": value(0.5)}
    chunks.append({"id": value("gen-1"), "choices": value([]), "usage": value(usage)})
    if odd:  # and now and then a wrong type anywhere at all
        chunks = [draw(mutated(c, most=1)) if draw(st.integers(0, 3)) == 0 else c for c in chunks]
    return chunks, "".join(texts)


def sse(chunks: list[Any], done: bool) -> bytes:
    body = b"".join(b"data: " + dumps(c) + b"\n\n" for c in chunks)
    return body + (b"data: [DONE]\n\n" if done else b"")


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in pairwise(bounds) if b > a]


CHARSETS = [b"", b"; charset=utf-8", b"; charset=latin-1", b"; charset=\xff", b"; charset=nope"]
HEADER_VALUE = st.binary(max_size=8).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))


@st.composite
def head(draw: st.DrawFn, content_type: bytes, statuses: list[int]) -> bytes:
    status = draw(st.sampled_from([*statuses, 204, 304, 418, 599, 999]))
    lines = [f"HTTP/1.1 {status} X".encode(), b"Connection: close"]
    if draw(st.booleans()):
        lines.append(b"Content-Type: " + content_type + draw(st.sampled_from(CHARSETS)))
    if draw(st.integers(0, 3)) == 0:
        lines.append(b"Content-Encoding: " + draw(st.sampled_from([b"gzip", b"br", b"\xff"])))
    if draw(st.integers(0, 3)) == 0:
        lines.append(
            b"X-Odd-" + draw(st.sampled_from([b"A", b"\xc3\xa9"])) + b": " + draw(HEADER_VALUE)
        )
    if draw(st.booleans()):
        lines.append(b"X-Generation-Id: gen-" + draw(HEADER_VALUE))  # non-UTF-8 at times
    if draw(st.booleans()):
        lines.append(b"Retry-After: " + draw(st.sampled_from([b"0", b"1e400", b"9" * 5000, b"x"])))
    return b"\r\n".join(lines) + b"\r\n\r\n"


@st.composite
def stream_script(draw: st.DrawFn) -> tuple[Script, str, bool]:
    """A stream answer, the text a clean reading of it would deliver, and whether the chunks
    were served as generated (then text deltas must be a prefix of that text)."""
    clean = draw(st.booleans())
    chunks, text = draw(chunk_stream(odd=not clean))
    body = sse(chunks, done=draw(st.booleans()))
    kind = draw(st.sampled_from(["as is", "truncated", "garbage", "raw bytes"]))
    if kind == "truncated":
        body = body[: draw(st.integers(0, len(body)))]
    elif kind == "garbage":
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.binary(min_size=1, max_size=20)) + body[at:]
    elif kind == "raw bytes":
        body = draw(st.binary(max_size=60))
    script = Script()
    script.head = draw(head(b"text/event-stream", [200, 200, 200, 400, 429, 503]))
    script.pieces = split(body, draw(st.lists(st.integers(0, 10**6), max_size=4)))
    script.hang = draw(st.integers(0, 3)) == 0
    return script, text, clean and kind in ("as is", "truncated")


@st.composite
def completion_body(draw: st.DrawFn) -> Any:
    """A completion (or an error envelope) whose every field may hold a wrong-typed value."""

    def value(proper: Any) -> Any:
        return draw(st.one_of(st.just(proper), WEIRD))

    if draw(st.integers(0, 3)) == 0:
        metadata = value({"raw": value('{"message": "m"}'), "provider_name": value("p")})
        error = {"code": value(503), "message": value("busy"), "metadata": metadata}
        return {"error": value(error), "user_id": value("u")}
    function = {"name": value("f"), "arguments": value('{"x": 1}')}
    call = {"id": value("c1"), "type": value("function"), "function": value(function)}
    detail = {"type": "reasoning.text", "text": value("r"), "signature": value(None)}
    message = {
        "role": value("assistant"),
        "content": value(draw(TEXT)),
        "reasoning": value("r"),
        "reasoning_details": value([value(detail)]),
        "tool_calls": value([value(call)]),
        "annotations": value([value({"type": "url_citation"})]),
        "images": value([value({"image_url": value({"url": "u"})})]),
        "refusal": value(None),
        "audio": value(None),
    }
    choice = {
        "index": value(0),
        "message": value(message),
        "finish_reason": value("stop"),
        "native_finish_reason": value("end"),
        "logprobs": value({"content": value([value({"token": "t", "logprob": value(-1.0)})])}),
        "error": draw(st.sampled_from([None, None, None, {"code": 502, "metadata": []}])),
    }
    usage = {"prompt_tokens": value(1), "completion_tokens": value(2), "cost": value(0.1)}
    usage["prompt_tokens_details"] = value({"cached_tokens": value(0)})
    return {
        "id": value("gen-1"),
        "object": value("chat.completion"),
        "created": value(1),
        "model": value("m"),
        "provider": value("p"),
        "choices": value([value(choice)]),
        "usage": value(usage),
        "openrouter_metadata": value({}),
    }


@st.composite
def create_script(draw: st.DrawFn) -> Script:
    body = dumps(draw(completion_body()))
    if draw(st.integers(0, 5)) == 0:
        body = draw(st.binary(max_size=40))
    script = Script()
    script.head = draw(head(b"application/json", [200, 200, 400, 401, 402, 429, 500, 503]))
    script.pieces = split(body, draw(st.lists(st.integers(0, 10**6), max_size=3)))
    script.hang = draw(st.integers(0, 7)) == 0
    return script


# ------------------------------------------------------------------ checks


async def bounded(make: Callable[[], Awaitable[Any]]) -> Any:
    """Run one call; only SDK errors may escape it, and it must end within its deadline."""
    started = time.monotonic()
    try:
        return await asyncio.wait_for(make(), EXAMPLE_DEADLINE)  # (asyncio.timeout: 3.11+)
    except ora.OpenRouterError as exc:
        return exc
    finally:
        assert time.monotonic() - started < EXAMPLE_DEADLINE


def text_of(completion_: Any) -> str:
    if completion_ is None:
        return ""
    first = [c for c in completion_.choices if c.index == 0]
    return (first[0].message.content if first else None) or ""


def check_delivered(
    delivered: str, served: str | None, outcome: Any, stream: Any, *, exact: bool
) -> None:
    """Keep what was delivered: the fold holds the delivered text (``exact``: nothing else),
    which is a prefix of what a clean stream served."""
    if served is not None:
        assert served.startswith(delivered), (delivered, served)
    for partial in (stream.partial(), getattr(outcome, "partial", None)):
        if partial is not None:
            text = text_of(partial)
            assert text == delivered if exact else text.startswith(delivered), (text, delivered)


# ------------------------------------------------------------------ the properties


@EXAMPLES
@given(script=create_script())
async def test_create_raises_only_typed_errors(
    server: RawServer, client: ora.OpenRouter, script: Script
) -> None:
    server.script = script
    result = await bounded(lambda: client.chat.completions.create(model="m", messages=MESSAGES))
    assert isinstance(result, (ora.ChatCompletion, ora.OpenRouterError)), result
    if isinstance(result, ora.ChatCompletion):  # typed all the way down
        for choice in result.choices:
            assert isinstance(choice.message.content, (str, type(None)))
            for call in choice.message.tool_calls:
                assert isinstance(call.function.arguments, str)


@EXAMPLES
@given(case=stream_script(), mode=st.sampled_from(["events", "text", "final", "chunks"]))
async def test_streams_raise_only_typed_errors_and_keep_what_was_delivered(
    server: RawServer, client: ora.OpenRouter, case: tuple[Script, str, bool], mode: str
) -> None:
    script, served_text, clean = case
    server.script = script
    served = served_text if clean else None
    stream = client.chat.completions.stream(model="m", messages=MESSAGES)
    delivered: list[str] = []

    async def consume() -> Any:
        async with stream:
            if mode == "events":
                async for event in stream:
                    stream.partial()  # at any point, never raises
                    if isinstance(event, ora.TextDelta) and event.choice_index == 0:
                        delivered.append(event.text)
            elif mode == "text":
                async for text in stream.text_stream:
                    delivered.append(text)
            elif mode == "final":
                return await stream.get_final_completion()
            else:
                seen = 0
                async for typed in stream.chunks():
                    assert isinstance(typed, ora.ChatCompletionChunk)
                    seen += 1
                data_events = b"".join(script.pieces).count(b"data:")  # an upper bound
                assert seen <= data_events  # never a chunk twice ([DONE] re-emitted the last)
        return None

    outcome = await bounded(consume)
    if mode == "final" and isinstance(outcome, ora.ChatCompletion):
        delivered.append(text_of(outcome))
    exact = mode in ("events", "text")  # every event decoded was handed over
    check_delivered("".join(delivered), served, outcome, stream, exact=exact)


@EXAMPLES
@given(case=stream_script(), heartbeat=st.sampled_from([None, 0.05]))
async def test_sse_events_always_end_with_done_or_error(
    server: RawServer, client: ora.OpenRouter, case: tuple[Script, str, bool], heartbeat: Any
) -> None:
    server.script = case[0]
    stream = client.chat.completions.stream(model="m", messages=MESSAGES)

    async def relay() -> list[bytes]:  # with heartbeats, reads go through a task
        return [item async for item in sse_events(stream, heartbeat=heartbeat)]

    items = await bounded(relay)
    assert isinstance(items, list), items  # sse_events itself never raises
    last = items[-1]
    assert last.startswith((b"event: done\n", b"event: error\n")), last
    payload = orjson.loads(last.split(b"data: ", 1)[1])
    assert payload.get("type") != "InternalError", "a raw exception reached the relay"
    for item in items[:-1]:
        assert not item.startswith((b"event: done\n", b"event: error\n"))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def relay_url(client: ora.OpenRouter) -> AsyncIterator[str]:
    async def handler(request: web.Request) -> web.StreamResponse:
        stream = client.chat.completions.stream(model="m", messages=MESSAGES)
        return await relay_to_aiohttp(request, stream, heartbeat=None)

    async with serve({("GET", "/relay"): handler}) as url:
        yield url + "/relay"


@settings(EXAMPLES, max_examples=max(1, SCALE * 3 // 5))
@given(case=stream_script())
async def test_relay_to_aiohttp_always_ends_with_done_or_error(
    server: RawServer, relay_url: str, case: tuple[Script, str, bool]
) -> None:
    server.script = case[0]

    async def fetch() -> bytes:
        async with aiohttp.ClientSession() as session, session.get(relay_url) as response:
            assert response.status == 200
            return await response.read()

    body = await bounded(fetch)
    assert isinstance(body, bytes)
    last = body.rstrip(b"\n").rsplit(b"\n\n", 1)[-1]
    assert last.startswith((b"event: done\n", b"event: error\n")), body[-300:]
    assert b'"type":"InternalError"' not in last, "a raw exception reached the relay"


@settings(EXAMPLES, max_examples=max(1, SCALE * 2 // 5))
@given(scripts=st.lists(create_script(), min_size=1, max_size=3))
async def test_batch_results_carry_only_typed_errors(
    server: RawServer, client: ora.OpenRouter, scripts: list[Script]
) -> None:
    # The server answers each request with the current script: run one batch per script.
    for script in scripts:
        server.script = script

        async def run() -> list[Any]:
            requests = [{"model": "m", "messages": MESSAGES}] * 2
            async with client.batch(
                requests, concurrency=2, retry=ora.RetryPolicy(max_retries=0)
            ) as batch:
                return [result async for result in batch]

        results = await bounded(run)
        assert isinstance(results, list), results
        for result in results:
            assert result.ok or isinstance(result.error, ora.OpenRouterError), result.error


# ------------------------------------------------------------------ named regressions (#12)


def answer(script: Script, head_: bytes, body: bytes, hang: bool = False) -> Script:
    script.head = head_
    script.pieces = [body]
    script.hang = hang
    return script


SSE_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"


async def test_chunks_yields_each_chunk_once(server: RawServer, client: ora.OpenRouter) -> None:
    # Regression: the [DONE] event re-emitted the last chunk, in every stream.
    chunks = [chunk({"role": "assistant", "content": "a"}), chunk({"content": "b"}, "stop")]
    answer(server.script, SSE_HEAD, sse(chunks, done=True))
    async with client.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        typed = [c async for c in stream.chunks()]
    assert [c.choices[0].delta.content for c in typed if c.choices] == ["a", "b"]


@pytest.mark.parametrize("delta", [None, []])
async def test_chunks_take_deltas_the_event_path_takes(
    server: RawServer, client: ora.OpenRouter, delta: Any
) -> None:
    # Regression: "delta": null or [] raised a raw TypeError/AttributeError from chunks().
    chunks = [chunk({"content": "a"}), {"id": "g", "choices": [{"index": 0, "delta": delta}]}]
    answer(server.script, SSE_HEAD, sse(chunks, done=True))
    async with client.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        typed = [c async for c in stream.chunks()]
    assert len(typed) == 2
    [choice] = typed[1].choices or []
    assert choice.index == 0 and choice.delta.content is None
    if delta is not None:
        assert choice.extra == {"delta": delta}  # the wrong-typed value is kept


async def test_idle_timeout_with_odd_reasoning_details_reports_the_partial(
    server: RawServer, client: ora.OpenRouter
) -> None:
    # Regression: a reasoning_details item that is not an object made the idle timeout (which
    # builds the partial completion) raise a raw ValueError.
    chunks = [chunk({"reasoning_details": ["x", {"type": "reasoning.text", "text": "t"}]})]
    chunks.append(chunk({"content": "so far"}))
    answer(server.script, SSE_HEAD, sse(chunks, done=False), hang=True)
    async with client.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        with pytest.raises(ora.APITimeoutError) as info:
            await stream.get_final_completion()
    partial = info.value.partial
    assert partial is not None and text_of(partial) == "so far"
    assert partial.choices[0].message.reasoning_details == [{"type": "reasoning.text", "text": "t"}]


async def test_final_completion_keeps_a_choice_with_only_role_deltas(
    server: RawServer, client: ora.OpenRouter
) -> None:
    # Regression: deltas of only {} / {"role": "assistant"} and no finish reason left
    # get_final_completion().choices empty.
    chunks = [chunk({"role": "assistant"}), chunk({})]
    answer(server.script, SSE_HEAD, sse(chunks, done=True))
    async with client.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        final = await stream.get_final_completion()
    assert [c.index for c in final.choices] == [0]


async def test_sse_events_with_a_non_utf8_generation_id_header(
    server: RawServer, client: ora.OpenRouter
) -> None:
    # Regression: the header reaches us with lone surrogates; the final `done` event broke.
    head_ = SSE_HEAD.replace(b"Connection", b"X-Generation-Id: gen-\xff\xfe\r\nConnection")
    body = {"choices": [{"index": 0, "delta": {"content": "a"}, "finish_reason": "stop"}]}
    answer(server.script, head_, sse([body], done=True))  # no body id: the header's is used
    stream = client.chat.completions.stream(model="m", messages=MESSAGES)
    items = [item async for item in sse_events(stream, heartbeat=None)]
    assert items[-1].startswith(b"event: done\n")
    done = orjson.loads(items[-1].split(b"data: ", 1)[1])
    assert done["generation_id"] in (None, "gen-\ufffd\ufffd")  # the stream may drop it
    surrogates = b"gen-\xff".decode("utf-8", "surrogateescape")  # as aiohttp hands it over
    assert orjson.loads(encode_done(surrogates).split(b"data: ", 1)[1]) == {
        "generation_id": "gen-\ufffd"
    }


async def test_tool_arguments_nested_past_orjson_limits(
    server: RawServer, client: ora.OpenRouter
) -> None:
    fragment = {"index": 0, "id": "c", "function": {"name": "f", "arguments": DEEP}}
    answer(server.script, SSE_HEAD, sse([chunk({"tool_calls": [fragment]}, "tool_calls")], True))
    stream = client.chat.completions.stream(model="m", messages=MESSAGES)
    items = [item async for item in sse_events(stream, heartbeat=None)]
    assert items[-1].startswith(b"event: done\n")
    [call] = [i for i in items if i.startswith(b"event: tool_call\n")]
    assert orjson.loads(orjson.loads(call.split(b"data: ", 1)[1])["arguments"]) == DEEP


async def fake_stream(*events: Any) -> AsyncIterator[Any]:
    for event in events:
        yield event


async def test_relay_handler_sends_an_error_event_when_an_event_cannot_be_encoded() -> None:
    # Regression: an encoding failure escaped relay_to_aiohttp, which died without `error`.
    deep_ok = ora.AnnotationsDelta(annotations=(DEEP,))
    broken = ora.AnnotationsDelta(annotations=({"x": object()},))

    async def handler(request: web.Request) -> web.StreamResponse:
        return await relay_to_aiohttp(request, fake_stream(deep_ok, broken), heartbeat=None)

    async with (
        serve({("GET", "/r"): handler}) as url,
        aiohttp.ClientSession() as session,
        session.get(url + "/r") as response,
    ):
        body = await response.read()
    frames = body.strip().split(b"\n\n")
    assert [f.split(b"\n", 1)[0] for f in frames] == [b"event: annotations", b"event: error"]
    assert orjson.loads(frames[0].split(b"data: ", 1)[1])["annotations"] == [DEEP]


async def test_503_with_string_metadata_is_retried() -> None:
    # Regression: error.metadata as a string raised a raw ValueError, so no retry happened.
    calls = 0

    async def handler(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            body = {"error": {"code": 503, "message": "busy", "metadata": "try later"}}
            return web.json_response(body, status=503)
        return web.json_response(completion("ok"))

    set_testing(True)
    try:
        async with (
            serve({("POST", "/api/v1/chat/completions"): handler}) as url,
            ora.OpenRouter(api_key="k", base_url=url + "/api/v1", max_retries=1) as c,
        ):
            done = await c.chat.completions.create(model="m", messages=MESSAGES)
    finally:
        set_testing(False)
    assert calls == 2 and done.choices[0].message.content == "ok"


async def test_get_final_text_is_empty_when_no_text_arrived(
    server: RawServer, client: ora.OpenRouter
) -> None:
    fragment = {"index": 0, "id": "c", "function": {"name": "f", "arguments": "{}"}}
    answer(server.script, SSE_HEAD, sse([chunk({"tool_calls": [fragment]}, "tool_calls")], True))
    async with client.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        assert await stream.get_final_text() == ""


async def test_text_in_the_error_chunk_is_delivered_before_the_error(
    server: RawServer, client: ora.OpenRouter
) -> None:
    # The chunk that carries the error also carries text: it was in the error's partial
    # completion but never reached the consumer as an event.
    failing = chunk({"content": " tail"}, "error")
    failing["error"] = {"code": 502, "message": "upstream failed", "metadata": "x"}
    answer(server.script, SSE_HEAD, sse([chunk({"content": "head"}), failing], done=False))
    texts: list[str] = []
    async with client.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        with pytest.raises(ora.StreamError) as info:
            async for event in stream:
                if isinstance(event, ora.TextDelta):
                    texts.append(event.text)
    assert texts == ["head", " tail"]
    assert info.value.partial is not None and text_of(info.value.partial) == "head tail"
    assert info.value.metadata == {"raw": "x"}
