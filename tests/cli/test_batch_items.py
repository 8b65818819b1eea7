"""``openrouter-async batch``: what each line becomes, through the real command in a subprocess.

Duplicate ids are recorded unsent; implicit ids (``{"line": N}``) never collide with explicit
ones; lines without a model are refused unless allowed; and any single item's failure (here
two poison pills served by a raw socket server: a completion nested 300 levels deep, and an
error whose ``X-Generation-Id`` is not UTF-8) becomes that item's error record while the run
goes on.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from openrouter_async._batch import BatchResult
from openrouter_async._batchfile_output import result_line
from openrouter_async._errors import BadRequestError
from openrouter_async.testing import Emulator
from tests.cli.test_batch_cli import cli_env, latest, read_output, request_line, write_input

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX subprocesses")


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(api_key="test-key") as emulator:
        yield emulator


async def run_cli(*args: str, env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "openrouter_async",
        "batch",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    _, stderr = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    text = stderr.decode()
    assert "Traceback" not in text, text
    return proc.returncode, text


def key(item_id: Any) -> str:
    return json.dumps(item_id)


# -- ids ------------------------------------------------------------------------------------------


async def test_later_duplicate_ids_are_recorded_unsent_and_counted(
    emu: Emulator, tmp_path: Path
) -> None:
    """Before, all three "d" lines were sent and billed, and readers kept one of them."""
    source = write_input(
        tmp_path / "in.jsonl",
        [
            request_line("d", "first d"),
            request_line("e", "e"),
            request_line("d", "second d"),
            request_line("d", "third d"),
        ],
    )
    out = tmp_path / "out.jsonl"
    status, err = await run_cli(str(source), str(out), "-m", "emulator/echo", env=cli_env(emu))
    assert status == 1, err
    assert "2 ok, 2 failed: 2 duplicate ids)" in err
    sent = sorted(r.body["messages"][0]["content"] for r in emu.requests)
    assert sent == ["e", "first d"]
    view = latest(read_output(out))
    assert set(view) == {key("d"), key("e"), key({"line": 3}), key({"line": 4})}
    assert view[key("d")]["ok"] is True  # the reader's "last line per id" finds the result
    assert view[key("d")]["result"]["choices"][0]["message"]["content"] == "first d"
    for line in (3, 4):
        record = view[key({"line": line})]
        assert record["ok"] is False
        assert record["line"] == line
        assert record["attempts"] == 0
        assert record["error"]["message"] == 'duplicate id "d": line 1 has it; not sent'
    # a resume sends nothing and writes nothing more
    before = out.read_bytes()
    status, err = await run_cli(str(source), str(out), "-m", "emulator/echo", env=cli_env(emu))
    assert status == 0, err
    assert out.read_bytes() == before
    assert len(emu.requests) == 2


async def test_an_explicit_id_never_takes_the_place_of_a_line_without_one(
    emu: Emulator, tmp_path: Path
) -> None:
    """Before, ``"id": 3`` was also line 3's implicit id: once the input grew to three lines,
    the resume skipped line 3 as done and it never ran."""
    source = tmp_path / "in.jsonl"
    write_input(source, [request_line(None, "line one"), request_line(3, "explicit three")])
    out = tmp_path / "out.jsonl"
    args = (str(source), str(out), "-m", "emulator/echo")
    assert (await run_cli(*args, env=cli_env(emu)))[0] == 0
    with source.open("a") as f:
        f.write(request_line(None, "line three") + "\n")
    status, err = await run_cli(*args, env=cli_env(emu))
    assert status == 0, err
    assert "2 skipped" in err
    view = latest(read_output(out))
    assert set(view) == {key({"line": 1}), key(3), key({"line": 3})}
    content = view[key({"line": 3})]["result"]["choices"][0]["message"]["content"]
    assert content == "line three"
    assert len(emu.requests) == 3


async def test_ids_that_are_not_strings_or_integers_are_error_records(
    emu: Emulator, tmp_path: Path
) -> None:
    source = write_input(
        tmp_path / "in.jsonl",
        [
            request_line(1.5, "float"),
            request_line(True, "bool"),
            request_line([1], "array"),
            request_line({"line": 4}, "an implicit id given explicitly"),
            request_line("ok", "fine"),
            '{"id": null, "messages": [{"role": "user", "content": "null is no id"}]}',
        ],
    )
    out = tmp_path / "out.jsonl"
    status, err = await run_cli(str(source), str(out), "-m", "emulator/echo", env=cli_env(emu))
    assert status == 1, err
    view = latest(read_output(out))
    assert view[key("ok")]["ok"] is True
    for line, kind in ((1, "a number"), (2, "a boolean"), (3, "an array"), (4, "an object")):
        error = view[key({"line": line})]["error"]
        assert error["message"] == f'"id" must be a string or an integer, got {kind}'
        assert error["path"] == f"line {line}"
    assert view[key({"line": 6})]["ok"] is True  # "id": null is no id
    assert len(emu.requests) == 2


# -- models ---------------------------------------------------------------------------------------


async def test_lines_without_a_model_are_refused_unless_the_default_is_allowed(
    emu: Emulator, tmp_path: Path
) -> None:
    """Before, they were sent without one and the account's default model answered, silently."""
    source = write_input(
        tmp_path / "in.jsonl",
        [
            request_line("named", "named", model="emulator/echo"),
            request_line("bare1", "bare one"),
            request_line("bare2", "bare two"),
        ],
    )
    out = tmp_path / "out.jsonl"
    status, err = await run_cli(str(source), str(out), env=cli_env(emu))
    assert status == 1, err
    assert "1 ok, 2 failed: 2 without a model)" in err
    view = latest(read_output(out))
    assert view[key("named")]["ok"] is True
    for item in ("bare1", "bare2"):
        assert view[key(item)]["attempts"] == 0
        assert "--allow-default-model" in view[key(item)]["error"]["message"]
    assert len(emu.requests) == 1

    status, err = await run_cli(
        str(source), str(out), "--retry-errors", "--allow-default-model", env=cli_env(emu)
    )
    assert status == 0, err
    assert "2 sent without a model (the account's default)" in err
    assert all(r["ok"] for r in latest(read_output(out)).values())
    assert ["model" in r.body for r in emu.requests] == [True, False, False]


# -- poison pills ---------------------------------------------------------------------------------


def _deep(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = [value]
    return value


def _completion(text: str, **extra: Any) -> bytes:
    body = {
        "id": f"gen-{text}",
        "object": "chat.completion",
        "created": 1,
        "model": "poison/test",
        "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4, "cost": 0.5},
        **extra,
    }
    return json.dumps(body).encode()


class PoisonServer:
    """Raw HTTP/1.1 on a socket, so headers can carry bytes no HTTP library would send."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            text = json.loads(await reader.readexactly(length))["messages"][0]["content"]
            self.seen.append(text)
            status, extra = b"200 OK", b""
            if text == "deep":  # 300 levels: past the 254 orjson can write
                payload = _completion(text, deep=_deep(300))
            elif text == "bad header":
                status = b"400 Bad Request"
                extra = b"X-Generation-Id: gen-\xff\xfe\x80\r\n"
                payload = b'{"error": {"code": 400, "message": "refused"}}'
            else:
                payload = _completion(text)
            writer.write(
                b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n" + extra
                + b"Content-Length: " + str(len(payload)).encode()
                + b"\r\nConnection: close\r\n\r\n" + payload
            )  # fmt: skip
            await writer.drain()
        finally:
            writer.close()


@pytest.fixture
async def poison(emu: Emulator) -> AsyncIterator[tuple[PoisonServer, dict[str, str]]]:
    server = PoisonServer()
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    env = cli_env(emu)
    env["OPENROUTER_BASE_URL"] = f"http://127.0.0.1:{port}/api/v1"
    async with listener:
        yield server, env


async def test_poison_pills_become_their_items_error_records_and_the_run_goes_on(
    poison: tuple[PoisonServer, dict[str, str]], tmp_path: Path
) -> None:
    """Before, either item crashed the command with a traceback; it was never written, so each
    resume re-billed it and crashed again, and the items pulled behind it were lost."""
    server, env = poison
    texts = ["a", "deep", "b", "bad header", "c", "d", "e"]
    source = write_input(
        tmp_path / "in.jsonl", [request_line(t, t, model="poison/test") for t in texts]
    )
    out = tmp_path / "out.jsonl"
    status, err = await run_cli(str(source), str(out), "-c", "2", "--max-retries", "0", env=env)
    assert status == 1, err
    records = read_output(out)
    assert Counter(r["id"] for r in records) == Counter(texts)
    view = {r["id"]: r for r in records}
    for text in ("a", "b", "c", "d", "e"):
        assert view[text]["ok"] is True
    deep = view["deep"]
    # Whatever the core makes of such a body, the item has a record and the cost is kept.
    assert deep["ok"] is False or deep["result"] is not None
    if deep["ok"] is False and deep["error"]["type"] == "UnwritableResult":
        assert deep["error"]["generation_id"] == "gen-deep"
        assert deep["cost"] == 0.5
    bad = view["bad header"]
    assert bad["ok"] is False
    assert bad["error"]["status"] == 400
    assert f"{len(texts)} written" in err
    sent = len(server.seen)
    status, err = await run_cli(str(source), str(out), "-c", "2", env=env)
    assert status == 0, err
    assert len(server.seen) == sent  # nothing re-billed on resume


def test_result_line_records_what_orjson_cannot_write() -> None:
    """The engine-side guarantee, independent of what the core parses."""
    from openrouter_async._convert import structure
    from openrouter_async.types.responses import ChatCompletion

    completion = structure(orjson.loads(_completion("x", deep=_deep(300))), ChatCompletion)
    result = BatchResult(index=0, id=(1, "x"), request=None, completion=completion, attempts=1)
    line, ok = result_line(result)
    record = orjson.loads(line)
    assert ok is False
    assert record["id"] == "x"
    assert record["line"] == 1
    assert record["ok"] is False
    assert record["error"]["type"] == "UnwritableResult"
    assert "Recursion limit" in record["error"]["message"]
    assert record["error"]["generation_id"] == "gen-x"
    assert record["usage"] == {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
    assert record["cost"] == 0.5

    error = BadRequestError(
        "refused", status_code=400, code=400, generation_id="gen-\udcff\udcfe", metadata=None
    )
    line, ok = result_line(BatchResult(index=1, id=(2, "y"), request=None, error=error))
    record = orjson.loads(line)
    assert ok is False
    assert record["error"]["type"] == "BadRequestError"
    assert record["error"]["status"] == 400
    assert record["error"]["generation_id"] == "gen-\\udcff\\udcfe"  # the bytes, shown
