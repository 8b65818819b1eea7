"""A browser chat over the relay: ``python -m examples.chat_app`` (see ``app.py``)."""
