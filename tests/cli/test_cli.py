"""The command line, end to end: each test runs ``python -m openrouter_async`` in a subprocess.

The environment has no ``OPENROUTER_API_KEY`` (unless a test sets one) and surfaces
ResourceWarnings, so an unclosed socket or session shows up in stderr. Every subprocess call
has a timeout; everything talks to an emulator on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from typing import Any

import pytest

import openrouter_async as ora
from openrouter_async._cli.demo import SECTIONS
from openrouter_async.testing import Emulator

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

TIMEOUT = 30


def cli_env(**extra: str) -> dict[str, str]:
    unwanted = ("OPENROUTER_API_KEY", "OPENROUTER_BASE_URL", "PYTHONUNBUFFERED")
    env = {k: v for k, v in os.environ.items() if k not in unwanted}  # the CLI flushes itself
    env.update(COLUMNS="120", PYTHONWARNINGS="always::ResourceWarning", **extra)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "openrouter_async", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=env or cli_env(),
        timeout=TIMEOUT,
        check=False,
    )


def assert_clean(stderr: str) -> None:
    for bad in ("Traceback", "ResourceWarning", "Unclosed", "Task was destroyed"):
        assert bad not in stderr, stderr


async def spawn(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "openrouter_async",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        start_new_session=True,
    )


async def finish(proc: asyncio.subprocess.Process) -> tuple[int, str, str]:
    try:
        out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    except BaseException:
        proc.kill()
        await proc.communicate()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


# -- chat ------------------------------------------------------------------------------------


def test_chat_emulator_streams_the_echo() -> None:
    result = run_cli("chat", "--emulator", "hello there")
    assert result.returncode == 0, result.stderr
    assert "hello there" in result.stdout
    assert "completion tokens" in result.stderr
    assert "first token" in result.stderr
    assert_clean(result.stderr)


def test_chat_json_emits_one_event_per_line() -> None:
    result = run_cli("chat", "--emulator", "--json", "hello there")
    assert result.returncode == 0, result.stderr
    records: list[dict[str, Any]] = [json.loads(line) for line in result.stdout.splitlines()]
    types = [r["type"] for r in records]
    assert "text" in types
    assert "".join(r["text"] for r in records if r["type"] == "text") == "hello there"
    usage = next(r for r in records if r["type"] == "usage")
    assert usage["completion_tokens"] == 2
    assert usage["total_tokens"] == usage["prompt_tokens"] + 2
    assert types[-1] == "done"
    assert records[-1]["usage"] == {k: v for k, v in usage.items() if k != "type"}
    assert records[-1]["model"] == "emulator/echo"
    assert_clean(result.stderr)


def test_chat_without_key_suggests_the_emulator() -> None:
    result = run_cli("chat", "hello")
    assert result.returncode == 2
    assert "OPENROUTER_API_KEY" in result.stderr
    assert "--emulator" in result.stderr
    assert result.stdout == ""
    assert_clean(result.stderr)


def test_chat_api_error_is_one_red_line_and_status_1() -> None:
    result = run_cli(
        "chat", "--emulator", "-m", "emulator/echo:fault=http(402,message=No credits)", "hi"
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == ["PaymentRequiredError (status 402, payment_required): No credits"]


def test_chat_mid_stream_error_exits_1_without_traceback() -> None:
    # tps spaces the events out: the text must reach the terminal before the error line.
    result = run_cli(
        "chat", "--emulator", "-m", "emulator/lorem:tps=50:fault=mid_error(after=3,code=502)", "x"
    )
    assert result.returncode == 1
    assert result.stdout.startswith("Lorem")
    assert "StreamError (code 502)" in result.stderr
    assert_clean(result.stderr)


def test_chat_interactive_reads_lines_from_a_pipe_too() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "openrouter_async", "chat", "--emulator", "-i", "first"],
        input="second line\n/cost\n",
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "first\nsecond line\n"  # replies only: no prompts when piped
    assert result.stderr.count("session: 2 replies, ") == 3  # after the reply, /cost, at the end
    assert_clean(result.stderr)


def test_chat_piped_keeps_thinking_out_of_stdout() -> None:
    result = run_cli("chat", "--emulator", "-m", "emulator/reasoning", "two words")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "two words\n"
    assert result.stderr.startswith("The user wrote 2 words.")
    assert_clean(result.stderr)


def test_chat_reads_the_prompt_from_stdin() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "openrouter_async", "chat", "--emulator", "-"],
        input="piped words\n",
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "piped words" in result.stdout


async def _interrupt_after_first_output(proc: asyncio.subprocess.Process) -> tuple[int, str, str]:
    assert proc.stdout is not None
    first = await asyncio.wait_for(proc.stdout.read(5), TIMEOUT)
    assert first, "no output before the interrupt"
    proc.send_signal(signal.SIGINT)
    code, out, err = await finish(proc)
    return code, first.decode() + out, err


async def test_sigint_mid_stream_exits_130_without_traceback() -> None:
    proc = await spawn(
        "chat", "--emulator", "--model", "emulator/lorem:tokens=500:tps=20", "go", env=cli_env()
    )
    code, out, err = await _interrupt_after_first_output(proc)
    assert code == 130, err
    assert out.startswith("Lorem")
    assert "Interrupted" in err
    assert_clean(err)


async def test_sigint_closes_the_stream_honouring_base_url_env() -> None:
    async with Emulator(api_key="cli-key") as emu:
        env = cli_env(OPENROUTER_API_KEY="cli-key", OPENROUTER_BASE_URL=emu.base_url)
        proc = await spawn("chat", "-m", "emulator/lorem:tokens=500:tps=20", "go", env=env)
        code, out, err = await _interrupt_after_first_output(proc)
        record = await emu.wait_for_request("/chat/completions", timeout=1)
        await emu.wait_for_disconnect(record, timeout=5)
    assert code == 130, err
    assert out.startswith("Lorem")
    assert record.streamed
    assert not record.completed
    assert_clean(err)


# -- models ----------------------------------------------------------------------------------


def test_models_emulator_prints_a_table() -> None:
    result = run_cli("models", "--emulator")
    assert result.returncode == 0, result.stderr
    assert "emulator/echo" in result.stdout
    assert "prompt $/1M" in result.stdout
    assert "$1.00" in result.stdout  # emulator models cost $1/M prompt tokens
    assert_clean(result.stderr)


def test_models_filters() -> None:
    result = run_cli("models", "--emulator", "--author", "emulator", "-q", "lo", "--limit", "5")
    assert result.returncode == 0, result.stderr
    assert "emulator/lorem" in result.stdout
    assert "emulator/echo" not in result.stdout
    assert "openai/" not in result.stdout


async def test_models_needs_no_key_and_sends_none() -> None:
    async with Emulator(api_key="the-only-key") as emu:
        proc = await spawn("models", "-q", "echo", env=cli_env(OPENROUTER_BASE_URL=emu.base_url))
        code, out, err = await finish(proc)
    assert code == 0, err
    assert "emulator/echo" in out
    (record,) = [r for r in emu.requests if r.endpoint == "/models"]
    assert "Authorization" not in record.headers
    assert record.query["q"] == "echo"
    assert_clean(err)


def test_models_refuses_an_unknown_modality() -> None:
    result = run_cli("models", "--emulator", "--modality", "foo")
    assert result.returncode == 2
    assert "invalid choice: 'foo'" in result.stderr
    assert "embeddings" in result.stderr  # the valid values are listed
    assert result.stdout == ""


# -- emulator --------------------------------------------------------------------------------


async def test_emulator_command_serves_until_ctrl_c() -> None:
    proc = await spawn("emulator", "--port", "0", "--key", "sekret", env=cli_env())
    assert proc.stdout is not None
    base_url = None
    seen = b""
    while base_url is None:
        line = await asyncio.wait_for(proc.stdout.readline(), TIMEOUT)
        assert line, f"emulator exited early: {seen!r}"
        seen += line
        found = re.search(rb"export OPENROUTER_BASE_URL=(\S+)", line)
        if found:
            base_url = found.group(1).decode()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/v1", base_url)
    assert b"OpenRouter emulator listening on" in seen
    async with ora.OpenRouter(api_key="sekret", base_url=base_url, max_retries=0) as client:
        done = await client.chat.completions.create(
            model="emulator/echo", messages=[{"role": "user", "content": "ping pong"}]
        )
        assert done.choices[0].message.content == "ping pong"
    async with ora.OpenRouter(api_key="wrong", base_url=base_url, max_retries=0) as client:
        with pytest.raises(ora.AuthenticationError):
            await client.chat.completions.create(
                model="emulator/echo", messages=[{"role": "user", "content": "x"}]
            )
    proc.send_signal(signal.SIGINT)
    code, out, err = await finish(proc)
    assert code == 0, err
    assert "Emulator stopped" in out
    assert_clean(err)


def test_emulator_port_in_use_is_a_clean_error() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = run_cli("emulator", "--port", str(port))
    assert result.returncode == 1
    assert f"Cannot serve on 127.0.0.1:{port}" in result.stderr
    assert_clean(result.stderr)


# -- demo ------------------------------------------------------------------------------------


def test_demo_runs_every_section() -> None:
    result = run_cli("demo")
    assert result.returncode == 0, result.stderr
    for title in SECTIONS:
        assert title in result.stdout
    assert "fragment:" in result.stdout
    assert "get_weather(city='Paris', unit='celsius')" in result.stdout
    assert "The tool returned:" in result.stdout
    assert "thinking:" in result.stdout
    assert "40 ok, 0 failed" in result.stdout
    assert_clean(result.stderr)
