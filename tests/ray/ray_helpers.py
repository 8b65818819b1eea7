"""Code that runs inside Ray workers during the tests (imported there by module name)."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from openrouter_async.testing import Emulator

T = TypeVar("T")


class TagByActor:
    """A ``request_fn`` that marks each request with the worker process that sent it (in the
    ``user`` field, which the emulator's log keeps), and picks ``storm_model`` for the one
    worker that claims the file ``claim`` first, so a fault on that model hits one actor only."""

    def __init__(self, claim: str, *, model: str = "emulator/echo", storm_model: str) -> None:
        self.claim = claim
        self.model = model
        self.storm_model = storm_model
        self._tag: str | None = None
        self._storm = False

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        if self._tag is None:
            self._tag = f"worker-{os.getpid()}"
            try:
                os.close(os.open(self.claim, os.O_CREAT | os.O_EXCL))
                self._storm = True
            except FileExistsError:
                self._storm = False
        return {
            "model": self.storm_model if self._storm else self.model,
            "messages": [{"role": "user", "content": row["prompt"]}],
            "user": self._tag,
        }


class Registry:
    """A Ray actor (made with ``ray.remote``) that remembers the actor handles it is given."""

    def __init__(self) -> None:
        self.handles: list[Any] = []

    def add(self, handle: Any) -> None:
        self.handles.append(handle)

    def all(self) -> list[Any]:
        return self.handles


class RegisterActor:
    """A ``request_fn`` that first registers the actor it runs in (so the test can kill it)."""

    def __init__(self, registry: Any, model: str) -> None:
        self.registry = registry
        self.model = model
        self._registered = False

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        if not self._registered:
            import ray

            self.registry.add.remote(ray.get_runtime_context().current_actor)
            self._registered = True
        return {"model": self.model, "messages": [{"role": "user", "content": row["prompt"]}]}


class ThreadedEmulator:
    """An :class:`Emulator` on a loop in a background thread; :meth:`call` runs code there."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.emu = Emulator()
        self._run(self.emu.start())

    def _run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def call(self, fn: Callable[[], T]) -> T:
        async def run() -> T:
            return fn()

        return self._run(run())  # type: ignore[no-any-return]

    def requests(self, endpoint: str = "/chat/completions") -> list[Any]:
        return self.call(lambda: [r for r in self.emu.requests if r.endpoint == endpoint])

    def reset(self) -> None:
        self.call(self.emu.reset)

    def close(self) -> None:
        self._run(self.emu.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
