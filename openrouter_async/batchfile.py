"""Batch files: a JSONL file of chat requests in, one JSON line per result appended out.

:func:`run_batch_file` is the engine of ``openrouter-async batch``, with no terminal and no
argparse, so a cluster task (Ray, Dask, a job array) calls it with a client of its own::

    import openrouter_async as ora
    from openrouter_async.batchfile import run_batch_file

    async with ora.OpenRouter() as client:
        summary = await run_batch_file(client, "in.jsonl", "out.jsonl", model="...",
                                       shard=(3, 8), concurrency=64)

The file rules (``docs/batch.md`` states them for users):

* The output is only ever appended to, one whole line per result, each written with a single
  ``write()`` before the next result is taken. Nothing in it is rewritten or truncated; a torn
  last line left by a crash is closed with a newline and kept.
* The run is refused (:class:`BatchFileError`, before anything is sent or written) when the
  input is missing, when the output is a directory, cannot be created or opened for writing,
  is not a regular file, is the input (the same inode), or holds a line that is not a result
  record of this command; and (:class:`OutputLockedError`) while another run holds the output.
* Ids: an explicit ``"id"`` is a JSON string or integer; a line without one is
  ``{"line": N}``, which never equals an explicit id. A later line reusing an id is recorded as
  an error under its own ``{"line": N}`` and never sent.
* Any single item's failure, whatever it is, becomes that item's error record; the run goes
  on. Only a failure of a file itself stops it (:class:`BatchIOError`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import attrs

from ._batchfile_input import IdLedger, InputStats, count_lines, read_requests, shard_of
from ._batchfile_output import OutputFile, check_paths, result_line
from ._errors import BatchFileError, BatchIOError, OutputLockedError

if TYPE_CHECKING:
    from ._batch import BatchProgress, BatchResult
    from ._client import OpenRouter

__all__ = [
    "BatchFileError",
    "BatchIOError",
    "BatchSummary",
    "OutputLockedError",
    "run_batch_file",
    "shard_of",
]


@attrs.define
class BatchSummary:
    """What a run did. ``done`` counts the records written by this run (``succeeded`` +
    ``failed``); the input counts say why lines were not sent: ``skipped`` (already in the
    output), ``other_shard``, ``bad_lines`` (not a JSON object, or a bad id), ``duplicates``
    (an id an earlier line has), ``no_model`` (no model and none allowed); ``default_model``
    lines were sent without a model, so the account's default model answered. ``torn_lines``
    are partial records found in the output (kept; readers skip them); ``unwritten`` results
    arrived but could not be written because the output failed."""

    done: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    other_shard: int = 0
    bad_lines: int = 0
    duplicates: int = 0
    no_model: int = 0
    default_model: int = 0
    torn_lines: int = 0
    unwritten: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost: float = 0.0
    wall_time: float = 0.0
    interrupted: bool = False

    def add(self, result: BatchResult, *, ok: bool | None = None) -> None:
        """Count a result written; ``ok`` overrides ``result.ok`` (a result that could not be
        written whole is recorded as an error)."""
        self.done += 1
        if result.ok if ok is None else ok:
            self.succeeded += 1
        else:
            self.failed += 1
        usage = result.usage
        if usage is not None:
            self.prompt_tokens += usage.prompt_tokens
            self.completion_tokens += usage.completion_tokens
            self.total_tokens += usage.total_tokens
            if usage.cost is not None:
                self.cost += usage.cost

    def _take(self, stats: InputStats) -> None:
        self.skipped = stats.skipped
        self.other_shard = stats.other_shard
        self.bad_lines = stats.bad
        self.duplicates = stats.duplicates
        self.no_model = stats.no_model
        self.default_model = stats.default_model


def _open_input(input_path: str | os.PathLike[str]) -> IO[bytes]:
    if os.fspath(input_path) == "-":
        return sys.stdin.buffer
    try:
        return Path(input_path).open("rb")
    except OSError as exc:
        shown = os.fspath(input_path)
        raise BatchFileError(
            f"Cannot read the input {shown}: {exc.strerror or exc}", path=shown
        ) from None


async def run_batch_file(
    client: OpenRouter,
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    model: str | None = None,
    allow_default_model: bool = False,
    shard: tuple[int, int] | None = None,
    retry_errors: bool = False,
    on_progress: Callable[[BatchProgress], object] | None = None,
    summary: BatchSummary | None = None,
    **options: Any,
) -> BatchSummary:
    """Run every request of a JSONL file not yet in the output; append one line per result.

    ``model`` fills in lines that name none; without it such lines become error records unless
    ``allow_default_model`` (then the account's default model answers them). ``shard=(I, N)``
    runs the ids that hash to ``I`` of ``N``; ``retry_errors`` re-runs ids whose latest record
    is an error. ``options`` go to ``client.batch`` (``concurrency``, ``ordered``, ``rps``,
    ``tpm``, ``window``, ``retry``…). Pass ``summary`` to keep the counts of a run that is
    cancelled. ``input_path`` ``"-"`` reads stdin.

    Raises :class:`BatchFileError` (nothing sent or written) when the files break a rule,
    :class:`OutputLockedError` while another run holds the output, :class:`BatchIOError` when
    a file fails during the run. Cancellation writes every result that had arrived first.
    """
    summary = summary if summary is not None else BatchSummary()
    started = time.monotonic()
    check_paths(input_path, output_path)
    output = OutputFile.open(output_path)
    try:
        await _run(
            client,
            input_path,
            output,
            model=model,
            allow_default_model=allow_default_model,
            shard=shard,
            retry_errors=retry_errors,
            on_progress=on_progress,
            summary=summary,
            options=options,
        )
    finally:
        output.close()
        summary.wall_time = time.monotonic() - started
    return summary


async def _run(
    client: OpenRouter,
    input_path: str | os.PathLike[str],
    output: OutputFile,
    *,
    model: str | None,
    allow_default_model: bool,
    shard: tuple[int, int] | None,
    retry_errors: bool,
    on_progress: Callable[[BatchProgress], object] | None,
    summary: BatchSummary,
    options: dict[str, Any],
) -> None:
    from_stdin = os.fspath(input_path) == "-"
    ledger = IdLedger()
    # One pass over each file before the run, off the event loop.
    if await asyncio.to_thread(output.scan, ledger):
        output.close_last_line()
    summary.torn_lines = output.torn
    total: int | None = None
    if not from_stdin and shard is None and not retry_errors:
        lines = await asyncio.to_thread(count_lines, Path(input_path))
        total = max(0, lines - len(ledger))
    stats = InputStats()
    source = _open_input(input_path)
    reader = read_requests(
        source,
        ledger=ledger,
        model=model,
        allow_default_model=allow_default_model,
        shard=shard,
        retry_errors=retry_errors,
        stats=stats,
    )

    def write(result: BatchResult) -> None:
        line, ok = result_line(result)
        try:
            output.write(line)
        except BatchIOError:
            summary.unwritten += 1
            raise
        summary.add(result, ok=ok)

    try:
        # The reader already made the ids unique (it holds them all for resuming anyway).
        batch = client.batch(
            reader, on_progress=on_progress, total=total, unique_ids=False, **options
        )
    except BaseException:
        reader.close()
        if not from_stdin:
            source.close()
        raise
    try:
        async with batch:
            async for result in batch:
                write(result)
                if stats.exhausted and batch.total != stats.items:
                    batch.total = stats.items  # now known exactly
    except asyncio.CancelledError:
        summary.interrupted = True
        raise
    except OSError as exc:  # reading the input failed (the batch re-raises its reader's error)
        shown = os.fspath(input_path)
        raise BatchIOError(
            f"Cannot read the input {shown}: {exc.strerror or exc}", path=shown
        ) from exc
    finally:
        # Finished but not yet taken when the batch stopped (cancellation): billed, so kept.
        for result in batch.drain():
            with contextlib.suppress(BatchIOError):  # counted; the first failure is raised
                write(result)
        reader.close()
        if not from_stdin:
            source.close()
        summary._take(stats)
