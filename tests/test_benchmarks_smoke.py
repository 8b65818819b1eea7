"""The benchmark runner still runs: every scenario, tiny sizes, our SDK and the raw baselines.

No timing is asserted, only that the report has the expected rows with positive figures. The
peers (openai, openrouter, httpx-sse) are not needed: the run is limited to clients that ship
with the package's own dependencies, in a subprocess so the runner is exercised as users run it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent

OURS = "openrouter_async"
RAW_JSON = "raw aiohttp+json"
RAW_BYTES = "raw aiohttp bytes"

# scenario id -> rows that must have run
EXPECTED_OK: dict[str, set[str]] = {
    "stream": {OURS, RAW_JSON, RAW_BYTES},
    "parser": {f"{OURS} SSEParser", "minimal bytes split"},
    "concurrent": {OURS, RAW_JSON, RAW_BYTES},
    "nonstream": {OURS, RAW_JSON, RAW_BYTES},
    "hold": {OURS, RAW_JSON, RAW_BYTES},
    "import": {"aiohttp (baseline)", OURS},
    "ttfc": {OURS, RAW_JSON, RAW_BYTES},
    "accumulate": {OURS, RAW_JSON},
    "batch": {f"{OURS} [gather]", f"{RAW_JSON} [gather]", f"{RAW_BYTES} [gather]"},
}
# Rows that must be present but may be skipped: no such feature, or an API still being built.
EXPECTED_PRESENT: dict[str, set[str]] = {
    "accumulate": {RAW_BYTES},
    "batch": {f"{OURS} [batch]"},
}
SIGNED = {"overhead_us"}  # a difference to the baseline: may be zero or negative
# Growth over a measured baseline: at tiny sizes a lean client may grow by nothing at all.
NON_NEGATIVE = {"growth_mb", "per_stream_kb"}


def _ours_available() -> bool:
    import openrouter_async as ora

    return hasattr(ora, "OpenRouter") and hasattr(ora, "TextDelta")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench")
    json_path = out / "report.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--tiny",
            "--clients",
            "ours,raw-json,raw-bytes",
            "--json",
            str(json_path),
            "--out-dir",
            str(out),
            "--no-plot",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "## Benchmark results" in proc.stdout
    assert list(out.glob("*-tiny.md")), "markdown report not written"
    data: dict[str, Any] = json.loads(json_path.read_text(encoding="utf-8"))
    return data


def _rows(report: dict[str, Any], scenario: str) -> dict[str, dict[str, Any]]:
    scn = next(s for s in report["scenarios"] if s["id"] == scenario)
    return {row["client"]: row for row in scn["rows"]}


def test_every_scenario_ran(report: dict[str, Any]) -> None:
    assert [s["id"] for s in report["scenarios"]] == list(EXPECTED_OK)
    assert report["meta"]["mode"] == "tiny"


@pytest.mark.parametrize("scenario", list(EXPECTED_OK))
def test_rows_have_positive_figures(report: dict[str, Any], scenario: str) -> None:
    rows = _rows(report, scenario)
    metrics = next(s["metrics"] for s in report["scenarios"] if s["id"] == scenario)
    assert _ours_available(), "our SDK must be measurable in every scenario"
    for name in EXPECTED_OK[scenario] | EXPECTED_PRESENT.get(scenario, set()):
        assert name in rows, f"{scenario}: no row {name!r}; rows: {sorted(rows)}"
    for name in EXPECTED_OK[scenario]:
        row = rows[name]
        assert row["status"] == "ok", f"{scenario}/{name}: {row['status']}: {row['reason']}"
        for metric in metrics:
            value = row["metrics"].get(metric["key"])
            assert value is not None, f"{scenario}/{name}: no {metric['key']}"
            if metric["key"] in NON_NEGATIVE:
                assert value >= 0, f"{scenario}/{name}: {metric['key']} = {value}"
            elif metric["key"] not in SIGNED:
                assert value > 0, f"{scenario}/{name}: {metric['key']} = {value}"
