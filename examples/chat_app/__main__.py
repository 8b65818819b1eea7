"""``python -m examples.chat_app [--host H] [--port P] [--emulator]``."""

import sys

from examples.chat_app.app import main

if __name__ == "__main__":
    sys.exit(main())
