"""Turn scenario results into a markdown report, a JSON file and a PNG plot.

Each table cell is the median followed by its ratio to the reference row (our SDK unless the
scenario says otherwise): ``value / reference``. A ratio above 1 on a throughput column means
the client is faster than ours; above 1 on a CPU, time or memory column means it spends more.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")

LEGEND = (
    "Each cell: median, then (x ref) = this client's figure ÷ the reference row's (**bold**; our "
    "SDK). Throughput: higher is better. CPU, time, memory: lower is better. Figures are "
    "medians over repetitions run in turns (A B C, B C A, …) against a local pre-encoded "
    "server in another process."
)

NO_RATIO = {"overhead_us"}  # differences around zero: a ratio would mislead


# --------------------------------------------------------------------------- result types


@dataclass
class Metric:
    """One column: ``key`` in ``Row.metrics``, its header, and which way is better."""

    key: str
    label: str
    higher_is_better: bool
    digits: int = 0  # decimals shown in the table


@dataclass
class Row:
    """One client in one scenario: every sample, and their medians once finished."""

    client: str
    status: str = "ok"  # ok | skipped | error
    reason: str = ""
    metrics: dict[str, float] = field(default_factory=dict)  # medians
    samples: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, values: dict[str, float]) -> None:
        for key, value in values.items():
            self.samples.setdefault(key, []).append(value)

    def finish(self) -> None:
        if self.status == "ok":
            self.metrics = {k: statistics.median(v) for k, v in self.samples.items()}


@dataclass
class ScenarioResult:
    """One table: the rows, the columns, and the row the ratios are taken against."""

    id: str
    title: str
    description: str
    metrics: list[Metric]
    rows: list[Row]
    params: dict[str, Any]
    reference: str = "openrouter_async"
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------- rendering


def _fmt(value: float, digits: int) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def _ratio(value: float, ref: float | None) -> str:
    if ref is None or ref == 0:
        return ""
    r = value / ref
    return f" ({r:.2f}x)" if r < 10 else f" ({r:.1f}x)"


def _cell_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def scenario_table(scn: dict[str, Any]) -> list[str]:
    metrics = scn["metrics"]
    ref_row = next(
        (r for r in scn["rows"] if r["client"] == scn["reference"] and r["status"] == "ok"), None
    )
    lines = [f"### {scn['title']}", "", scn["description"], ""]
    header = "| client | " + " | ".join(m["label"] for m in metrics) + " |"
    lines += [header, "|---|" + "---:|" * len(metrics)]
    notes: list[str] = []
    for row in scn["rows"]:
        is_ref = row["client"] == scn["reference"]
        name = f"**{row['client']}**" if is_ref else row["client"]
        if row["status"] != "ok":
            first = f"{row['status']}: {_cell_escape(row['reason'])}"
            cells = [first] + ["-"] * (len(metrics) - 1)
        else:
            cells = []
            for m in metrics:
                value = row["metrics"].get(m["key"])
                if value is None:
                    cells.append("-")
                    continue
                ref = None
                if ref_row is not None and m["key"] not in NO_RATIO:
                    ref = ref_row["metrics"].get(m["key"])
                cells.append(_fmt(value, m["digits"]) + _ratio(value, ref))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
        notes += [f"{row['client']}: {n}" for n in row.get("notes", ())]
    if ref_row is None:
        lines += ["", f"_No ratios: the reference row ({scn['reference']}) did not run._"]
    if notes:
        lines += [""] + [f"- {_cell_escape(n)}" for n in notes]
    reps = {len(v) for r in scn["rows"] for v in r.get("samples", {}).values()}
    params = ", ".join(f"{k}={v}" for k, v in scn["params"].items())
    lines += ["", f"<sub>{params}; samples per row: {_span(reps)}; {scn['seconds']:.1f} s</sub>"]
    return [*lines, ""]


def _span(values: Iterable[int]) -> str:
    vals = sorted(values)
    if not vals:
        return "0"
    return str(vals[0]) if vals[0] == vals[-1] else f"{vals[0]}-{vals[-1]}"


def markdown(report: dict[str, Any]) -> str:
    meta = report["meta"]
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    lines = [
        f"## Benchmark results ({meta['mode']} mode, {meta['started']})",
        "",
        f"- Machine: {meta['platform']}, {meta['cpu_count']} CPUs, Python {meta['python']}; "
        f"load average {meta['loadavg_start']} at start, {meta['loadavg_end']} at end.",
        f"- Pinning: {meta['pinning']}.",
        f"- Versions: {versions}.",
        f"- Commit: {meta.get('commit') or 'unknown'}; total {meta['seconds']:.0f} s.",
        "",
        LEGEND,
        "",
    ]
    for scn in report["scenarios"]:
        lines += scenario_table(scn)
    return "\n".join(lines)


def plot(report: dict[str, Any], path: str) -> str | None:
    """Bar charts of chunks/s and CPU µs/chunk per client (scenarios 1 and 8); None if no plot."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    panels = []
    for scn in report["scenarios"]:
        if scn["id"] not in ("stream", "accumulate"):
            continue
        rows = [r for r in scn["rows"] if r["status"] == "ok"]
        if not rows:
            continue
        for key, label in (("chunks_per_s", "chunks/s"), ("cpu_us_per_chunk", "CPU µs/chunk")):
            panels.append((scn["title"], label, [(r["client"], r["metrics"][key]) for r in rows]))
    if not panels:
        return None
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 2.2 + 1.6 * len(panels) * 1.2))
    if len(panels) == 1:
        axes = [axes]
    for ax, (title, label, data) in zip(axes, panels, strict=True):
        names = [d[0] for d in data]
        values = [d[1] for d in data]
        colors = ["tab:green" if n == "openrouter_async" else "tab:gray" for n in names]
        bars = ax.barh(names, values, color=colors)
        ax.set_xscale("log")
        ax.set_xlim(min(values) / 2, max(values) * 4)  # room for the value labels
        ax.set_title(f"{title}: {label}", fontsize=10)
        ax.invert_yaxis()
        for bar, value in zip(bars, values, strict=True):
            ax.text(
                bar.get_width(),
                bar.get_y() + bar.get_height() / 2,
                f" {_fmt(value, 1)}",
                va="center",
                fontsize=8,
            )
    meta = report["meta"]
    fig.suptitle(f"openrouter_async benchmarks ({meta['mode']}, {meta['started']})", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def save(
    report: dict[str, Any],
    out_dir: str = RESULTS_DIR,
    json_path: str | None = None,
    with_plot: bool = True,
) -> dict[str, str]:
    """Write ``<stamp>-<mode>.json``, ``.md`` and ``.png`` under ``out_dir``; return the paths."""
    os.makedirs(out_dir, exist_ok=True)
    stem = os.path.join(out_dir, f"{report['meta']['stamp']}-{report['meta']['mode']}")
    paths = {"json": stem + ".json", "markdown": stem + ".md"}
    text = json.dumps(report, indent=1, ensure_ascii=False)
    for path, body in ((paths["json"], text), (paths["markdown"], markdown(report))):
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(body + "\n")
        os.replace(tmp, path)
    if json_path:
        os.makedirs(os.path.dirname(os.path.abspath(json_path)), exist_ok=True)
        with open(json_path, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        paths["json_copy"] = json_path
    if with_plot:
        png = plot(report, stem + ".png")
        if png:
            paths["png"] = png
    return paths


def stamp(t: float | None = None) -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(t))
