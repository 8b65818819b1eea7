"""``openrouter-async demo``: what the SDK does, against the built-in emulator, in ~6 seconds.

No key and no network: an :class:`~openrouter_async.testing.Emulator` runs on loopback in
this process and the SDK talks to it over real HTTP, exactly as it would to OpenRouter. Four
sections, each a few lines of SDK code: a streamed reply, a tool call assembled from fragments
(and answered), reasoning, and a concurrent batch with a live progress line.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from ..types.events import ReasoningDelta, TextDelta, ToolCallDelta, ToolCallDone, Usage
from ._common import format_cost, format_error, positive_int, stdout_console

if TYPE_CHECKING:
    from .._client import OpenRouter
    from ..types.responses import ChatCompletion, CompletionUsage

__all__ = ["SECTIONS", "add_arguments", "run"]

#: The section titles, in order (the tests look for them).
SECTIONS = (
    "1 · Streaming",
    "2 · Tool calls",
    "3 · Reasoning",
    "4 · Concurrent batch",
)

WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "examples": ["Paris"]},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "unit"],
        },
    },
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--requests", type=positive_int, default=40, metavar="N", help="batch size (default 40)"
    )
    parser.add_argument(
        "--concurrency",
        type=positive_int,
        default=8,
        metavar="N",
        help="requests in flight at once in the batch (default 8)",
    )


def _code(out: Console, line: str) -> None:
    out.print(Text(f"  {line}", style="dim cyan"), soft_wrap=True)


class _Typewriter:
    """Writes streamed words as they arrive, wrapping at word boundaries under a label."""

    def __init__(self, out: Console, style: str | None = None, label: str = "") -> None:
        self._out = out
        self._style = style
        self._label = f"  {label}"
        self._indent = " " * len(self._label)
        self._col = 0
        self._width = max(40, out.width - 2)

    def write(self, text: str) -> None:
        if self._col == 0:
            self._out.out(self._label, style="dim", end="")
            self._col = len(self._label)
            text = text.lstrip()
        elif self._col + len(text) > self._width and text[:1].isspace():
            self._out.out("\n" + self._indent, end="")
            self._col = len(self._indent)
            text = text.lstrip()
        self._out.out(text, style=self._style, end="", highlight=False)
        self._col += len(text)

    def end(self) -> None:
        if self._col:
            self._out.out("")
            self._col = 0


def _usage_text(usage: CompletionUsage | None) -> str:
    if usage is None:
        return "no usage"
    return (
        f"{usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens, "
        f"{format_cost(usage.cost)}"
    )


# -- 1 -------------------------------------------------------------------------------------


async def streaming(client: OpenRouter, out: Console) -> None:
    _code(out, 'async with client.chat.completions.stream(model="emulator/lorem", ...) as s:')
    _code(out, "    async for event in s:  # TextDelta, ReasoningDelta, ToolCallDelta, Usage …")
    out.print()
    writer = _Typewriter(out)
    started = time.monotonic()
    first: float | None = None
    usage: CompletionUsage | None = None
    async with client.chat.completions.stream(
        model="emulator/lorem:tokens=40:tps=20",
        messages=[{"role": "user", "content": "Say something in Latin."}],
    ) as stream:
        async for event in stream:
            if isinstance(event, TextDelta):
                first = first or time.monotonic()
                writer.write(event.text)
            elif isinstance(event, Usage):
                usage = event.usage
    writer.end()
    elapsed = time.monotonic() - started
    ttft = (first - started) if first is not None else 0.0
    rate = usage.completion_tokens / elapsed if usage is not None and elapsed > 0 else 0.0
    out.print(
        Text(
            f"  {_usage_text(usage)} · first token {ttft:.2f}s · {elapsed:.1f}s "
            f"({rate:.0f} tokens/s)",
            style="dim",
        )
    )


# -- 2 -------------------------------------------------------------------------------------


def get_weather(city: str, unit: str = "celsius") -> dict[str, Any]:
    """The demo's 'real' tool."""
    temperature = 18 if unit == "celsius" else 64
    return {"city": city, "temperature": temperature, "unit": unit, "conditions": "sunny"}


async def tool_calls(client: OpenRouter, out: Console) -> None:
    _code(out, "tools=[get_weather]; the call arrives as JSON fragments (ToolCallDelta),")
    _code(out, "then assembled (ToolCallDone); we run it and send the result back.")
    out.print()
    messages: list[dict[str, Any]] = [{"role": "user", "content": "What's the weather in Paris?"}]
    async with client.chat.completions.stream(
        model="emulator/tools:tps=12", messages=messages, tools=[WEATHER_TOOL]
    ) as stream:
        async for event in stream:
            if isinstance(event, ToolCallDelta):
                if event.name:
                    out.print(
                        Text.assemble("  call started: ", (event.name, "bold"), f"  id={event.id}")
                    )
                if event.arguments:
                    out.print(Text.assemble("  fragment:     ", (repr(event.arguments), "yellow")))
            elif isinstance(event, ToolCallDone):
                arguments = event.parsed_arguments()
                shown = ", ".join(f"{k}={v!r}" for k, v in arguments.items())
                out.print(
                    Text.assemble("  assembled:    ", (f"{event.name}({shown})", "bold green"))
                )
        final = await stream.get_final_completion()
    calls = final.choices[0].message.tool_calls or []
    messages.append(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.function.name, "arguments": call.function.arguments},
                }
                for call in calls
            ],
        }
    )
    for call in calls:
        result = get_weather(**json.loads(call.function.arguments or "{}"))
        out.print(Text.assemble("  tool result:  ", (json.dumps(result), "magenta")))
        messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)})
    answer = await client.chat.completions.create(
        model="emulator/tools", messages=messages, tools=[WEATHER_TOOL]
    )
    out.print(Text.assemble("  final answer: ", (answer.choices[0].message.content or "", "bold")))


# -- 3 -------------------------------------------------------------------------------------


async def reasoning(client: OpenRouter, out: Console) -> None:
    _code(out, "ReasoningDelta events carry the model's thinking; TextDelta the answer.")
    out.print()
    thinking = _Typewriter(out, style="dim italic", label="thinking: ")
    answer = _Typewriter(out, style="bold", label="answer:   ")
    in_answer = False
    async with client.chat.completions.stream(
        model="emulator/reasoning:tps=30",
        messages=[{"role": "user", "content": "Is the sky blue on a clear day?"}],
        reasoning={"effort": "low"},
    ) as stream:
        async for event in stream:
            if isinstance(event, ReasoningDelta) and event.text:
                thinking.write(event.text)
            elif isinstance(event, TextDelta):
                if not in_answer:
                    thinking.end()
                    in_answer = True
                answer.write(event.text)
        final = await stream.get_final_completion()
    thinking.end()
    answer.end()
    usage = final.usage
    reasoning_tokens = usage.reasoning_tokens if usage is not None else None
    out.print(Text(f"  {_usage_text(usage)} (of which {reasoning_tokens} reasoning)", style="dim"))


# -- 4 -------------------------------------------------------------------------------------


def _batch_available() -> bool:
    try:
        return importlib.util.find_spec("openrouter_async._batch") is not None
    except ImportError:
        return False


async def concurrent_batch(client: OpenRouter, out: Console, *, n: int, concurrency: int) -> None:
    from ..types.chat_request import ChatRequest

    use_batch = _batch_available()
    how = "client.batch(requests, concurrency=...)" if use_batch else "asyncio.gather + Semaphore"
    _code(out, f"{n} requests, {concurrency} at a time, with {how}")
    out.print()
    requests = [
        ChatRequest(
            model="emulator/lorem:tokens=12:tps=60",
            messages=[{"role": "user", "content": f"Request number {i}"}],
        )
        for i in range(n)
    ]
    completions: list[ChatCompletion] = []
    errors: list[BaseException] = []
    busy = 0.0  # the sum of every request's own latency
    progress = Progress(
        TextColumn("  [progress.description]{task.description}"),
        BarColumn(bar_width=30),
        MofNCompleteColumn(),
        TextColumn("{task.fields[tokens]} tokens"),
        TimeElapsedColumn(),
        console=out,
    )
    started = time.monotonic()
    with progress:
        task = progress.add_task("batch", total=n, tokens=0)
        tokens = 0

        def record(outcome: ChatCompletion | BaseException, latency: float) -> None:
            nonlocal tokens, busy
            busy += latency
            if isinstance(outcome, BaseException):
                errors.append(outcome)
            else:
                completions.append(outcome)
                tokens += outcome.usage.total_tokens if outcome.usage else 0
            progress.update(task, advance=1, tokens=tokens)

        if use_batch:
            async for result in client.batch(requests, concurrency=concurrency):
                if result.completion is not None:
                    record(result.completion, result.latency)
                else:
                    record(result.error or RuntimeError("no result"), result.latency)
        else:
            await _gather(client, requests, concurrency, record)
    wall = time.monotonic() - started
    usages = [c.usage for c in completions if c.usage is not None]
    total_tokens = sum(u.total_tokens for u in usages)
    cost = sum((u.cost or 0.0) for u in usages)
    out.print(
        Text(
            f"  {len(completions)} ok, {len(errors)} failed · {total_tokens} tokens · "
            f"{format_cost(cost)} · {wall:.2f}s wall for {busy:.1f}s of requests "
            f"({busy / wall:.1f}x from concurrency)",
            style="bold",
        )
    )
    if errors:
        out.print(Text(f"  first failure: {format_error(errors[0])}", style="red"))


async def _gather(
    client: OpenRouter,
    requests: list[Any],
    concurrency: int,
    record: Callable[[ChatCompletion | BaseException, float], None],
) -> None:
    semaphore = asyncio.Semaphore(concurrency)

    async def one(request: Any) -> None:
        async with semaphore:
            sent = time.monotonic()
            try:
                completion = await client.chat.completions.create(request)
            except Exception as exc:
                record(exc, time.monotonic() - sent)
            else:
                record(completion, time.monotonic() - sent)

    await asyncio.gather(*(one(r) for r in requests))


# -- the tour ------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> int:
    from .._client import OpenRouter
    from ..testing import Emulator

    out = stdout_console()
    started = time.monotonic()
    async with Emulator(api_key=None) as emu:
        out.print(
            Text.assemble(
                ("openrouter_async demo", "bold"),
                " · emulator on ",
                (emu.base_url, "cyan"),
                " (no API key, no network)",
            )
        )
        async with OpenRouter(api_key="demo", base_url=emu.base_url) as client:
            sections: list[Callable[[], Awaitable[None]]] = [
                lambda: streaming(client, out),
                lambda: tool_calls(client, out),
                lambda: reasoning(client, out),
                lambda: concurrent_batch(
                    client, out, n=args.requests, concurrency=args.concurrency
                ),
            ]
            for title, section in zip(SECTIONS, sections, strict=True):
                out.print()
                out.rule(Text(title, style="bold"), align="left")
                await section()
    out.print()
    out.print(
        Text(
            f"Done in {time.monotonic() - started:.1f}s. Try `openrouter-async chat --emulator "
            '"hello"` or `openrouter-async emulator --port 8000`.',
            style="green",
        )
    )
    return 0
