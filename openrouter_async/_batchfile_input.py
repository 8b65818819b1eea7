"""Reading a batch file's input: ids, shards, duplicates and lines that name no model.

Why it is built this way:

* **Two id forms that can never be equal.** An explicit ``"id"`` is a JSON string or integer;
  a line without one is named ``{"line": N}``, an object, so an explicit ``3`` and the third
  line's implicit id are different ids and resuming after the input grew skips nothing by
  mistake.
* **One ledger per run.** :class:`IdLedger` holds every id of the output (read once, before the
  run) and every id of this run's input as it is read, in one dictionary: the resume set and
  the duplicate check are the same lookup.
* **A duplicate is recorded, not sent.** A later line reusing an id gets an error record under
  its own implicit id, so "the last line per id" still finds the first line's result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator, Mapping
from pathlib import Path
from typing import IO, Any

import attrs
import orjson

from ._errors import RequestValidationError

__all__ = [
    "IdLedger",
    "InputStats",
    "count_lines",
    "id_key",
    "implicit_id",
    "is_record_id",
    "read_requests",
    "shard_of",
]

_CHUNK = 1 << 20

NO_MODEL = (
    'the line names no "model": give it one, pass a default model (--model), or allow the '
    "account's default model (--allow-default-model)"
)


def implicit_id(line_no: int) -> dict[str, int]:
    """The id of a line that gives none: ``{"line": N}`` (1-based)."""
    return {"line": line_no}


def _is_explicit_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def is_record_id(value: Any) -> bool:
    """Whether ``value`` is an id this command writes: explicit, or ``{"line": N}``."""
    if _is_explicit_id(value):
        return True
    return (
        isinstance(value, dict)
        and len(value) == 1
        and isinstance(value.get("line"), int)
        and not isinstance(value["line"], bool)
    )


def id_key(item_id: Any) -> str:
    """The canonical form of an id: its JSON (sorted keys), so ``7`` and ``"7"`` differ.

    A ``str``, not the ``bytes`` orjson returns: such a ``bytes`` keeps the encoder's whole
    buffer (about 4 KB) alive, and the ledger holds one key per id of a run.
    """
    return orjson.dumps(item_id, option=orjson.OPT_SORT_KEYS).decode()


def shard_of(item_id: Any, shards: int) -> int:
    """Which of ``shards`` shards an id belongs to: a stable hash, the same on every machine
    and Python version (BLAKE2b of the id's JSON, not ``hash()``)."""
    digest = hashlib.blake2b(id_key(item_id).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


class IdLedger:
    """Every id a run knows about, one dictionary entry each.

    The value packs three facts into one small int (one object per id, not three): bit 0 the
    id has a record in the output, bit 1 its latest record succeeded, and the rest the first
    input line that used it in this run (0 = not read yet).
    """

    __slots__ = ("_ids",)

    _IN_OUTPUT = 1
    _OK = 2

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def record(self, key: str, ok: bool) -> None:
        """An output record for ``key``; the latest one read wins."""
        line = self._ids.get(key, 0) & ~3
        self._ids[key] = line | self._IN_OUTPUT | (self._OK if ok else 0)

    def in_output(self, key: str) -> bool:
        return bool(self._ids.get(key, 0) & self._IN_OUTPUT)

    def done(self, key: str, *, retry_errors: bool) -> bool:
        """Whether the id needs no run: recorded (successfully, with ``retry_errors``)."""
        value = self._ids.get(key, 0)
        if retry_errors:
            return bool(value & self._OK)
        return bool(value & self._IN_OUTPUT)

    def claim(self, key: str, line_no: int) -> int:
        """Note that ``line_no`` uses ``key``; the first line that did (0 if it is this one)."""
        value = self._ids.get(key, 0)
        first = value >> 2
        if first:
            return first
        self._ids[key] = value | (line_no << 2)
        return 0


@attrs.define
class InputStats:
    lines: int = 0  # lines read, blank ones included
    items: int = 0  # items handed to the batch
    skipped: int = 0  # already in the output
    other_shard: int = 0
    bad: int = 0  # lines that are not a request, or whose id is not a string or integer
    duplicates: int = 0  # lines reusing an id of an earlier line (never sent)
    no_model: int = 0  # lines refused because they name no model
    default_model: int = 0  # lines sent without a model (allowed)
    exhausted: bool = False


def _bad(line_no: int, message: str) -> RequestValidationError:
    return RequestValidationError(message, path=f"line {line_no}")


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def read_requests(
    lines: IO[bytes],
    *,
    ledger: IdLedger,
    model: str | None = None,
    allow_default_model: bool = False,
    shard: tuple[int, int] | None = None,
    retry_errors: bool = False,
    stats: InputStats | None = None,
) -> Generator[tuple[tuple[int, Any], Mapping[str, Any] | Exception], None, None]:
    """Batch items from JSONL: ``((line_no, id), request_fields or error)`` per line to run.

    A line is a JSON object of ``create()`` fields with an optional ``"id"`` (a string or an
    integer; a missing or null id makes it ``{"line": N}``). ``model`` fills in a missing
    ``"model"``; without it such a line is an error unless ``allow_default_model``. A line that
    cannot be run (not a JSON object, a bad id, a duplicate id, no model) yields a
    :class:`RequestValidationError` naming its line, so it becomes that line's error record.
    Lines of other shards, and ids the output already holds (holds successfully, with
    ``retry_errors``), are left out.
    """
    counts = stats if stats is not None else InputStats()
    for line_no, raw in enumerate(lines, start=1):
        counts.lines = line_no
        if not raw.strip():
            continue
        item_id: Any = implicit_id(line_no)
        given: Any = None
        payload: dict[str, Any] | Exception
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            payload = _bad(line_no, f"invalid JSON: {exc}")
        else:
            if not isinstance(obj, dict):
                payload = _bad(line_no, f"expected a JSON object, got {_kind(obj)}")
            else:
                given = obj.pop("id", None)
                payload = obj
                if given is not None:
                    if _is_explicit_id(given):
                        item_id = given
                    else:
                        payload = _bad(
                            line_no, f'"id" must be a string or an integer, got {_kind(given)}'
                        )
        if shard is not None and shard_of(item_id, shard[1]) != shard[0]:
            counts.other_shard += 1
            continue
        key = id_key(item_id)
        first = ledger.claim(key, line_no)
        if first:  # only explicit ids repeat: implicit ones name distinct lines
            counts.duplicates += 1
            item_id = implicit_id(line_no)
            key = id_key(item_id)
            if ledger.in_output(key):  # an earlier run wrote this line's record
                continue
            shown = orjson.dumps(given).decode()
            payload = _bad(line_no, f"duplicate id {shown}: line {first} has it; not sent")
        elif ledger.done(key, retry_errors=retry_errors):
            counts.skipped += 1
            continue
        elif isinstance(payload, Exception):
            counts.bad += 1
        elif "model" not in payload:
            if model is not None:
                payload["model"] = model
            elif allow_default_model:
                counts.default_model += 1
            else:
                counts.no_model += 1
                payload = _bad(line_no, NO_MODEL)
        counts.items += 1
        yield (line_no, item_id), payload
    counts.exhausted = True


def count_lines(path: Path) -> int:
    """Lines in a file, by newline bytes (one fast pass, no parsing)."""
    count = 0
    last = b"\n"
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")
