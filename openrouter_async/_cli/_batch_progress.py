"""Progress of a batch run on stderr.

On a terminal, a bar whose text is cut to the terminal's width at every update (part by part,
least useful last, so it never wraps or gets cropped mid-word). Anywhere else (CI, a cluster
log, ``nohup``) a live bar is invisible, so a plain line is printed every few seconds instead.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import IO, Any

from .._batch import BatchProgress
from ._common import format_cost

__all__ = ["BarProgress", "PlainProgress", "fit", "status_parts"]

_SEPARATOR = " · "


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


def status_parts(p: BatchProgress) -> list[str]:
    """The facts of a snapshot, most useful first."""
    parts = [
        f"{p.done:,}/{p.total:,}" if p.total is not None else f"{p.done:,} done",
        f"{p.succeeded:,} ok",
        f"{p.failed:,} failed",
    ]
    if p.cooling_down > 0:
        parts.append(f"cooling down {p.cooling_down:.1f}s")
    parts += [f"{p.in_flight} in flight", f"{p.rate:.1f}/s"]
    if p.eta is not None and not p.finished:
        parts.append(f"ETA {_clock(p.eta)}")
    parts += [f"{p.total_tokens:,} tok", format_cost(p.cost), f"{_clock(p.elapsed)} elapsed"]
    return parts


def fit(parts: list[str], width: int) -> str:
    """As many leading ``parts`` as fit in ``width`` columns; the first one cut if it alone
    does not."""
    text = ""
    for part in parts:
        candidate = f"{text}{_SEPARATOR}{part}" if text else part
        if len(candidate) > width:
            break
        text = candidate
    return text or parts[0][: max(0, width)]


class PlainProgress:
    """``batch: …`` on its own line, at most every ``interval`` seconds (and at the start)."""

    def __init__(self, stream: IO[str], interval: float) -> None:
        self._stream = stream
        self._interval = interval
        self._last: float | None = None

    def __call__(self, p: BatchProgress) -> None:
        if p.finished:  # the summary line follows
            return
        now = time.monotonic()
        if self._last is not None and now - self._last < self._interval:
            return
        self._last = now
        self._stream.write("batch: " + _SEPARATOR.join(status_parts(p)) + "\n")
        self._stream.flush()

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class BarProgress:
    """A rich bar plus one line of text, both sized to the console's width at each update."""

    def __init__(self, console: Any) -> None:
        from rich.progress import BarColumn, Progress, TextColumn

        self._bar = BarColumn(bar_width=self._bar_width(console.width))
        self.progress = Progress(
            self._bar,
            TextColumn("{task.fields[status]}", markup=False),
            console=console,
            transient=False,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._task = self.progress.add_task("batch", total=None, status="batch: starting")

    @staticmethod
    def _bar_width(width: int) -> int:
        return max(6, min(40, width // 5))

    def __call__(self, p: BatchProgress) -> None:
        width = self.progress.console.width
        bar = self._bar_width(width)
        self._bar.bar_width = bar
        # one column between the bar and the text, one spare so no terminal wraps the line
        status = fit(status_parts(p), width - bar - 2)
        self.progress.update(self._task, total=p.total, completed=p.done, status=status)

    def __enter__(self) -> BarProgress:
        self.progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.progress.stop()
