"""Rows through ``ChatProcessor`` on the shared local Ray cluster: typed error rows, an actor
killed mid-run, and a resumed run that sends nothing for rows already answered."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from ray_helpers import RegisterActor, Registry, ThreadedEmulator

from openrouter_async import RetryPolicy
from openrouter_async.ray import ChatProcessor, ClusterLimiter, pending_rows

pytestmark = [pytest.mark.ray, pytest.mark.filterwarnings("ignore:::ray")]


def sent_prompts(emulator: ThreadedEmulator) -> list[str]:
    return [r.body["messages"][-1]["content"] for r in emulator.requests()]


def read_dir(path: Path) -> pd.DataFrame:
    return pq.read_table(path).to_pandas()


def test_bad_rows_and_4xx_come_back_as_error_rows(
    ray_cluster: Any, emulator: ThreadedEmulator
) -> None:
    ray = ray_cluster
    emulator.reset()
    rows = [
        {"id": 0, "prompt": "fine", "model": "emulator/echo"},
        {"id": 1, "prompt": None, "model": "emulator/echo"},  # bad input: no prompt
        {"id": 2, "prompt": "forbidden", "model": "emulator/echo:fault=http(403)"},
        {"id": 3, "prompt": "no such model", "model": "nobody/nothing"},
        {"id": 4, "prompt": "flaky", "model": "emulator/echo:fault=fail_first(1,status=500)"},
        {"id": 5, "prompt": "down", "model": "emulator/echo:fault=http(503)"},
        {"id": 6, "prompt": "also fine", "model": "emulator/echo"},
    ]
    out = (
        ray.data.from_items(rows)
        .map_batches(
            ChatProcessor,
            fn_constructor_kwargs={
                "defaults": {"max_tokens": 50},
                "retry": RetryPolicy(max_retries=1, initial_backoff=0.01),
                "api_key": "test-key",
                "base_url": emulator.emu.base_url,
            },
            batch_format="pandas",
            concurrency=1,
            num_cpus=0.25,
        )
        .take_all()
    )
    by_id = {r["id"]: r for r in out}
    assert sorted(by_id) == list(range(len(rows)))

    assert by_id[0]["content"] == "fine" and by_id[0]["error_type"] is None
    assert by_id[0]["finish_reason"] == "stop" and by_id[0]["attempts"] == 1
    assert by_id[0]["prompt_tokens"] > 0 and by_id[0]["completion_tokens"] > 0
    assert by_id[0]["cost"] > 0 and by_id[0]["generation_id"].startswith("gen-")

    bad = by_id[1]
    assert bad["error_type"] == "RequestValidationError" and bad["attempts"] == 0
    assert "prompt" in bad["error_message"] and bad["content"] is None

    forbidden = by_id[2]
    assert (forbidden["error_type"], forbidden["error_status"]) == ("PermissionDeniedError", 403)
    assert forbidden["error_code"] == "403" and forbidden["attempts"] == 1  # never retried
    assert by_id[3]["error_status"] in (400, 404) and by_id[3]["attempts"] == 1

    assert by_id[4]["error_type"] is None and by_id[4]["attempts"] == 2  # a 500, then answered
    assert by_id[5]["error_status"] == 503 and by_id[5]["attempts"] == 2  # retries ran out
    assert by_id[6]["error_type"] is None

    # the bad row was never sent; every other row was, as often as its attempts say
    sent = Counter(sent_prompts(emulator))
    assert None not in sent
    assert sent == {r["prompt"]: by_id[r["id"]]["attempts"] for r in rows if r["id"] != 1}


def test_killed_actor_then_resume_pays_once_per_row(
    ray_cluster: Any, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    ray = ray_cluster
    emulator.reset()
    total = 400
    rows = [{"id": i, "prompt": f"row {i}"} for i in range(total)]
    registry = ray.remote(Registry).remote()
    limiter = ClusterLimiter.create("kill-and-resume", max_in_flight=8, lease=1.0)
    out_dir = tmp_path / "out"

    def pipeline(dataset: Any) -> Any:
        return dataset.map_batches(
            ChatProcessor,
            fn_constructor_kwargs={
                "limiter": limiter,
                "request_fn": RegisterActor(registry, "emulator/echo:latency=0.05"),
                "api_key": "test-key",
                "base_url": emulator.emu.base_url,
            },
            batch_format="pyarrow",
            batch_size=25,
            concurrency=2,
            num_cpus=0.25,
        )

    source = ray.data.from_items(rows, override_num_blocks=16)
    writer = threading.Thread(target=lambda: pipeline(source).write_parquet(str(out_dir)))
    writer.start()
    deadline = time.monotonic() + 60
    while len(emulator.emu.requests) < total // 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    handles = ray.get(registry.all.remote())
    assert handles, "no actor registered"
    ray.kill(handles[0], no_restart=False)  # mid-run: Ray Data restarts it and redoes its batch
    writer.join(120)
    assert not writer.is_alive()

    first = read_dir(out_dir)
    assert sorted(first["id"]) == list(range(total))  # every id exactly once
    assert first["error_type"].isna().all()
    assert max(concurrent(emulator.requests())) <= 8  # the cluster-wide in-flight bound

    # A crash before some blocks were written: drop two files, resume into the same directory.
    files = sorted(out_dir.glob("*.parquet"))
    lost = files[:2]
    lost_ids = set().union(*(set(pq.read_table(f)["id"].to_pylist()) for f in lost))
    for f in lost:
        f.unlink()
    emulator.reset()
    pipeline(pending_rows(source, str(out_dir))).write_parquet(str(out_dir))
    resent = {int(p.split()[1]) for p in sent_prompts(emulator)}
    assert resent == lost_ids  # nothing for the rows already answered
    final = read_dir(out_dir)
    assert sorted(final["id"]) == list(range(total))
    limiter.kill()


def concurrent(records: list[Any]) -> list[int]:
    """Requests in flight at each request's start, from the emulator's log."""
    return [
        sum(
            1
            for other in records
            if other.started_at <= r.started_at
            and (other.finished_at is None or other.finished_at > r.started_at)
        )
        for r in records
    ]
