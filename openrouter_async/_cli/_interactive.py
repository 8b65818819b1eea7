"""The interactive chat: ``openrouter-async chat`` with no prompt on a terminal, or ``-i``.

Each line typed is a user message and the whole conversation goes with every turn. Lines are
read with the standard library's ``readline`` where it exists (line editing, and this session's
earlier lines on the arrow keys). A line starting with ``/`` is a command (``/help``).

Ctrl-C while a reply streams cancels that reply's task: leaving ``async with`` closes the HTTP
connection at once, so OpenRouter stops the generation (and its bill), and the prompt comes
back. Ctrl-C at the prompt discards the line; Ctrl-D (end of input) or ``/exit`` leaves with
status 0.

Reading a line blocks the event loop on purpose: nothing else has work between turns, and a
plain ``input()`` in the main thread is what lets readline and Ctrl-C behave as in any shell
(``input()`` in an executor thread could not be interrupted and would keep the process alive).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
import orjson
from rich.console import Console
from rich.text import Text

from .._errors import OpenRouterError
from ._common import (
    format_cost,
    open_client,
    print_error,
    read_prompt,
    stderr_console,
    stdout_console,
)
from ._reply import (
    ReplyState,
    TerminalView,
    default_model,
    request_options,
    stats_line,
    stream_reply,
    thinking_console,
)

if TYPE_CHECKING:
    from .._client import OpenRouter
    from ..types.responses import CompletionUsage

__all__ = ["COMMANDS", "Conversation", "Totals", "converse"]

PROMPT = "> "

#: The slash commands, as ``/help`` lists them.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("/model [ID]", "show the model, or switch to ID"),
    ("/system [TEXT]", "show the system message, set it to TEXT, or remove it with '-'"),
    ("/reset", "forget the conversation (model, system message and totals stay)"),
    ("/save FILE", "write the conversation to FILE as JSON"),
    ("/cost", "tokens and cost so far"),
    ("/help", "this list"),
    ("/exit", "leave (as does Ctrl-D); Ctrl-C stops a reply"),
)


@attrs.define
class Totals:
    """Tokens and cost of the finished replies of one session."""

    replies: int = 0
    stopped: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: Decimal = Decimal(0)
    cost_missing: bool = False

    def add(self, usage: CompletionUsage | None) -> None:
        self.replies += 1
        if usage is None:
            self.cost_missing = True
            return
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        if usage.cost is None:
            self.cost_missing = True
        else:
            self.cost += Decimal(str(usage.cost))

    def line(self) -> str:
        replies = f"{self.replies} repl{'y' if self.replies == 1 else 'ies'}"
        cost = format_cost(self.cost) + (" (some costs unknown)" if self.cost_missing else "")
        text = (
            f"session: {replies}, {self.prompt_tokens} prompt + "
            f"{self.completion_tokens} completion tokens, {cost}"
        )
        if self.stopped:
            text += f"; {self.stopped} stopped (not counted)"
        return text


@contextlib.contextmanager
def _sigint_calls(callback: Callable[[], None]) -> Iterator[None]:
    """Ctrl-C calls ``callback`` inside the block; outside it raises KeyboardInterrupt again.

    Where the loop takes no signal handlers (Windows) Ctrl-C keeps raising KeyboardInterrupt,
    which ends the command with status 130 after the stream is closed.
    """
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, callback)
    except (NotImplementedError, RuntimeError, ValueError):
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)  # puts back signal.default_int_handler


def _release_sigint() -> None:
    """Drop the handler ``run_command`` installed, so that Ctrl-C at the prompt interrupts
    ``input()`` instead of cancelling the whole command."""
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        asyncio.get_running_loop().remove_signal_handler(signal.SIGINT)


def read_line(prompt: str) -> str | None:
    """One line from the user; ``None`` at end of input. Ctrl-C gives an empty line."""
    try:
        return input(prompt)
    except EOFError:
        return None
    except KeyboardInterrupt:
        print(flush=True)  # readline leaves the cursor after the echoed ^C
        return ""


class Conversation:
    """The state of one interactive chat and what each line does to it."""

    def __init__(
        self,
        args: argparse.Namespace,
        client: OpenRouter,
        *,
        out: Console | None = None,
        err: Console | None = None,
    ) -> None:
        self.args = args
        self.client = client
        self.out = out or stdout_console()
        self.err = err or stderr_console()
        self.model = default_model(args)
        self.system: str | None = args.system or None
        self.messages: list[dict[str, str]] = []
        self.totals = Totals()
        self._thinking = thinking_console(args.thinking, self.out)

    # -- what is sent ------------------------------------------------------------------------

    def transcript(self) -> list[dict[str, str]]:
        head = [{"role": "system", "content": self.system}] if self.system else []
        return head + self.messages

    def request(self) -> dict[str, Any]:
        return {"model": self.model, "messages": self.transcript(), **request_options(self.args)}

    # -- one line ----------------------------------------------------------------------------

    async def handle(self, line: str) -> bool:
        """Act on one input line; False when the session should end."""
        text = line.strip()
        if not text:
            return True
        if text.startswith("/"):
            return self.command(text)
        await self.turn(line)
        return True

    async def turn(self, text: str) -> None:
        """Send the conversation plus ``text`` and stream the reply; Ctrl-C stops it."""
        self.messages.append({"role": "user", "content": text})
        state = ReplyState()
        view = TerminalView(self.out, self._thinking)
        task = asyncio.ensure_future(stream_reply(self.client, self.request(), view, state))
        stop_asked = False

        def stop() -> None:
            nonlocal stop_asked
            stop_asked = True
            task.cancel()

        with _sigint_calls(stop):
            try:
                await task
            except asyncio.CancelledError:
                if not (stop_asked and task.cancelled()):
                    raise
            except OpenRouterError as exc:
                self.messages.pop()  # the turn failed: the next line starts from before it
                print_error(exc, self.err)
                return
        if task.cancelled():
            self._stopped(state)
            return
        self._finished(state)

    def _stopped(self, state: ReplyState) -> None:
        self.totals.stopped += 1
        if state.content:  # keep what was shown, so the history matches the screen
            self.messages.append({"role": "assistant", "content": state.content})
        else:
            self.messages.pop()
        self.err.print(Text("[stopped; the stream was closed]", style="yellow"))

    def _finished(self, state: ReplyState) -> None:
        if state.content:
            self.messages.append({"role": "assistant", "content": state.content})
        else:  # nothing to answer to (only thinking, a refusal, or a tool call)
            self.messages.pop()
        self.totals.add(state.usage)
        self.err.print(
            Text(stats_line(state.usage, state.timing, state.finish), style="dim"),
            Text(self.totals.line(), style="dim"),
            sep="\n",
        )

    # -- slash commands ------------------------------------------------------------------------

    def command(self, text: str) -> bool:
        name, _, rest = text.partition(" ")
        rest = rest.strip()
        match name.lower():
            case "/model":
                if rest:
                    self.model = rest
                self._say(f"model: {self.model}")
            case "/system":
                if rest == "-":
                    self.system = None
                elif rest:
                    self.system = rest
                self._say(f"system: {self.system}" if self.system else "no system message")
            case "/reset":
                self.messages.clear()
                self._say("The conversation is forgotten.")
            case "/save":
                self.save(rest)
            case "/cost":
                self._say(self.totals.line())
            case "/help" | "/?":
                for usage, meaning in COMMANDS:
                    self.err.print(Text(f"  {usage:<16} {meaning}"))
            case "/exit" | "/quit":
                return False
            case _:
                print_error(f"Unknown command {name}: /help lists the commands.", self.err)
        return True

    def save(self, target: str) -> None:
        if not target:
            print_error("Usage: /save FILE", self.err)
            return
        path = os.path.expanduser(target)
        data = {"model": self.model, "messages": self.transcript()}
        try:
            with open(path, "wb") as file:
                file.write(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
        except OSError as exc:
            print_error(f"Cannot save to {target}: {exc.strerror or exc}", self.err)
            return
        self._say(f"Saved {len(data['messages'])} messages to {target}")

    def _say(self, text: str) -> None:
        self.err.print(Text(text, style="cyan"))


async def converse(args: argparse.Namespace) -> int:
    """Run the interactive chat until end of input; the exit status."""
    with contextlib.suppress(ImportError):  # absent on Windows: plain input() still works
        import readline  # noqa: F401  (importing it turns on line editing for input())
    async with open_client(args) as client:
        chat = Conversation(args, client)
        where = " on the emulator" if args.emulator else ""
        chat.err.print(
            Text(
                f"Chatting with {chat.model}{where}. /help lists the commands; "
                "Ctrl-C stops a reply, Ctrl-D leaves.",
                style="dim",
            )
        )
        _release_sigint()
        if args.prompt is not None:
            await chat.turn(read_prompt(args.prompt))
        # Lines piped in (a script of turns) get no prompt, so stdout holds only the replies.
        stdin = sys.stdin
        on_terminal = stdin is not None and stdin.isatty()
        while True:
            line = read_line(PROMPT if on_terminal else "")
            if line is None:
                if on_terminal:
                    chat.out.out("")  # end the prompt's line
                break
            if not await chat.handle(line):
                break
        chat.err.print(Text(chat.totals.line(), style="dim"))
    return 0
