"""A deadline that cancels the waiting task, for Python 3.10+ (``asyncio.timeout`` is 3.11+).

``asyncio.wait_for`` would wrap every await in a new task; this costs one timer handle instead,
and only while a deadline is armed. The scope turns its own cancellation back into a flag so the
caller can raise a typed timeout, and leaves any other cancellation alone.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

__all__ = ["DeadlineScope"]


class DeadlineScope:
    """``with DeadlineScope(when):`` cancels the current task at loop time ``when``.

    After the block, ``expired`` tells whether the deadline fired; the ``CancelledError`` it
    caused is swallowed so the caller can raise its own error.
    """

    __slots__ = ("_handle", "_task", "expired", "when")

    def __init__(self, when: float | None) -> None:
        self.when = when
        self.expired = False
        self._handle: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[object] | None = None

    def __enter__(self) -> DeadlineScope:
        if self.when is not None:
            loop = asyncio.get_running_loop()
            self._task = asyncio.current_task()
            self._handle = loop.call_at(self.when, self._fire)
        return self

    def _fire(self) -> None:
        self._handle = None
        task = self._task
        if task is None or task.done():
            return
        cancelling = getattr(task, "cancelling", None)  # 3.11+
        if cancelling is not None and cancelling():
            return  # already cancelled from outside: let that cancellation through untouched
        self.expired = True
        task.cancel()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        task, self._task = self._task, None
        if self.expired and exc_type is asyncio.CancelledError:
            uncancel = getattr(task, "uncancel", None)
            # Someone else cancelled too, in the same step: theirs wins, so we re-raise.
            return uncancel is None or uncancel() == 0
        return False
