"""``openrouter-async batch`` progress: a bar that stays inside the terminal, and plain lines
every few seconds when stderr is not a terminal (CI, a cluster log, ``nohup``)."""

from __future__ import annotations

import asyncio
import fcntl
import io
import os
import pty
import re
import struct
import sys
import termios
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console

from openrouter_async._cli._batch_progress import BarProgress, fit, status_parts
from openrouter_async.testing import Emulator
from tests.cli.test_batch_cli import (
    cli_env,
    read_output,
    request_line,
    snapshot_for_view,
    write_input,
)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="a pseudo-terminal")

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(api_key="test-key") as emulator:
        yield emulator


def test_fit_keeps_whole_leading_parts() -> None:
    parts = ["10/20", "9 ok", "1 failed", "4 in flight"]
    assert fit(parts, 100) == "10/20 · 9 ok · 1 failed · 4 in flight"
    assert fit(parts, 22) == "10/20 · 9 ok"  # "· 1 failed" would not fit whole
    assert fit(parts, 3) == "10/"
    assert fit(parts, 0) == ""


@pytest.mark.parametrize("width", [30, 40, 60, 80, 120, 200])
def test_the_bar_fits_the_terminal_width(width: int) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, color_system=None, width=width)
    view = BarProgress(console)
    view(snapshot_for_view())
    console.print(view.progress.get_renderable())
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 1, lines
    assert cell_len(lines[0]) <= width, lines
    if width >= 80:  # the counts that matter most are there on a standard terminal
        for text in ("40/100", "38 ok", "2 failed", "8 in flight"):
            assert text in lines[0]
    if width >= 200:
        assert all(part in lines[0] for part in status_parts(snapshot_for_view()))


async def test_without_a_terminal_a_plain_line_comes_every_interval(
    emu: Emulator, tmp_path: Path
) -> None:
    """Before, stderr that is not a terminal showed no progress at all until the end."""
    n = 60
    source = write_input(tmp_path / "in.jsonl", [request_line(f"p{i}", f"p{i}") for i in range(n)])
    model = "emulator/lorem:tokens=3:latency=0.1"
    args = ["-c", "4", "-m", model, "--progress-interval", "0.3"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "openrouter_async",
        "batch",
        str(source),
        str(tmp_path / "out.jsonl"),
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=cli_env(emu),
    )
    _, stderr = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, stderr.decode()
    lines = stderr.decode().splitlines()
    progress = [line for line in lines if line.startswith("batch: ")]
    assert len(progress) >= 3, lines  # a run of ~1.5 s at one line per 0.3 s
    assert all(f"/{n} · " in line and " ok · " in line for line in progress)
    assert "\x1b" not in stderr.decode()  # plain text for a log file
    assert lines[-1].startswith("done: 60 written")


async def test_on_a_narrow_terminal_the_live_bar_never_wraps(emu: Emulator, tmp_path: Path) -> None:
    """Before, the bar was cut at 80 columns; here the terminal is 50 wide."""
    n = 40
    source = write_input(tmp_path / "in.jsonl", [request_line(f"w{i}", f"w{i}") for i in range(n)])
    out = tmp_path / "out.jsonl"
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 50, 0, 0))
    env = {k: v for k, v in cli_env(emu).items() if k not in ("COLUMNS", "LINES")}
    env["TERM"] = "xterm-256color"
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "openrouter_async",
            "batch",
            str(source),
            str(out),
            "-c",
            "4",
            "-m",
            "emulator/lorem:tokens=3:latency=0.1",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=slave,
            env=env,
        )
        os.close(slave)
        slave = -1
        chunks: list[bytes] = []

        def read_all() -> None:
            while True:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    return
                if not data:
                    return
                chunks.append(data)

        reader = asyncio.get_running_loop().run_in_executor(None, read_all)
        assert await asyncio.wait_for(proc.wait(), 60) == 0
        await asyncio.wait_for(reader, 10)
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    text = _ANSI.sub("", b"".join(chunks).decode("utf-8", "replace"))
    pieces = [p for p in re.split(r"[\r\n]", text) if p.strip()]
    bars = [p for p in pieces if "━" in p and "starting" not in p]
    assert bars, pieces
    assert all(cell_len(p) <= 50 for p in bars), [p for p in bars if cell_len(p) > 50]
    # the counts are whole, never cropped away by a bar too wide for the terminal
    whole = re.compile(r" \d+/40 · \d+ ok · \d+ failed")
    assert all(whole.search(p) for p in bars), [p for p in bars if not whole.search(p)]
    assert len(read_output(out)) == n
