"""``openrouter-async batch IN.jsonl OUT.jsonl``: a JSONL file of chat requests through
``client.batch``, one JSON line out per request, resumable and shardable.

Why it is built this way:

* **Crash-safe output.** Each result is encoded to one complete line and written with a single
  ``os.write`` on an ``O_APPEND`` descriptor before the next result is taken, so a killed
  process leaves whole lines only (and a torn last line, should the OS ever leave one, is cut
  off on the next run before anything is appended).
* **Resume by id.** On start the output is read once: ids found there are skipped, whatever
  their outcome (``--retry-errors``: only those whose latest record succeeded). Records are
  only ever appended, so a re-run error record is superseded by a later line: readers take
  the **last line per id** (see ``docs/batch.md``).
* **Shards by id, not by position.** ``--shard I/N`` keeps the lines whose id hashes
  (BLAKE2b of the id's JSON) to ``I`` mod ``N``: N processes or machines share a job with no
  coordination, and a shard's contents do not depend on line order.
* **The file logic needs no terminal.** :func:`run_batch_file` is the whole job without
  argparse or rich, so Ray or Dask tasks can call it with their own client.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import signal
import sys
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import attrs
import orjson

from .._batch import DEFAULT_CONCURRENCY, BatchProgress, BatchResult
from .._config import PoolLimits
from .._errors import APIStatusError, RequestValidationError, StreamError

if TYPE_CHECKING:
    from .._client import OpenRouter

__all__ = [
    "BatchSummary",
    "add_arguments",
    "load_finished",
    "output_record",
    "parse_shard",
    "read_requests",
    "run",
    "run_batch_file",
    "shard_of",
]

EMULATOR_MODEL = "emulator/echo"
_CHUNK = 1 << 20


# -- ids and shards --------------------------------------------------------------------------


def id_key(item_id: Any) -> bytes:
    """The canonical bytes of an id: its JSON (sorted keys), so ``7`` and ``"7"`` differ."""
    return orjson.dumps(item_id, option=orjson.OPT_SORT_KEYS)


def shard_of(item_id: Any, shards: int) -> int:
    """Which of ``shards`` shards an id belongs to: a stable hash, the same on every machine
    and Python version (BLAKE2b of the id's JSON, not ``hash()``)."""
    digest = hashlib.blake2b(id_key(item_id), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


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


# -- reading the input -----------------------------------------------------------------------


@attrs.define
class InputStats:
    lines: int = 0  # lines read, blank ones included
    items: int = 0  # items handed to the batch
    skipped: int = 0  # already in the output
    other_shard: int = 0
    bad: int = 0  # lines that are not a request (handed on as error items)
    exhausted: bool = False


def _bad(line_no: int, message: str) -> RequestValidationError:
    return RequestValidationError(message, path=f"line {line_no}")


def read_requests(
    lines: IO[bytes],
    *,
    model: str | None = None,
    shard: tuple[int, int] | None = None,
    skip: Callable[[bytes], bool] | None = None,
    stats: InputStats | None = None,
) -> Generator[tuple[tuple[int, Any], Mapping[str, Any] | Exception], None, None]:
    """Batch items from JSONL: ``((line_no, id), request_fields)`` per non-blank line.

    A line is a JSON object of ``create()`` fields with an optional ``"id"`` (default: the
    1-based line number). ``model`` fills in a missing ``"model"``. A line that is not a JSON
    object yields ``((line_no, line_no), RequestValidationError)`` so it becomes an error
    result naming its line. Lines outside ``shard`` or for which ``skip(id_key)`` is true are
    left out.
    """
    counts = stats if stats is not None else InputStats()
    for line_no, raw in enumerate(lines, start=1):
        counts.lines = line_no
        if not raw.strip():
            continue
        payload: Mapping[str, Any] | Exception
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            item_id: Any = line_no
            payload = _bad(line_no, f"invalid JSON: {exc}")
        else:
            if isinstance(obj, dict):
                item_id = obj.pop("id", None)
                if item_id is None:
                    item_id = line_no
                if model is not None and "model" not in obj:
                    obj["model"] = model
                payload = obj
            else:
                item_id = line_no
                payload = _bad(line_no, f"expected a JSON object, got {type(obj).__name__}")
        key = id_key(item_id)
        if shard is not None and shard_of(item_id, shard[1]) != shard[0]:
            counts.other_shard += 1
            continue
        if skip is not None and skip(key):
            counts.skipped += 1
            continue
        if isinstance(payload, Exception):
            counts.bad += 1
        counts.items += 1
        yield (line_no, item_id), payload
    counts.exhausted = True


def count_lines(path: Path) -> int:
    """Non-blank-agnostic line count, by newline bytes (one fast pass, no parsing)."""
    count = 0
    last = b"\n"
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


# -- the output ------------------------------------------------------------------------------


def _trim_partial_line(fd: int) -> int:
    """Cut a trailing partial line (no final newline) off; return how many bytes went."""
    size = os.lseek(fd, 0, os.SEEK_END)
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return 0
    end = size
    while end > 0:
        start = max(0, end - _CHUNK)
        chunk = os.pread(fd, end - start, start)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            keep = start + newline + 1
            os.ftruncate(fd, keep)
            return size - keep
        end = start
    os.ftruncate(fd, 0)
    return size


def load_finished(path: Path) -> tuple[dict[bytes, bool], int]:
    """``{id_key: ok}`` from an output file (the last record per id wins) and the number of
    unreadable lines ignored. A torn last line is truncated away first."""
    finished: dict[bytes, bool] = {}
    unreadable = 0
    if not path.exists():
        return finished, 0
    fd = os.open(path, os.O_RDWR)
    try:
        if _trim_partial_line(fd):
            unreadable += 1
    finally:
        os.close(fd)
    with path.open("rb") as f:
        for raw in f:
            if not raw.strip():
                continue
            try:
                record = orjson.loads(raw)
                finished[id_key(record["id"])] = record.get("ok") is True
            except (orjson.JSONDecodeError, KeyError, TypeError):
                unreadable += 1
    return finished, unreadable


def _clean(value: Any) -> Any:
    """The converter's view of a response, back to wire-like JSON: ``extra`` keys folded in,
    ``None`` and empty containers dropped."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key == "extra" and isinstance(item, dict):
                for extra_key, extra_item in item.items():
                    out.setdefault(extra_key, _clean(extra_item))
                continue
            cleaned = _clean(item)
            if cleaned is None or cleaned == [] or cleaned == {}:
                continue
            out[key] = cleaned
        return out
    if isinstance(value, list):
        return [_clean(item) for item in value]
    return value


def error_fields(exc: BaseException) -> dict[str, Any]:
    record: dict[str, Any] = {
        "type": type(exc).__name__,
        "message": getattr(exc, "message", None) or str(exc) or repr(exc),
    }
    if isinstance(exc, RequestValidationError) and exc.path:
        record["path"] = exc.path
    elif isinstance(exc, APIStatusError):
        record["status"] = exc.status_code
        record["code"] = exc.code
        if exc.metadata:
            record["metadata"] = dict(exc.metadata)
    elif isinstance(exc, StreamError):
        record["code"] = exc.code
    retryable = getattr(exc, "retryable", None)
    if isinstance(retryable, bool):
        record["retryable"] = retryable
    generation_id = getattr(exc, "generation_id", None)
    if generation_id:
        record["generation_id"] = generation_id
    return record


def output_record(result: BatchResult) -> dict[str, Any]:
    """One output line: id, line, ok, result or error, attempts, latency, usage, cost."""
    from .._convert import unstructure

    line, item_id = result.id if isinstance(result.id, tuple) else (None, result.id)
    usage = result.usage
    completion: Any = None
    if result.completion is not None:
        raw = unstructure(result.completion)
        raw.pop("response", None)
        raw.pop("server_tool_use_details", None)
        completion = _clean(raw)
    return {
        "id": item_id,
        "line": line,
        "ok": result.ok,
        "result": completion,
        "error": error_fields(result.error) if result.error is not None else None,
        "attempts": result.attempts,
        "latency": round(result.latency, 6),
        "usage": (
            {
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "total_tokens": usage.total_tokens,
            }
            if usage is not None
            else None
        ),
        "cost": result.cost,
    }


def encode_record(record: Mapping[str, Any]) -> bytes:
    return orjson.dumps(
        record, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS, default=str
    )


def write_line(fd: int, data: bytes) -> None:
    """Append one whole line: one ``os.write`` (looping only if the OS wrote less)."""
    written = os.write(fd, data)
    while written < len(data):  # pragma: no cover - regular files take the whole write
        written += os.write(fd, data[written:])


def _open_input(path: str | os.PathLike[str]) -> IO[bytes]:
    if str(path) == "-":
        return sys.stdin.buffer
    return Path(path).open("rb")


# -- the job ---------------------------------------------------------------------------------


@attrs.define
class BatchSummary:
    """What a run did. ``done`` counts results written in this run."""

    done: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    other_shard: int = 0
    bad_lines: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost: float = 0.0
    wall_time: float = 0.0
    interrupted: bool = False

    def add(self, result: BatchResult) -> None:
        self.done += 1
        if result.ok:
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


async def run_batch_file(
    client: OpenRouter,
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    model: str | None = None,
    shard: tuple[int, int] | None = None,
    retry_errors: bool = False,
    on_progress: Callable[[BatchProgress], object] | None = None,
    summary: BatchSummary | None = None,
    **options: Any,
) -> BatchSummary:
    """Run every request of a JSONL file not yet in the output; append one line per result.

    ``options`` go to ``client.batch`` (``concurrency``, ``ordered``, ``rps``, ``tpm``,
    ``window``, ``retry``…). Pass ``summary`` to keep the counts of a run that is cancelled.
    ``input_path`` ``"-"`` reads stdin.
    """
    summary = summary if summary is not None else BatchSummary()
    started = time.monotonic()
    output = Path(output_path)
    from_stdin = str(input_path) == "-"
    # Reading the output (and counting input lines) is one pass over each file: off the loop.
    finished, _unreadable = await asyncio.to_thread(load_finished, output)
    if retry_errors:
        done_ok = {key for key, ok in finished.items() if ok}
        finished.clear()
        skip = done_ok.__contains__
    else:
        skip = finished.__contains__
    total: int | None = None
    if not from_stdin and shard is None and not retry_errors:
        total = max(0, await asyncio.to_thread(count_lines, Path(input_path)) - len(finished))
    stats = InputStats()
    source = _open_input(input_path)
    reader = read_requests(source, model=model, shard=shard, skip=skip, stats=stats)
    try:
        batch = client.batch(reader, on_progress=on_progress, total=total, **options)
        fd = os.open(output, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except BaseException:
        reader.close()
        if not from_stdin:
            source.close()
        raise
    try:
        async with batch:
            async for result in batch:
                write_line(fd, encode_record(output_record(result)))
                summary.add(result)
                if stats.exhausted and batch.total != stats.items:
                    batch.total = stats.items  # now known exactly
    except asyncio.CancelledError:
        summary.interrupted = True
        raise
    finally:
        # Finished but not yet taken when the batch stopped (cancellation): billed, so kept.
        for result in batch.drain():
            write_line(fd, encode_record(output_record(result)))
            summary.add(result)
        os.close(fd)
        reader.close()
        if not from_stdin:
            source.close()
        summary.skipped = stats.skipped
        summary.other_shard = stats.other_shard
        summary.bad_lines = stats.bad
        summary.wall_time = time.monotonic() - started
    return summary


# -- the command -----------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ._common import add_client_arguments, positive_float, positive_int

    parser.description = (
        "Run every chat request of a JSONL file concurrently; append one JSON line per result "
        "to the output. Re-running skips ids already in the output (resume)."
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
    parser.add_argument("--no-progress", action="store_true", help="no live progress bar on stderr")
    add_client_arguments(parser)


def _progress_view(console: Any) -> tuple[Any, Callable[[BatchProgress], None]]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from ._common import format_cost

    progress = Progress(
        SpinnerColumn(),
        TextColumn("batch"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[green]{task.fields[ok]} ok[/] [red]{task.fields[failed]} failed[/]"),
        TextColumn("{task.fields[in_flight]} in flight · {task.fields[rate]}/s"),
        TextColumn("{task.fields[tokens]} tok · {task.fields[cost]}"),
        TextColumn("[yellow]{task.fields[pause]}[/]"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
        redirect_stdout=False,
        redirect_stderr=False,
    )
    task = progress.add_task(
        "batch", total=None, ok=0, failed=0, in_flight=0, rate="0", tokens=0, cost="$0", pause=""
    )

    def update(p: BatchProgress) -> None:
        progress.update(
            task,
            total=p.total,
            completed=p.done,
            ok=p.succeeded,
            failed=p.failed,
            in_flight=p.in_flight,
            rate=f"{p.rate:.1f}",
            tokens=f"{p.total_tokens:,}",
            cost=format_cost(p.cost),
            pause=f"cooling down {p.cooling_down:.1f}s" if p.cooling_down > 0 else "",
        )

    return progress, update


def summary_line(summary: BatchSummary, output: str) -> str:
    from ._common import format_cost

    head = "interrupted" if summary.interrupted else "done"
    rate = summary.done / summary.wall_time if summary.wall_time > 0 else 0.0
    parts = [
        f"{head}: {summary.done} written to {output} "
        f"({summary.succeeded} ok, {summary.failed} failed"
        + (f", {summary.bad_lines} bad input lines" if summary.bad_lines else "")
        + ")",
    ]
    if summary.skipped:
        parts.append(f"{summary.skipped} skipped (already in the output)")
    if summary.other_shard:
        parts.append(f"{summary.other_shard} in other shards")
    parts.append(
        f"{summary.total_tokens:,} tokens ({summary.prompt_tokens:,} prompt + "
        f"{summary.completion_tokens:,} completion)"
    )
    parts.append(format_cost(summary.cost))
    parts.append(f"{summary.wall_time:.2f}s wall ({rate:.1f}/s)")
    return " · ".join(parts)


def _check_paths(input_path: str, output_path: str) -> str | None:
    if input_path != "-" and not Path(input_path).is_file():
        return f"No such input file: {input_path}"
    if Path(output_path).is_dir():
        return f"The output is a directory: {output_path}"
    return None


@contextlib.contextmanager
def _cancel_on_sigint() -> Iterator[None]:
    """Ctrl-C cancels this task (on every Python version), so the batch stops cleanly and
    the results already received are written before the command exits."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    previous = signal.getsignal(signal.SIGINT)
    try:
        loop.add_signal_handler(signal.SIGINT, task.cancel if task is not None else lambda: None)
    except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        signal.signal(signal.SIGINT, previous)


async def run(args: argparse.Namespace) -> int:
    from .._config import RetryPolicy
    from ._common import EXIT_API_ERROR, CLIError, open_client, stderr_console

    input_path = args.input
    problem = _check_paths(input_path, args.output)
    if problem is not None:
        raise CLIError(problem)
    model = args.model or (EMULATOR_MODEL if getattr(args, "emulator", False) else None)
    console = stderr_console()
    show = not args.no_progress and console.is_terminal
    options: dict[str, Any] = {
        "concurrency": args.concurrency,
        "ordered": args.ordered,
        "rps": args.rps,
        "tpm": args.tpm,
        "window": args.window,
    }
    client_options: dict[str, Any] = {
        "limits": PoolLimits(total=max(PoolLimits().total, args.concurrency))
    }
    if args.max_retries is not None:
        if args.max_retries < 0:
            raise CLIError("--max-retries must be >= 0")
        options["retry"] = RetryPolicy(max_retries=args.max_retries)
    summary = BatchSummary()
    progress: Any = None
    on_progress: Callable[[BatchProgress], None] | None = None
    if show:
        progress, on_progress = _progress_view(console)
        options["progress_interval"] = 0.2
    started = False
    try:
        with _cancel_on_sigint():
            async with open_client(args, **client_options) as client:
                started = True
                if progress is not None:
                    progress.start()
                try:
                    await run_batch_file(
                        client,
                        input_path,
                        args.output,
                        model=model,
                        shard=args.shard,
                        retry_errors=args.retry_errors,
                        on_progress=on_progress,
                        summary=summary,
                        **options,
                    )
                finally:
                    if progress is not None:
                        progress.stop()
    finally:
        if started:  # not for a usage error raised before anything ran
            style = "yellow" if summary.interrupted or summary.failed else "green"
            console.print(summary_line(summary, args.output), style=style, highlight=False)
    return EXIT_API_ERROR if summary.failed else 0
