"""``openrouter-async batch``: the file rules, each through the real command in a subprocess.

The command never rewrites or truncates a byte it did not write; it refuses (exit 2, one line,
nothing touched) an output that is the input, that is not a results file, that cannot be
written, or that another run holds; it keeps a torn line; SIGTERM stops it like Ctrl-C; a
``kill -9`` at any moment loses no line already written.
"""

from __future__ import annotations

import asyncio
import os
import random
import resource
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from openrouter_async import _cli
from openrouter_async.testing import Emulator
from tests.cli.test_batch_cli import (
    cli_env,
    read_output,
    request_line,
    spawn,
    wait_for_lines,
    write_input,
)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="flock, /proc/locks, signals")

SLOW = "emulator/lorem:tokens=3:latency=0.05"


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(api_key="test-key") as emulator:
        yield emulator


async def run_cli(
    *args: str, emu: Emulator, stdin: Path | None = None, timeout: float = 60
) -> tuple[int, str]:
    if stdin is None:
        proc = await spawn(*args, env=cli_env(emu))
    else:
        with stdin.open("rb") as f:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "openrouter_async",
                "batch",
                *args,
                stdin=f,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=cli_env(emu),
            )
    _, stderr = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, stderr.decode()


def main(*args: str) -> int:
    """The command in this process (for refusals, which happen before anything is sent)."""
    return _cli.main(["batch", *args])


def assert_one_line_refusal(status: int, err: str, *expected: str) -> None:
    assert status == 2, err
    assert err.count("\n") == 1, err  # one line
    assert "Traceback" not in err
    assert "done:" not in err  # no summary of a run that never started
    for text in expected:
        assert text in err, err


def results_file(path: Path, ids: list[str]) -> bytes:
    data = b"".join(
        orjson.dumps({"id": i, "line": n, "ok": True, "result": None, "error": None}) + b"\n"
        for n, i in enumerate(ids, start=1)
    )
    path.write_bytes(data)
    return data


# -- refusals: exit 2, one line, nothing written, nothing sent ----------------------------------


async def test_swapped_arguments_are_refused_and_the_input_is_untouched(
    emu: Emulator, tmp_path: Path
) -> None:
    """The input lacks a final newline, as files saved by editors often do: before, taking it
    for an output with a torn last line cut that request off."""
    requests = tmp_path / "in.jsonl"
    original = ("\n".join(request_line(f"q{i}", f"q{i}", SLOW) for i in range(3))).encode()
    requests.write_bytes(original)
    results = tmp_path / "out.jsonl"
    results_file(results, ["q0"])
    status, err = await run_cli(str(results), str(requests), emu=emu)
    assert_one_line_refusal(status, err, "not a results file", "line 1", "swapped")
    assert requests.read_bytes() == original
    assert emu.requests == []


@pytest.mark.parametrize("how", ["symlink", "stdin"])
async def test_input_and_output_being_the_same_file_is_refused(
    emu: Emulator, tmp_path: Path, how: str
) -> None:
    out = tmp_path / "out.jsonl"
    data = results_file(out, ["a", "b"])  # a results file: before, "2 skipped" and exit 0
    if how == "stdin":
        status, err = await run_cli("-", str(out), emu=emu, stdin=out)
    else:
        (tmp_path / "sym.jsonl").symlink_to(out)
        status, err = await run_cli(str(tmp_path / "sym.jsonl"), str(out), emu=emu)
    assert_one_line_refusal(status, err, "same file")
    assert out.read_bytes() == data
    assert emu.requests == []


@pytest.mark.parametrize("how", ["same path", "relative path", "hard link"])
def test_the_same_file_under_other_names_is_refused(
    tmp_path: Path, how: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "test-key")
    monkeypatch.setenv("OPENROUTER_BASE_URL", "http://127.0.0.1:9")  # never reached
    out = tmp_path / "out.jsonl"
    data = results_file(out, ["a", "b"])
    if how == "hard link":
        os.link(out, tmp_path / "link.jsonl")
    other = {
        "same path": out,
        "relative path": Path(os.path.relpath(out)),
        "hard link": tmp_path / "link.jsonl",
    }[how]
    status = main(str(other), str(out))
    assert_one_line_refusal(status, capsys.readouterr().err, "same file")
    assert out.read_bytes() == data


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("missing/out.jsonl", "No such file or directory"),
        ("a-file/out.jsonl", "Not a directory"),
        ("a-dir", "The output is a directory"),
        ("/sys/out.jsonl", "Cannot open the output /sys/out.jsonl"),  # not writable, even as root
        ("/dev/null", "must be a regular file"),
    ],
)
def test_an_output_that_cannot_be_written_is_one_line_and_exit_2(
    tmp_path: Path,
    where: str,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "test-key")
    monkeypatch.setenv("OPENROUTER_BASE_URL", "http://127.0.0.1:9")  # never reached
    source = write_input(tmp_path / "in.jsonl", [request_line("a", "a", SLOW)])
    (tmp_path / "a-file").write_text("")
    (tmp_path / "a-dir").mkdir()
    output = where if where.startswith("/") else str(tmp_path / where)
    status = main(str(source), output)
    assert_one_line_refusal(status, capsys.readouterr().err, message)
    assert not (tmp_path / "missing").exists()


async def test_an_output_in_a_missing_folder_through_the_command(
    emu: Emulator, tmp_path: Path
) -> None:
    """Before: "done: 0 written", then a traceback and exit 1."""
    source = write_input(tmp_path / "in.jsonl", [request_line("a", "a", SLOW)])
    status, err = await run_cli(str(source), str(tmp_path / "missing" / "out.jsonl"), emu=emu)
    assert_one_line_refusal(status, err, "No such file or directory")
    assert emu.requests == []


def test_a_read_only_file_system_is_one_line_and_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """EROFS cannot be produced without mounting; the open is made to fail as it would."""
    import errno

    monkeypatch.setenv("OPENROUTER_API_KEY", "test-key")
    monkeypatch.setenv("OPENROUTER_BASE_URL", "http://127.0.0.1:9")
    source = write_input(tmp_path / "in.jsonl", [request_line("a", "a", SLOW)])
    real_open = os.open

    def read_only_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if str(path).endswith("out.jsonl") and flags & (os.O_WRONLY | os.O_RDWR):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only_open)
    status = main(str(source), str(tmp_path / "out.jsonl"))
    assert_one_line_refusal(status, capsys.readouterr().err, "Read-only file system")


async def test_an_output_holding_a_json_line_that_is_not_an_object_is_refused(
    emu: Emulator, tmp_path: Path
) -> None:
    """Before, the resume crashed on it (AttributeError)."""
    source = write_input(tmp_path / "in.jsonl", [request_line("a", "a", SLOW)])
    out = tmp_path / "out.jsonl"
    data = results_file(out, ["x"]) + b"[1, 2]\n"
    out.write_bytes(data)
    status, err = await run_cli(str(source), str(out), emu=emu)
    assert_one_line_refusal(status, err, "not a results file", "line 2", "a JSON list")
    assert out.read_bytes() == data
    assert emu.requests == []


@pytest.mark.parametrize(
    ("line", "what"),
    [
        (b"42", "a JSON int"),
        (b'{"id": "q", "messages": []}', 'without the "id" and "ok"'),
        (b'{"id": [1], "ok": true}', 'without the "id" and "ok"'),
        (b"hello", "not JSON"),
    ],
)
def test_an_output_with_a_line_that_is_not_a_record_is_refused(
    tmp_path: Path,
    line: bytes,
    what: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "test-key")
    monkeypatch.setenv("OPENROUTER_BASE_URL", "http://127.0.0.1:9")  # never reached
    source = write_input(tmp_path / "in.jsonl", [request_line("a", "a", SLOW)])
    out = tmp_path / "out.jsonl"
    data = results_file(out, ["x"]) + line + b"\n"
    out.write_bytes(data)
    status = main(str(source), str(out))
    assert_one_line_refusal(status, capsys.readouterr().err, "not a results file", "line 2", what)
    assert out.read_bytes() == data


# -- one run per output ---------------------------------------------------------------------------


async def test_a_second_run_on_the_same_output_is_refused_and_names_the_holder(
    emu: Emulator, tmp_path: Path
) -> None:
    """Two runs started at once, one through a symlink: before, 60 items cost 120 requests."""
    n = 60
    source = write_input(tmp_path / "in.jsonl", [request_line(f"l{i}", f"l{i}") for i in range(n)])
    out = tmp_path / "out.jsonl"
    (tmp_path / "alias.jsonl").symlink_to(out)
    model = "emulator/lorem:tokens=3:latency=0.25"  # ~4 s: both start before either ends
    env = cli_env(emu)
    first = await spawn(str(source), str(out), "-c", "4", "-m", model, env=env)
    second = await spawn(
        str(source), str(tmp_path / "alias.jsonl"), "-c", "4", "-m", model, env=env
    )
    (_, err1), (_, err2) = await asyncio.wait_for(
        asyncio.gather(first.communicate(), second.communicate()), 60
    )
    outcomes = {
        first.returncode: (first, err1.decode()),
        second.returncode: (second, err2.decode()),
    }
    assert set(outcomes) == {0, 2}, outcomes
    winner, refused = outcomes[0][0], outcomes[2][1]
    assert_one_line_refusal(2, refused, "in use by another batch run", f"process {winner.pid}")
    assert len(emu.requests) == n
    assert Counter(r["id"] for r in read_output(out)) == Counter({f"l{i}": 1 for i in range(n)})


# -- signals and crashes --------------------------------------------------------------------------


async def test_sigterm_writes_what_arrived_prints_the_summary_and_exits_143(
    emu: Emulator, tmp_path: Path
) -> None:
    n = 240
    source = write_input(tmp_path / "in.jsonl", [request_line(f"s{i}", f"s{i}") for i in range(n)])
    out = tmp_path / "out.jsonl"
    args = (str(source), str(out), "-c", "8", "-m", "emulator/lorem:tokens=3:latency=0.1")
    proc = await spawn(*args, env=cli_env(emu))
    await wait_for_lines(out, 20, proc)
    in_flight = [r for r in emu.requests if not r.finished]
    proc.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(proc.communicate(), 20)
    text = stderr.decode()
    assert proc.returncode == 143, text
    assert "Traceback" not in text
    records = read_output(out)
    assert f"interrupted: {len(records)} written" in text  # everything taken was written
    assert 20 <= len(records) < n
    assert len({r["id"] for r in records}) == len(records)
    for record in in_flight:  # the connections were closed, so the server stops generating
        if not record.finished:
            await emu.wait_for_disconnect(record, timeout=2)
    status, err = await run_cli(*args, emu=emu)
    assert status == 0, err
    assert Counter(r["id"] for r in read_output(out)) == Counter({f"s{i}": 1 for i in range(n)})


async def test_kill_9_at_random_moments_never_loses_or_changes_a_written_byte(
    emu: Emulator, tmp_path: Path
) -> None:
    """Kill the command at random points (start-up, the resume scan, mid-run), and once leave a
    torn line as a crashed OS would: every byte of the file before each run is still there,
    byte for byte, after it; a final run completes the job with every id once."""
    rng = random.Random(13)
    n = 150
    source = write_input(tmp_path / "in.jsonl", [request_line(f"k{i}", f"k{i}") for i in range(n)])
    out = tmp_path / "out.jsonl"
    args = (str(source), str(out), "-c", "8", "-m", "emulator/lorem:tokens=3:latency=0.02")
    torn = b'{"id":"k-torn","line":0,"ok":tr'
    for round_no in range(7):
        before = out.read_bytes() if out.exists() else b""
        if round_no == 3:
            before += torn  # no final newline: the OS died in the middle of a write
            out.write_bytes(before)
        proc = await spawn(*args, env=cli_env(emu))
        await asyncio.sleep(rng.uniform(0.0, 1.2))
        if proc.returncode is None:
            proc.kill()
        await proc.communicate()
        after = out.read_bytes() if out.exists() else b""
        assert after.startswith(before), f"round {round_no}: bytes written before were changed"
    status, err = await run_cli(*args, emu=emu)
    assert status == 0, err
    final = out.read_bytes()
    assert torn + b"\n" in final  # kept, closed with a newline, never cut
    records = read_output(out, torn=1)
    assert Counter(r["id"] for r in records) == Counter({f"k{i}": 1 for i in range(n)})


async def test_a_full_disk_stops_the_run_with_one_line_and_the_next_run_resumes(
    emu: Emulator, tmp_path: Path
) -> None:
    """RLIMIT_FSIZE makes writes past a size fail (EFBIG), as a full disk does (ENOSPC)."""
    n = 60
    source = write_input(tmp_path / "in.jsonl", [request_line(f"f{i}", f"f{i}") for i in range(n)])
    out = tmp_path / "out.jsonl"
    args = (str(source), str(out), "-c", "4", "-m", "emulator/echo")
    limit = 6000  # room for some records, not all

    def small_files() -> None:  # pragma: no cover - runs in the child
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "openrouter_async",
        "batch",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=cli_env(emu),
        preexec_fn=small_files,
    )
    _, stderr = await asyncio.wait_for(proc.communicate(), 60)
    text = stderr.decode()
    assert proc.returncode == 1, text
    assert "Traceback" not in text
    assert "Cannot write to the output" in text
    assert "done:" in text  # the summary of what was written
    assert 0 < out.stat().st_size <= limit
    before = out.read_bytes()
    status, err = await run_cli(*args, emu=emu)
    assert status == 0, err
    assert out.read_bytes().startswith(before)
    torn = 0 if before.endswith(b"\n") else 1
    assert Counter(r["id"] for r in read_output(out, torn=torn)) == Counter(
        {f"f{i}": 1 for i in range(n)}
    )
