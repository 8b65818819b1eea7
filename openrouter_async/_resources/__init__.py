"""The client's resources other than chat (``client.models``, ``client.embeddings``, ...).

Each module holds one resource class, constructed lazily by :class:`OpenRouter` with the
client; requests go through ``client._request`` (retries, timeouts, typed errors) and results
are built by :mod:`._raw` (tolerant structuring plus the ``response`` info).
"""
