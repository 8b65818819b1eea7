"""The command line: ``openrouter-async <command> ...`` (or ``python -m openrouter_async``).

Each command is a module exposing ``add_arguments(parser)`` and ``async def run(args) -> int``.
Only the chosen command's module is imported, so ``--help``, a typo or ``emulator`` never pay
for rich, the emulator or the other commands: the top-level parser lists every command from
the table below, and the one named on the command line gets its arguments just before parsing.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

__all__ = ["COMMANDS", "build_parser", "main"]

PROG = "openrouter-async"

#: name -> (module under openrouter_async._cli, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "chat": ("chat", "stream a chat reply to the terminal, or converse (no prompt, or -i)"),
    "models": ("models", "list models with context length and prices"),
    "batch": ("batch", "run many chat requests concurrently"),
    "emulator": ("emulator", "serve the OpenRouter emulator on a local port"),
    "demo": ("demo", "a tour of the SDK against the built-in emulator (no key, no network)"),
}

_RICH_MISSING = (
    "The openrouter-async command line needs the 'rich' package: "
    "pip install 'openrouter-async[cli]'\n"
)


class _Unavailable(Exception):
    """The chosen command's module could not be imported."""

    def __init__(self, command: str, reason: str) -> None:
        super().__init__(reason)
        self.command = command
        self.reason = reason


def _version() -> str:
    from .. import __version__

    return __version__


def _chosen_command(argv: Sequence[str]) -> str | None:
    """The first word that is not an option (the top level takes no option values)."""
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def _load(command: str) -> ModuleType:
    module_name, _ = COMMANDS[command]
    qualified = f"{__name__}.{module_name}"
    try:
        return importlib.import_module(qualified)
    except ImportError as exc:
        if exc.name == "rich":
            raise
        raise _Unavailable(command, str(exc)) from exc


def build_parser(
    command: str | None = None,
) -> tuple[argparse.ArgumentParser, ModuleType | None]:
    """The parser with every command listed and ``command``'s own arguments added.

    Returns the parser and the loaded module (``None`` when no command was chosen). Raises
    ``_Unavailable`` when the command's module cannot be imported.
    """
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Async streaming SDK for the OpenRouter API: command line tools.",
        epilog=(
            "No key? Try `openrouter-async demo` or `openrouter-async chat --emulator`. "
            "Run `openrouter-async <command> --help` for a command's options."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="<command>", title="commands")
    module: ModuleType | None = None
    for name, (_, help_text) in COMMANDS.items():
        subparser = sub.add_parser(
            name, help=help_text, description=help_text[:1].upper() + help_text[1:]
        )
        if name == command:
            module = _load(name)
            module.add_arguments(subparser)
    return parser, module


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run the command, return the exit status."""
    words = list(sys.argv[1:] if argv is None else argv)
    command = _chosen_command(words)
    try:
        try:
            parser, module = build_parser(command)
        except _Unavailable as exc:
            return _unavailable(exc)
        try:
            args = parser.parse_args(words)
        except SystemExit as exc:  # --help, --version, or a usage error (already printed)
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        if module is None:
            parser.print_help()
            return 2
        from ._common import run_command

        return run_command(module.run, args)
    except ImportError as exc:
        if exc.name != "rich":
            raise
        sys.stderr.write(_RICH_MISSING)
        return 2
    except KeyboardInterrupt:  # before the event loop started (imports, reading stdin)
        return 130


def _unavailable(exc: _Unavailable) -> int:
    from ._common import print_error

    print_error(
        f"The '{exc.command}' command is not available in this installation ({exc.reason})."
    )
    return 2
