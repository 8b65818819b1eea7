"""The results file of a batch run: refused, locked, scanned, appended to, never rewritten.

Why it is built this way:

* **Only appends.** The file is opened ``O_APPEND`` and nothing else is ever done to it: no
  truncation, no rewrite. A torn last line (the OS died mid-write) is *closed* with a newline
  so the next record starts on a line of its own; the torn bytes stay, and readers skip them.
* **Refuse what is not ours.** Before a byte is appended, every line must be a result record
  (a JSON object with an ``"id"`` and a boolean ``"ok"``) or a torn one (it starts the way
  every record starts, ``{"id":``). A request file given as the output by mistake is refused,
  whole, untouched; so is the input itself (same inode, through links too).
* **One run per file.** An exclusive ``flock`` on the output itself, held for the whole run,
  follows the inode (links, relative paths) and is released by the kernel when the process
  dies, ``kill -9`` included: there is no stale lock file to clean up. The refusal names the
  holder from ``/proc/locks``, where the kernel keeps the pid of every flock.
* **A result that cannot be encoded is still recorded.** Each line is encoded whole before it
  is written; if orjson refuses a result (nesting beyond its limit, strings that are not
  UTF-8), the record is retried with its strings made valid, and failing that it becomes an
  error record that keeps the usage, cost and generation id, so nothing billed goes unrecorded.
"""

from __future__ import annotations

import fcntl
import os
import stat
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from ._batchfile_input import IdLedger, id_key, is_record_id
from ._errors import (
    APIStatusError,
    BatchFileError,
    BatchIOError,
    OutputLockedError,
    RequestValidationError,
    StreamError,
)

if TYPE_CHECKING:
    from ._batch import BatchResult

__all__ = [
    "BatchFileError",
    "BatchIOError",
    "OutputFile",
    "OutputLockedError",
    "check_paths",
    "encode_record",
    "error_fields",
    "lock_holder",
    "output_record",
    "result_line",
]

# Every record is written by orjson with "id" first and no spaces, so a torn one starts so.
_RECORD_START = b'{"id":'


# -- before the run --------------------------------------------------------------------------


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def check_paths(input_path: str | os.PathLike[str], output_path: str | os.PathLike[str]) -> None:
    """Refuse a missing or unreadable input, an output that is a directory or not a regular
    file, and an output that is the input (the same inode, however it is named)."""
    shown_in, shown_out = os.fspath(input_path), os.fspath(output_path)
    in_stat: os.stat_result | None = None
    if shown_in == "-":
        try:
            in_stat = os.fstat(sys.stdin.fileno())
        except (OSError, ValueError, AttributeError):  # no stdin at all: nothing to compare
            in_stat = None
    else:
        try:
            in_stat = os.stat(input_path)
        except FileNotFoundError:
            raise BatchFileError(f"No such input file: {shown_in}", path=shown_in) from None
        except OSError as exc:
            raise BatchFileError(
                f"Cannot read the input {shown_in}: {_why(exc)}", path=shown_in
            ) from None
        if stat.S_ISDIR(in_stat.st_mode):
            raise BatchFileError(f"The input is a directory: {shown_in}", path=shown_in)
    try:
        out_stat = os.stat(output_path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise BatchFileError(
            f"Cannot use the output {shown_out}: {_why(exc)}", path=shown_out
        ) from None
    if stat.S_ISDIR(out_stat.st_mode):
        raise BatchFileError(f"The output is a directory: {shown_out}", path=shown_out)
    if not stat.S_ISREG(out_stat.st_mode):
        raise BatchFileError(f"The output must be a regular file: {shown_out}", path=shown_out)
    if (
        in_stat is not None
        and stat.S_ISREG(in_stat.st_mode)
        and (in_stat.st_dev, in_stat.st_ino) == (out_stat.st_dev, out_stat.st_ino)
    ):
        raise BatchFileError(
            f"The input and the output are the same file ({shown_in}, {shown_out}); "
            "results go to a file of their own",
            path=shown_out,
        )


def lock_holder(file_stat: os.stat_result) -> int | None:
    """The pid holding a ``flock`` on the file, from ``/proc/locks`` (Linux); None if unknown."""
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    device = f"{os.major(file_stat.st_dev):02x}:{os.minor(file_stat.st_dev):02x}"
    exact: int | None = None
    by_inode: list[int] = []
    for line in text.splitlines():
        # "1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234 0 EOF"; waiters read "1: -> FLOCK ..."
        fields = line.split()
        if len(fields) < 6 or fields[1] != "FLOCK":
            continue
        dev_major, _, rest = fields[5].partition(":")
        dev_minor, _, inode = rest.partition(":")
        if inode != str(file_stat.st_ino):
            continue
        try:
            pid = int(fields[4])
        except ValueError:
            continue
        if pid <= 0:  # a holder outside our pid namespace, or an open-file-description lock
            continue
        if f"{dev_major}:{dev_minor}" == device:
            exact = pid
        by_inode.append(pid)
    # Some file systems (btrfs subvolumes, overlays) report another device number in stat().
    if exact is not None:
        return exact
    return by_inode[0] if len(by_inode) == 1 else None


class OutputFile:
    """The output of one run: open for appending, locked, its records read into a ledger."""

    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self._fd = fd
        self.torn = 0  # lines that are the beginning of a record only
        self.records = 0

    @classmethod
    def open(cls, output_path: str | os.PathLike[str]) -> OutputFile:
        """Open (creating it) and lock the output, or raise :class:`BatchFileError`."""
        path = os.fspath(output_path)
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        try:
            fd = os.open(path, flags, 0o644)
        except OSError as exc:
            raise BatchFileError(f"Cannot open the output {path}: {_why(exc)}", path=path) from None
        try:
            file_stat = os.fstat(fd)
            if not stat.S_ISREG(file_stat.st_mode):
                raise BatchFileError(f"The output must be a regular file: {path}", path=path)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pid = lock_holder(file_stat)
                holder = f"process {pid}" if pid is not None else "another process"
                raise OutputLockedError(
                    f"The output {path} is in use by another batch run ({holder}); wait for "
                    "it to end, or give another output file",
                    path=path,
                    pid=pid,
                ) from None
            except OSError as exc:
                raise BatchFileError(
                    f"Cannot lock the output {path}: {_why(exc)}", path=path
                ) from None
        except BaseException:
            os.close(fd)
            raise
        return cls(path, fd)

    def _foreign(self, line_no: int, what: str) -> BatchFileError:
        return BatchFileError(
            f"The output {self.path} is not a results file of this command (line {line_no} is "
            f"{what}); nothing was written to it. Were IN and OUT swapped? Give a new output "
            "file.",
            path=self.path,
        )

    def scan(self, ledger: IdLedger) -> bool:
        """Read every record into ``ledger`` (the last record per id wins), refusing a file
        that is not ours. True when the last line is torn (no final newline): the caller closes
        it with :meth:`close_last_line` (here, in a worker thread, the file might be closed
        under us by a cancellation)."""
        last = b"\n"
        with os.fdopen(os.dup(self._fd), "rb") as f:
            f.seek(0)
            for line_no, raw in enumerate(f, start=1):
                last = raw
                if not raw.strip():
                    continue
                try:
                    record = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    if raw.startswith(_RECORD_START):
                        self.torn += 1
                        continue
                    raise self._foreign(line_no, "not JSON") from None
                if not isinstance(record, dict):
                    raise self._foreign(line_no, f"a JSON {type(record).__name__}, not an object")
                item_id = record.get("id")
                if not isinstance(record.get("ok"), bool) or not is_record_id(item_id):
                    raise self._foreign(line_no, 'an object without the "id" and "ok" of a result')
                ledger.record(id_key(item_id), record["ok"])
                self.records += 1
        return not last.endswith(b"\n")

    def close_last_line(self) -> None:
        """End a torn last line, so the next record starts on a line of its own."""
        self.write(b"\n")

    def write(self, data: bytes) -> None:
        """Append one whole line: one ``os.write`` (looping only if the OS wrote less)."""
        try:
            written = os.write(self._fd, data)
            while written < len(data):  # pragma: no cover - regular files take the whole write
                written += os.write(self._fd, data[written:])
        except OSError as exc:
            raise BatchIOError(
                f"Cannot write to the output {self.path}: {_why(exc)}", path=self.path
            ) from exc

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)  # releases the lock


# -- records ---------------------------------------------------------------------------------


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


def _usage(result: BatchResult) -> dict[str, int] | None:
    usage = result.usage
    if usage is None:
        return None
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


def _split_id(result: BatchResult) -> tuple[int | None, Any]:
    return result.id if isinstance(result.id, tuple) else (None, result.id)


def output_record(result: BatchResult) -> dict[str, Any]:
    """One output line: id, line, ok, result or error, attempts, latency, usage, cost."""
    from ._convert import unstructure

    line, item_id = _split_id(result)
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
        "usage": _usage(result),
        "cost": result.cost,
    }


def _encode(record: Mapping[str, Any]) -> bytes:
    return orjson.dumps(
        record, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS, default=str
    )


def _valid_text(text: str) -> str:
    """``text`` as valid UTF-8: lone surrogates (undecodable bytes) become ``\\udcff`` escapes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _valid(value: Any) -> Any:
    if isinstance(value, str):
        return _valid_text(value)
    if isinstance(value, dict):
        return {_valid(key): _valid(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_valid(item) for item in value]
    return value


def _unwritable(result: BatchResult, exc: Exception) -> dict[str, Any]:
    """The record of a result that cannot be encoded: an error that keeps what was billed."""
    line, item_id = _split_id(result)
    cause = _valid_text(f"{type(exc).__name__}: {exc}")
    error: dict[str, Any] = {
        "type": "UnwritableResult",
        "message": f"the result could not be written as JSON ({cause})",
    }
    generation_id = (
        result.completion.id
        if result.completion is not None
        else getattr(result.error, "generation_id", None)
    )
    if isinstance(generation_id, str) and generation_id:
        error["generation_id"] = _valid_text(generation_id)
    if result.error is not None:
        error["cause"] = _valid_text(type(result.error).__name__)
    return {
        "id": item_id,
        "line": line,
        "ok": False,
        "result": None,
        "error": error,
        "attempts": result.attempts,
        "latency": round(result.latency, 6),
        "usage": _usage(result),
        "cost": result.cost,
    }


def result_line(result: BatchResult) -> tuple[bytes, bool]:
    """The output line of one result and its ``ok``, whatever the result holds: never raises
    for one item (a result that cannot be encoded becomes an error record)."""
    try:
        return _encode(output_record(result)), result.ok
    except Exception as exc:
        failure = exc
    try:
        return _encode(_valid(output_record(result))), result.ok
    except Exception:  # nesting past the encoder's limit: nothing to repair, record the failure
        return _encode(_unwritable(result, failure)), False


def encode_record(record: Mapping[str, Any]) -> bytes:
    """One record as one line (for records built by hand, e.g. in tests)."""
    return _encode(record)
