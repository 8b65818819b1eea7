"""Helpers every command shares: consoles, the client (real or emulated), errors, Ctrl-C.

A command is a module with ``add_arguments(parser)`` and ``async def run(args) -> int``;
:func:`run_command` drives it. Everything a user can get wrong (no key, no prompt, an API
error) ends as one line on stderr and an exit status, never a traceback:

* 0 success, 1 an error from (or reaching) the API, 2 a usage error (bad flags, no key,
  no prompt), 130 interrupted by Ctrl-C (after the open stream and client were closed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from .._errors import (
    APIStatusError,
    MissingAPIKeyError,
    OpenRouterError,
    RequestValidationError,
    StreamError,
)

if TYPE_CHECKING:
    from .._client import OpenRouter

__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "EXIT_API_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "CLIError",
    "add_client_arguments",
    "error_record",
    "format_cost",
    "format_error",
    "open_client",
    "per_million",
    "positive_float",
    "positive_int",
    "print_error",
    "read_prompt",
    "run_command",
    "stderr_console",
    "stdout_console",
]

API_KEY_ENV = "OPENROUTER_API_KEY"
BASE_URL_ENV = "OPENROUTER_BASE_URL"

EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

NO_KEY_MESSAGE = (
    f"No API key: set {API_KEY_ENV} or pass --api-key. "
    "To try it without a key or network, add --emulator (a built-in OpenRouter emulator)."
)


class CLIError(Exception):
    """A problem with how the command was invoked: printed as one line, exit status 2."""

    def __init__(self, message: str, *, status: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


# -- consoles ------------------------------------------------------------------------------
#
# Made per call, not at import, and given no file: such a Console looks sys.stdout up each time
# it writes, so a swapped sys.stdout (capsys) sees the output. When the stream is not a terminal
# rich writes plain text without escape codes; soft_wrap leaves long lines whole.


def stdout_console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


# -- arguments and the client --------------------------------------------------------------


def add_client_arguments(parser: argparse.ArgumentParser, *, emulator: bool = True) -> None:
    """``--api-key``, ``--base-url``, ``--timeout`` and (by default) ``--emulator``."""
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--api-key",
        metavar="KEY",
        help=(
            f"OpenRouter API key (default: ${API_KEY_ENV}, which is safer: other users can "
            "read a command's arguments in the process list, e.g. with ps)"
        ),
    )
    group.add_argument(
        "--base-url",
        metavar="URL",
        help=f"API base URL (default: ${BASE_URL_ENV} or https://openrouter.ai/api/v1)",
    )
    group.add_argument(
        "--timeout",
        type=positive_float,
        metavar="SECONDS",
        help="deadline for each phase of a request (connect, first token, idle)",
    )
    if emulator:
        group.add_argument(
            "--emulator",
            action="store_true",
            help="run against an in-process OpenRouter emulator (no key, no network)",
        )


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


@contextlib.asynccontextmanager
async def open_client(
    args: argparse.Namespace, *, key_required: bool = True, **options: Any
) -> AsyncIterator[OpenRouter]:
    """The client the flags ask for: against an in-process emulator, or the real API.

    ``options`` go to ``OpenRouter(...)``. Raises :class:`CLIError` when no key is available,
    unless ``key_required`` is false (public endpoints such as ``GET /models``, which the
    client then asks without an ``Authorization`` header).
    """
    from .._client import OpenRouter

    timeout = getattr(args, "timeout", None)
    if timeout is not None:
        options.setdefault("timeout", timeout)
    if getattr(args, "emulator", False):
        from ..testing import Emulator

        async with (
            Emulator(api_key=None) as emu,
            OpenRouter(api_key="emulator", base_url=emu.base_url, **options) as client,
        ):
            yield client
        return
    api_key = getattr(args, "api_key", None) or os.environ.get(API_KEY_ENV) or None
    base_url = getattr(args, "base_url", None) or os.environ.get(BASE_URL_ENV) or None
    if api_key is None:
        if key_required:
            raise CLIError(NO_KEY_MESSAGE)
        # The SDK asks public endpoints (GET /models) without a key when it has none.
        async with OpenRouter(base_url=base_url, **options) as client:
            yield client
        return
    async with OpenRouter(api_key=api_key, base_url=base_url, **options) as client:
        yield client


def read_prompt(prompt: str | None) -> str:
    """The prompt argument, or stdin when it is ``-`` or absent and stdin is not a terminal."""
    if prompt is not None and prompt != "-":
        return prompt
    stdin = sys.stdin
    if prompt is None and (stdin is None or stdin.isatty()):
        raise CLIError("No prompt: give it as an argument, or pipe it on stdin (or pass '-')")
    text = stdin.read() if stdin is not None else ""
    if not text.strip():
        raise CLIError("The prompt read from stdin is empty")
    return text.rstrip("\n")


# -- formatting ----------------------------------------------------------------------------


def format_cost(cost: float | Decimal | None) -> str:
    """USD with enough digits for fractions of a cent: ``$0.000032``, ``$1.25``."""
    if cost is None:
        return "cost n/a"
    value = Decimal(str(cost))
    if value == 0:
        return "$0"
    if abs(value) >= Decimal("0.01"):
        return f"${value:.4f}".rstrip("0").rstrip(".")
    return f"${value:.8f}".rstrip("0")


def per_million(price: str | float | None) -> Decimal | None:
    """A USD-per-token price (a string in the API) as USD per million tokens."""
    if price is None:
        return None
    try:
        return Decimal(str(price)) * 1_000_000
    except InvalidOperation:
        return None


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def format_error(exc: BaseException) -> str:
    """``ClassName (status 401): message`` on one line; never the API key, never a traceback."""
    name = type(exc).__name__
    if isinstance(exc, APIStatusError):
        head = f"{name} (status {exc.status_code}"
        if exc.code != exc.status_code:
            head += f", code {exc.code}"
        if exc.error_type:
            head += f", {exc.error_type}"
        head += ")"
        message = exc.message
    elif isinstance(exc, StreamError):
        head = f"{name} (code {exc.code})" if exc.code is not None else name
        message = exc.message
    elif isinstance(exc, CLIError):
        return _one_line(exc.message)
    else:
        message = getattr(exc, "message", None) or str(exc) or repr(exc)
        head = name
    return f"{head}: {_one_line(message)}"


def error_record(exc: BaseException) -> dict[str, Any]:
    """The error as a JSON-able mapping (for ``--json`` output)."""
    record: dict[str, Any] = {
        "type": "error",
        "error": type(exc).__name__,
        "message": getattr(exc, "message", None) or str(exc),
    }
    if isinstance(exc, APIStatusError):
        record["status"] = exc.status_code
        record["code"] = exc.code
    elif isinstance(exc, StreamError):
        record["code"] = exc.code
    generation_id = getattr(exc, "generation_id", None)
    if generation_id:
        record["generation_id"] = generation_id
    return record


def print_error(exc: BaseException | str, console: Console | None = None) -> None:
    """One red line on stderr."""
    line = exc if isinstance(exc, str) else format_error(exc)
    (console or stderr_console()).print(Text(line, style="bold red"))


# -- running a command ---------------------------------------------------------------------


def exit_status(exc: BaseException) -> int:
    if isinstance(exc, CLIError):
        return exc.status
    if isinstance(exc, (MissingAPIKeyError, RequestValidationError)):
        return EXIT_USAGE
    return EXIT_API_ERROR


def _interrupted() -> int:
    with contextlib.suppress(Exception):
        stderr_console().print(Text("Interrupted.", style="yellow"))
    return EXIT_INTERRUPTED


def run_command(
    run: Callable[[argparse.Namespace], Awaitable[int]], args: argparse.Namespace
) -> int:
    """Run ``await run(args)`` on a fresh event loop; map errors and Ctrl-C to exit statuses.

    Ctrl-C cancels the command's task (on every Python version, not only where
    ``asyncio.run`` does it itself), so every ``async with`` in it (the stream, the client, an
    emulator) closes its connection on the way out; then the interrupt becomes status 130
    instead of a traceback. Where the loop cannot take signal handlers (Windows) the
    ``KeyboardInterrupt`` raised by the interpreter is caught instead.
    """

    async def main() -> int:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        interrupted = False

        def interrupt() -> None:
            nonlocal interrupted
            interrupted = True
            if task is not None:
                task.cancel()

        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGINT, interrupt)
        try:
            return await run(args)
        except asyncio.CancelledError:
            if not interrupted:
                raise
            return _interrupted()
        finally:
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(signal.SIGINT)

    try:
        return asyncio.run(main())
    except (KeyboardInterrupt, asyncio.CancelledError):
        return _interrupted()
    except (OpenRouterError, CLIError) as exc:
        if isinstance(exc, MissingAPIKeyError):
            print_error(NO_KEY_MESSAGE)
        else:
            print_error(exc)
        return exit_status(exc)
    except BrokenPipeError:
        # `... | head`: the reader left. Point stdout at /dev/null so the interpreter's final
        # flush does not complain, and stop quietly.
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return EXIT_API_ERROR
