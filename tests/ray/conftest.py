"""One real local Ray cluster and one emulator for every Ray test (starting Ray costs seconds).

Ray's workers are other processes: they reach the emulator by URL, and import the test
helpers (``ray_helpers``) through the ``PYTHONPATH`` given to the cluster. The emulator
serves from its own thread and event loop, because Ray Data's calls block the test's thread.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ray_helpers import ThreadedEmulator

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="package")
def emulator() -> Iterator[ThreadedEmulator]:
    threaded = ThreadedEmulator()
    try:
        yield threaded
    finally:
        threaded.close()


@pytest.fixture(scope="package")
def ray_cluster() -> Iterator[Any]:
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"  # no phoning home
    import ray

    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        object_store_memory=256 * 1024 * 1024,
        runtime_env={"env_vars": {"PYTHONPATH": str(HERE), "RAY_USAGE_STATS_ENABLED": "0"}},
    )
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    try:
        yield ray
    finally:
        ray.shutdown()
