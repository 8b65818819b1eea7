"""Runnable examples for openrouter_async (not part of the installed package)."""
