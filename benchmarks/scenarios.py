"""The nine scenarios and the sizes they run at; the subprocess workers are in ``workers``.

Why it is built this way:

* **Same run, turns, medians.** In-process scenarios run every client in rotating turns (A B C, then
  B C A, ...) after a warm-up turn, so drift on a shared machine hits all of them alike; the table
  shows medians and the JSON keeps every sample.
* **CPU is the client's alone.** The server is another process (pinned to another core when there
  is one), so ``time.process_time`` around a trial is client CPU: parsing, models, the event loop.
* **Memory is measured in fresh processes.** Peak RSS only ever grows, so the hold and batch
  scenarios start one worker process per client (``python -m benchmarks.workers SPEC``).
* **Every trial checks its answer.** A client that saw different text than the server sent is an
  error row, not a fast row.
* **A per-client time budget** stops repeating a very slow client once it has enough samples, so
  the full run stays within minutes even when a peer is 100x slower than the rest.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from . import clients as C
from .import_time import scenario_import
from .report import Metric, Row, ScenarioResult
from .server import (
    sse_event_stream,
    text_length,
    tools_plan,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

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
    "batch_reps": (1, 1, 3),
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


# --------------------------------------------------------------------------- 5. held streams


def scenario_hold(ctx: Context) -> ScenarioResult:
    # Imported here, not at the top: workers imports this module, and a worker process runs
    # workers as __main__, where an eager import would load a second copy of it.
    from .workers import _worker_rows

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
    from .workers import _worker_rows  # not at the top: see scenario_hold

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
