"""``python -m benchmarks [--quick|--full] [--only SCENARIO] [--json out.json]``.

Starts the pre-encoded server in its own process (pinned to one core, the runner to another, when
the machine has two), runs the selected scenarios for every selected client that imports, prints
the markdown report and writes JSON, markdown and a PNG under ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import platform
import subprocess
import sys
import time
import traceback
from importlib import metadata
from typing import Any

from . import clients as C
from . import report as R
from . import scenarios as S
from .server import DEFAULT_WRITE_SIZE, ServerProcess

VERSIONED = (
    "openrouter-async",
    "aiohttp",
    "orjson",
    "openai",
    "openrouter",
    "httpx",
    "httpx-sse",
    "pydantic",
)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Compare openrouter_async with its peers against a local pre-encoded server.",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--quick",
        dest="mode",
        action="store_const",
        const="quick",
        help="reduced sizes, under two minutes (default)",
    )
    mode.add_argument(
        "--full",
        dest="mode",
        action="store_const",
        const="full",
        help="the published sizes, under ten minutes on a quiet machine",
    )
    mode.add_argument(
        "--tiny", dest="mode", action="store_const", const="tiny", help="seconds; for the tests"
    )
    p.set_defaults(mode="quick")
    p.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="SCENARIO",
        help=f"run only these (repeat or comma-separate): {', '.join(S.SCENARIOS)}",
    )
    p.add_argument(
        "--clients",
        default="",
        help="comma-separated subset: " + ", ".join(sorted(C.ALIASES)) + " (default: all)",
    )
    p.add_argument("--json", dest="json_path", default=None, help="also write the JSON here")
    p.add_argument("--out-dir", default=R.RESULTS_DIR, help="where results are written")
    p.add_argument("--no-pin", action="store_true", help="do not pin runner and server to cores")
    p.add_argument("--no-plot", action="store_true", help="skip the matplotlib PNG")
    p.add_argument(
        "--write-size",
        type=int,
        default=DEFAULT_WRITE_SIZE,
        help=f"bytes per server write (default {DEFAULT_WRITE_SIZE}); 0 = one write per SSE event",
    )
    p.add_argument("--list", action="store_true", help="list scenarios and clients, then exit")
    return p.parse_args(argv)


def _selected_scenarios(only: list[str]) -> list[str]:
    wanted = [s.strip() for item in only for s in item.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in S.SCENARIOS]
    if unknown:
        raise SystemExit(f"unknown scenario(s) {unknown}; choose from {list(S.SCENARIOS)}")
    return [s for s in S.SCENARIOS if not wanted or s in wanted]


def _selected_clients(spec: str) -> list[type[C.Adapter]]:
    if not spec:
        return list(C.ADAPTERS)
    out: list[type[C.Adapter]] = []
    for name in (s.strip() for s in spec.split(",") if s.strip()):
        try:
            cls = C.by_name(name)
        except KeyError:
            raise SystemExit(f"unknown client {name!r}; choose from {sorted(C.ALIASES)}") from None
        if cls not in out:
            out.append(cls)
    return out


def _pin(enabled: bool) -> tuple[int | None, int | None, str]:
    """Pin the runner to one CPU and return (client cpu, server cpu, description)."""
    if not enabled:
        return None, None, "off (--no-pin)"
    if not hasattr(os, "sched_setaffinity"):
        return None, None, "unavailable on this platform"
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None, "off (one CPU)"
    client, server = cpus[0], cpus[1]
    os.sched_setaffinity(0, {client})
    return client, server, f"runner and workers on CPU {client}, server on CPU {server}"


def _versions() -> dict[str, str]:
    out = {}
    for dist in VERSIONED:
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[dist] = metadata.version(dist)
    return out


def _commit() -> str | None:
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            cwd=S.ROOT,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() or None


def _loadavg() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def _crashed(scenario: str, exc: BaseException) -> R.ScenarioResult:
    return R.ScenarioResult(
        scenario,
        f"{scenario} (crashed)",
        "The scenario itself raised; see the reason.",
        [R.Metric("-", "-", True)],
        [R.Row("-", status="error", reason=S._describe(exc))],
        {},
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    sizes = S.PRESETS[args.mode]
    scenario_ids = _selected_scenarios(args.only)
    adapters = _selected_clients(args.clients)
    started = time.time()
    log = _logger(started)
    load_start = _loadavg()
    original = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    client_cpu, server_cpu, pinning = _pin(not args.no_pin)
    results: list[R.ScenarioResult] = []
    try:
        with ServerProcess(cpu=server_cpu, write_size=args.write_size) as srv:
            log(f"server at {srv.base_url}; pinning: {pinning}; mode {args.mode}")
            ctx = S.Context(
                base_url=srv.base_url,
                origin=srv.origin,
                sizes=sizes,
                adapters=adapters,
                log=log,
                peer_parsers=any(c.kind == "sdk" and c is not C.Ours for c in adapters),
                explicit_clients=bool(args.clients),
            )
            for sid in scenario_ids:
                is_async, fn = S.SCENARIOS[sid]
                log(f"{sid}: running")
                t0 = time.perf_counter()
                try:
                    result = asyncio.run(fn(ctx)) if is_async else fn(ctx)  # type: ignore[arg-type]
                except Exception as exc:
                    traceback.print_exc()
                    result = _crashed(sid, exc)
                result.seconds = time.perf_counter() - t0
                results.append(result)
                log(f"{sid}: {_summary(result)} ({result.seconds:.1f} s)")
    finally:
        if original is not None and client_cpu is not None:
            os.sched_setaffinity(0, original)
    meta = {
        "mode": args.mode,
        "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
        "stamp": R.stamp(started),
        "seconds": time.time() - started,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": f"{platform.system()} {platform.machine()}",
        "cpu_count": os.cpu_count(),
        "pinning": pinning,
        "loadavg_start": load_start,
        "loadavg_end": _loadavg(),
        "versions": _versions(),
        "commit": _commit(),
        "sizes": dataclasses.asdict(sizes),
        "server_write_size": args.write_size,
        "clients": [c.name for c in adapters],
    }
    return {"meta": meta, "scenarios": [r.to_json() for r in results]}


def _summary(result: R.ScenarioResult) -> str:
    parts = []
    key = result.metrics[0].key
    for row in result.rows:
        if row.status == "ok" and key in row.metrics:
            parts.append(f"{row.client}={R._fmt(row.metrics[key], result.metrics[0].digits)}")
        else:
            parts.append(f"{row.client}={row.status}")
    return f"{result.metrics[0].label}: " + ", ".join(parts)


def _logger(started: float) -> Any:
    def log(msg: str) -> None:
        print(f"[{time.time() - started:6.1f}s] {msg}", file=sys.stderr, flush=True)

    return log


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.list:
        print("scenarios:", ", ".join(S.SCENARIOS))
        for cls in C.ADAPTERS:
            reason = cls.probe()
            print(f"  {cls.name:24s} {'ok' if reason is None else 'unavailable: ' + reason}")
        return 0
    report = run(args)
    paths = R.save(report, args.out_dir, args.json_path, with_plot=not args.no_plot)
    print(R.markdown(report))
    for kind, path in paths.items():
        print(f"{kind}: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
