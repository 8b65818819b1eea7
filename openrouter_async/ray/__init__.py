"""Run OpenRouter at cluster scale with Ray Data (``pip install 'openrouter-async[ray]'``).

* :class:`ChatProcessor`: a callable class for ``Dataset.map_batches``; one client per actor,
  rows answered concurrently, a row's failure is that row's error columns.
* :class:`ClusterLimiter`: the account's requests/s, tokens/min and in-flight budget and the
  429 cool-down, held by one named actor for every worker.
* :func:`pending_rows`: the input minus the rows an earlier run already wrote (resume).

Importing :mod:`openrouter_async` never imports Ray; importing this module does. See
``docs/distributed.md``.
"""

from __future__ import annotations

from ._grants import LimiterStats
from ._limiter import ClusterLimiter
from ._processor import RESULT_COLUMNS, ChatProcessor
from ._resume import ResumeWarning, completed_ids, pending_rows

__all__ = [
    "RESULT_COLUMNS",
    "ChatProcessor",
    "ClusterLimiter",
    "LimiterStats",
    "ResumeWarning",
    "completed_ids",
    "pending_rows",
]
