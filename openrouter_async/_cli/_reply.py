"""One streamed reply on the terminal (or as JSON lines): the part of ``chat`` that the
one-shot command and the conversation (:mod:`._interactive`) share.

Text goes to stdout the moment each delta is decoded; thinking goes where ``--thinking`` says;
the closing stats line (tokens, cost, time to first token, total time) goes to stderr.
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

import attrs
import orjson
from rich.console import Console
from rich.text import Text

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
from ._common import format_cost, stderr_console

if TYPE_CHECKING:
    from .._client import OpenRouter
    from ..types.responses import CompletionUsage

__all__ = [
    "DEFAULT_MODEL",
    "EMULATOR_MODEL",
    "JsonView",
    "ReplyState",
    "TerminalView",
    "build_request",
    "default_model",
    "event_record",
    "request_options",
    "stats_line",
    "stream_reply",
    "thinking_console",
    "usage_record",
]

DEFAULT_MODEL = "openai/gpt-4o-mini"
EMULATOR_MODEL = "emulator/echo"

_CONTENT_EVENTS = (TextDelta, ReasoningDelta, RefusalDelta, ToolCallDelta)


def default_model(args: argparse.Namespace) -> str:
    return str(args.model or (EMULATOR_MODEL if args.emulator else DEFAULT_MODEL))


def request_options(args: argparse.Namespace) -> dict[str, Any]:
    """The sampling fields the flags set (temperature, max_tokens, reasoning)."""
    options: dict[str, Any] = {}
    if args.temperature is not None:
        options["temperature"] = args.temperature
    if args.max_tokens is not None:
        options["max_tokens"] = args.max_tokens
    if args.reasoning_effort is not None:
        options["reasoning"] = {"effort": args.reasoning_effort}
    return options


def build_request(args: argparse.Namespace, prompt: str) -> dict[str, Any]:
    """The keyword arguments for ``chat.completions.stream`` that the flags describe."""
    messages: list[dict[str, Any]] = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    messages.append({"role": "user", "content": prompt})
    return {"model": default_model(args), "messages": messages, **request_options(args)}


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
    """Writes deltas as they come; starts a new paragraph when the kind of text changes.

    Thinking goes to ``thinking``: a console, ``True`` for ``out`` (when it shares ``out``
    with the answer a blank line separates the two), ``False`` to drop it.
    """

    def __init__(self, out: Console, thinking: Console | bool = True) -> None:
        self._out = out
        self._thinking: Console | None = (
            thinking if isinstance(thinking, Console) else out if thinking else None
        )
        self._kind: str | None = None  # what was written last
        self._last: Console | None = None  # where it was written
        self._open: Console | None = None  # the console whose last line is unfinished

    def _write(self, text: str, kind: str, console: Console, style: str | None = None) -> None:
        if self._kind is not None and kind != self._kind:
            self.close()
            if console is self._last:
                console.out("")  # a blank line between thinking and answer
        self._kind = kind
        self._last = console
        console.out(text, style=style, end="", highlight=False)
        self._open = None if text.endswith("\n") else console

    def event(self, event: StreamEvent) -> None:
        match event:
            case TextDelta(text=text):
                self._write(text, "text", self._out)
            case ReasoningDelta(text=text) if text and self._thinking is not None:
                self._write(text, "reasoning", self._thinking, "dim italic")
            case RefusalDelta(text=text):
                self._write(text, "refusal", self._out, "red")
            case ToolCallDone(name=name, arguments=arguments):
                self.close()
                self._kind = "tool"
                self._last = self._out
                self._out.print(Text(f"→ tool call {name}({arguments})", style="cyan"))
            case _:
                pass

    def close(self) -> None:
        """End the current line, if one is open."""
        if self._open is not None:
            self._open.out("")
            self._open = None


def thinking_console(choice: str, out: Console) -> Console | bool:
    """Where ``--thinking`` sends reasoning: ``auto`` keeps it off a piped stdout."""
    if choice == "hide":
        return False
    if choice == "stdout" or (choice == "auto" and out.is_terminal):
        return out
    return stderr_console()


# -- streaming one reply -----------------------------------------------------------------------


@attrs.define
class ReplyState:
    """What one streamed reply has produced so far (read after it ends, or is stopped)."""

    timing: Timing = attrs.field(factory=Timing)
    text: list[str] = attrs.field(factory=list)
    usage: CompletionUsage | None = None
    finish: str | None = None
    model: str | None = None
    generation_id: str | None = None

    @property
    def content(self) -> str:
        return "".join(self.text)


async def stream_reply(
    client: OpenRouter,
    request: dict[str, Any],
    view: JsonView | TerminalView,
    state: ReplyState,
) -> ReplyState:
    """Stream ``request`` into ``view``, recording it in ``state``; the view is closed after."""
    state.timing = Timing()
    try:
        async with client.chat.completions.stream(**request) as stream:
            async for event in stream:
                state.timing.saw(event)
                if isinstance(event, TextDelta) and not event.choice_index:
                    state.text.append(event.text)
                elif isinstance(event, Usage):
                    state.usage = event.usage
                elif isinstance(event, Finish) and state.finish is None:
                    state.finish = event.finish_reason
                view.event(event)
            state.timing.end()
            final = await stream.get_final_completion()
            state.model = final.model
            state.generation_id = stream.generation_id
    finally:
        view.close()
    return state
