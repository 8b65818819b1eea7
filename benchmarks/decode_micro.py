"""Micro-benchmark of the streaming hot path: one SSE data payload -> events (+ fold).

Run: ``.venv/bin/python benchmarks/decode_micro.py [--number N] [--repeat R]``.

For each payload it times ``orjson.loads`` alone and ``StreamDecoder.feed`` (parse + decode +
accumulate) back to back in every round, and reports the best round of each: on a shared,
noisy machine the minimum is the stable statistic, and interleaving keeps both numbers from the
same conditions. ``decoder`` = feed - loads is what the SDK adds on top of the JSON parse
(target: <= 3 µs for a typical text chunk). Standalone timing script, not a test.
"""

from __future__ import annotations

import argparse
import platform
import sys
import timeit
from collections.abc import Callable

import orjson

from openrouter_async._decode import StreamDecoder

_HEAD = (
    '{"id":"gen-1760000000-Xy12AbCd","provider":"OpenAI","model":"openai/gpt-4o-mini",'
    '"object":"chat.completion.chunk","created":1760000000,"choices":[{"index":0,"delta":'
)
_TAIL = ',"finish_reason":null,"native_finish_reason":null,"logprobs":null}]}'

# A realistic OpenRouter text chunk (~250 bytes): repeated role, null finish/logprobs.
TEXT_CHUNK = _HEAD + '{"role":"assistant","content":" the weather"}' + _TAIL
REASONING_CHUNK = (
    _HEAD + '{"role":"assistant","content":"","reasoning":" so the","reasoning_details":'
    '[{"type":"reasoning.text","text":" so the","format":"anthropic-claude-v1","index":0}]}' + _TAIL
)
TOOL_OPEN = (
    _HEAD + '{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_1",'
    '"type":"function","function":{"name":"get_weather","arguments":""}}]}' + _TAIL
)
TOOL_CHUNK = (
    _HEAD + '{"role":"assistant","content":null,"tool_calls":[{"index":0,'
    '"function":{"arguments":"\\"Par"}}]}' + _TAIL
)

CASES: list[tuple[str, str, list[str]]] = [
    # label, timed payload, payloads fed once before timing
    ("text", TEXT_CHUNK, [TEXT_CHUNK]),
    ("reasoning", REASONING_CHUNK, [REASONING_CHUNK]),
    ("tool fragment", TOOL_CHUNK, [TOOL_OPEN]),
]


def measure(payload: str, warmup: list[str], number: int, repeat: int) -> tuple[float, float]:
    """Best-of-``repeat`` µs per call for (loads, feed), measured interleaved."""
    loads = orjson.loads
    decoder = StreamDecoder()
    for data in warmup:
        decoder.feed(data)
    feed = decoder.feed
    calls: list[Callable[[], object]] = [lambda: loads(payload), lambda: feed(payload)]
    best = [float("inf"), float("inf")]
    for _ in range(repeat):
        for i, call in enumerate(calls):
            best[i] = min(best[i], timeit.timeit(call, number=number) / number * 1e6)
    return best[0], best[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--number", type=int, default=50_000, help="calls per round")
    parser.add_argument("--repeat", type=int, default=15, help="rounds")
    args = parser.parse_args(argv)
    print(f"Python {sys.version.split()[0]} on {platform.machine()}, orjson {orjson.__version__}")
    print(f"{'payload':<15}{'bytes':>6}{'loads µs':>10}{'feed µs':>10}{'decoder µs':>12}")
    for label, payload, warmup in CASES:
        parse, total = measure(payload, warmup, args.number, args.repeat)
        print(f"{label:<15}{len(payload):>6}{parse:>10.2f}{total:>10.2f}{total - parse:>12.2f}")


if __name__ == "__main__":
    main()
