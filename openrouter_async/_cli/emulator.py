"""``openrouter-async emulator``: serve the OpenRouter emulator for other programs.

Any OpenAI-compatible client can point at the printed base URL. Ctrl-C (or SIGTERM) is the
normal way to stop it, so both end with status 0 after open streams are cancelled and the
port is released.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from typing import TYPE_CHECKING

from rich.text import Text

from ._common import API_KEY_ENV, BASE_URL_ENV, CLIError, positive_float, stdout_console

if TYPE_CHECKING:
    from ..testing import Emulator

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port", type=_port, default=8000, help="TCP port (default 8000; 0 picks a free one)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument(
        "--key",
        metavar="KEY",
        help="the only bearer key accepted (default: any non-empty key)",
    )
    parser.add_argument(
        "--tps",
        type=positive_float,
        metavar="N",
        help="default tokens per second for streamed replies (default: as fast as possible)",
    )
    parser.add_argument(
        "--latency",
        type=_seconds,
        default=0.0,
        metavar="SECONDS",
        help="default delay before the first token",
    )


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535: {text!r}")
    return port


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return value


def _announce(emulator: Emulator, key: str | None) -> None:
    out = stdout_console()
    out.print(Text.assemble(("OpenRouter emulator listening on ", "bold"), (emulator.url, "cyan")))
    out.print(Text.assemble("base URL: ", (emulator.base_url, "bold cyan")))
    key_hint = key if key is not None else "any-non-empty-key"
    out.print(Text("Point a client at it:", style="dim"))
    out.print(f"  export {BASE_URL_ENV}={emulator.base_url}", markup=False)
    out.print(f"  export {API_KEY_ENV}={key_hint}", markup=False)
    out.print(
        Text(
            "Models: emulator/echo, emulator/lorem, emulator/tools, emulator/reasoning, "
            "emulator/json (knobs: emulator/lorem:tokens=50:tps=20). Ctrl-C to stop.",
            style="dim",
        )
    )


async def run(args: argparse.Namespace) -> int:
    from ..testing import run_emulator

    loop = asyncio.get_running_loop()
    server = asyncio.ensure_future(
        run_emulator(
            args.host,
            args.port,
            args.key,
            ready_callback=lambda emu: _announce(emu, args.key),
            tokens_per_second=args.tps,
            first_token_latency=args.latency,
        )
    )
    # Stopping is the expected end of a server's life: turn SIGINT/SIGTERM into a cancel of the
    # serving task (which stops the emulator cleanly) and exit 0. Where the loop cannot take
    # signal handlers (Windows), Ctrl-C still works through asyncio.run, with status 130.
    stop_requested = False

    def stop() -> None:
        nonlocal stop_requested
        stop_requested = True
        server.cancel()

    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop)
        except (NotImplementedError, RuntimeError, ValueError):
            continue
        handled.append(sig)
    try:
        await server
    except asyncio.CancelledError:
        if not stop_requested:
            raise  # cancelled from outside, not by our own signal handler
    except OSError as exc:  # the port is taken, the host is not ours, ...
        raise CLIError(
            f"Cannot serve on {args.host}:{args.port}: {exc.strerror or exc}", status=1
        ) from None
    finally:
        for sig in handled:
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
        if not server.done():
            server.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await server
    stdout_console().print(Text("Emulator stopped.", style="dim"))
    return 0
