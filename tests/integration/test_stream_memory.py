"""Backpressure: a slow consumer of a 100 MB stream keeps the client's memory flat.

The client runs in a subprocess so its peak RSS is its own; the server (in this process)
writes as fast as TCP lets it. Without pull-based reading the client would buffer ~100 MB.
With ``accumulate=False`` nothing of the text is kept; with the default the final completion
keeps the text itself, and only that may add to the peak.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import orjson
import pytest
from aiohttp import web

from tests.localserver import serve

EVENT_TEXT = "x" * (64 * 1024)
EVENTS = 1600  # 1600 x 64 KiB ~= 100 MiB of text


def event(content: str, finish: str | None = None) -> bytes:
    body = {
        "id": "gen-big",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m/x",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}],
    }
    return b"data: " + orjson.dumps(body) + b"\n\n"


CLIENT = textwrap.dedent(
    """
    import asyncio, sys
    import openrouter_async as ora

    def rss_kb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4

    def peak_kb():
        # VmHWM, not ru_maxrss: ru_maxrss survives exec, so a child of a big pytest
        # process would report the parent's peak.
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])

    async def main(base, accumulate):
        async with ora.OpenRouter(api_key="k", base_url=base) as client:
            stream = client.chat.completions.stream(
                model="m/x", messages=[{"role": "user", "content": "x"}], accumulate=accumulate
            )
            async with stream:
                n = 0
                baseline = None
                total = 0
                async for event in stream:
                    if isinstance(event, ora.TextDelta):
                        n += 1
                        total += len(event.text)
                        if n == 5:
                            baseline = rss_kb()
                        await asyncio.sleep(0.002)  # a slow consumer
                # Peak while streaming (the final join below briefly doubles the kept text).
                peak = peak_kb()
                final = await stream.get_final_completion()
        kept = len(final.choices[0].message.content or "")
        print(n, total, baseline, peak, kept)

    asyncio.run(main(sys.argv[1], sys.argv[2] == "1"))
    """
)


@pytest.mark.parametrize("accumulate", [False, True])
async def test_slow_consumer_of_100mb_stream_keeps_memory_flat(accumulate: bool) -> None:
    chunk = event(EVENT_TEXT)

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for _ in range(EVENTS):
            await response.write(chunk)
        await response.write(event("", finish="stop"))
        await response.write(b"data: [DONE]\n\n")
        return response

    async with serve({("POST", "/api/v1/chat/completions"): handler}) as base:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            CLIENT,
            base + "/api/v1",
            "1" if accumulate else "0",
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()
    n, total, baseline_kb, peak_kb, kept = (int(x) for x in out.split())
    assert n == EVENTS and total == EVENTS * len(EVENT_TEXT)
    # With accumulation on, the final completion legitimately holds the whole text (~100 MiB);
    # what must stay small is everything else: buffered bytes, events, parser state.
    assert kept == (total if accumulate else 0)
    growth_mb = (peak_kb - baseline_kb - kept / 1024) / 1024
    assert growth_mb < 50, f"client memory grew {growth_mb:.1f} MiB beyond what it keeps"
