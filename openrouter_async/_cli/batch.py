"""``openrouter-async batch IN.jsonl OUT.jsonl``: the command over
:func:`openrouter_async.batchfile.run_batch_file`, where the file rules live.

This module only parses flags, shows progress (:mod:`._batch_progress`), turns SIGINT and
SIGTERM into a clean stop (the results that arrived are written, the summary printed, exit
130 or 143), and maps a refused file to one line and exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Iterator
from typing import Any

from .._batch import DEFAULT_CONCURRENCY
from .._batchfile_output import check_paths
from .._config import PoolLimits
from ..batchfile import BatchFileError, BatchIOError, BatchSummary, run_batch_file

__all__ = ["add_arguments", "parse_shard", "run", "run_batch_file", "summary_line"]

EMULATOR_MODEL = "emulator/echo"
PLAIN_PROGRESS_INTERVAL = 5.0


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` with 0 <= I < N (argparse type)."""
    index_text, sep, count_text = text.partition("/")
    try:
        index, count = int(index_text), int(count_text)
    except ValueError:
        index, count = -1, 0
    if not sep or count < 1 or not 0 <= index < count:
        raise argparse.ArgumentTypeError(
            f"expected I/N with 0 <= I < N (e.g. 0/4 … 3/4), got {text!r}"
        )
    return index, count


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ._common import add_client_arguments, positive_float, positive_int

    parser.description = (
        "Run every chat request of a JSONL file concurrently; append one JSON line per result "
        "to the output. Re-running skips ids already in the output (resume). The output is "
        "only appended to, and refused if it is the input, is not a results file of this "
        "command, or is in use by another run."
    )
    parser.add_argument(
        "input",
        metavar="IN.jsonl",
        help='one request per line: {"id": ..., "messages": [...], ...create() fields}; '
        "'-' reads stdin",
    )
    parser.add_argument(
        "output",
        metavar="OUT.jsonl",
        help="results are appended here, one line per request; the last line per id wins",
    )
    parser.add_argument(
        "-m",
        "--model",
        help=f"model for lines that name none ({EMULATOR_MODEL} with --emulator)",
    )
    parser.add_argument(
        "--allow-default-model",
        action="store_true",
        help="send lines that name no model without one (the account's default model "
        "answers); without this flag or --model such lines get an error record",
    )
    parser.add_argument(
        "-c",
        "--concurrency",
        type=positive_int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"requests in flight at most (default {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--rps", type=positive_float, metavar="R", help="at most R requests per second"
    )
    parser.add_argument(
        "--tpm",
        type=positive_float,
        metavar="T",
        help="at most T model tokens per minute (estimated, corrected by usage)",
    )
    parser.add_argument(
        "--ordered",
        action="store_true",
        help="write results in input order (a bounded reorder window holds early finishers)",
    )
    parser.add_argument(
        "--window",
        type=positive_int,
        metavar="N",
        help="requests read ahead of the output at most (default 2 x concurrency)",
    )
    parser.add_argument(
        "--retry-errors",
        action="store_true",
        help="re-run only the ids whose latest output record is an error",
    )
    parser.add_argument(
        "--max-retries",
        type=int,
        metavar="N",
        help="retries per request for 429/5xx/connection errors (default 2)",
    )
    parser.add_argument(
        "--shard",
        type=parse_shard,
        metavar="I/N",
        help="run only shard I of N (0-based; split by a stable hash of the id)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress on stderr")
    parser.add_argument(
        "--progress-interval",
        type=positive_float,
        default=PLAIN_PROGRESS_INTERVAL,
        metavar="SECONDS",
        help="when stderr is not a terminal, print a progress line this often "
        f"(default {PLAIN_PROGRESS_INTERVAL:g})",
    )
    add_client_arguments(parser)


def summary_line(summary: BatchSummary, output: str) -> str:
    from ._common import format_cost

    head = "interrupted" if summary.interrupted else "done"
    rate = summary.done / summary.wall_time if summary.wall_time > 0 else 0.0
    why = [
        f"{count} {label}"
        for count, label in (
            (summary.bad_lines, "bad input lines" if summary.bad_lines != 1 else "bad input line"),
            (summary.duplicates, "duplicate ids" if summary.duplicates != 1 else "duplicate id"),
            (summary.no_model, "without a model"),
        )
        if count
    ]
    parts = [
        f"{head}: {summary.done} written to {output} "
        f"({summary.succeeded} ok, {summary.failed} failed"
        + (f": {', '.join(why)}" if why else "")
        + ")",
    ]
    if summary.skipped:
        parts.append(f"{summary.skipped} skipped (already in the output)")
    if summary.other_shard:
        parts.append(f"{summary.other_shard} in other shards")
    if summary.default_model:
        parts.append(f"{summary.default_model} sent without a model (the account's default)")
    if summary.torn_lines:
        parts.append(f"{summary.torn_lines} torn line(s) in the output kept (readers skip them)")
    if summary.unwritten:
        parts.append(f"{summary.unwritten} result(s) received but not written")
    parts.append(
        f"{summary.total_tokens:,} tokens ({summary.prompt_tokens:,} prompt + "
        f"{summary.completion_tokens:,} completion)"
    )
    parts.append(format_cost(summary.cost))
    parts.append(f"{summary.wall_time:.2f}s wall ({rate:.1f}/s)")
    return " · ".join(parts)


class _Stop:
    """SIGINT (Ctrl-C) and SIGTERM (``kill``, a scheduler) both cancel the command's task, so
    the batch stops cleanly and writes what arrived; which signal came sets the exit status."""

    def __init__(self) -> None:
        self.signal: int | None = None

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        installed: list[signal.Signals] = []

        def stop(signum: int) -> None:
            if self.signal is None and task is not None:
                self.signal = signum
                task.cancel()

        for wanted in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(wanted, stop, int(wanted))
            except (NotImplementedError, RuntimeError, ValueError):  # Windows, not main thread
                continue
            installed.append(wanted)
        try:
            yield
        finally:
            for wanted in installed:
                loop.remove_signal_handler(wanted)


def _progress(args: argparse.Namespace, console: Any, options: dict[str, Any]) -> Any:
    """The progress view the flags and stderr call for, wired into ``options``."""
    from ._batch_progress import BarProgress, PlainProgress

    if args.no_progress:
        return contextlib.nullcontext()
    view: BarProgress | PlainProgress
    if console.is_terminal:
        view = BarProgress(console)
        options["progress_interval"] = 0.2
    else:
        view = PlainProgress(sys.stderr, args.progress_interval)
        options["progress_interval"] = min(1.0, args.progress_interval)
    options["on_progress"] = view
    return view


async def run(args: argparse.Namespace) -> int:
    from .._config import RetryPolicy
    from ._common import EXIT_API_ERROR, CLIError, open_client, print_error, stderr_console

    if args.max_retries is not None and args.max_retries < 0:
        raise CLIError("--max-retries must be >= 0")
    try:  # the engine checks again; here it also spares a user without a key the wait
        check_paths(args.input, args.output)
    except BatchFileError as exc:
        raise CLIError(exc.message) from None
    model = args.model or (EMULATOR_MODEL if getattr(args, "emulator", False) else None)
    console = stderr_console()
    options: dict[str, Any] = {
        "concurrency": args.concurrency,
        "ordered": args.ordered,
        "rps": args.rps,
        "tpm": args.tpm,
        "window": args.window,
    }
    if args.max_retries is not None:
        options["retry"] = RetryPolicy(max_retries=args.max_retries)
    client_options: dict[str, Any] = {
        "limits": PoolLimits(total=max(PoolLimits().total, args.concurrency))
    }
    summary = BatchSummary()
    view = _progress(args, console, options)
    stop = _Stop()
    failure: BatchIOError | None = None
    try:
        with stop.installed():
            async with open_client(args, **client_options) as client:
                with view:
                    await run_batch_file(
                        client,
                        args.input,
                        args.output,
                        model=model,
                        allow_default_model=args.allow_default_model,
                        shard=args.shard,
                        retry_errors=args.retry_errors,
                        summary=summary,
                        **options,
                    )
    except BatchIOError as exc:  # the run had started: its records so far are in the output
        failure = exc
    except BatchFileError as exc:  # refused before anything was sent or written
        raise CLIError(exc.message) from None
    except asyncio.CancelledError:
        if stop.signal is None:
            raise
        summary.interrupted = True
        uncancel = getattr(asyncio.current_task(), "uncancel", None)  # Python >= 3.11
        if uncancel is not None:
            uncancel()
    style = "yellow" if summary.interrupted or summary.failed or failure else "green"
    console.print(summary_line(summary, args.output), style=style, highlight=False)
    if failure is not None:
        print_error(failure, console)
        return EXIT_API_ERROR
    if stop.signal is not None:
        return 128 + stop.signal
    return EXIT_API_ERROR if summary.failed else 0
