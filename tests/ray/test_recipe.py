"""The Ray recipe of docs/distributed.md, run as written: stopped with Ctrl-C half way, then
run again. The second run sends nothing for the rows the first one wrote, and in the end every
id is in the output exactly once, answered."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from ray_helpers import ThreadedEmulator

pytestmark = [pytest.mark.ray, pytest.mark.filterwarnings("ignore:::ray")]

DOC = Path(__file__).resolve().parents[2] / "docs" / "distributed.md"
ROWS = 400


def recipe() -> str:
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    (script,) = [b for b in blocks if b.startswith("# run_batch.py")]
    return script


def answered_ids(out: Path) -> list[str]:
    ids: list[str] = []
    for path in sorted(out.glob("*.parquet")):
        try:
            table = pq.read_table(path, columns=["id", "error_type"])
        except Exception:  # a file cut short by the interruption: its rows run again
            continue
        assert table["error_type"].null_count == len(table)
        ids.extend(table["id"].to_pylist())
    return ids


def test_the_docs_recipe_resumes_after_ctrl_c(
    ray_cluster: Any, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    ray = ray_cluster
    emulator.reset()
    script = tmp_path / "run_batch.py"
    script.write_text(recipe(), encoding="utf-8")
    source = tmp_path / "prompts.jsonl"
    source.write_text(
        "".join(json.dumps({"id": f"q{i}", "prompt": f"row q{i}"}) + "\n" for i in range(ROWS))
    )
    out = tmp_path / "results"
    env = {
        **os.environ,
        "RAY_ADDRESS": ray.get_runtime_context().gcs_address,
        "RAY_USAGE_STATS_ENABLED": "0",
        "OPENROUTER_API_KEY": "test-key",
        "OPENROUTER_BASE_URL": emulator.emu.base_url,
    }
    command = [sys.executable, str(script), str(source), str(out)]

    log = tmp_path / "first.log"  # a file, not a pipe: Ray's progress lines never block it
    with log.open("wb") as stderr:
        first = subprocess.Popen(
            command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=stderr
        )
        deadline = time.monotonic() + 90
        while len(answered_ids(out)) < ROWS // 4 and time.monotonic() < deadline:
            assert first.poll() is None, log.read_text()[-3000:]
            time.sleep(0.1)
        first.send_signal(signal.SIGINT)  # Ctrl-C
        first.wait(timeout=60)
    assert first.returncode != 0, "the first run finished before it was interrupted"
    before = set(answered_ids(out))
    assert ROWS // 4 <= len(before) < ROWS

    emulator.reset()
    second = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, timeout=120)
    assert second.returncode == 0, second.stderr.decode()[-3000:]
    resent = {r.body["messages"][-1]["content"].split()[1] for r in emulator.requests()}
    assert resent and not resent & before  # nothing sent again for rows already answered
    final = answered_ids(out)
    assert sorted(final) == sorted(f"q{i}" for i in range(ROWS))  # each id exactly once
