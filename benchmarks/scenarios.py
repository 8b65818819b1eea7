"""The nine scenarios, the sizes they run at, and the subprocess workers some of them need.

Why it is built this way:

* **Same run, turns, medians.** In-process scenarios run every client in rotating turns (A B C, then
  B C A, ...) after a warm-up turn, so drift on a shared machine hits all of them alike; the table
  shows medians and the JSON keeps every sample.
* **CPU is the client's alone.** The server is another process (pinned to another core when there
  is one), so ``time.process_time`` around a trial is client CPU: parsing, models, the event loop.
* **Memory is measured in fresh processes.** Peak RSS only ever grows, so the hold and batch
  scenarios start one worker process per client (``python -m benchmarks.scenarios SPEC``).
* **Every trial checks its answer.** A client that saw different text than the server sent is an
  error row, not a fast row.
* **A per-client time budget** stops repeating a very slow client once it has enough samples, so
  the full run stays within minutes even when a peer is 100x slower than the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from . import clients as C
from .report import Metric, Row, ScenarioResult
from .server import (
    HOLD_MODEL,
    sse_event_stream,
    text_length,
    tools_plan,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUBPROCESS_TIMEOUT = 600.0

# --------------------------------------------------------------------------- sizes


@dataclass(frozen=True)
class Sizes:
    """Every knob of every scenario (the number is the scenario's); ``PRESETS`` holds the sets."""

    reps: int  # repetitions of in-process trials (medians over these)
    budget_s: float  # per client and scenario: stop repeating once this much time was spent
    stream_chunks: int  # 1
    parser_events: int  # 2
    parser_pieces: tuple[int, ...]  # 2
    conc_streams: int  # 3
    conc_chunks: int  # 3
    nonstream_requests: int  # 4
    nonstream_inflight: int  # 4
    hold_streams: int  # 5
    hold_chunks: int  # 5
    hold_reps: int  # 5
    import_reps: int  # 6
    ttfc_requests: int  # 7
    ttfc_chunks: int  # 7
    accum_chunks: int  # 8
    batch_requests: int  # 9
    batch_concurrency: int  # 9
    batch_reps: int  # 9


# tiny: seconds, for the smoke test (figures mean nothing). quick: under two minutes, every
# scenario at a reduced size. full: the sizes the published figures use, under ten minutes.
_MODES = ("tiny", "quick", "full")
_TABLE: dict[str, tuple[Any, Any, Any]] = {
    "reps": (1, 3, 5),
    "budget_s": (5.0, 4.0, 30.0),
    "stream_chunks": (200, 2000, 20_000),
    "parser_events": (500, 10_000, 20_000),
    "parser_pieces": ((1500, 64), (1500, 64), (1500, 64)),
    "conc_streams": (5, 40, 200),
    "conc_chunks": (20, 40, 200),
    "nonstream_requests": (20, 100, 1000),
    "nonstream_inflight": (5, 50, 100),
    "hold_streams": (5, 100, 500),
    "hold_chunks": (10, 20, 20),
    "hold_reps": (1, 1, 1),
    "import_reps": (1, 2, 5),
    "ttfc_requests": (3, 20, 50),
    "ttfc_chunks": (4, 8, 8),
    "accum_chunks": (100, 2000, 20_000),
    "batch_requests": (20, 300, 10_000),
    "batch_concurrency": (8, 64, 256),
    "batch_reps": (1, 1, 1),
}
PRESETS: dict[str, Sizes] = {
    mode: Sizes(**{knob: values[i] for knob, values in _TABLE.items()})
    for i, mode in enumerate(_MODES)
}

# --------------------------------------------------------------------------- context


@dataclass
class Context:
    base_url: str
    origin: str
    sizes: Sizes
    adapters: list[type[C.Adapter]]
    log: Callable[[str], None] = print
    peer_parsers: bool = True
    explicit_clients: bool = False  # the user chose the clients with --clients

    def available(self) -> tuple[list[type[C.Adapter]], list[Row]]:
        """The selected adapters that import here, and a skipped row for each that does not."""
        ok: list[type[C.Adapter]] = []
        skipped: list[Row] = []
        for cls in self.adapters:
            reason = cls.probe()
            if reason is None:
                ok.append(cls)
            else:
                skipped.append(Row(cls.name, status="skipped", reason=reason))
        return ok, skipped


class Clock:
    """Wall and process-CPU seconds of a block."""

    __slots__ = ("_c0", "_w0", "cpu", "wall")

    def __enter__(self) -> Clock:
        self._w0 = time.perf_counter()
        self._c0 = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cpu = time.process_time() - self._c0
        self.wall = time.perf_counter() - self._w0


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) < 300 else text[:297] + "..."


def expected_final(n: int) -> C.FinalSummary:
    n_reason, n_content, n_tools = tools_plan(n)
    per_call = n_tools // 2
    args = '{"q": "' + "ab" * max(per_call - 3, 0) + '"}'
    return C.FinalSummary(
        text_length(n_content),
        text_length(n_reason),
        (("get_weather", args), ("search_docs", args)),
    )


# --------------------------------------------------------------------------- in-process turns

Trial = Callable[[C.Adapter], Awaitable[dict[str, float]]]


async def run_turns(
    ctx: Context,
    trial: Trial,
    *,
    reps: int,
    warmup: Trial | None = None,
    budget_s: float | None = None,
    pool: int = C.DEFAULT_POOL,
    collect_each_trial: bool = True,
) -> list[Row]:
    """Open every adapter, warm each up, then run ``trial`` in rotating turns ``reps`` times.

    A client skips a turn once another trial would take it past the time budget (it always
    gets one), so a client 100x slower than the rest costs minutes, not hours.
    ``gc.collect()`` runs before each trial, or once per round when trials are short.
    """
    classes, rows = ctx.available()
    budget = ctx.sizes.budget_s if budget_s is None else budget_s
    live: dict[str, tuple[C.Adapter, Row]] = {}
    spent: dict[str, float] = {}
    last: dict[str, float] = {}
    result: dict[str, Row] = {}
    try:
        for cls in classes:
            row = Row(cls.name)
            result[cls.name] = row
            adapter = cls(ctx.base_url, pool=pool)
            try:
                await adapter.open()
            except Exception as exc:
                row.status, row.reason = "error", "open: " + _describe(exc)
                continue
            live[cls.name] = (adapter, row)
            spent[cls.name] = last[cls.name] = 0.0
            try:
                if warmup is not None:
                    await warmup(adapter)
            except C.NotSupported as exc:
                row.status, row.reason = "skipped", str(exc)
            except Exception as exc:
                row.status, row.reason = "error", "warm-up: " + _describe(exc)
        names = [n for n, (_, r) in live.items() if r.status == "ok"]
        for rep in range(reps):
            if not collect_each_trial:
                gc.collect()
            k = rep % len(names) if names else 0
            for name in names[k:] + names[:k]:
                adapter, row = live[name]
                if row.status != "ok" or (rep > 0 and spent[name] + last[name] > budget):
                    continue
                if collect_each_trial:
                    gc.collect()
                t0 = time.perf_counter()
                try:
                    row.add(await trial(adapter))
                except C.NotSupported as exc:
                    row.status, row.reason = "skipped", str(exc)
                except Exception as exc:
                    row.status, row.reason = "error", _describe(exc)
                last[name] = time.perf_counter() - t0
                spent[name] += last[name]
    finally:
        for adapter, row in live.values():
            row.notes.extend(adapter.notes)
            try:
                await adapter.close()
            except Exception as exc:  # a failing close is worth a note, not a lost run
                row.notes.append("close: " + _describe(exc))
    out = list(result.values()) + rows
    for row in out:
        row.finish()
    return out


def _check(got: Any, want: Any, what: str) -> None:
    if got != want:
        raise AssertionError(f"wrong {what}: got {got!r}, expected {want!r}")


# --------------------------------------------------------------------------- 1. one long stream


async def scenario_stream(ctx: Context) -> ScenarioResult:
    n = ctx.sizes.stream_chunks
    want = text_length(n)

    async def warm(a: C.Adapter) -> dict[str, float]:
        await a.stream_text(min(n, 200))
        return {}

    async def trial(a: C.Adapter) -> dict[str, float]:
        with Clock() as clk:
            got = await a.stream_text(n)
        if a.counts_text:
            _check(got, want, "text length")
        return {"chunks_per_s": n / clk.wall, "cpu_us_per_chunk": clk.cpu / n * 1e6}

    rows = await run_turns(ctx, trial, reps=ctx.sizes.reps, warmup=warm)
    return ScenarioResult(
        "stream",
        f"1. One stream of {n:,} chunks",
        "A single streamed completion; every text delta's text is consumed. Client CPU per chunk "
        "is the figure that matters at scale; chunks/s is bounded by the loopback server too.",
        [
            Metric("chunks_per_s", "chunks/s", True),
            Metric("cpu_us_per_chunk", "CPU µs/chunk", False, 1),
        ],
        rows,
        {"chunks": n},
    )


# --------------------------------------------------------------------------- 2. SSE parser alone


def scenario_parser(ctx: Context) -> ScenarioResult:
    n = ctx.sizes.parser_events
    data = sse_event_stream(n)
    runners = C.parser_runners()
    if not ctx.peer_parsers:
        runners = {k: v for k, v in runners.items() if k.startswith(C.OURS) or "minimal" in k}
    metrics = [
        Metric(f"events_per_s_{p}", f"events/s @{p} B", True) for p in ctx.sizes.parser_pieces
    ]
    splits = {p: [data[i : i + p] for i in range(0, len(data), p)] for p in ctx.sizes.parser_pieces}
    want: int | None = None
    rows: dict[str, Row] = {}
    live: dict[str, C.ParserRun] = {}
    for name, run in runners.items():
        if isinstance(run, str):
            rows[name] = Row(name, status="skipped", reason=run)
        else:
            rows[name] = Row(name)
            live[name] = run
    # Every parser must agree with the minimal loop on the summed data length.
    ref = live.get("minimal bytes split")
    if ref is not None:
        want = ref(splits[ctx.sizes.parser_pieces[0]])
    for rep in range(ctx.sizes.reps + 1):  # turn 0 is the warm-up
        names = list(live)
        k = rep % len(names) if names else 0
        for name in names[k:] + names[:k]:
            row = rows[name]
            if row.status != "ok":
                continue
            values: dict[str, float] = {}
            try:
                for size, pieces in splits.items():
                    gc.collect()
                    t0 = time.perf_counter()
                    got = live[name](pieces)
                    dt = time.perf_counter() - t0
                    if want is not None:
                        _check(got, want, "data length")
                    values[f"events_per_s_{size}"] = n / dt
            except Exception as exc:
                row.status, row.reason = "error", _describe(exc)
                continue
            if rep > 0:
                row.add(values)
    for row in rows.values():
        row.finish()
    return ScenarioResult(
        "parser",
        f"2. SSE parser alone, {n:,} events",
        "A pre-built OpenRouter byte stream fed to each parser in 1,500-byte pieces (a network "
        "read) and 64-byte pieces (per-call overhead). Each event's data is decoded to str and "
        "touched; no JSON. The minimal loop handles only LF-LF framing and data lines: a floor.",
        metrics,
        list(rows.values()),
        {"events": n, "bytes": len(data), "pieces": list(ctx.sizes.parser_pieces)},
        reference=C.OURS + " SSEParser",
    )


# --------------------------------------------------------------------------- 3. concurrent streams


async def scenario_concurrent(ctx: Context) -> ScenarioResult:
    streams, n = ctx.sizes.conc_streams, ctx.sizes.conc_chunks
    want = text_length(n)

    async def warm(a: C.Adapter) -> dict[str, float]:
        await asyncio.gather(*(a.stream_text(min(n, 50)) for _ in range(min(streams, 10))))
        return {}

    async def trial(a: C.Adapter) -> dict[str, float]:
        with Clock() as clk:
            got = await asyncio.gather(*(a.stream_text(n) for _ in range(streams)))
        if a.counts_text:
            _check(set(got), {want}, "text lengths")
        total = streams * n
        return {
            "wall_ms": clk.wall * 1e3,
            "cpu_ms": clk.cpu * 1e3,
            "chunks_per_s": total / clk.wall,
        }

    rows = await run_turns(ctx, trial, reps=ctx.sizes.reps, warmup=warm, pool=max(streams, 100))
    return ScenarioResult(
        "concurrent",
        f"3. {streams} concurrent streams x {n} chunks",
        "All streams at once on one event loop and one client (one connection each).",
        [
            Metric("wall_ms", "wall ms", False),
            Metric("cpu_ms", "client CPU ms", False),
            Metric("chunks_per_s", "chunks/s", True),
        ],
        rows,
        {"streams": streams, "chunks": n},
    )


# --------------------------------------------------------------------------- 4. non-streaming


async def scenario_nonstream(ctx: Context) -> ScenarioResult:
    total, inflight = ctx.sizes.nonstream_requests, ctx.sizes.nonstream_inflight

    async def warm(a: C.Adapter) -> dict[str, float]:
        await a.gather(min(total, 20), inflight)
        return {}

    async def trial(a: C.Adapter) -> dict[str, float]:
        with Clock() as clk:
            got = await a.gather(total, inflight)
        _check(got % total, 0, "content length")
        return {"req_per_s": total / clk.wall, "cpu_us_per_req": clk.cpu / total * 1e6}

    rows = await run_turns(ctx, trial, reps=ctx.sizes.reps, warmup=warm)
    return ScenarioResult(
        "nonstream",
        f"4. {total:,} non-streaming requests, <= {inflight} in flight",
        "create() without streaming, asyncio.gather + Semaphore; the message content is read.",
        [
            Metric("req_per_s", "requests/s", True),
            Metric("cpu_us_per_req", "CPU µs/request", False),
        ],
        rows,
        {"requests": total, "in_flight": inflight},
    )


# --------------------------------------------------------------------------- 7. time to first chunk


class _FirstChunk(C.Hooks):
    __slots__ = ("dt", "t0")

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.dt = 0.0

    async def first(self) -> None:
        self.dt = time.perf_counter() - self.t0


async def scenario_ttfc(ctx: Context) -> ScenarioResult:
    reqs, n = ctx.sizes.ttfc_requests, ctx.sizes.ttfc_chunks

    async def warm(a: C.Adapter) -> dict[str, float]:
        for _ in range(3):
            await a.stream_text(n)
        return {}

    async def trial(a: C.Adapter) -> dict[str, float]:
        hooks = _FirstChunk()
        await a.stream_text(n, hooks)
        return {"ttfc_us": hooks.dt * 1e6}

    # One request per turn and client, so the 50 requests of each client interleave with the others.
    rows = await run_turns(
        ctx, trial, reps=reqs, warmup=warm, budget_s=float("inf"), collect_each_trial=False
    )
    base = next((r for r in rows if r.client == C.RawJson.name and r.status == "ok"), None)
    for row in rows:
        if row.status == "ok" and base is not None:
            row.metrics["overhead_us"] = row.metrics["ttfc_us"] - base.metrics["ttfc_us"]
    return ScenarioResult(
        "ttfc",
        f"7. Time to first chunk, median of {reqs} requests",
        "From the call that opens the stream to the first text delta in hand, on a warm "
        "keep-alive connection. Overhead is over raw aiohttp+json (request building, response "
        "handling and the first parse; the server's own time is in every figure alike).",
        [
            Metric("ttfc_us", "first chunk µs", False),
            Metric("overhead_us", "overhead over raw µs", False),
        ],
        rows,
        {"requests": reqs, "chunks": n, "overhead_base": C.RawJson.name},
    )


# --------------------------------------------------------------------------- 8. accumulation


async def scenario_accumulate(ctx: Context) -> ScenarioResult:
    n = ctx.sizes.accum_chunks
    want = expected_final(n)

    async def warm(a: C.Adapter) -> dict[str, float]:
        _check(await a.stream_final(min(n, 200)), expected_final(min(n, 200)), "final completion")
        return {}

    async def trial(a: C.Adapter) -> dict[str, float]:
        with Clock() as clk:
            got = await a.stream_final(n)
        _check(got, want, "final completion")
        return {"chunks_per_s": n / clk.wall, "cpu_us_per_chunk": clk.cpu / n * 1e6}

    rows = await run_turns(ctx, trial, reps=ctx.sizes.reps, warmup=warm)
    return ScenarioResult(
        "accumulate",
        f"8. Final-completion accumulation, {n:,} chunks",
        "A stream of reasoning deltas, text deltas and two tool calls split into argument "
        "fragments; text deltas are consumed as they come, then the final completion (content, "
        "reasoning, tool calls) is taken. Ours: stream.get_final_completion(); openai: the "
        ".stream() helper's get_final_completion(); raw: a hand-written dict fold.",
        [
            Metric("chunks_per_s", "chunks/s", True),
            Metric("cpu_us_per_chunk", "CPU µs/chunk", False, 1),
        ],
        rows,
        {
            "chunks": n,
            "plan": dict(zip(("reasoning", "content", "tools"), tools_plan(n), strict=True)),
        },
    )


# --------------------------------------------------------------------------- workers (5 and 9)


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
    """Entry of ``python -m benchmarks.scenarios SPEC``: run one worker, print ``RESULT {json}``."""
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
            [sys.executable, "-m", "benchmarks.scenarios", json.dumps(spec)],
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


# --------------------------------------------------------------------------- 5. held streams


def scenario_hold(ctx: Context) -> ScenarioResult:
    n = ctx.sizes.hold_streams
    classes, skipped = ctx.available()
    specs = [
        (
            cls.name,
            {
                "kind": "hold",
                "client": cls.name,
                "base_url": ctx.base_url,
                "origin": ctx.origin,
                "streams": n,
                "chunks": ctx.sizes.hold_chunks,
                "cpu": _client_cpu(),
            },
        )
        for cls in classes
    ]
    keys = ["per_stream_kb", "held_mb", "baseline_mb", "peak_mb"]
    rows = _worker_rows(ctx, specs, ctx.sizes.hold_reps, keys) + skipped
    return ScenarioResult(
        "hold",
        f"5. Memory of {n} streams held open mid-stream",
        "A fresh process per client imports it, creates the client and runs one warm-up stream "
        "(baseline RSS); then opens all streams, each paused by the server after its first "
        "chunks, and reads RSS once every stream has delivered its first text delta.",
        [
            Metric("per_stream_kb", "KB/stream", False, 1),
            Metric("held_mb", "RSS held MB", False, 1),
            Metric("baseline_mb", "baseline MB", False, 1),
            Metric("peak_mb", "peak MB", False, 1),
        ],
        rows,
        {"streams": n, "reps": ctx.sizes.hold_reps},
    )


# --------------------------------------------------------------------------- 9. batch


def scenario_batch(ctx: Context) -> ScenarioResult:
    n, conc = ctx.sizes.batch_requests, ctx.sizes.batch_concurrency
    classes, skipped = ctx.available()
    specs: list[tuple[str, dict[str, Any]]] = []
    if C.OfficialOpenRouter in classes and not ctx.explicit_clients:
        classes.remove(C.OfficialOpenRouter)
        skipped.append(
            Row(
                C.OfficialOpenRouter.name,
                status="skipped",
                reason="not in the batch comparison by default (about 20 requests/s: minutes); "
                "add it with --clients",
            )
        )
    for cls in classes:
        modes = ["batch", "gather"] if cls is C.Ours else ["gather"]
        for mode in modes:
            spec = {
                "kind": "batch",
                "mode": mode,
                "client": cls.name,
                "base_url": ctx.base_url,
                "requests": n,
                "concurrency": conc,
                "cpu": _client_cpu(),
            }
            specs.append((f"{cls.name} [{mode}]", spec))
    keys = ["req_per_s", "cpu_us_per_req", "peak_mb", "growth_mb"]
    rows = _worker_rows(ctx, specs, ctx.sizes.batch_reps, keys) + skipped
    # Ratios against our batch() when it ran, else against our gather.
    ours_ok = {r.client for r in rows if r.status == "ok" and r.client.startswith(C.OURS)}
    reference = next(
        (n for n in (f"{C.OURS} [batch]", f"{C.OURS} [gather]") if n in ours_ok),
        f"{C.OURS} [batch]",
    )
    return ScenarioResult(
        "batch",
        f"9. Batch: {n:,} non-streaming requests at concurrency {conc}",
        "A fresh process per client. Ours through client.batch(...) when it exists, and through "
        "asyncio.gather + Semaphore like everyone else; a warm-up of one full wave opens the "
        "pool first. Peak RSS is the whole process's; growth is over the RSS after the warm-up.",
        [
            Metric("req_per_s", "requests/s", True),
            Metric("cpu_us_per_req", "CPU µs/request", False),
            Metric("peak_mb", "peak RSS MB", False, 1),
            Metric("growth_mb", "RSS growth MB", False, 1),
        ],
        rows,
        {"requests": n, "concurrency": conc},
        reference=reference,
    )


# --------------------------------------------------------------------------- 6. import time

_IMPORTS: dict[str, tuple[str, str]] = {
    # row name: (module for -X importtime, snippet that also creates a client ready for use)
    "aiohttp (baseline)": (
        "aiohttp",
        "import asyncio, aiohttp\n"
        "async def main():\n"
        "    async with aiohttp.ClientSession():\n"
        "        pass\n"
        "asyncio.run(main())",
    ),
    C.OURS: (
        "openrouter_async",
        "import asyncio, openrouter_async as m\n"
        "async def main():\n"
        "    async with m.OpenRouter(api_key='k', base_url='http://127.0.0.1:9/api/v1') as c:\n"
        "        c.chat.completions\n"
        "asyncio.run(main())",
    ),
    C.OpenAI.name: (
        "openai",
        "import asyncio, openai\n"
        "async def main():\n"
        "    c = openai.AsyncOpenAI(api_key='k', base_url='http://127.0.0.1:9/api/v1')\n"
        "    c.chat.completions\n"
        "    await c.close()\n"
        "asyncio.run(main())",
    ),
    C.OfficialOpenRouter.name: (
        "openrouter",
        "import asyncio, openrouter\n"
        "async def main():\n"
        "    async with openrouter.OpenRouter(api_key='k', server_url='http://127.0.0.1:9') as c:\n"
        "        c.chat\n"
        "asyncio.run(main())",
    ),
}

_IMPORTTIME = re.compile(r"^import time:\s*\d+\s*\|\s*(\d+)\s*\|\s?(\S.*)$")


def _python(code: str, importtime: bool = False) -> tuple[float, str, int]:
    cmd = [sys.executable, *(["-X", "importtime"] if importtime else []), "-c", code]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)
    return time.perf_counter() - t0, proc.stderr, proc.returncode


def _cumulative_us(stderr: str, module: str) -> float | None:
    for line in stderr.splitlines():
        m = _IMPORTTIME.match(line)
        if m and m.group(2) == module:  # a top-level entry has no indent
            return float(m.group(1))
    return None


def scenario_import(ctx: Context) -> ScenarioResult:
    selected = {cls.name for cls in ctx.adapters}
    names = [n for n in _IMPORTS if n in selected or "baseline" in n]
    rows = {n: Row(n) for n in names}
    for n in names:
        cls = next((c for c in ctx.adapters if c.name == n), None)
        reason = cls.probe() if cls is not None else None
        if reason:
            rows[n].status, rows[n].reason = "skipped", reason
    bare: list[float] = []
    for rep in range(ctx.sizes.import_reps + 1):  # turn 0 warms the OS file cache
        bare_s, _, _ = _python("pass")
        if rep:
            bare.append(bare_s)
        k = rep % len(names)
        for n in names[k:] + names[:k]:
            row = rows[n]
            if row.status != "ok":
                continue
            module, snippet = _IMPORTS[n]
            wall, err, rc = _python(f"import {module}", importtime=True)
            if not rep:
                continue  # the warm turn only fills the OS file cache
            wall2, err2, rc2 = _python(snippet)
            cum = _cumulative_us(err, module)
            if rc or rc2 or cum is None:
                last = (err2 if rc2 else err).strip().splitlines()[-1:]
                row.status, row.reason = "error", last[0] if last else "no -X importtime line"
                continue
            row.add(
                {
                    "importtime_ms": cum / 1e3,
                    "import_ms": (wall - bare_s) * 1e3,
                    "client_ms": (wall2 - bare_s) * 1e3,
                }
            )
    for row in rows.values():
        row.finish()
    return ScenarioResult(
        "import",
        f"6. Import time, median of {ctx.sizes.import_reps} fresh processes",
        "-X importtime cumulative time of the top-level package; wall time of "
        "`python -c 'import X'` and of importing, creating a client and touching its chat "
        "resource (lazy packages pay on first use), both minus a bare `python -c pass`.",
        [
            Metric("importtime_ms", "-X importtime ms", False, 1),
            Metric("import_ms", "import wall ms", False),
            Metric("client_ms", "import + client ms", False),
        ],
        list(rows.values()),
        {"reps": ctx.sizes.import_reps, "bare_python_ms": round(statistics.median(bare) * 1e3, 1)},
    )


# --------------------------------------------------------------------------- registry


def _client_cpu() -> int | None:
    """The CPU the runner pinned itself to (workers pin to it too), if it pinned."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    cpus = os.sched_getaffinity(0)
    return next(iter(cpus)) if len(cpus) == 1 else None


AsyncScenario = Callable[[Context], Awaitable[ScenarioResult]]
SyncScenario = Callable[[Context], ScenarioResult]

# id -> (runs in the event loop?, function). Order is the order of the report.
SCENARIOS: dict[str, tuple[bool, AsyncScenario | SyncScenario]] = {
    "stream": (True, scenario_stream),
    "parser": (False, scenario_parser),
    "concurrent": (True, scenario_concurrent),
    "nonstream": (True, scenario_nonstream),
    "hold": (False, scenario_hold),
    "import": (False, scenario_import),
    "ttfc": (True, scenario_ttfc),
    "accumulate": (True, scenario_accumulate),
    "batch": (False, scenario_batch),
}


if __name__ == "__main__":
    worker_main(sys.argv[1:])
