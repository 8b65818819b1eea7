"""``openrouter-async chat``: stream one reply to the terminal as it arrives.

Text goes to stdout the moment each delta is decoded (rich writes and flushes per call, no
line buffering); reasoning is dimmed; the closing stats line (tokens, cost, time to first token,
total time) goes to stderr so that ``chat ... > answer.txt`` captures only the answer. With
``--json`` every event is one JSON object per line on stdout, ending with a ``done`` record.
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

import orjson
from rich.console import Console
from rich.text import Text

from .._errors import OpenRouterError
from ..types.events import (
    AnnotationsDelta,
    Finish,
    ImagesDelta,
    KeepAlive,
    ReasoningDelta,
    RefusalDelta,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallDone,
    Usage,
)
from ._common import (
    CLIError,
    add_client_arguments,
    error_record,
    format_cost,
    open_client,
    positive_int,
    read_prompt,
    stderr_console,
    stdout_console,
)

if TYPE_CHECKING:
    from ..types.responses import CompletionUsage

__all__ = ["add_arguments", "event_record", "run"]

DEFAULT_MODEL = "openai/gpt-4o-mini"
EMULATOR_MODEL = "emulator/echo"
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")

_CONTENT_EVENTS = (TextDelta, ReasoningDelta, RefusalDelta, ToolCallDelta)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "prompt",
        nargs="?",
        help="the user message; '-' (or no argument with piped input) reads it from stdin",
    )
    parser.add_argument(
        "-m",
        "--model",
        help=f"model id (default: {DEFAULT_MODEL}; {EMULATOR_MODEL} with --emulator)",
    )
    parser.add_argument("-s", "--system", metavar="TEXT", help="a system message to send first")
    parser.add_argument("-t", "--temperature", type=_temperature, metavar="T", help="0 to 2")
    parser.add_argument("--max-tokens", type=positive_int, metavar="N", help="reply length cap")
    parser.add_argument(
        "--reasoning-effort",
        choices=REASONING_EFFORTS,
        help="ask a reasoning model to think this hard",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print each stream event as one JSON object per line (machine-readable)",
    )
    add_client_arguments(parser)


def _temperature(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 2:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2: {text!r}")
    return value


def build_request(args: argparse.Namespace, prompt: str) -> dict[str, Any]:
    """The keyword arguments for ``chat.completions.stream`` that the flags describe."""
    messages: list[dict[str, Any]] = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    messages.append({"role": "user", "content": prompt})
    request: dict[str, Any] = {
        "model": args.model or (EMULATOR_MODEL if args.emulator else DEFAULT_MODEL),
        "messages": messages,
    }
    if args.temperature is not None:
        request["temperature"] = args.temperature
    if args.max_tokens is not None:
        request["max_tokens"] = args.max_tokens
    if args.reasoning_effort is not None:
        request["reasoning"] = {"effort": args.reasoning_effort}
    return request


# -- what is measured --------------------------------------------------------------------


class Timing:
    """Wall-clock marks for one request: start, first content token, end."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.first_token: float | None = None
        self.ended: float | None = None

    def saw(self, event: StreamEvent) -> None:
        if self.first_token is None and isinstance(event, _CONTENT_EVENTS):
            self.first_token = time.monotonic()

    def end(self) -> None:
        self.ended = time.monotonic()

    @property
    def ttft(self) -> float | None:
        return None if self.first_token is None else self.first_token - self.started

    @property
    def elapsed(self) -> float:
        return (self.ended or time.monotonic()) - self.started


def usage_record(usage: CompletionUsage) -> dict[str, Any]:
    record: dict[str, Any] = {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "cost": usage.cost,
    }
    if usage.reasoning_tokens:
        record["reasoning_tokens"] = usage.reasoning_tokens
    return record


def stats_line(usage: CompletionUsage | None, timing: Timing, finish: str | None) -> str:
    parts: list[str] = []
    if usage is not None:
        parts.append(f"{usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens")
        parts.append(format_cost(usage.cost))
    else:
        parts.append("no usage reported")
    ttft = timing.ttft
    parts.append(f"first token {ttft:.2f}s" if ttft is not None else "no tokens")
    parts.append(f"total {timing.elapsed:.2f}s")
    if finish not in (None, "stop", "tool_calls"):
        parts.append(f"finish: {finish}")
    return " · ".join(parts)


# -- --json --------------------------------------------------------------------------------


def event_record(event: StreamEvent) -> dict[str, Any]:
    """One stream event as a JSON-able mapping with a ``type`` key."""
    record: dict[str, Any]
    match event:
        case TextDelta(text=text):
            record = {"type": "text", "text": text}
        case ReasoningDelta(text=text):
            record = {"type": "reasoning", "text": text}
        case RefusalDelta(text=text):
            record = {"type": "refusal", "text": text}
        case ToolCallDelta(index=index, id=call_id, name=name, arguments=arguments):
            record = {
                "type": "tool_call_delta",
                "index": index,
                "id": call_id,
                "name": name,
                "arguments": arguments,
            }
        case ToolCallDone(index=index, id=call_id, name=name, arguments=arguments):
            record = {
                "type": "tool_call",
                "index": index,
                "id": call_id,
                "name": name,
                "arguments": arguments,
            }
        case Finish(finish_reason=reason, native_finish_reason=native):
            record = {"type": "finish", "finish_reason": reason, "native_finish_reason": native}
        case Usage(usage=usage):
            record = {"type": "usage", **usage_record(usage)}
        case KeepAlive(comment=comment):
            record = {"type": "keep_alive", "comment": comment}
        case AnnotationsDelta(annotations=annotations):
            record = {"type": "annotations", "annotations": list(annotations)}
        case ImagesDelta(images=images):
            record = {"type": "images", "images": list(images)}
        case _:  # a kind added to the SDK later: still one line, named after its class
            record = {"type": type(event).__name__}
    if event.choice_index:
        record["choice_index"] = event.choice_index
    return record


class JsonView:
    def __init__(self, out: Console) -> None:
        self._out = out

    def write(self, record: dict[str, Any]) -> None:
        line = orjson.dumps(record, option=orjson.OPT_NON_STR_KEYS, default=str).decode()
        self._out.out(line, highlight=False)

    def event(self, event: StreamEvent) -> None:
        self.write(event_record(event))

    def close(self) -> None:
        pass


# -- the terminal view -----------------------------------------------------------------------


class TerminalView:
    """Writes deltas as they come; starts a new paragraph when the kind of text changes."""

    def __init__(self, out: Console) -> None:
        self._out = out
        self._kind: str | None = None  # what the current line holds
        self._mid_line = False

    def _write(self, text: str, kind: str, style: str | None = None) -> None:
        if self._kind is not None and kind != self._kind:
            self.close()
            self._out.out("")  # a blank line between thinking and answer
        self._kind = kind
        self._out.out(text, style=style, end="", highlight=False)
        self._mid_line = not text.endswith("\n")

    def event(self, event: StreamEvent) -> None:
        match event:
            case TextDelta(text=text):
                self._write(text, "text")
            case ReasoningDelta(text=text) if text:
                self._write(text, "reasoning", "dim italic")
            case RefusalDelta(text=text):
                self._write(text, "refusal", "red")
            case ToolCallDone(name=name, arguments=arguments):
                self.close()
                self._kind = "tool"
                self._out.print(Text(f"→ tool call {name}({arguments})", style="cyan"))
            case _:
                pass

    def close(self) -> None:
        """End the current line, if one is open."""
        if self._mid_line:
            self._out.out("")
            self._mid_line = False


async def run(args: argparse.Namespace) -> int:
    prompt = read_prompt(args.prompt)
    request = build_request(args, prompt)
    out = stdout_console()
    view: JsonView | TerminalView = JsonView(out) if args.json else TerminalView(out)
    try:
        return await _stream(args, request, view)
    except (OpenRouterError, CLIError) as exc:
        view.close()
        if isinstance(view, JsonView):
            view.write(error_record(exc))
        raise


async def _stream(
    args: argparse.Namespace, request: dict[str, Any], view: JsonView | TerminalView
) -> int:
    usage: CompletionUsage | None = None
    finish: str | None = None
    async with open_client(args) as client:
        timing = Timing()
        try:
            async with client.chat.completions.stream(**request) as stream:
                async for event in stream:
                    timing.saw(event)
                    if isinstance(event, Usage):
                        usage = event.usage
                    elif isinstance(event, Finish) and finish is None:
                        finish = event.finish_reason
                    view.event(event)
                timing.end()
                final = await stream.get_final_completion()
                generation_id = stream.generation_id
        finally:
            view.close()
    if isinstance(view, JsonView):
        view.write(
            {
                "type": "done",
                "model": final.model,
                "generation_id": generation_id,
                "finish_reason": finish,
                "usage": usage_record(usage) if usage is not None else None,
                "time_to_first_token": timing.ttft,
                "elapsed": timing.elapsed,
            }
        )
    else:
        stderr_console().print(Text(stats_line(usage, timing, finish), style="dim"))
    return 0
