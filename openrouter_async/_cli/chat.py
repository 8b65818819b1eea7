"""``openrouter-async chat``: stream one reply to the terminal as it arrives, or converse.

Text goes to stdout the moment each delta is decoded (rich writes and flushes per call, no
line buffering). A reasoning model's thinking is dimmed on a terminal; when stdout is piped it
goes to stderr instead (``--thinking`` chooses), so ``chat ... > answer.txt`` captures only the
answer. The closing stats line (tokens, cost, time to first token, total time) goes to stderr.
With ``--json`` every event is one JSON object per line on stdout, ending with a ``done`` record.

With no prompt on a terminal (or ``-i``) the command opens a conversation instead: see
:mod:`._interactive`.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from rich.text import Text

from .._errors import OpenRouterError
from ._common import (
    CLIError,
    add_client_arguments,
    error_record,
    open_client,
    positive_int,
    read_prompt,
    stderr_console,
    stdout_console,
)
from ._reply import (
    DEFAULT_MODEL,
    EMULATOR_MODEL,
    JsonView,
    ReplyState,
    TerminalView,
    build_request,
    event_record,
    request_options,
    stats_line,
    stream_reply,
    thinking_console,
    usage_record,
)

if TYPE_CHECKING:
    pass

__all__ = [
    "ReplyState",
    "TerminalView",
    "add_arguments",
    "build_request",
    "event_record",
    "request_options",
    "run",
    "stream_reply",
]

REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
THINKING_CHOICES = ("auto", "stdout", "stderr", "hide")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "prompt",
        nargs="?",
        help=(
            "the user message; '-' (or no argument with piped input) reads it from stdin; "
            "no argument on a terminal opens an interactive chat"
        ),
    )
    parser.add_argument(
        "-i",
        "--interactive",
        action="store_true",
        help="converse: keep the history, read one message per line (the prompt, if given, "
        "is the first); /help lists the commands",
    )
    parser.add_argument(
        "-m",
        "--model",
        help=f"model id (default: {DEFAULT_MODEL}; {EMULATOR_MODEL} with --emulator)",
    )
    parser.add_argument("-s", "--system", metavar="TEXT", help="a system message to send first")
    parser.add_argument("-t", "--temperature", type=_temperature, metavar="T", help="0 to 2")
    parser.add_argument("--max-tokens", type=positive_int, metavar="N", help="reply length cap")
    parser.add_argument(
        "--reasoning-effort",
        choices=REASONING_EFFORTS,
        help="ask a reasoning model to think this hard",
    )
    parser.add_argument(
        "--thinking",
        choices=THINKING_CHOICES,
        default="auto",
        help="where a reasoning model's thinking goes (default auto: stdout on a terminal, "
        "stderr when stdout is piped)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print each stream event as one JSON object per line (machine-readable)",
    )
    add_client_arguments(parser)


def _temperature(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 2:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2: {text!r}")
    return value


# -- the command -------------------------------------------------------------------------------


def wants_conversation(args: argparse.Namespace) -> bool:
    """``-i``, or no prompt on a terminal (unless ``--json`` asks for one machine reply)."""
    if args.interactive:
        return True
    stdin = sys.stdin
    return args.prompt is None and not args.json and stdin is not None and stdin.isatty()


async def run(args: argparse.Namespace) -> int:
    if wants_conversation(args):
        if args.json:
            raise CLIError("--json is for one reply; an interactive chat writes to the terminal")
        from ._interactive import converse

        return await converse(args)
    prompt = read_prompt(args.prompt)
    request = build_request(args, prompt)
    out = stdout_console()
    view: JsonView | TerminalView = (
        JsonView(out) if args.json else TerminalView(out, thinking_console(args.thinking, out))
    )
    try:
        return await _stream(args, request, view)
    except (OpenRouterError, CLIError) as exc:
        view.close()
        if isinstance(view, JsonView):
            view.write(error_record(exc))
        raise


async def _stream(
    args: argparse.Namespace, request: dict[str, Any], view: JsonView | TerminalView
) -> int:
    async with open_client(args) as client:
        reply = await stream_reply(client, request, view, ReplyState())
    if isinstance(view, JsonView):
        view.write(
            {
                "type": "done",
                "model": reply.model,
                "generation_id": reply.generation_id,
                "finish_reason": reply.finish,
                "usage": usage_record(reply.usage) if reply.usage is not None else None,
                "time_to_first_token": reply.timing.ttft,
                "elapsed": reply.timing.elapsed,
            }
        )
    else:
        stderr_console().print(
            Text(stats_line(reply.usage, reply.timing, reply.finish), style="dim")
        )
    return 0
