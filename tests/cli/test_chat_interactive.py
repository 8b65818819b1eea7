"""The interactive chat, driven through a pseudo-terminal as a person would drive it.

The child is ``python -m openrouter_async chat ...`` with a pty as its stdin, stdout, stderr
and controlling terminal, so readline is active and a typed Ctrl-C (``\\x03``) is turned into
SIGINT by the terminal driver, exactly as at a shell. Tests that inspect what was sent point
the child at an emulator running in this test's event loop (``OPENROUTER_BASE_URL``); one runs
the child with its own ``--emulator``. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import re
import struct
import sys
import termios
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openrouter_async.testing import Emulator, RequestRecord

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")

WAIT = 15.0
KEY = "pty-key"

# The child makes the pty its controlling terminal (it is a session leader: start_new_session),
# then becomes the CLI. Without a controlling terminal a typed ^C would signal nobody.
LAUNCH = (
    "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.executable, [sys.executable, '-m', 'openrouter_async', *sys.argv[1:]])"
)
# CSI sequences (colours, bracketed paste), other two-byte escapes, readline's prompt markers.
ESCAPES = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]|[\x01\x02]")


class Terminal:
    """A child process on a pseudo-terminal: type into it, wait for text to appear."""

    def __init__(self, proc: asyncio.subprocess.Process, master: int) -> None:
        self.proc = proc
        self.master = master
        self.raw = b""
        self.pos = 0  # how much of the cleaned text earlier expect() calls consumed
        self.eof = False
        self._changed = asyncio.Event()
        asyncio.get_running_loop().add_reader(master, self._read)

    @classmethod
    async def open(cls, *args: str, env: dict[str, str]) -> Terminal:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                LAUNCH,
                *args,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=env,
                start_new_session=True,
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        os.set_blocking(master, False)
        return cls(proc, master)

    def _read(self) -> None:
        try:
            data = os.read(self.master, 65536)
        except BlockingIOError:
            return
        except OSError:  # EIO: the child closed its side
            data = b""
        if data:
            self.raw += data
        else:
            self.eof = True
            asyncio.get_running_loop().remove_reader(self.master)
        self._changed.set()

    @property
    def text(self) -> str:
        return ESCAPES.sub("", self.raw.decode(errors="replace")).replace("\r", "")

    async def expect(self, pattern: str, timeout: float = WAIT) -> re.Match[str]:
        """Wait for ``pattern`` in the output after the last match; consume up to its end."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = re.compile(pattern).search(self.text, self.pos)
            if found:
                self.pos = found.end()
                return found
            left = deadline - loop.time()
            if self.eof or left <= 0:
                raise AssertionError(
                    f"{pattern!r} did not appear; output after the last match:\n"
                    f"{self.text[self.pos :]!r}"
                )
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):  # not TimeoutError before 3.11
                await asyncio.wait_for(self._changed.wait(), left)

    async def prompt(self) -> None:
        await self.expect(r"(?m)^> $")

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    async def say(self, line: str) -> None:
        """Type ``line`` and Enter at the next prompt."""
        await self.prompt()
        self.type(line + "\r")

    async def wait(self, timeout: float = WAIT) -> int:
        return await asyncio.wait_for(self.proc.wait(), timeout)

    async def close(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        if not self.eof:
            asyncio.get_running_loop().remove_reader(self.master)
        os.close(self.master)


def pty_env(**extra: str) -> dict[str, str]:
    unwanted = ("OPENROUTER_API_KEY", "OPENROUTER_BASE_URL", "PYTHONUNBUFFERED", "NO_COLOR")
    env = {k: v for k, v in os.environ.items() if k not in unwanted}
    env.update(TERM="xterm", COLUMNS="120", PYTHONWARNINGS="always::ResourceWarning", **extra)
    return env


def assert_clean(text: str) -> None:
    for bad in ("Traceback", "ResourceWarning", "Unclosed", "Task was destroyed"):
        assert bad not in text, text


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(api_key=KEY) as emu:
        yield emu


@pytest.fixture
async def terminals() -> AsyncIterator[list[Terminal]]:
    opened: list[Terminal] = []
    yield opened
    for terminal in opened:
        await terminal.close()


async def chat_against(emu: Emulator, terminals: list[Terminal], *args: str) -> Terminal:
    env = pty_env(OPENROUTER_API_KEY=KEY, OPENROUTER_BASE_URL=emu.base_url)
    terminal = await Terminal.open("chat", *args, env=env)
    terminals.append(terminal)
    return terminal


def chats(emu: Emulator) -> list[RequestRecord]:
    return [r for r in emu.requests if r.endpoint == "/chat/completions"]


async def test_each_turn_sends_the_whole_conversation(
    emulator: Emulator, terminals: list[Terminal]
) -> None:
    term = await chat_against(emulator, terminals, "-m", "emulator/echo")
    await term.expect(r"Chatting with emulator/echo")
    await term.say("first words here")
    await term.expect(r"\nfirst words here\n")
    await term.expect(r"3 completion tokens .*\nsession: 1 reply, \d+ prompt \+ 3 completion")
    await term.say("and a second")
    await term.expect(r"\nand a second\n")
    await term.expect(r"session: 2 replies, \d+ prompt \+ 6 completion tokens, \$")
    await term.say("/system Be brief.")
    await term.expect(r"system: Be brief\.")
    await term.say("/model emulator/lorem:tokens=4")
    await term.expect(r"model: emulator/lorem:tokens=4")
    await term.say("third")
    await term.expect(r"\nLorem ipsum dolor sit\n")
    await term.prompt()
    term.type("\x04")  # Ctrl-D
    assert await term.wait() == 0
    await term.expect(r"session: 3 replies")
    assert_clean(term.text)

    first, second, third = (r.body for r in chats(emulator))
    assert first["model"] == second["model"] == "emulator/echo"
    assert first["messages"] == [{"role": "user", "content": "first words here"}]
    assert second["messages"] == [
        {"role": "user", "content": "first words here"},
        {"role": "assistant", "content": "first words here"},
        {"role": "user", "content": "and a second"},
    ]
    assert third["model"] == "emulator/lorem:tokens=4"
    assert third["messages"][0] == {"role": "system", "content": "Be brief."}
    assert third["messages"][1:] == [
        *second["messages"],
        _assistant("and a second"),
        _user("third"),
    ]
    assert all(r.body["stream"] for r in chats(emulator))


def _user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def _assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


async def test_ctrl_c_stops_the_reply_closes_the_stream_and_returns_to_the_prompt(
    emulator: Emulator, terminals: list[Terminal]
) -> None:
    term = await chat_against(emulator, terminals, "-m", "emulator/lorem:tokens=500:tps=25")
    await term.say("a long one")
    await term.expect(r"Lorem ipsum dolor")
    (record,) = chats(emulator)
    assert record.disconnected_at is None
    term.type("\x03")  # Ctrl-C, turned into SIGINT by the terminal
    await emulator.wait_for_disconnect(record, timeout=5)
    assert not record.completed
    assert record.tokens_sent < 500
    await term.expect(r"\[stopped; the stream was closed\]")
    await term.say("/cost")
    await term.expect(r"session: 0 replies, 0 prompt \+ 0 completion tokens, \$0; 1 stopped")
    await term.say("/model emulator/echo")
    await term.say("still here?")
    await term.expect(r"\nstill here\?\n")
    await term.prompt()
    term.type("\x04")
    assert await term.wait() == 0
    assert_clean(term.text)

    second = chats(emulator)[1].body["messages"]
    assert second[0] == _user("a long one")
    # the partial answer the user saw stays in the history
    assert second[1]["role"] == "assistant"
    assert second[1]["content"].startswith("Lorem ipsum dolor")
    assert second[2] == _user("still here?")


async def test_with_the_builtin_emulator_commands_and_hostile_input(
    terminals: list[Terminal], tmp_path: Path
) -> None:
    term = await Terminal.open("chat", "--emulator", env=pty_env())
    terminals.append(term)
    await term.expect(r"Chatting with emulator/echo on the emulator")
    await term.say("hello there")
    await term.expect(r"\nhello there\n")
    await term.say("/frobnicate")
    await term.expect(r"Unknown command /frobnicate: /help lists the commands\.")
    await term.say("/help")
    for usage in ("/model", "/system", "/reset", "/save FILE", "/cost", "/help"):
        await term.expect(re.escape(usage))
    await term.say(f"/save {tmp_path}/no/such/dir/chat.json")
    await term.expect(r"Cannot save to .*chat\.json: No such file or directory")
    saved = tmp_path / "chat.json"
    await term.say(f"/save {saved}")
    await term.expect(r"Saved 2 messages to")
    assert json.loads(saved.read_text()) == {
        "model": "emulator/echo",
        "messages": [_user("hello there"), _assistant("hello there")],
    }
    await term.say("/reset")
    await term.expect(r"The conversation is forgotten\.")
    await term.prompt()
    term.type("half a line\x03")  # Ctrl-C at the prompt discards the line
    await term.say("again")
    await term.expect(r"\nagain\n")
    await term.say(f"/save {saved}")
    await term.expect(r"Saved 2 messages to")
    assert json.loads(saved.read_text())["messages"] == [_user("again"), _assistant("again")]
    await term.prompt()
    term.type("\x1b[A\x1b[A\x1b[D\x1b[D!\r")  # readline: two lines back, edit, Enter
    await term.expect(r"\naga!in\n")
    await term.say("/exit")
    assert await term.wait() == 0
    await term.expect(r"session: 3 replies")
    assert_clean(term.text)
