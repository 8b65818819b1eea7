"""``openrouter-async batch``: JSONL in, one crash-safe line per result out, resume, shards,
Ctrl-C and SIGKILL. In-process tests drive ``run()`` against an emulator in the test's loop;
the kill and interrupt tests run ``python -m openrouter_async batch`` in a subprocess."""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import json
import os
import random
import signal
import sys
import tracemalloc
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from openrouter_async._batch import BatchProgress
from openrouter_async._batchfile_input import IdLedger, id_key
from openrouter_async._batchfile_output import OutputFile
from openrouter_async._cli import _batch_progress, build_parser
from openrouter_async._cli import batch as batch_cli
from openrouter_async.batchfile import shard_of
from openrouter_async.testing import Emulator

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and os.pread")


# -- helpers --------------------------------------------------------------------------------------


@pytest.fixture
async def emu(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Emulator]:
    async with Emulator(api_key="test-key") as emulator:
        monkeypatch.setenv("OPENROUTER_API_KEY", "test-key")
        monkeypatch.setenv("OPENROUTER_BASE_URL", emulator.base_url)
        yield emulator


def parse(*argv: str) -> argparse.Namespace:
    parser, module = build_parser("batch")
    assert module is batch_cli
    return parser.parse_args(["batch", *argv])


def request_line(item_id: Any, text: str, model: str | None = None, **extra: Any) -> str:
    obj: dict[str, Any] = {"messages": [{"role": "user", "content": text}], **extra}
    if item_id is not None:
        obj["id"] = item_id
    if model is not None:
        obj["model"] = model
    return json.dumps(obj)


def write_input(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def read_output(path: Path, *, torn: int = 0) -> list[dict[str, Any]]:
    """The records, as the documented reader sees them: lines that do not parse (torn
    records, kept by the command) are skipped; there must be exactly ``torn`` of them."""
    data = path.read_bytes()
    assert data == b"" or data.endswith(b"\n"), "a torn last line"
    records, skipped = [], 0
    for line in data.splitlines():
        try:
            records.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            skipped += 1
    assert skipped == torn
    return records


def latest(records: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    """How readers see the output: the last line per id wins."""
    out: dict[Any, dict[str, Any]] = {}
    for record in records:
        out[json.dumps(record["id"])] = record
    return out


# -- the basics -----------------------------------------------------------------------------------


async def test_each_line_becomes_one_record_and_bad_lines_name_their_line(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_input(
        tmp_path / "in.jsonl",
        [
            request_line("a", "hello a"),
            request_line(None, "no id here"),
            "{not json",
            "[1, 2]",
            "",
            request_line(7, "numeric id", model="emulator/echo:fault=http(400)"),
            request_line("b", "x", bogus=True),
        ],
    )
    out = tmp_path / "out.jsonl"
    status = await batch_cli.run(parse(str(source), str(out), "--model", "emulator/echo"))
    assert status == 1  # some failed
    records = {json.dumps(r["id"]): r for r in read_output(out)}
    # lines without an id are named {"line": N}: never equal to an explicit id like 7
    assert set(records) == {'"a"', '{"line": 2}', '{"line": 3}', '{"line": 4}', "7", '"b"'}
    ok = records['"a"']
    assert ok["ok"] is True
    assert ok["line"] == 1
    assert ok["error"] is None
    assert ok["result"]["choices"][0]["message"]["content"] == "hello a"
    assert ok["result"]["model"] == "emulator/echo"
    assert ok["usage"]["total_tokens"] == ok["usage"]["prompt_tokens"] + 2
    assert ok["cost"] > 0
    assert ok["attempts"] == 1
    assert ok["latency"] >= 0
    assert records['{"line": 2}']["ok"] is True
    assert records['{"line": 2}']["line"] == 2
    for key, line in (('{"line": 3}', 3), ('{"line": 4}', 4)):
        bad = records[key]
        assert bad["ok"] is False
        assert bad["line"] == line
        assert bad["result"] is None
        assert bad["error"]["type"] == "RequestValidationError"
        assert bad["error"]["path"] == f"line {line}"
        assert bad["attempts"] == 0
    assert "invalid JSON" in records['{"line": 3}']["error"]["message"]
    assert records["7"]["error"]["type"] == "BadRequestError"
    assert records["7"]["error"]["status"] == 400
    assert records["7"]["error"]["retryable"] is False
    assert records['"b"']["error"]["type"] == "RequestValidationError"
    assert records['"b"']["line"] == 7
    err = capsys.readouterr().err
    assert "done: 6 written" in err
    assert "2 ok, 4 failed: 2 bad input lines)" in err
    assert "tokens" in err
    assert "wall" in err


async def test_ordered_output_follows_the_input(emu: Emulator, tmp_path: Path) -> None:
    rng = random.Random(5)
    lines = [
        request_line(f"o{i}", f"m{i}", model=f"emulator/echo:latency={rng.choice([0, 0.02])}")
        for i in range(60)
    ]
    source = write_input(tmp_path / "in.jsonl", lines)
    out = tmp_path / "out.jsonl"
    assert await batch_cli.run(parse(str(source), str(out), "--ordered", "-c", "8")) == 0
    assert [r["id"] for r in read_output(out)] == [f"o{i}" for i in range(60)]


# -- resume ---------------------------------------------------------------------------------------


async def test_rerun_skips_every_finished_id_and_retry_errors_supersedes(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # lines 3 and 6 are refused (400, not retryable) the first time their body is seen only
    flaky = "emulator/echo:fault=fail_first(1,status=400)"
    lines = [
        request_line(f"r{i}", f"text {i}", model=flaky if i in (3, 6) else "emulator/echo")
        for i in range(10)
    ]
    source = write_input(tmp_path / "in.jsonl", lines)
    out = tmp_path / "out.jsonl"
    assert await batch_cli.run(parse(str(source), str(out))) == 1
    first = read_output(out)
    assert len(first) == 10
    assert {r["id"] for r in first if not r["ok"]} == {"r3", "r6"}

    capsys.readouterr()
    sent = len(emu.requests)
    assert await batch_cli.run(parse(str(source), str(out))) == 0  # nothing left to do
    assert len(emu.requests) == sent
    assert len(read_output(out)) == 10
    assert "10 skipped" in capsys.readouterr().err

    assert await batch_cli.run(parse(str(source), str(out), "--retry-errors")) == 0
    records = read_output(out)
    assert len(records) == 12  # two superseding records appended
    assert [r["id"] for r in records[10:]] == ["r3", "r6"] or sorted(
        r["id"] for r in records[10:]
    ) == ["r3", "r6"]
    view = latest(records)
    assert len(view) == 10
    assert all(r["ok"] for r in view.values())
    assert len(emu.requests) == sent + 2


async def test_a_torn_last_line_is_kept_and_closed_before_resuming(
    emu: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_input(
        tmp_path / "in.jsonl",
        [request_line(f"t{i}", f"t{i}", model="emulator/echo") for i in range(5)],
    )
    out = tmp_path / "out.jsonl"
    done = {"id": "t0", "line": 1, "ok": True, "result": None, "error": None}
    before = orjson.dumps(done) + b"\n" + b'{"id":"t1","line":2,"ok":tr'
    out.write_bytes(before)
    assert await batch_cli.run(parse(str(source), str(out))) == 0
    after = out.read_bytes()
    # not a byte of what was there is lost: the torn line is closed, not cut
    assert after.startswith(before + b"\n")
    records = read_output(out, torn=1)
    assert Counter(r["id"] for r in records) == Counter({f"t{i}": 1 for i in range(5)})
    assert records[0] == done  # the finished line was kept, t0 not re-run
    assert "1 torn line(s) in the output kept" in capsys.readouterr().err


def test_the_output_scan_keeps_the_last_record_per_id(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    lines = [
        {"id": "x", "ok": False},
        {"id": "y", "ok": True},
        {"id": "x", "ok": True},
        {"id": 1, "ok": False},
        {"id": "1", "ok": True},
        {"id": {"line": 4}, "ok": False},
    ]
    out.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines) + b'{"id":"z",\n')
    ledger = IdLedger()
    output = OutputFile.open(out)
    try:
        assert output.scan(ledger) is False  # the file ends with a newline
    finally:
        output.close()
    assert output.records == 6
    assert output.torn == 1
    assert len(ledger) == 5
    for key, ok in [('"x"', True), ('"y"', True), ("1", False), ('"1"', True)]:
        assert ledger.in_output(key)
        assert ledger.done(key, retry_errors=True) is ok
    assert ledger.in_output(id_key({"line": 4}))
    assert not ledger.in_output("4")  # the implicit id of line 4 is not the explicit 4


def test_the_resume_set_costs_about_a_hundred_bytes_per_id(tmp_path: Path) -> None:
    """A million-line job resumes in about 100 MB: the ledger's keys are compact strings (an
    orjson ``bytes`` key would keep a 4 KB buffer alive per id, 4 GB for a million)."""
    n = 50_000
    out = tmp_path / "out.jsonl"
    out.write_bytes(
        b"".join(orjson.dumps({"id": f"item-{i:08d}", "ok": True}) + b"\n" for i in range(n))
    )
    gc.collect()
    tracemalloc.start()
    try:
        ledger = IdLedger()
        output = OutputFile.open(out)
        try:
            output.scan(ledger)
        finally:
            output.close()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(ledger) == n
    assert held / n < 200, f"{held / n:.0f} bytes per id"


# -- shards ---------------------------------------------------------------------------------------


def test_shard_of_is_stable_and_spreads() -> None:
    # pinned: changing the hash would silently re-split jobs already running on many machines
    assert [shard_of(f"id-{i}", 4) for i in range(8)] == [3, 1, 1, 0, 0, 3, 1, 1]
    assert shard_of(12, 1000) == 787
    assert shard_of("12", 1000) != 787  # the JSON of the id, so 12 and "12" differ
    assert shard_of({"b": 1, "a": 2}, 7) == shard_of({"a": 2, "b": 1}, 7)
    assert shard_of("id-0", 1) == 0
    counts = Counter(shard_of(f"k{i}", 4) for i in range(4000))
    assert set(counts) == {0, 1, 2, 3}
    assert min(counts.values()) > 850
    with pytest.raises(argparse.ArgumentTypeError):
        batch_cli.parse_shard("4/4")
    with pytest.raises(argparse.ArgumentTypeError):
        batch_cli.parse_shard("1")
    assert batch_cli.parse_shard("3/4") == (3, 4)


async def test_shards_split_the_input_by_id_whatever_the_line_order(
    emu: Emulator, tmp_path: Path
) -> None:
    ids = [f"s{i}" for i in range(90)]
    lines = [request_line(i, f"text {i}", model="emulator/echo") for i in ids]
    source = write_input(tmp_path / "in.jsonl", lines)
    shuffled = lines[:]
    random.Random(1).shuffle(shuffled)
    source2 = write_input(tmp_path / "in-shuffled.jsonl", shuffled)
    parts: list[set[str]] = []
    for index in range(3):
        out = tmp_path / f"out.{index}.jsonl"
        await batch_cli.run(parse(str(source), str(out), "--shard", f"{index}/3"))
        parts.append({r["id"] for r in read_output(out)})
        out2 = tmp_path / f"out-shuffled.{index}.jsonl"
        await batch_cli.run(parse(str(source2), str(out2), "--shard", f"{index}/3"))
        assert {r["id"] for r in read_output(out2)} == parts[-1]  # line order is irrelevant
    assert set().union(*parts) == set(ids)
    assert sum(len(p) for p in parts) == len(ids)  # disjoint
    assert all(parts)


# -- cancellation ---------------------------------------------------------------------------------


async def test_cancelling_the_command_writes_whole_lines_and_closes_connections(
    emu: Emulator, tmp_path: Path
) -> None:
    lines = [
        request_line(
            f"c{i}", f"c{i}", model=f"emulator/lorem:tokens=3:latency={0.3 if i > 20 else 0}"
        )
        for i in range(80)
    ]
    source = write_input(tmp_path / "in.jsonl", lines)
    out = tmp_path / "out.jsonl"
    task = asyncio.create_task(batch_cli.run(parse(str(source), str(out), "-c", "8")))
    while sum(1 for r in emu.requests if not r.finished) < 8 or len(emu.requests) < 24:
        await asyncio.sleep(0.01)
    in_flight = [r for r in emu.requests if not r.finished]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for record in in_flight:
        await emu.wait_for_disconnect(record, timeout=2)
    records = read_output(out)
    assert len(records) >= 21
    assert len({r["id"] for r in records}) == len(records)
    assert all(r["ok"] for r in records)
    # and a re-run finishes the job without duplicates
    assert await batch_cli.run(parse(str(source), str(out), "-c", "16")) == 0
    assert Counter(r["id"] for r in read_output(out)) == Counter({f"c{i}": 1 for i in range(80)})


# -- subprocesses: SIGKILL and Ctrl-C -------------------------------------------------------------


def cli_env(emu: Emulator) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
    env.update(
        OPENROUTER_API_KEY="test-key",
        OPENROUTER_BASE_URL=emu.base_url,
        PYTHONWARNINGS="always::ResourceWarning",
    )
    return env


async def spawn(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
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


def count_lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


async def wait_for_lines(path: Path, n: int, proc: asyncio.subprocess.Process) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while count_lines(path) < n:
        assert proc.returncode is None, "the command ended before it could be interrupted"
        assert loop.time() < deadline, "no progress"
        await asyncio.sleep(0.02)


async def test_a_killed_run_resumes_with_every_id_exactly_once(
    emu: Emulator, tmp_path: Path
) -> None:
    n = 240
    lines = [request_line(f"k{i}", f"k{i}") for i in range(n)]
    source = write_input(tmp_path / "in.jsonl", lines)
    out = tmp_path / "out.jsonl"
    args = (str(source), str(out), "-c", "8", "-m", "emulator/lorem:tokens=3:latency=0.05")
    proc = await spawn(*args, env=cli_env(emu))
    await wait_for_lines(out, 40, proc)
    proc.kill()  # SIGKILL: no cleanup at all
    await proc.communicate()
    killed_at = read_output(out)  # whole lines only
    assert 40 <= len(killed_at) < n
    assert len({r["id"] for r in killed_at}) == len(killed_at)

    proc = await spawn(*args, env=cli_env(emu))
    _stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, stderr.decode()
    assert f"{len(killed_at)} skipped" in stderr.decode()
    records = read_output(out)
    assert Counter(r["id"] for r in records) == Counter({f"k{i}": 1 for i in range(n)})
    assert all(r["ok"] for r in records)
    assert b"Traceback" not in stderr
    assert b"ResourceWarning" not in stderr


async def test_ctrl_c_stops_cleanly_and_keeps_what_was_received(
    emu: Emulator, tmp_path: Path
) -> None:
    lines = [request_line(f"i{i}", f"i{i}") for i in range(400)]
    source = write_input(tmp_path / "in.jsonl", lines)
    out = tmp_path / "out.jsonl"
    args = (str(source), str(out), "-c", "8", "-m", "emulator/lorem:tokens=3:latency=0.05")
    proc = await spawn(*args, env=cli_env(emu))
    await wait_for_lines(out, 20, proc)
    in_flight = [r for r in emu.requests if not r.finished]
    proc.send_signal(signal.SIGINT)
    _, stderr = await asyncio.wait_for(proc.communicate(), 20)
    text = stderr.decode()
    assert proc.returncode == 130, text
    assert "interrupted:" in text
    assert "Traceback" not in text
    assert "ResourceWarning" not in text
    records = read_output(out)
    assert 20 <= len(records) < 400
    assert len({r["id"] for r in records}) == len(records)
    for record in in_flight:
        if not record.finished:
            await emu.wait_for_disconnect(record, timeout=2)


# -- the progress bar -----------------------------------------------------------------------------


def snapshot_for_view() -> BatchProgress:
    return BatchProgress(
        total=100,
        done=40,
        succeeded=38,
        failed=2,
        in_flight=8,
        retries=1,
        throttled=1,
        prompt_tokens=1000,
        completion_tokens=234,
        total_tokens=1234,
        cost=0.0123,
        elapsed=4.0,
        rate=10.0,
        eta=6.0,
        cooling_down=0.5,
        concurrency=4,
        finished=False,
    )


def test_progress_view_renders_the_snapshot() -> None:
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=200)
    view = _batch_progress.BarProgress(console)
    view(snapshot_for_view())
    console.print(view.progress.get_renderable())
    text = buffer.getvalue()
    for expected in (
        "40/100",
        "38 ok",
        "2 failed",
        "8 in flight",
        "10.0/s",
        "1,234 tok",
        "$0.0123",
        "ETA 0:06",
    ):
        assert expected in text, text
    assert "cooling down 0.5s" in text
