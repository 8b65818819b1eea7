"""``python -m examples.chat_app [--host H] [--port P] [--emulator]``."""

from examples.chat_app.app import main

if __name__ == "__main__":
    main()
