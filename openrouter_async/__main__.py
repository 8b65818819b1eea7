"""``python -m openrouter_async``: the same command line as ``openrouter-async``."""

from ._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
