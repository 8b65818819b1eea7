"""An emulator on a thread of its own, for tests of the synchronous facade.

The usual ``emulator`` fixture serves from the test's event loop; a synchronous client
called from that same thread would block the loop and so the server. Here the emulator runs
on a private loop in a daemon thread, and the test talks to it through :meth:`call`/:meth:`run`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from openrouter_async.sync import OpenRouter
from openrouter_async.testing import Emulator
from openrouter_async.testing._records import RequestRecord

T = TypeVar("T")

KEY = "test-key"
MANAGEMENT_KEY = "test-management-key"


class ThreadedEmulator:
    def __init__(self, **options: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.emu = Emulator(api_key=KEY, **options)
        self.run(self.emu.start())

    @property
    def base_url(self) -> str:
        return self.emu.base_url

    @property
    def requests(self) -> list[RequestRecord]:
        return self.emu.requests

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        async def go() -> T:
            return fn(*args, **kwargs)

        return self.run(go())

    def client(self, **options: Any) -> OpenRouter:
        options.setdefault("api_key", KEY)
        return OpenRouter(base_url=self.base_url, **options)

    def last(self, endpoint: str = "/chat/completions") -> RequestRecord:
        return self.run(self.emu.wait_for_request(endpoint))

    def disconnected(self, record: RequestRecord, timeout: float = 2.0) -> float:
        """When the server saw ``record``'s client leave (monotonic seconds)."""
        return self.run(self.emu.wait_for_disconnect(record, timeout))

    def close(self) -> None:
        self.run(self.emu.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def emu() -> Iterator[ThreadedEmulator]:
    server = ThreadedEmulator()
    try:
        yield server
    finally:
        server.close()


def facade_threads() -> list[threading.Thread]:
    """The clients' loop threads (not their tool workers, ``openrouter-sync-N-worker_M``)."""
    return [
        t
        for t in threading.enumerate()
        if t.name.startswith("openrouter-sync-") and "-worker" not in t.name
    ]
