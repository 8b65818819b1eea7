"""The synchronous client's lifecycle: close stops the thread, use after close, closing while
other threads wait, garbage collection while open, Ctrl-C while blocked, interpreter exit."""

from __future__ import annotations

import gc
import os
import signal
import threading
import time
import warnings
from collections.abc import Iterator

import pytest

import openrouter_async as ora
from openrouter_async._sync import _portal
from tests.integration.sync_support import ThreadedEmulator, emu, facade_threads

__all__ = ["emu"]  # the fixture, imported for pytest

USER = [{"role": "user", "content": "hi"}]
SLOW = "emulator/lorem:tokens=400:tps=50"


def test_close_stops_the_thread_and_later_use_raises(emu: ThreadedEmulator) -> None:
    before = set(facade_threads())
    client = emu.client()
    (thread,) = set(facade_threads()) - before
    assert client.chat.completions.create(model="emulator/echo", messages=USER).id
    client.close()
    assert not thread.is_alive()
    client.close()  # idempotent
    with pytest.raises(ora.ClientClosedError):
        client.chat.completions.create(model="emulator/echo", messages=USER)
    with pytest.raises(ora.ClientClosedError):
        client.chat.completions.stream(model="emulator/echo", messages=USER)
    with pytest.raises(ora.ClientClosedError):
        client.models.count()  # a resource not touched before the close
    with pytest.raises(ora.ClientClosedError), client:
        pass
    assert len(emu.requests) == 1


def test_with_block_closes(emu: ThreadedEmulator) -> None:
    before = set(facade_threads())
    with emu.client() as client:
        (thread,) = set(facade_threads()) - before
    assert not thread.is_alive()
    assert client.state is ora.ClientState.CLOSED


def test_close_with_a_stream_open_closes_its_connection(emu: ThreadedEmulator) -> None:
    client = emu.client()
    with client.chat.completions.stream(model=SLOW, messages=USER) as s:
        next(s)
        client.close()
        emu.disconnected(emu.last())
        with pytest.raises(ora.ClientClosedError):
            for _ in s:
                pass
    # Leaving the with block after the close raised nothing; attributes stay readable.
    assert s.response is not None and s.response.status_code == 200


def test_close_while_other_threads_wait(emu: ThreadedEmulator) -> None:
    client = emu.client()
    errors: list[BaseException] = []
    started = threading.Barrier(3)

    def consume() -> None:
        try:
            with client.chat.completions.stream(model=SLOW, messages=USER) as s:
                started.wait()
                for _ in s:
                    pass
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=consume) for _ in range(2)]
    for worker in workers:
        worker.start()
    started.wait()
    time.sleep(0.1)  # both are blocked in next()
    closing = time.monotonic()
    client.close()
    for worker in workers:
        worker.join(5)
    took = time.monotonic() - closing
    assert [type(e) for e in errors] == [ora.ClientClosedError] * 2
    assert took < 2
    for record in emu.requests:
        emu.disconnected(record)


def test_garbage_collected_open_client_warns_and_stops_its_thread(emu: ThreadedEmulator) -> None:
    before = set(facade_threads())
    client = emu.client()
    with client.chat.completions.stream(model="emulator/lorem:tokens=3", messages=USER) as s:
        list(s)
    (thread,) = set(facade_threads()) - before
    with pytest.warns(ResourceWarning, match="garbage collected without close"):
        del client, s
        gc.collect()
    assert not thread.is_alive()


def test_a_resource_keeps_its_client_alive(emu: ThreadedEmulator) -> None:
    client = emu.client()
    completions = client.chat.completions
    del client
    gc.collect()
    done = completions.create(model="emulator/echo", messages=USER)  # still usable
    assert done.choices[0].message.content == "hi"
    with pytest.warns(ResourceWarning):
        del completions
        gc.collect()


def test_a_tool_may_close_the_client(emu: ThreadedEmulator) -> None:
    before = set(facade_threads())
    client = emu.client()
    (thread,) = set(facade_threads()) - before

    def shut(city: str) -> str:
        """Close the client from inside the tool loop."""
        client.close()
        return "closed"

    started = time.monotonic()
    with pytest.raises(ora.ClientClosedError):
        client.chat.run_tools(model="emulator/tools", messages=USER, tools=[shut])
    thread.join(2)  # the caller was released while the loop thread finished its teardown
    assert time.monotonic() - started < 2
    assert not thread.is_alive()


def test_close_does_not_wait_for_a_running_tool(emu: ThreadedEmulator) -> None:
    client = emu.client()
    entered, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def slow(city: str) -> str:
        """Block until the test lets go."""
        entered.set()
        release.wait(10)
        return "done"

    def run() -> None:
        try:
            client.chat.run_tools(model="emulator/tools", messages=USER, tools=[slow])
        except BaseException as exc:
            errors.append(exc)

    caller = threading.Thread(target=run)
    caller.start()
    assert entered.wait(5)
    started = time.monotonic()
    client.close()
    assert time.monotonic() - started < 1
    caller.join(2)
    assert [type(e) for e in errors] == [ora.ClientClosedError]
    release.set()
    # The tool's worker thread ends once the tool returns; nothing is left behind.
    prefix = f"{client._portal.thread.name}-worker"
    for worker in [t for t in threading.enumerate() if t.name.startswith(prefix)]:
        worker.join(2)
        assert not worker.is_alive()


@pytest.fixture
def sigint_raises() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt in the main thread, as in a plain script."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _interrupt_main_after(seconds: float) -> threading.Timer:
    main = threading.main_thread().ident
    assert main is not None and threading.current_thread() is threading.main_thread()
    timer = threading.Timer(seconds, signal.pthread_kill, (main, signal.SIGINT))
    timer.start()
    return timer


@pytest.mark.usefixtures("sigint_raises")
def test_ctrl_c_while_blocked_on_a_stream_cancels_it(emu: ThreadedEmulator) -> None:
    with emu.client() as client:
        stalled = "emulator/lorem:tokens=10:fault=stall(after=2,seconds=30,comments=false)"
        with client.chat.completions.stream(model=stalled, messages=USER) as s:
            texts = 0
            timer = _interrupt_main_after(0.3)
            started = time.monotonic()
            with pytest.raises(KeyboardInterrupt):
                for event in s:
                    texts += isinstance(event, ora.TextDelta)
            timer.join()
            interrupted = time.monotonic()
            assert texts == 2 and interrupted - started < 5
            # The cancelled read closed the connection before the interrupt reached us.
            record = emu.last()
            assert emu.disconnected(record) - interrupted < 0.5
        # The client is still usable.
        assert client.chat.completions.create(model="emulator/echo", messages=USER).id


@pytest.mark.usefixtures("sigint_raises")
def test_ctrl_c_while_blocked_on_create_cancels_it(emu: ThreadedEmulator) -> None:
    with emu.client() as client:
        timer = _interrupt_main_after(0.3)
        with pytest.raises(KeyboardInterrupt):
            client.chat.completions.create(model="emulator/echo:latency=30", messages=USER)
        timer.join()
        emu.disconnected(emu.last())
        assert client.key.get().response is not None


def test_clients_left_open_are_closed_at_interpreter_exit(emu: ThreadedEmulator) -> None:
    before = set(facade_threads())
    client = emu.client()
    client.models.count()
    (thread,) = set(facade_threads()) - before
    _portal._stop_all()  # what atexit runs
    assert not thread.is_alive()
    assert client.state is ora.ClientState.CLOSED
    del client
    gc.collect()  # closed already: no ResourceWarning


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX-only")
def test_a_forked_child_gets_an_error_instead_of_a_hang(emu: ThreadedEmulator) -> None:
    client = emu.client()
    client.models.count()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads running
        pid = os.fork()
    if pid == 0:  # the child: report through the exit code, never return into pytest
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.alarm(10)  # a hang kills the child (and fails the test) instead of the run
        code = 3
        try:
            client.models.count()
        except ora.ClientClosedError as exc:
            code = 0 if "fork()" in str(exc) else 2
        except BaseException:
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert client.models.count() == 10  # the parent's client is untouched
    client.close()
