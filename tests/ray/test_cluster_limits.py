"""2,000 rows through two actors under one cluster-wide 50 requests/s, with a 429 storm.

One run proves both: the emulator's request log shows the rate held for the cluster (not per
actor) over every 5 s window, and a storm of 429s with ``Retry-After`` sent to one actor's
requests silences the other actor too for the time asked; every row ends with one result.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from ray_helpers import TagByActor, ThreadedEmulator

from openrouter_async.ray import ChatProcessor, ClusterLimiter
from openrouter_async.testing import HTTPError

pytestmark = [pytest.mark.ray, pytest.mark.filterwarnings("ignore:::ray")]

ROWS = 2000
RPS = 50.0
WINDOW = 5.0
STORM_AFTER = 600  # requests logged before the storm starts
STORM_429S = 3
RETRY_AFTER = 1.5


def windows(times: list[float], width: float) -> list[int]:
    """Requests in every window [t, t + width) that starts at a request."""
    times = sorted(times)
    counts = []
    end = 0
    for start_index, start in enumerate(times):
        while end < len(times) and times[end] < start + width:
            end += 1
        counts.append(end - start_index)
    return counts


def test_rate_holds_for_the_cluster_and_a_429_pauses_every_actor(
    ray_cluster: Any, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    ray = ray_cluster
    emulator.reset()
    limiter = ClusterLimiter.create("rate-and-storm", rps=RPS)
    rows = [{"id": i, "prompt": f"row {i}"} for i in range(ROWS)]
    storm_model = "emulator/lorem"

    def start_storm_when_busy() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if len(emulator.emu.requests) >= STORM_AFTER:
                emulator.call(
                    lambda: emulator.emu.add_fault(
                        HTTPError(429, retry_after=RETRY_AFTER), model=storm_model, times=STORM_429S
                    )
                )
                return
            time.sleep(0.05)

    storm = threading.Thread(target=start_storm_when_busy, daemon=True)
    storm.start()
    out = (
        ray.data.from_items(rows, override_num_blocks=20)
        .map_batches(
            ChatProcessor,
            fn_constructor_kwargs={
                "limiter": limiter,
                "request_fn": TagByActor(str(tmp_path / "storm"), storm_model=storm_model),
                "concurrency": 16,
                "api_key": "test-key",
                "base_url": emulator.emu.base_url,
            },
            batch_format="pyarrow",
            batch_size=50,
            concurrency=2,
            num_cpus=0.25,
        )
        .take_all()
    )
    storm.join(5)
    stats = limiter.stats()
    limiter.kill()

    # every row exactly once, all answered (the 429s were retried after the pause)
    assert sorted(r["id"] for r in out) == list(range(ROWS))
    assert [r for r in out if r["error_type"] is not None] == []
    assert sum(r["attempts"] for r in out) == ROWS + STORM_429S

    log = emulator.requests()
    assert len(log) == ROWS + STORM_429S
    by_worker = Counter(r.body["user"] for r in log)
    assert len(by_worker) == 2 and min(by_worker.values()) > ROWS / 4, by_worker

    # the cluster-wide rate: never more than 10 % over 50/s in any 5 s window, and reached
    counts = windows([r.started_at for r in log], WINDOW)
    assert max(counts) <= RPS * WINDOW * 1.1, max(counts)
    assert max(counts) >= RPS * WINDOW * 0.9, max(counts)

    # the storm: 429s went to one actor only, and every actor fell silent for Retry-After
    throttled = [r for r in log if r.status == 429]
    assert len(throttled) == STORM_429S
    assert {r.body["model"] for r in throttled} == {storm_model}
    assert len({r.body["user"] for r in throttled}) == 1
    for refused in throttled:  # each 429 silenced both actors for the time it asked
        at = refused.finished_at
        quiet = [r for r in log if at + 0.6 <= r.started_at <= at + RETRY_AFTER - 0.2]
        assert quiet == [], [(r.body["user"], r.started_at - at) for r in quiet]
    first = min(r.finished_at for r in throttled)
    stormy = next(iter({r.body["user"] for r in throttled}))
    others_before = [r for r in log if r.body["user"] != stormy and r.started_at < first]
    others_after = [r for r in log if r.body["user"] != stormy and r.started_at > first]
    assert others_before and others_after  # the other actor was busy on both sides of the pause
    assert stats.pauses >= 1
    # batched grants: far fewer limiter calls than requests
    assert stats.calls < len(log) / 4, stats
