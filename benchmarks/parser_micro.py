"""Micro-benchmark of the SSE parser against a minimal bytes-splitting loop.

Run: ``.venv/bin/python benchmarks/parser_micro.py [--events N] [--repeat R]``

Builds a realistic OpenRouter chat stream (keep-alive comments, ``data: {json}`` chunks of about
250 bytes, a usage chunk, ``[DONE]``), then feeds it in 1,500-byte pieces (about one TCP segment
per read), 64-byte pieces (a worst case for per-call overhead) and 64 KiB pieces (a busy
connection's large reads), and prints events/s
for :class:`openrouter_async._sse.SSEParser` and for the smallest loop that could split the
stream: ``buf += chunk`` and ``find(b"\\n\\n")``. That loop knows nothing of CR, comments, fields
or UTF-8, so it is a floor, not a competitor; the parser aims to stay within 2x of it.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import time
from collections.abc import Callable

from openrouter_async._sse import SSEEvent, SSEParser

Feeder = Callable[[list[bytes]], int]


def build_stream(n_events: int, seed: int = 1) -> bytes:
    """``n_events`` chat-completion chunks as OpenRouter sends them, ~250 bytes of JSON each."""
    rng = random.Random(seed)
    words = ["the", "of", "a", "model", "token", "stream", "weather", "Paris", "café", "東京"]
    out = [b": OPENROUTER PROCESSING\n\n", b": OPENROUTER PROCESSING\n\n"]
    for i in range(n_events):
        if i and i % 1000 == 0:
            out.append(b": OPENROUTER PROCESSING\n\n")
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 6)))
        chunk = {
            "id": "gen-1760000000-Xy12",
            "provider": "OpenAI",
            "model": "openai/gpt-4o-mini",
            "object": "chat.completion.chunk",
            "created": 1760000000,
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": text},
                    "finish_reason": None,
                    "native_finish_reason": None,
                }
            ],
        }
        payload = json.dumps(chunk, ensure_ascii=False, separators=(",", ":")).encode()
        out.append(b"data: " + payload + b"\n\n")
    usage = {
        "id": "gen-1760000000-Xy12",
        "object": "chat.completion.chunk",
        "created": 1760000000,
        "model": "openai/gpt-4o-mini",
        "choices": [],
        "usage": {
            "prompt_tokens": 82,
            "completion_tokens": n_events,
            "total_tokens": 82 + n_events,
        },
    }
    out.append(b"data: " + json.dumps(usage, separators=(",", ":")).encode() + b"\n\n")
    out.append(b"data: [DONE]\n\n")
    return b"".join(out)


def split(stream: bytes, size: int) -> list[bytes]:
    return [stream[i : i + size] for i in range(0, len(stream), size)]


def feed_parser(chunks: list[bytes]) -> int:
    parser = SSEParser()
    count = 0
    for chunk in chunks:
        for item in parser.feed(chunk):
            if type(item) is SSEEvent:
                count += 1
    parser.feed(b"")
    return count


def feed_minimal(chunks: list[bytes]) -> int:
    """The floor: split on b"\\n\\n" only; no CR, no comments, no fields, no decoding."""
    buf = b""
    count = 0
    for chunk in chunks:
        buf += chunk
        while (i := buf.find(b"\n\n")) >= 0:
            block = buf[:i]
            buf = buf[i + 2 :]
            if block.startswith(b"data: "):
                count += 1
    return count


def feed_minimal_decoding(chunks: list[bytes]) -> int:
    """The floor plus what any consumer needs: the data value as ``str``."""
    buf = b""
    count = 0
    for chunk in chunks:
        buf += chunk
        while (i := buf.find(b"\n\n")) >= 0:
            block = buf[:i]
            buf = buf[i + 2 :]
            if block.startswith(b"data: "):
                block[6:].decode()
                count += 1
    return count


def best_times(
    runners: list[tuple[str, Feeder]], chunks: list[bytes], repeat: int, n_data: int
) -> dict[str, float]:
    """Best wall time of each runner; runs are interleaved so drift on a busy machine hits all."""
    best = {name: float("inf") for name, _ in runners}
    for _ in range(repeat):
        for name, fn in runners:
            gc.collect()
            t0 = time.perf_counter()
            count = fn(chunks)
            elapsed = time.perf_counter() - t0
            best[name] = min(best[name], elapsed)
            assert count == n_data, (name, count, n_data)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()

    stream = build_stream(args.events)
    n_data = stream.count(b"\ndata: ") + stream.startswith(b"data: ")
    print(
        f"stream: {len(stream):,} bytes, {n_data:,} data events, {len(stream) / n_data:.0f} B/event"
    )
    runners: list[tuple[str, Feeder]] = [
        ("SSEParser", feed_parser),
        ("minimal split", feed_minimal),
        ("minimal split+decode", feed_minimal_decoding),
    ]
    for size in (64, 1500, 65536):
        chunks = split(stream, size)
        print(f"\n{size:>6}-byte pieces ({len(chunks):,} feeds)")
        results = best_times(runners, chunks, args.repeat, n_data)
        for name, seconds in results.items():
            per_event = seconds / n_data * 1e6
            per_feed = seconds / len(chunks) * 1e6
            print(
                f"  {name:<22} {n_data / seconds:>12,.0f} events/s  "
                f"{per_event:6.2f} us/event  {per_feed:7.2f} us/feed"
            )
        ratio = results["SSEParser"] / results["minimal split"]
        ratio_dec = results["SSEParser"] / results["minimal split+decode"]
        print(f"  parser / minimal = {ratio:.2f}x   parser / minimal+decode = {ratio_dec:.2f}x")


if __name__ == "__main__":
    main()
