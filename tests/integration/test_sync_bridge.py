"""The generic bridge under the synchronous facade, on a stand-in async object: every kind of
attribute is forwarded by one rule, runs on the loop thread, and is cleaned up."""

from __future__ import annotations

import asyncio
import threading
import traceback
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Any

import pytest

import openrouter_async as ora
from openrouter_async._sync._facade import Bridge, Facade, SyncIterator
from openrouter_async._sync._portal import Portal


class Resource:
    """An async context manager and async iterator with ``aclose``, like a stream."""

    def __init__(self, items: int) -> None:
        self.items = items
        self.log: list[str] = []
        self.closed_event = threading.Event()
        self.closed = False

    async def __aenter__(self) -> Resource:
        self.log.append(f"enter on {threading.current_thread().name}")
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.log.append(f"exit {t.__name__ if t else None}")
        await self.aclose()

    def __aiter__(self) -> Resource:
        return self

    async def __anext__(self) -> int:
        if self.closed or not self.items:
            raise StopAsyncIteration
        await asyncio.sleep(0)
        self.items -= 1
        return self.items

    async def aclose(self) -> None:
        self.closed = True
        self.closed_event.set()


class Service:
    kind = Resource  # a class with __aiter__: a value, not something to bridge

    def __init__(self) -> None:
        self.label = "service"

    async def double(self, x: int) -> int:
        await asyncio.sleep(0)
        return 2 * x

    def where(self) -> str:
        return threading.current_thread().name

    async def count(self, n: int) -> AsyncIterator[int]:
        for i in range(n):
            await asyncio.sleep(0)
            yield i

    def open(self, items: int) -> Resource:
        return Resource(items)

    async def explode(self) -> None:
        raise ValueError("from the loop")

    async def forever(self, started: threading.Event, cleaned: threading.Event) -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        finally:
            cleaned.set()


@pytest.fixture
def portal() -> Iterator[Portal]:
    p = Portal(owner="test client")
    try:
        yield p
    finally:
        p.stop()


def test_every_kind_of_attribute(portal: Portal) -> None:
    service: Any = Facade(portal, Service())
    assert service.double(21) == 42
    assert service.where() == portal.thread.name != threading.current_thread().name
    assert service.label == "service"
    assert service.kind is Resource
    numbers = service.count(3)
    assert isinstance(numbers, SyncIterator)
    assert list(numbers) == [0, 1, 2]
    with service.open(3) as resource:
        assert isinstance(resource, Bridge)
        assert [next(resource), next(resource)] == [2, 1]
    assert resource.log == [f"enter on {portal.thread.name}", "exit None"]
    assert resource.closed
    assert "double" in dir(service)
    with pytest.raises(AttributeError):
        service._private  # noqa: B018


def test_exceptions_keep_their_type_and_both_threads_frames(portal: Portal) -> None:
    service: Any = Facade(portal, Service())
    with pytest.raises(ValueError, match="from the loop") as caught:
        service.explode()
    names = [frame.name for frame in traceback.extract_tb(caught.value.__traceback__)]
    assert names[0] == "test_exceptions_keep_their_type_and_both_threads_frames"
    assert names[-1] == "explode"


def test_close_and_drop_close_the_resource(portal: Portal) -> None:
    service: Any = Facade(portal, Service())
    closed = service.open(5)
    next(closed)
    closed.close()
    assert closed._inner.closed
    dropped = service.open(5)
    next(dropped)
    inner = dropped._inner
    del dropped  # never closed: closed on the loop, without blocking the finalizer
    assert inner.closed_event.wait(2)


def test_a_call_from_the_loop_thread_is_refused(portal: Portal) -> None:
    with pytest.raises(RuntimeError, match="would wait for itself"):
        portal.call(portal.call, int)


def test_stop_cancels_running_calls_and_closes_resources(portal: Portal) -> None:
    service: Any = Facade(portal, Service())
    kept = service.open(5)
    started, cleaned = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def call() -> None:
        try:
            service.forever(started, cleaned)
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=call)
    worker.start()
    assert started.wait(2)
    portal.stop()
    worker.join(2)
    assert cleaned.is_set()
    assert [type(e) for e in errors] == [ora.ClientClosedError]
    assert kept._inner.closed
    assert not portal.thread.is_alive()
    with pytest.raises(ora.ClientClosedError, match="test client is closed"):
        service.double(1)
    kept.close()  # after the stop: nothing to do, no error
