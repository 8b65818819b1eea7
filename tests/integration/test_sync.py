"""The synchronous facade (``openrouter_async.sync``) against the emulator on its own thread:
create, streams (iteration, text, chunks, final completion, early exit), errors, the other
resources, the tool loop and batches, use from inside a running loop and from many threads."""

from __future__ import annotations

import ast
import asyncio
import importlib
import inspect
import re
import subprocess
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs
import pytest

import openrouter_async as ora
from openrouter_async import sync
from openrouter_async._resources.chat import ChatCompletions as AsyncChatCompletions
from openrouter_async._resources.models import Models as AsyncModels
from tests.integration.sync_support import KEY, MANAGEMENT_KEY, ThreadedEmulator, emu

__all__ = ["emu"]  # the fixture, imported for pytest

USER = [{"role": "user", "content": "hello sync world"}]


def test_create_returns_the_core_completion(emu: ThreadedEmulator) -> None:
    with emu.client() as client:
        done = client.chat.completions.create(model="emulator/echo", messages=USER)
        again = client.chat.completions.create(
            ora.ChatRequest(model="emulator/echo", messages=[ora.UserMessage(content="again")])
        )
    assert type(done) is ora.ChatCompletion
    assert done.choices[0].message.content == "hello sync world"
    assert done.usage is not None and done.usage.completion_tokens == 3
    assert done.response is not None and done.response.status_code == 200
    assert again.choices[0].message.content == "again"
    assert [r.body["messages"][0]["content"] for r in emu.requests] == ["hello sync world", "again"]


def test_stream_yields_the_core_events_and_the_final_completion(emu: ThreadedEmulator) -> None:
    with emu.client() as client:
        with client.chat.completions.stream(model="emulator/lorem:tokens=6", messages=USER) as s:
            events = list(s)
            final = s.get_final_completion()
            assert s.closed
        assert isinstance(s, sync.ChatStream)
    texts = [e.text for e in events if isinstance(e, ora.TextDelta)]
    assert len(texts) == 6
    assert final.choices[0].message.content == "".join(texts)
    assert isinstance(events[-1], ora.Usage)
    assert any(isinstance(e, ora.Finish) for e in events)
    assert s.response is not None and s.response.status_code == 200
    assert s.generation_id == final.id


def test_text_stream_chunks_and_partial(emu: ThreadedEmulator) -> None:
    with emu.client() as client:
        with client.chat.completions.stream(model="emulator/lorem:tokens=5", messages=USER) as s:
            text = "".join(s.text_stream)
            assert s.partial().choices[0].message.content == text
        with client.chat.completions.stream(model="emulator/lorem:tokens=5", messages=USER) as s:
            chunks = list(s.chunks())
    assert text == "Lorem ipsum dolor sit amet,"
    assert all(isinstance(c, ora.ChatCompletionChunk) for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == text


def _slow_stream(client: sync.OpenRouter) -> sync.ChatStream:
    # 400 tokens at 100/s: still streaming seconds after the test has left it.
    return client.chat.completions.stream(model="emulator/lorem:tokens=400:tps=100", messages=USER)


def test_break_inside_with_closes_the_connection_at_once(emu: ThreadedEmulator) -> None:
    with emu.client() as client:
        with _slow_stream(client) as s:
            for n, _event in enumerate(s, 1):
                if n == 3:
                    break
        left = time.monotonic()
        record = emu.last()
        seen = emu.disconnected(record)
        assert seen - left < 0.5
        assert record.tokens_sent < 400 and not record.completed
        # The pool is fine afterwards.
        assert client.chat.completions.create(model="emulator/echo", messages=USER).id


def test_break_without_with_closes_when_the_stream_is_dropped(emu: ThreadedEmulator) -> None:
    with emu.client() as client:
        for n, _event in enumerate(_slow_stream(client), 1):
            if n == 3:
                break
        record = emu.last()
        emu.disconnected(record)
        assert not record.completed


def test_close_closes_the_connection(emu: ThreadedEmulator) -> None:
    with emu.client() as client:
        s = _slow_stream(client)
        first = next(s)
        assert isinstance(first, ora.KeepAlive | ora.TextDelta)
        s.close()
        s.close()  # idempotent
        emu.disconnected(emu.last())
        assert s.closed
        with pytest.raises(ora.ClientClosedError):  # after what was already decoded, if any
            for _ in s:
                pass


def test_an_exception_in_the_with_block_closes_the_stream(emu: ThreadedEmulator) -> None:
    with emu.client() as client:
        with pytest.raises(LookupError), _slow_stream(client) as s:
            next(s)
            raise LookupError("user code failed")
        emu.disconnected(emu.last())


def test_no_read_ahead(emu: ThreadedEmulator) -> None:
    """Between next() calls nothing reads the socket: a 16 MiB event after the first token
    stays unsent (the server is blocked on TCP backpressure) until it is asked for."""
    with emu.client() as client:
        model = "emulator/lorem:tokens=10:fault=huge(after=1,size=16777216)"
        with client.chat.completions.stream(model=model, messages=USER) as s:
            while not isinstance(next(s), ora.TextDelta):  # the token before the big event
                pass
            record = emu.last()
            time.sleep(0.5)
            # A reader pumping in the background would have taken the whole event by now.
            assert record.tokens_sent == 1 and not record.finished
            big = next(s)
            assert isinstance(big, ora.ImagesDelta)
            emu.run(emu.emu.wait_finished(record))
        assert record.completed and record.tokens_sent == 10


def test_status_errors_are_the_core_types_with_their_traceback(emu: ThreadedEmulator) -> None:
    with emu.client(max_retries=0) as client:
        emu.call(emu.emu.fail_next, 1, status=429, retry_after=7)
        with pytest.raises(ora.RateLimitError) as caught:
            client.chat.completions.create(model="emulator/echo", messages=USER)
    error = caught.value
    assert error.status_code == 429 and error.retry_after == 7
    frames = [f.filename for f in traceback.extract_tb(error.__traceback__)]
    # The caller's frame, then the loop thread's frames inside the async core.
    assert frames[0] == __file__
    assert any(f.endswith("openrouter_async/_resources/chat.py") for f in frames)


def test_bad_key_and_bad_input(emu: ThreadedEmulator) -> None:
    with emu.client(api_key="wrong-key") as client:
        with pytest.raises(ora.AuthenticationError) as caught:
            client.key.get()
        assert "wrong-key" not in str(caught.value)
        with pytest.raises(ora.RequestValidationError, match="temperature"):
            client.chat.completions.create(model="emulator/echo", messages=USER, temperature=9)
    assert len(emu.requests) == 1  # the invalid request was never sent


def test_mid_stream_error_after_the_events_before_it(emu: ThreadedEmulator) -> None:
    model = "emulator/lorem:tokens=20:fault=mid_error(after=5,code=502)"
    seen: list[str] = []
    with emu.client() as client:
        with (
            pytest.raises(ora.StreamError) as caught,
            client.chat.completions.stream(model=model, messages=USER) as s,
        ):
            for event in s:
                if isinstance(event, ora.TextDelta):
                    seen.append(event.text)
    assert len(seen) == 5
    assert caught.value.code == 502
    assert caught.value.partial is not None
    assert caught.value.partial.choices[0].message.content == "".join(seen)


@attrs.frozen
class Answer:
    answer: str


def test_parse(emu: ThreadedEmulator) -> None:
    with emu.client() as client:
        parsed = client.chat.completions.parse(
            model="emulator/json", messages=USER, response_format=Answer
        )
    assert parsed.parsed == Answer(answer="")  # the emulator's value for a required string
    assert emu.requests[0].body["response_format"]["json_schema"]["name"] == "Answer"


def test_the_other_resources(emu: ThreadedEmulator) -> None:
    with emu.client() as client:
        done = client.chat.completions.create(model="emulator/echo", messages=USER)
        generation = client.generations.get(done.id)
        page = client.models.list(output_modalities="all")
        pages = list(client.models.iter(output_modalities="all", limit=5))
        count = client.models.count(output_modalities="all")
        endpoints = client.models.endpoints("anthropic/claude-sonnet-4.5")
        providers = client.providers.list()
        key = client.key.get()
        embeddings = client.embeddings.create(model="emulator/embed", input=["a", "b"])
        legacy = client.completions.create(model="emulator/echo", prompt="once upon")
        with client.completions.stream(model="emulator/lorem:tokens=3", prompt="x") as s:
            text = "".join(s.text_stream)
            text_completion = s.get_final_text_completion()
    with emu.client(api_key=MANAGEMENT_KEY) as admin:
        credits = admin.credits.get()
    assert generation.id == done.id
    assert [m.id for p in pages for m in p] == page.ids()
    assert [len(p) for p in pages] == [5, 5, 2] and count == 12
    assert endpoints.id == "anthropic/claude-sonnet-4.5"
    assert len(providers) > 0
    assert key.response is not None and key.response.status_code == 200
    assert len(embeddings.vectors()) == 2 and len(embeddings.vectors()[0]) == 64
    assert legacy.choices[0].text == "once upon"
    assert text_completion.choices[0].text == text == "Lorem ipsum dolor"
    assert credits.total_credits == 100


def test_tool_loop_runs_sync_tools_that_use_the_client(emu: ThreadedEmulator) -> None:
    with emu.client() as client:
        ran_in: list[str] = []

        def lookup(city: str) -> str:
            """Look a city up (with the same client, from the tool's worker thread)."""
            ran_in.append(threading.current_thread().name)
            return client.key.get().label or "no label"

        result = client.chat.run_tools(model="emulator/tools", messages=USER, tools=[lookup])
        with client.chat.stream_tools(model="emulator/tools", messages=USER, tools=[lookup]) as r:
            events = list(r)
            assert r.result is not None and r.messages == r.result.messages
    assert result.stop_reason == "final" and result.invocations[0].ok
    assert result.content is not None and result.content.startswith("The tool returned: ")
    loop_thread = client._portal.thread.name
    assert ran_in and all(name.startswith(f"{loop_thread}-worker") for name in ran_in)
    assert isinstance(events[-1], ora.ToolRunResult)
    assert events[-1].content == result.content
    assert any(isinstance(e, ora.ToolResultEvent) for e in events)


def test_batch(emu: ThreadedEmulator) -> None:
    items = [
        {
            "id": f"q{i}",
            "model": "emulator/echo",
            "messages": [{"role": "user", "content": f"item {i}"}],
        }
        for i in range(12)
    ]
    with emu.client() as client:
        with client.batch(items, concurrency=4) as batch:
            results = list(batch)
            snapshot = batch.snapshot()
        assert batch.closed
    assert sorted(r.id for r in results) == sorted(f"q{i}" for i in range(12))
    assert all(r.ok for r in results)
    by_id = {r.id: r for r in results}
    assert by_id["q7"].completion is not None
    assert by_id["q7"].completion.choices[0].message.content == "item 7"
    assert snapshot.done == 12


def test_inside_a_running_event_loop(emu: ThreadedEmulator) -> None:
    """What a Jupyter cell does: call the synchronous client while a loop runs in this thread."""

    async def cell() -> tuple[str | None, str]:
        asyncio.get_running_loop()  # a loop is running here
        with emu.client() as client:
            done = client.chat.completions.create(model="emulator/echo", messages=USER)
            with client.chat.completions.stream(
                model="emulator/lorem:tokens=4", messages=USER
            ) as s:
                text = "".join(s.text_stream)
        return done.choices[0].message.content, text

    assert asyncio.run(cell()) == ("hello sync world", "Lorem ipsum dolor sit")


async def test_inside_an_async_test(emu: ThreadedEmulator) -> None:
    with emu.client() as client:
        assert client.models.count() == 10


def test_one_client_shared_by_many_threads(emu: ThreadedEmulator) -> None:
    with emu.client() as client:

        def work(i: int) -> tuple[str | None, str]:
            messages = [{"role": "user", "content": f"thread {i} says hi"}]
            done = client.chat.completions.create(model="emulator/echo", messages=messages)
            with client.chat.completions.stream(model="emulator/echo", messages=messages) as s:
                streamed = "".join(s.text_stream)
            return done.choices[0].message.content, streamed

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(work, range(24)))
    assert results == [(f"thread {i} says hi",) * 2 for i in range(24)]
    assert len(emu.requests) == 48


def test_signatures_are_the_async_ones() -> None:
    sync_init = inspect.signature(sync.OpenRouter).parameters
    async_init = inspect.signature(ora.OpenRouter).parameters
    assert list(sync_init) == [p for p in async_init if p != "session"]
    assert all(sync_init[p] == async_init[p] for p in sync_init)
    with pytest.raises(TypeError, match="session"):
        sync.OpenRouter(api_key="k", session=object())  # type: ignore[arg-type]
    assert inspect.signature(sync.ChatCompletions.create) == inspect.signature(
        AsyncChatCompletions.create
    )
    assert inspect.signature(sync.Models.iter) == inspect.signature(AsyncModels.iter)
    assert sync.ChatCompletions.stream.__doc__ == AsyncChatCompletions.stream.__doc__


def test_repr_and_state_never_show_the_key(emu: ThreadedEmulator) -> None:
    client = emu.client(api_key="sk-or-secret-key")
    assert client.state is ora.ClientState.UNOPENED
    with pytest.raises(ora.AuthenticationError):
        client.key.get()
    assert client.state is ora.ClientState.OPEN
    assert "secret" not in repr(client) and "secret" not in repr(client.chat.completions)
    client.close()
    assert client.state is ora.ClientState.CLOSED
    assert "state=closed" in repr(client)


def test_the_readme_example_as_written(
    emu: ThreadedEmulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    (block,) = [
        b
        for b in re.findall(r"^```python\n(.*?)^```", readme, flags=re.M | re.S)
        if b.startswith("from openrouter_async.sync import OpenRouter")
    ]
    monkeypatch.setenv("OPENROUTER_API_KEY", KEY)
    monkeypatch.setenv("OPENROUTER_BASE_URL", emu.base_url)
    exec(compile(block, "README.md", "exec"), {})
    assert capsys.readouterr().out == "Say hi\nTell me a story"
    assert [r.model for r in emu.requests] == ["openai/gpt-4o-mini"] * 2


def test_final_text_and_until_done(emu: ThreadedEmulator) -> None:
    with emu.client() as client:
        with client.chat.completions.stream(model="emulator/lorem:tokens=3", messages=USER) as s:
            assert s.get_final_text() == "Lorem ipsum dolor"
        with client.chat.completions.stream(model="emulator/lorem:tokens=3", messages=USER) as s:
            s.until_done()
            assert s.closed
        with client.completions.stream(model="emulator/lorem:tokens=2", prompt="x") as legacy:
            assert legacy.get_final_text() == "Lorem ipsum"


def test_with_options_shares_the_loop_and_the_pool(emu: ThreadedEmulator) -> None:
    client = emu.client()
    fast = client.with_options(max_retries=0, default_headers={"X-Title-Test": "fast"})
    assert isinstance(fast, sync.OpenRouter)
    emu.call(emu.emu.fail_next, 1, status=503)
    with pytest.raises(ora.ServiceUnavailableError):
        fast.chat.completions.create(model="emulator/echo", messages=USER)
    assert emu.requests[-1].headers["X-Title-Test"] == "fast"
    fast.close()  # only marks it closed
    assert fast.state is ora.ClientState.CLOSED
    with pytest.raises(ora.ClientClosedError):
        fast.chat.completions.create(model="emulator/echo", messages=USER)
    assert client.chat.completions.create(model="emulator/echo", messages=USER).id
    other = client.with_options(timeout=30)
    client.close()
    assert other.state is ora.ClientState.CLOSED
    with pytest.raises(ora.ClientClosedError):
        other.models.count()


def test_hooks_run_on_the_loop_thread(emu: ThreadedEmulator) -> None:
    seen: list[tuple[str, str]] = []

    def hook(event: Any) -> None:
        seen.append((event.kind, threading.current_thread().name))

    def late(event: Any) -> None:
        seen.append(("late " + event.kind, threading.current_thread().name))

    with emu.client(hooks=[hook]) as client:
        loop_thread = client._portal.thread.name
        client.chat.completions.create(model="emulator/echo", messages=USER)
        client.add_hook(late)
        with client.chat.completions.stream(model="emulator/echo", messages=USER) as s:
            s.until_done()
        client.remove_hook(late)
        client.key.get()
    assert [kind for kind, _ in seen] == [
        "request",
        "response",
        "request",
        "late request",
        "stream_start",
        "late stream_start",
        "stream_end",
        "late stream_end",
        "request",
        "response",
    ]
    assert {name for _, name in seen} == {loop_thread}


SURFACES = [
    ("openrouter_async._client:OpenRouter", "OpenRouter"),
    ("openrouter_async._resources.chat:Chat", "Chat"),
    ("openrouter_async._resources.chat:ChatCompletions", "ChatCompletions"),
    ("openrouter_async._resources.completions:Completions", "Completions"),
    ("openrouter_async._resources.models:Models", "Models"),
    ("openrouter_async._resources.generations:Generations", "Generations"),
    ("openrouter_async._resources.providers:Providers", "Providers"),
    ("openrouter_async._resources.account:CreditsResource", "CreditsResource"),
    ("openrouter_async._resources.account:KeyResource", "KeyResource"),
    ("openrouter_async._resources.embeddings:Embeddings", "Embeddings"),
    ("openrouter_async._streaming:ChatStream", "ChatStream"),
    ("openrouter_async._parsed_stream:ParsedChatStream", "ParsedChatStream"),
    ("openrouter_async._resources.completions:CompletionStream", "CompletionStream"),
    ("openrouter_async._tool_loop:ToolRunStream", "ToolRunStream"),
    ("openrouter_async._batch:Batch", "Batch"),
]


@pytest.mark.parametrize(("async_path", "sync_name"), SURFACES)
def test_every_public_name_of_the_async_class_is_declared(async_path: str, sync_name: str) -> None:
    """Undeclared names still work (forwarded at run time) but are invisible to type checkers:
    a name added to the async class needs its one-line declaration in openrouter_async.sync."""
    module, _, name = async_path.partition(":")
    async_cls = getattr(importlib.import_module(module), name)
    public = {n for n in dir(async_cls) if not n.startswith("_")}
    declared = {n for n in dir(getattr(sync, sync_name)) if not n.startswith("_")}
    assert public - declared - {"aclose"} == set()  # aclose() is close() here


def test_importing_the_facade_loads_no_resource_or_stream_machinery() -> None:
    heavy = (
        "openrouter_async._resources.chat",
        "openrouter_async._streaming",
        "openrouter_async._batch",
    )
    code = (
        "import sys, openrouter_async.sync; "
        f"print([m for m in {heavy!r} + ('cattrs',) if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert sync.ChatStream.__module__ == "openrouter_async._sync._streams"  # loaded on demand


def test_stream_with_a_response_format_is_parsed(emu: ThreadedEmulator) -> None:
    with emu.client() as client:
        stream = client.chat.completions.stream(
            model="emulator/json", messages=USER, response_format=Answer
        )
        with stream as s:
            assert isinstance(s, sync.ParsedChatStream) and isinstance(s, sync.ChatStream)
            assert s.parse_as is Answer
            final = s.get_final_completion()
        with client.chat.completions.stream(model="emulator/echo", messages=USER) as plain:
            assert type(plain) is sync.ChatStream
            plain.until_done()
    assert final.parsed == Answer(answer="")


def _overloads(path: Path, cls: str, name: str) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    (klass,) = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == cls]
    return [
        f"({ast.unparse(node.args)}) -> {ast.unparse(node.returns or ast.Constant(None))}"
        for node in ast.walk(klass)
        if isinstance(node, ast.FunctionDef)
        and node.name == name
        and any(ast.unparse(d) == "overload" for d in node.decorator_list)
    ]


def test_the_restated_stream_overloads_are_the_async_ones() -> None:
    package = Path(ora.__file__).parent
    ours = _overloads(package / "_sync" / "_chat.py", "ChatCompletions", "stream")
    theirs = _overloads(package / "_resources" / "chat.py", "ChatCompletions", "stream")
    assert len(ours) == 2
    assert ours == theirs
