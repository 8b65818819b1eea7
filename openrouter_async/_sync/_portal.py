"""The private event loop behind the synchronous facade: one loop on one thread per client.

Why a thread of its own: aiohttp's session and pooled connections belong to the loop that made
them, so a client needs one loop that lives as long as it does; running that loop on a thread
the caller never uses means a call made from inside someone else's running loop (a Jupyter
cell, a coroutine) just blocks on a future, with no nested loops and no deadlock.

Everything that touches the async core runs on that thread (calls, stream steps, even plain
method calls that build a stream), so the core keeps its single-threaded assumptions when
several threads share one client. A call is handed over with ``call_soon_threadsafe`` and the
caller blocks on a ``concurrent.futures.Future``: nothing runs ahead of the caller, so a stream
still reads from the socket only when the caller asks for the next event.

A caller interrupted while it waits (Ctrl-C in the main thread) cancels the task it was
waiting for and gives it a moment to clean up (close its connection) before the interrupt
propagates. Stopping cancels whatever is still running, closes the registered resources and the
client, shuts the loop down and joins the thread.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import inspect
import itertools
import logging
import os
import sys
import threading
import warnings
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol, TypeVar

from .._errors import ClientClosedError

__all__ = ["Portal"]

T = TypeVar("T")

logger = logging.getLogger("openrouter_async")

#: How long an interrupted caller waits for the cancelled call to clean up before re-raising.
CANCEL_GRACE = 5.0
#: How long ``stop()`` waits for the loop thread to finish its teardown.
STOP_TIMEOUT = 30.0

_names = itertools.count(1)


class _Closable(Protocol):
    def aclose(self) -> Awaitable[Any]: ...


class _LoopSide:
    """What the loop thread needs; it never refers to the :class:`Portal`, so an abandoned
    portal can be garbage collected (and then stop the thread)."""

    def __init__(self, closer: Callable[[], Awaitable[Any]] | None) -> None:
        self.loop = asyncio.new_event_loop()
        self.closing = False
        self.forked = False
        self.lock = threading.Lock()
        self.closer = closer
        self.resources: weakref.WeakSet[Any] = weakref.WeakSet()


class _Job:
    """One call handed to the loop thread; ``future`` completes when its task has finished."""

    __slots__ = ("args", "awaits", "fn", "future", "kwargs", "side", "task")

    def __init__(
        self,
        side: _LoopSide,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        awaits: bool | None,
    ) -> None:
        self.side = side
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.awaits = awaits
        self.future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self.task: asyncio.Future[Any] | None = None

    def start(self) -> None:  # on the loop thread
        future = self.future
        future.set_running_or_notify_cancel()
        try:
            if self.side.closing:
                raise ClientClosedError("This client is closed")
            result = self.fn(*self.args, **self.kwargs)
            awaits = self.awaits
            if awaits is None:
                awaits = inspect.isawaitable(result)
            if not awaits:
                future.set_result(result)
                return
        except BaseException as exc:
            future.set_exception(exc)
            return
        # A task, not a bare await: the stream's timers cancel asyncio.current_task().
        self.task = _start_task(self.side.loop, self._drive(result))

    async def _drive(self, awaitable: Awaitable[Any]) -> None:
        # The future is settled inside the task's own step rather than from a done callback:
        # one loop iteration less per call, which is most of a stream event's cost here.
        try:
            result = await awaitable
        except asyncio.CancelledError:
            self.future.set_exception(
                ClientClosedError("The client was closed while this call was running")
                if self.side.closing
                else concurrent.futures.CancelledError()
            )
            raise
        except BaseException as exc:  # KeyboardInterrupt from a callback too: the caller's
            self.future.set_exception(exc)
        else:
            self.future.set_result(result)

    def cancel(self) -> None:  # on the loop thread; always after start() (FIFO callbacks)
        if self.task is not None:
            self.task.cancel()


def _loop_main(side: _LoopSide, started: threading.Event) -> None:
    loop = side.loop
    # Our own executor (sync tools run there), shut down without waiting: close() must not
    # hang on a tool still running user code, nor deadlock when a tool itself calls close().
    workers = concurrent.futures.ThreadPoolExecutor(
        thread_name_prefix=f"{threading.current_thread().name}-worker"
    )
    loop.set_default_executor(workers)
    asyncio.set_event_loop(loop)
    loop.call_soon(started.set)
    try:
        loop.run_forever()
        loop.run_until_complete(_teardown(side))
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            workers.shutdown(wait=False, cancel_futures=True)
            asyncio.set_event_loop(None)
            loop.close()


async def _teardown(side: _LoopSide) -> None:
    """Cancel what still runs (calls of other threads, batch workers), then close the open
    resources (their connections) and last the client (its pool)."""
    current = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not current]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)
    with side.lock:
        resources = list(side.resources)
    for resource in resources:
        try:
            await resource.aclose()
        except Exception:  # one broken resource must not keep the others (or the pool) open
            logger.debug("closing %r while stopping the client failed", resource, exc_info=True)
    if side.closer is not None:
        try:
            await side.closer()
        except Exception:  # the thread must still end, and the caller's close() return
            logger.warning("closing the client's connection pool failed", exc_info=True)


class Portal:
    """A running event loop on a private daemon thread, and the way to run calls on it.

    ``closer`` (an async callable, e.g. the async client's ``aclose``) runs on the loop when
    the portal stops. ``owner`` names the object the portal serves in warnings and errors.
    """

    def __init__(
        self, *, closer: Callable[[], Awaitable[Any]] | None = None, owner: str = "client"
    ) -> None:
        self._owner = owner
        self._side = side = _LoopSide(closer)
        started = threading.Event()
        self._thread = threading.Thread(
            target=_loop_main,
            args=(side, started),
            name=f"openrouter-sync-{next(_names)}",
            daemon=True,  # a client never closed must not keep the interpreter alive
        )
        self._thread.start()
        started.wait()
        _live.add(self)

    # -- running calls ---------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._side.closing

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def run(self, fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
        """Call ``fn(*args, **kwargs)`` on the loop, await its result there, and return it.

        Blocks the calling thread (which may be running a loop of its own). Exceptions are
        re-raised here as the same objects, with the loop thread's frames in their traceback.
        """
        return self._submit(_Job(self._side, fn, args, kwargs, True))  # type: ignore[no-any-return]

    def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Call the plain function ``fn(*args, **kwargs)`` on the loop thread; return its result."""
        return self._submit(_Job(self._side, fn, args, kwargs, False))  # type: ignore[no-any-return]

    def read(self, obj: object, name: str) -> Any:
        """``obj.<name>``, read on the loop thread; read here once the loop has stopped (state
        such as a finished stream's ``response`` stays readable after ``close()``)."""
        if self._side.closing:
            return getattr(obj, name)
        return self._submit(_Job(self._side, getattr, (obj, name), {}, False))

    def invoke(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Call ``fn`` on the loop thread and await its result there if it is awaitable."""
        return self._submit(_Job(self._side, fn, args, kwargs, None))

    def _submit(self, job: _Job) -> Any:
        side = self._side
        if threading.get_ident() == self._thread.ident:
            raise RuntimeError(
                f"A synchronous {self._owner} call was made on its own event loop thread (from "
                "a callback it runs); it would wait for itself. Use the async client there."
            )
        with side.lock:  # ordered against stop(): a job is either refused or run to an end
            if side.closing:
                raise ClientClosedError(
                    f"This {self._owner} belongs to the process it was made in (its loop thread"
                    " does not exist after fork()); create one in this process"
                    if side.forked
                    else f"This {self._owner} is closed; create a new one"
                )
            side.loop.call_soon_threadsafe(job.start)
        future = job.future
        try:
            return future.result()
        except BaseException:
            if not future.done():  # interrupted while waiting (KeyboardInterrupt and the like)
                self._abandon(job)
            raise

    def _abandon(self, job: _Job) -> None:
        """Cancel the interrupted call and let it close what it holds (best effort)."""
        with self._side.lock:
            if self._side.closing:
                return
            self._side.loop.call_soon_threadsafe(job.cancel)
        concurrent.futures.wait([job.future], timeout=CANCEL_GRACE)

    def submit(self, fn: Callable[[], Awaitable[Any]]) -> None:
        """Run ``fn()`` on the loop without waiting (for finalizers); nothing if closed."""
        side = self._side
        with side.lock:
            if side.closing:
                return
            side.loop.call_soon_threadsafe(_start_detached, side.loop, fn)

    # -- resources and lifecycle -----------------------------------------------------------

    def register(self, resource: _Closable) -> None:
        """Close ``resource`` (on the loop) when the portal stops, if it is still alive then."""
        with self._side.lock:
            self._side.resources.add(resource)

    def stop(self) -> None:
        """Stop the loop (cancelling running calls, closing resources and the client) and join
        the thread. Idempotent; from the loop thread itself it only schedules the stop."""
        side = self._side
        with side.lock:
            if side.closing:
                return
            side.closing = True
            side.loop.call_soon_threadsafe(side.loop.stop)
        _live.discard(self)
        if threading.get_ident() != self._thread.ident:
            self._thread.join(STOP_TIMEOUT)

    def __del__(self) -> None:
        side = getattr(self, "_side", None)
        if side is None or side.closing:
            return
        self.stop()  # first: a warnings filter set to "error" must not leave the thread running
        warnings.warn(
            f"A synchronous {self._owner} was garbage collected without close() (or `with`); "
            "its event loop thread has been stopped",
            ResourceWarning,
            stacklevel=2,
            source=self,
        )


if sys.version_info >= (3, 12):

    def _start_task(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any]) -> Any:
        # Eager: a step that needs no I/O (a buffered stream event) finishes right here.
        return asyncio.Task(coro, loop=loop, eager_start=True)

else:

    def _start_task(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any]) -> Any:
        return loop.create_task(coro)


def _start_detached(loop: asyncio.AbstractEventLoop, fn: Callable[[], Awaitable[Any]]) -> None:
    task = asyncio.ensure_future(fn(), loop=loop)
    task.add_done_callback(_log_failure)


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.debug("a background close failed", exc_info=task.exception())


_live: weakref.WeakSet[Portal] = weakref.WeakSet()


def _orphan_all() -> None:
    # A forked child inherits the portals but not their threads: a call would wait forever.
    # Mark them closed (with fresh locks, which another thread may have held at the fork).
    for portal in list(_live):
        side = portal._side
        side.lock = threading.Lock()
        side.closing = side.forked = True
    _live.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_orphan_all)


@atexit.register
def _stop_all() -> None:
    # A script that never closed its client: close its connections and end the thread while
    # the interpreter is still whole, instead of killing a daemon thread mid-teardown.
    for portal in list(_live):
        with contextlib.suppress(Exception):
            portal.stop()
