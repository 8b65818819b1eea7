"""Scenario 6, import time: its own module because it shares nothing with the others.

It never opens a client or talks to the server: it times fresh ``python -c`` processes, so it
needs none of the in-process machinery of ``scenarios`` and keeps that module a readable size.
It imports nothing from ``scenarios`` at run time, so ``scenarios`` can import it eagerly for
its registry without an import cycle.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from typing import TYPE_CHECKING

from . import clients as C
from .report import Metric, Row, ScenarioResult

if TYPE_CHECKING:
    from .scenarios import Context

# The repository root (as ``scenarios.ROOT``): the timed processes start there, like the runner.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

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
