"""Rows/s through Ray Data against the emulator: ``client.batch`` in one process, then
``ChatProcessor`` with 1 and 2 actors, without and with a ``ClusterLimiter``.

``python -m benchmarks.ray_rows [--rows N] [--concurrency C] [--latency S]`` (needs the
``[ray]`` extra). The emulator runs in its own process (``openrouter-async emulator``) so the
server does not share a GIL with the driver; every row is a non-streaming ``emulator/echo``
request, with ``--latency`` seconds of server-side delay to stand in for a model. Two figures
per row: wall time of the whole job (Ray: actor start-up included) and the steady rate, the
rows answered after the first answer (a block, for Ray) reached the driver, over the time
from that answer to the last.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from typing import Any

KEY = "bench-key"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_emulator() -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "openrouter_async", "emulator", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"http://127.0.0.1:{port}/api/v1"
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the emulator did not start")


def _rows(n: int, model: str) -> list[dict[str, Any]]:
    return [{"id": i, "prompt": f"row {i}", "model": model} for i in range(n)]


def in_process(base_url: str, rows: list[dict[str, Any]], concurrency: int) -> dict[str, Any]:
    """``client.batch`` in this process: the single-machine baseline."""
    import openrouter_async as ora

    async def run() -> tuple[float, float, int]:
        requests = [
            {"model": r["model"], "messages": [{"role": "user", "content": r["prompt"]}]}
            for r in rows
        ]
        async with ora.OpenRouter(
            api_key=KEY, base_url=base_url, limits=ora.PoolLimits(total=concurrency)
        ) as client:
            start = time.perf_counter()
            first = last = 0.0
            ok = 0
            async with client.batch(requests, concurrency=concurrency) as batch:
                async for result in batch:
                    now = time.perf_counter()
                    first = first or now
                    last = now
                    ok += result.ok
            return time.perf_counter() - start, last - first, ok

    wall, span, ok = asyncio.run(run())
    return {"wall": wall, "span": span, "ok": ok, "after": len(rows) - 1}


def through_ray(
    base_url: str,
    rows: list[dict[str, Any]],
    *,
    actors: int,
    concurrency: int,
    limiter: bool,
) -> dict[str, Any]:
    import ray

    from openrouter_async.ray import ChatProcessor, ClusterLimiter

    handle = None
    if limiter:
        # No rate: this row measures what asking the limiter actor costs.
        handle = ClusterLimiter.create(f"bench-{actors}", max_in_flight=actors * concurrency)
    start = time.perf_counter()
    first = last = 0.0
    ok = 0
    dataset = ray.data.from_items(rows, override_num_blocks=max(4, len(rows) // 100)).map_batches(
        ChatProcessor,
        fn_constructor_kwargs={
            "limiter": handle,
            "concurrency": concurrency,
            "api_key": KEY,
            "base_url": base_url,
        },
        batch_format="pyarrow",
        batch_size=100,
        concurrency=actors,
        num_cpus=0.25,
        max_concurrency=4,  # an actor runs 4 blocks at once: no idle tail between blocks
    )
    after_first = 0
    for batch in dataset.iter_batches(batch_format="pyarrow", batch_size=None):
        now = time.perf_counter()
        if first:
            after_first += batch.num_rows
        first = first or now
        last = now
        ok += batch.column("error_type").null_count
    wall = time.perf_counter() - start
    out: dict[str, Any] = {"wall": wall, "span": last - first, "ok": ok, "after": after_first}
    if handle is not None:
        stats = handle.stats()
        out["limiter_calls"] = stats.calls
        out["granted"] = stats.granted
        handle.kill()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ray_rows")
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32, help="in flight per actor")
    parser.add_argument("--latency", type=float, default=0.05, help="server delay per request")
    args = parser.parse_args(argv)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    model = f"emulator/echo:latency={args.latency}"
    rows = _rows(args.rows, model)
    emulator, base_url = _start_emulator()
    try:
        import ray

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        ray.data.DataContext.get_current().enable_progress_bars = False
        results: list[tuple[str, dict[str, Any]]] = [
            ("client.batch, one process", in_process(base_url, rows, args.concurrency)),
        ]
        for actors, limiter in ((1, False), (2, False), (2, True)):
            name = f"Ray Data, {actors} actor{'s' if actors > 1 else ''}"
            name += " + ClusterLimiter" if limiter else ""
            results.append(
                (
                    name,
                    through_ray(
                        base_url,
                        rows,
                        actors=actors,
                        concurrency=args.concurrency,
                        limiter=limiter,
                    ),
                )
            )
        ray.shutdown()
    finally:
        emulator.terminate()
        emulator.wait(10)
    print(
        f"{args.rows} rows, {args.concurrency} in flight per actor (or process), "
        f"{args.latency * 1000:.0f} ms server latency\n"
    )
    print("| path | wall s | rows/s (wall) | rows/s (steady) | ok | limiter calls / request |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in results:
        steady = r["after"] / r["span"] if r["span"] > 0 else float("nan")
        calls = f"{r['limiter_calls'] / r['granted']:.3f}" if r.get("granted") else "-"
        print(
            f"| {name} | {r['wall']:.1f} | {args.rows / r['wall']:,.0f} | {steady:,.0f} "
            f"| {r['ok']} | {calls} |"
        )


if __name__ == "__main__":
    main()
