"""``openrouter_async.batchfile.run_batch_file``: the public engine cluster tasks call, with the
same file rules as the command, raised as typed errors instead of exit statuses."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

import openrouter_async as ora
from openrouter_async.batchfile import (
    BatchFileError,
    BatchSummary,
    OutputLockedError,
    run_batch_file,
)
from openrouter_async.testing import Emulator
from tests.cli.test_batch_cli import read_output, request_line, write_input

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="flock and /proc/locks")


@pytest.fixture
async def client() -> AsyncIterator[ora.OpenRouter]:
    async with Emulator(api_key="test-key") as emu, emu.client() as client:
        yield client


async def test_the_public_engine_runs_a_file_and_counts_why_lines_were_not_sent(
    client: ora.OpenRouter, tmp_path: Path
) -> None:
    source = write_input(
        tmp_path / "in.jsonl",
        [
            request_line("a", "a"),
            request_line("a", "again"),
            request_line(None, "no id"),
            "[]",
            request_line("m", "own model", model="emulator/echo"),
        ],
    )
    out = tmp_path / "out.jsonl"
    summary = await run_batch_file(client, source, out, model="emulator/echo", concurrency=2)
    assert isinstance(summary, BatchSummary)
    assert (summary.done, summary.succeeded, summary.failed) == (5, 3, 2)
    assert (summary.duplicates, summary.bad_lines, summary.no_model) == (1, 1, 0)
    ids = sorted(orjson.dumps(r["id"]) for r in read_output(out))
    assert ids == sorted([b'"a"', b'{"line":2}', b'{"line":3}', b'{"line":4}', b'"m"'])
    again = await run_batch_file(client, source, out, model="emulator/echo")
    assert (again.done, again.skipped, again.duplicates) == (0, 4, 1)  # the bad line too


async def test_a_held_output_raises_output_locked_error_naming_the_process(
    client: ora.OpenRouter, tmp_path: Path
) -> None:
    lines = [request_line(f"x{i}", f"x{i}") for i in range(20)]
    source = write_input(tmp_path / "in.jsonl", lines)
    out = tmp_path / "out.jsonl"
    model = "emulator/lorem:tokens=2:latency=0.05"
    first = asyncio.create_task(run_batch_file(client, source, out, model=model, concurrency=2))
    while not out.exists() or not out.read_bytes():
        await asyncio.sleep(0.01)
    with pytest.raises(OutputLockedError) as caught:
        await run_batch_file(client, source, out, model=model)
    assert caught.value.pid == os.getpid()  # a flock is per open file, even in one process
    assert isinstance(caught.value, ora.OpenRouterError)
    summary = await first
    assert summary.done == 20
    assert len(read_output(out)) == 20


async def test_file_rules_raise_batch_file_error_before_anything_is_sent(
    client: ora.OpenRouter, tmp_path: Path
) -> None:
    source = write_input(tmp_path / "in.jsonl", [request_line("a", "a", model="emulator/echo")])
    with pytest.raises(BatchFileError, match="same file"):
        await run_batch_file(client, source, source)
    other = write_input(tmp_path / "other.jsonl", [request_line("b", "b", model="emulator/echo")])
    with pytest.raises(BatchFileError, match="not a results file"):
        await run_batch_file(client, other, source)  # the arguments swapped
    with pytest.raises(BatchFileError, match="No such input file"):
        await run_batch_file(client, tmp_path / "missing.jsonl", tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists()
    assert source.read_bytes().count(b"\n") == 1
