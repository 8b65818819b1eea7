"""The subprocess side of scenarios 5 (held streams) and 9 (batch), and the runner's launcher.

Peak RSS only ever grows, so a memory figure means something only in a process that did nothing
else: each client gets a fresh ``python -m benchmarks.workers SPEC`` that runs one worker and
prints ``RESULT {json}``. It lives apart from ``scenarios`` so that module stays a readable size;
it imports ``scenarios`` (for ``Clock``, ``_check``, ``_describe``), and ``scenarios`` imports it
only inside the two scenarios that launch workers, so neither import runs into a half-built module.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import subprocess
import sys
from typing import Any

from . import clients as C
from .report import Row
from .scenarios import ROOT, Clock, Context, _check, _describe
from .server import HOLD_MODEL

SUBPROCESS_TIMEOUT = 600.0


def rss_bytes() -> int:
    """Current resident set size of this process."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except ImportError:
        return peak_rss_bytes()


def peak_rss_bytes() -> int:
    """Peak RSS of this process image.

    ``VmHWM`` first: ``ru_maxrss`` of a child started with fork + exec begins at the parent's
    peak (Linux keeps it across exec), which would give every worker the runner's figure.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


async def _post_release(origin: str) -> None:
    """POST /bench/release with the stdlib only, so no extra module lands in the worker."""
    host, port = origin.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(
            f"POST /bench/release HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        await writer.drain()
        await asyncio.wait_for(reader.read(), 30)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def _hold_worker(spec: dict[str, Any]) -> dict[str, Any]:
    cls = C.by_name(spec["client"])
    n, chunks = spec["streams"], spec["chunks"]
    adapter = cls(spec["base_url"], pool=max(n + 10, C.DEFAULT_POOL))
    async with adapter:
        await adapter.stream_text(chunks)  # warm-up: lazy imports, validators, pool
        gc.collect()
        base = rss_bytes()
        arrived = 0
        all_in = asyncio.Event()
        release = asyncio.Event()

        class Hold(C.Hooks):
            async def first(self) -> None:
                nonlocal arrived
                arrived += 1
                if arrived == n:
                    all_in.set()
                await release.wait()

        hooks = Hold()
        tasks = [
            asyncio.ensure_future(adapter.stream_text(chunks, hooks, model=HOLD_MODEL))
            for _ in range(n)
        ]
        try:
            await asyncio.wait_for(all_in.wait(), spec.get("timeout", 120))
        except asyncio.TimeoutError:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await _post_release(spec["origin"])
            errors = [t.exception() for t in tasks if not t.cancelled() and t.exception()]
            why = _describe(errors[0]) if errors else "timeout"
            return {"error": f"only {arrived}/{n} streams started: {why}"}
        gc.collect()
        held = rss_bytes()
        release.set()
        await _post_release(spec["origin"])
        await asyncio.gather(*tasks)
    return {
        "per_stream_kb": (held - base) / n / 1024,
        "baseline_mb": base / 2**20,
        "held_mb": held / 2**20,
        "peak_mb": peak_rss_bytes() / 2**20,
        "notes": adapter.notes,
    }


async def _batch_worker(spec: dict[str, Any]) -> dict[str, Any]:
    cls = C.by_name(spec["client"])
    n, conc = spec["requests"], spec["concurrency"]
    adapter = cls(spec["base_url"], pool=max(conc, 100))
    async with adapter:
        one = await adapter.complete()
        run = adapter.batch if spec["mode"] == "batch" else adapter.gather
        try:
            # Warm-up through the same path: lazy imports load and the pool opens its
            # connections, so the timed run is steady state, not connection setup.
            warm = min(n, conc)
            _check(await run(warm, conc), warm * one, "content length")
            gc.collect()
            base = rss_bytes()
            with Clock() as clk:
                got = await run(n, conc)
        except C.NotSupported as exc:
            return {"skipped": str(exc)}
        _check(got, n * one, "content length")
    peak = peak_rss_bytes()
    return {
        "req_per_s": n / clk.wall,
        "cpu_us_per_req": clk.cpu / n * 1e6,
        "peak_mb": peak / 2**20,
        "growth_mb": (peak - base) / 2**20,
        "notes": adapter.notes,
    }


def worker_main(argv: list[str]) -> None:
    """Entry of ``python -m benchmarks.workers SPEC``: run one worker, print ``RESULT {json}``."""
    spec = json.loads(argv[0])
    from .server import pin_to

    pin_to(spec.get("cpu"))
    kind = spec["kind"]
    fn = {"hold": _hold_worker, "batch": _batch_worker}[kind]
    try:
        out = asyncio.run(fn(spec))
    except Exception as exc:
        out = {"error": _describe(exc)}
    print("RESULT " + json.dumps(out), flush=True)


def run_worker(spec: dict[str, Any]) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.workers", json.dumps(spec)],
            capture_output=True,
            text=True,
            timeout=SUBPROCESS_TIMEOUT,
            cwd=ROOT,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"worker timed out after {SUBPROCESS_TIMEOUT:.0f} s"}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[7:])
            return result
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    return {"error": f"worker exited {proc.returncode}: {' | '.join(tail)}"}


def _worker_rows(
    ctx: Context, specs: list[tuple[str, dict[str, Any]]], reps: int, keys: list[str]
) -> list[Row]:
    """Run each (row name, spec) in a fresh process, in turns, ``reps`` times."""
    rows = {name: Row(name) for name, _ in specs}
    for rep in range(reps):
        k = rep % len(specs) if specs else 0
        for name, spec in specs[k:] + specs[:k]:
            row = rows[name]
            if row.status != "ok":
                continue
            out = run_worker(spec)
            if "error" in out:
                row.status, row.reason = "error", out["error"]
            elif "skipped" in out:
                row.status, row.reason = "skipped", out["skipped"]
            else:
                row.add({k: out[k] for k in keys})
                row.notes = sorted(set(row.notes) | set(out.get("notes", ())))
    for row in rows.values():
        row.finish()
    return list(rows.values())


if __name__ == "__main__":
    worker_main(sys.argv[1:])
