"""The synchronous facade's machinery; the public face is :mod:`openrouter_async.sync`."""
