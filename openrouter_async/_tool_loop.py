"""The tool loop: ask the model, run the tools it calls, send the results back, repeat.

::

    result = await client.chat.run_tools(model=..., messages=[...], tools=[get_weather, add])
    result.content          # the final answer
    result.messages         # the whole conversation, ready for the next user message

    async with client.chat.stream_tools(model=..., messages=[...], tools=[...]) as run:
        async for event in run:
            match event:
                case TextDelta(text): print(text, end="")
                case ToolResultEvent(invocation): print(invocation.name, invocation.result)
        result = run.result

Semantics, decided here once:

* A *turn* is one model request. The loop stops when a completion has no tool calls (the
  answer; ``stop_reason == "final"``) or after ``max_turns`` turns. Reaching the limit is not an
  error: the result comes back with ``stop_reason == "max_turns"``; the tool calls of the last
  turn have been run and their results appended, so ``result.messages`` can be sent again to
  continue. Tool calls are recognised by their presence, not by ``finish_reason`` (some
  providers report ``"stop"`` with tool calls).
* The assistant turn is echoed with :meth:`AssistantMessage.from_response`, so
  ``reasoning_details`` go back unmodified and in order (signed / encrypted reasoning).
* A tool that raises, times out, is unknown, or receives arguments that are not JSON or do not
  match its schema does not stop the loop: the model gets ``{"error": "<Type>: <message>"}`` as
  that call's result and the invocation records the exception. Cancellation and
  ``on_tool_call`` errors do stop it (they are the caller's, not the tool's).
* Results become the tool message's content: a ``str`` as is, content parts (``TextPart``,
  ``ImagePart``… or a list of them) as parts, anything else as JSON text (orjson; attrs
  instances through the SDK converter).
* ``tool_choice`` that forces a call (``"required"`` or a named function) applies to the first
  turn only; later turns leave the choice to the model, or the loop could never end.
* With ``parallel=True`` the calls of one turn run concurrently; tool messages are still
  appended in the order the model made the calls. A sync tool runs in a worker thread; a
  ``tool_timeout`` abandons it (the thread cannot be stopped) and reports a timeout.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import attrs
import orjson

from ._convert import unstructure
from ._errors import ClientClosedError, RequestValidationError, ResponseValidationError
from .tools import FunctionTool, function_tool
from .types.chat_request import ChatRequest, coerce_chat_request
from .types.content import AudioPart, ContentPart, FilePart, ImagePart, TextPart, VideoPart
from .types.events import StreamEvent, TextDelta
from .types.messages import AssistantMessage, Message, ToolMessage
from .types.responses import ChatCompletion, ChatMessage
from .types.responses import ToolCall as ResponseToolCall
from .types.tools import NamedToolChoice, ServerTool

if TYPE_CHECKING:
    from ._client import OpenRouter
    from ._config import Timeouts

__all__ = [
    "ToolInvocation",
    "ToolLike",
    "ToolResultEvent",
    "ToolRunEvent",
    "ToolRunResult",
    "ToolRunStream",
    "run_tools",
    "stream_tools",
    "tool_result_content",
]

ToolLike: TypeAlias = FunctionTool[Any, Any] | Callable[..., Any] | ServerTool
"""What ``tools=`` takes: function tools (or plain annotated functions, wrapped with
``function_tool``) and OpenRouter server tools (run by OpenRouter, passed through)."""

_PARTS = (TextPart, ImagePart, AudioPart, FilePart, VideoPart)
_DEFAULT_MAX_TURNS = 8


@attrs.frozen(kw_only=True)
class ToolInvocation:
    """One tool call the loop ran (or failed to run).

    ``arguments`` is the JSON text exactly as the model wrote it. ``result`` is what the function
    returned; ``error`` the exception when it failed (then ``result`` is ``None``).
    ``content`` is what was sent back to the model. ``duration`` is in seconds.
    """

    turn: int
    id: str
    name: str
    arguments: str
    result: Any = None
    error: Exception | None = None
    content: str | tuple[ContentPart, ...] = ""
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


@attrs.frozen(kw_only=True, match_args=False)
class ToolResultEvent:
    """A tool finished (``stream_tools``); emitted as each one completes."""

    __match_args__ = ("invocation",)
    invocation: ToolInvocation

    @property
    def name(self) -> str:
        return self.invocation.name

    @property
    def result(self) -> Any:
        return self.invocation.result

    @property
    def error(self) -> Exception | None:
        return self.invocation.error


@attrs.frozen(kw_only=True)
class ToolRunResult:
    """What a tool loop produced.

    ``completion`` is the last completion (the answer when ``stop_reason == "final"``);
    ``completions`` holds every turn's. ``messages`` is the whole conversation as request
    messages — the ones you sent, then each assistant turn and tool result — ready to extend
    and send again. ``invocations`` lists every tool call in order.
    """

    completion: ChatCompletion
    messages: list[Message]
    turns: int
    invocations: tuple[ToolInvocation, ...]
    stop_reason: Literal["final", "max_turns"]
    completions: tuple[ChatCompletion, ...] = attrs.field(default=(), repr=False)

    @property
    def content(self) -> str | None:
        """The final completion's text."""
        return self.completion.content

    @property
    def reached_max_turns(self) -> bool:
        return self.stop_reason == "max_turns"


ToolRunEvent: TypeAlias = StreamEvent | ToolResultEvent | ToolRunResult
"""What ``stream_tools`` yields: each turn's stream events, a :class:`ToolResultEvent` per tool
call, and finally the :class:`ToolRunResult`."""


def _json_default(value: Any) -> Any:
    if attrs.has(type(value)):
        return unstructure(value)
    if isinstance(value, set | frozenset):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def tool_result_content(value: Any) -> str | tuple[ContentPart, ...]:
    """The tool message content for a tool's return value (see the module docstring)."""
    if isinstance(value, str):
        return value
    if isinstance(value, _PARTS):
        return (value,)
    if isinstance(value, list | tuple) and value and all(isinstance(v, _PARTS) for v in value):
        return tuple(value)
    try:
        data = orjson.dumps(value, default=_json_default, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError as exc:
        raise TypeError(
            f"tool result of type {type(value).__name__} is not JSON serializable ({exc}); "
            "return a str, content parts, or JSON-ready data"
        ) from exc
    return data.decode()


def _error_content(error: Exception) -> str:
    return orjson.dumps({"error": f"{type(error).__name__}: {error}"}).decode()


def _check_options(max_turns: object, tool_timeout: object) -> None:
    if isinstance(max_turns, bool) or not isinstance(max_turns, int) or max_turns < 1:
        raise RequestValidationError(
            f"must be an integer >= 1, got {max_turns!r}", path="max_turns"
        )
    if tool_timeout is not None and (
        isinstance(tool_timeout, bool)
        or not isinstance(tool_timeout, int | float)
        or not tool_timeout > 0
    ):
        raise RequestValidationError(
            f"must be a number of seconds > 0 or None, got {tool_timeout!r}", path="tool_timeout"
        )


def _forces_call(choice: object) -> bool:
    return choice == "required" or isinstance(choice, NamedToolChoice)


def _with_call_ids(message: ChatMessage, turn: int) -> ChatMessage:
    """Give every tool call a distinct, non-empty id (some providers send ``""`` or repeats)."""
    seen: set[str] = set()
    calls: list[ResponseToolCall] = []
    changed = False
    for i, call in enumerate(message.tool_calls):
        if not call.id or call.id in seen:
            call = attrs.evolve(call, id=f"call_t{turn}_{i}")
            changed = True
        seen.add(call.id)
        calls.append(call)
    return attrs.evolve(message, tool_calls=calls) if changed else message


def _assistant_message(message: ChatMessage) -> AssistantMessage:
    empty = (
        message.content is None
        and not message.content_parts
        and not message.tool_calls
        and message.refusal is None
        and message.reasoning is None
        and not message.reasoning_details
        and not message.images
        and message.audio is None
    )
    if empty:  # e.g. a reasoning model that spent max_tokens thinking, with reasoning hidden
        return AssistantMessage(content="")
    return AssistantMessage.from_response(message)


class _Loop:
    def __init__(
        self,
        client: OpenRouter,
        request: ChatRequest | Mapping[str, Any] | None,
        kwargs: dict[str, Any],
        *,
        tools: Sequence[ToolLike],
        max_turns: int,
        parallel: bool,
        tool_timeout: float | None,
        on_tool_call: Callable[[ToolInvocation], Awaitable[None] | None] | None,
        timeout: Timeouts | float | None,
        extra_headers: Mapping[str, str] | None,
        max_retries: int | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> None:
        _check_options(max_turns, tool_timeout)
        base = coerce_chat_request(request, **kwargs)
        if base.stream:
            raise RequestValidationError(
                "the tool loop chooses streaming itself (run_tools or stream_tools)", path="stream"
            )
        functions: list[FunctionTool[Any, Any]] = []
        server_tools: list[ServerTool] = []
        for i, tool in enumerate(tools):
            if isinstance(tool, ServerTool):
                server_tools.append(tool)
            elif isinstance(tool, FunctionTool):
                functions.append(tool)
            elif callable(tool):
                functions.append(function_tool(tool))
            else:
                raise RequestValidationError(
                    "expected a function, a FunctionTool or a ServerTool, got "
                    f"{type(tool).__name__}",
                    path=f"tools[{i}]",
                )
            if functions and functions[-1].name in (f.name for f in functions[:-1]):
                # The API allows this; the loop could not tell which function a call means.
                raise RequestValidationError(
                    f"two tools are named {functions[-1].name!r}; the loop runs tools by name",
                    path=f"tools[{i}].function.name",
                )
        self.toolbox = {tool.name: tool for tool in functions}
        definitions = (*(base.tools or ()), *(tool.definition for tool in functions), *server_tools)
        self.request = attrs.evolve(base, tools=definitions or None, stream=None)
        self.client = client
        self.max_turns = max_turns
        self.parallel = parallel
        self.tool_timeout = tool_timeout
        self.on_tool_call = on_tool_call
        # The per-call options, passed as given to every model request of the loop.
        self.options: dict[str, Any] = {
            "timeout": timeout,
            "extra_headers": extra_headers,
            "max_retries": max_retries,
            "extra_query": extra_query,
        }
        self.messages: list[Message] = list(base.messages)
        self.completions: list[ChatCompletion] = []
        self.invocations: list[ToolInvocation] = []

    # -- one turn ------------------------------------------------------------------------------

    def turn_request(self, turn: int) -> ChatRequest:
        request = attrs.evolve(self.request, messages=self.messages)
        if turn > 1 and _forces_call(request.tool_choice):
            request = attrs.evolve(request, tool_choice=None)
        return request

    def take(self, completion: ChatCompletion, turn: int) -> list[ResponseToolCall]:
        """Record the completion and its assistant turn; return the calls to run."""
        self.completions.append(completion)
        if not completion.choices:
            raise ResponseValidationError("the completion has no choices; the tool loop needs one")
        message = _with_call_ids(completion.choices[0].message, turn)
        self.messages.append(_assistant_message(message))
        return message.tool_calls

    async def invoke(self, turn: int, call: ResponseToolCall) -> ToolInvocation:
        name, arguments = call.function.name, call.function.arguments
        tool = self.toolbox.get(name)
        started = time.perf_counter()
        result: Any = None
        error: Exception | None = None
        try:
            if tool is None:
                known = ", ".join(repr(n) for n in self.toolbox) or "none"
                raise LookupError(f"there is no tool named {name!r} (tools: {known})")
            result = await self._run(tool, arguments)
            content = tool_result_content(result)
        except Exception as exc:
            result, error, content = None, exc, _error_content(exc)
        invocation = ToolInvocation(
            turn=turn,
            id=call.id,
            name=name,
            arguments=arguments,
            result=result,
            error=error,
            content=content,
            duration=time.perf_counter() - started,
        )
        if self.on_tool_call is not None:
            returned = self.on_tool_call(invocation)
            if inspect.isawaitable(returned):
                await returned
        return invocation

    async def _run(self, tool: FunctionTool[Any, Any], arguments: str) -> Any:
        if self.tool_timeout is None:
            return await tool.invoke(arguments)
        task = asyncio.ensure_future(tool.invoke(arguments))
        try:
            done, _ = await asyncio.wait({task}, timeout=self.tool_timeout)
        except BaseException:
            task.cancel()
            raise
        if not done:
            task.cancel()
            # The task may still finish (a thread cannot be stopped): retrieve its outcome so
            # asyncio does not log "exception was never retrieved".
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
            raise TimeoutError(f"tool {tool.name!r} did not finish within {self.tool_timeout:g} s")
        return task.result()

    async def run_calls(
        self, turn: int, calls: list[ResponseToolCall]
    ) -> AsyncGenerator[ToolInvocation, None]:
        """Run the calls, yielding each invocation as it finishes; then append the results."""
        finished: dict[str, ToolInvocation] = {}
        if not self.parallel or len(calls) == 1:
            for call in calls:
                invocation = await self.invoke(turn, call)
                finished[call.id] = invocation
                yield invocation
        else:
            tasks = [asyncio.ensure_future(self.invoke(turn, call)) for call in calls]
            try:
                for next_done in asyncio.as_completed(tasks):
                    invocation = await next_done
                    finished[invocation.id] = invocation
                    yield invocation
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        for call in calls:
            invocation = finished[call.id]
            self.invocations.append(invocation)
            self.messages.append(
                ToolMessage(tool_call_id=call.id, content=invocation.content, name=call.name)
            )

    def result(self, stop_reason: Literal["final", "max_turns"]) -> ToolRunResult:
        return ToolRunResult(
            completion=self.completions[-1],
            messages=list(self.messages),
            turns=len(self.completions),
            invocations=tuple(self.invocations),
            stop_reason=stop_reason,
            completions=tuple(self.completions),
        )

    # -- the two drivers -----------------------------------------------------------------------

    async def run(self) -> ToolRunResult:
        create = self.client.chat.completions.create
        for turn in range(1, self.max_turns + 1):
            completion = await create(self.turn_request(turn), **self.options)
            calls = self.take(completion, turn)
            if not calls:
                return self.result("final")
            async for _ in self.run_calls(turn, calls):
                pass
        return self.result("max_turns")

    async def events(self) -> AsyncGenerator[ToolRunEvent, None]:
        stream = self.client.chat.completions.stream
        for turn in range(1, self.max_turns + 1):
            request = self.turn_request(turn)
            async with stream(request, **self.options) as s:
                async for event in s:
                    yield event
                completion = await s.get_final_completion()
            calls = self.take(completion, turn)
            if not calls:
                yield self.result("final")
                return
            async for invocation in self.run_calls(turn, calls):
                yield ToolResultEvent(invocation=invocation)
        yield self.result("max_turns")


class ToolRunStream:
    """``async with client.chat.stream_tools(...) as run: async for event in run: ...``

    Yields every turn's typed stream events (``TextDelta``, ``ToolCallDone``…), a
    :class:`ToolResultEvent` as each tool finishes, and last the :class:`ToolRunResult` (also
    kept in :attr:`result`). Leaving the ``async with`` block early closes the open stream and
    cancels running tools.
    """

    def __init__(self, loop: _Loop) -> None:
        self._loop = loop
        self._events: AsyncGenerator[ToolRunEvent, None] | None = None
        self._closed = False
        self.result: ToolRunResult | None = None

    async def __aenter__(self) -> ToolRunStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> ToolRunStream:
        return self

    async def __anext__(self) -> ToolRunEvent:
        if self._closed:
            raise StopAsyncIteration
        if self._events is None:
            self._events = self._loop.events()
        event = await self._events.__anext__()
        if isinstance(event, ToolRunResult):
            self.result = event
        return event

    async def aclose(self) -> None:
        """Stop: close the current stream, cancel running tools (idempotent)."""
        self._closed = True
        if self._events is not None:
            await self._events.aclose()

    @property
    def messages(self) -> list[Message]:
        """The conversation so far (complete once the run has finished)."""
        return list(self._loop.messages)

    @property
    def text_stream(self) -> AsyncIterator[str]:
        """Only the assistant's text, across all turns."""
        return self._texts()

    async def _texts(self) -> AsyncIterator[str]:
        async for event in self:
            if type(event) is TextDelta:
                yield event.text

    async def get_final_result(self) -> ToolRunResult:
        """Run to the end (discarding events not yet read) and return the result."""
        async for _ in self:
            pass
        if self.result is None:
            raise ClientClosedError("the tool run was closed before it finished")
        return self.result


async def run_tools(
    client: OpenRouter,
    request: ChatRequest | Mapping[str, Any] | None = None,
    /,
    *,
    tools: Sequence[ToolLike],
    max_turns: int = _DEFAULT_MAX_TURNS,
    parallel: bool = True,
    tool_timeout: float | None = None,
    on_tool_call: Callable[[ToolInvocation], Awaitable[None] | None] | None = None,
    timeout: Timeouts | float | None = None,
    extra_headers: Mapping[str, str] | None = None,
    max_retries: int | None = None,
    extra_query: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> ToolRunResult:
    """Run the tool loop with non-streaming requests (``client.chat.run_tools``).

    ``request``/``kwargs`` are the chat request as for ``create()``; ``tools`` are added to its
    ``tools``. ``max_turns`` bounds the model requests (default 8); ``parallel`` runs one turn's
    calls concurrently; ``tool_timeout`` (seconds) bounds each call; ``on_tool_call`` (sync or
    async) sees each :class:`ToolInvocation` as it finishes. ``timeout``, ``max_retries``,
    ``extra_headers`` and ``extra_query`` apply to every request. See the module docstring for
    the exact semantics.
    """
    loop = _Loop(
        client,
        request,
        kwargs,
        tools=tools,
        max_turns=max_turns,
        parallel=parallel,
        tool_timeout=tool_timeout,
        on_tool_call=on_tool_call,
        timeout=timeout,
        extra_headers=extra_headers,
        max_retries=max_retries,
        extra_query=extra_query,
    )
    return await loop.run()


def stream_tools(
    client: OpenRouter,
    request: ChatRequest | Mapping[str, Any] | None = None,
    /,
    *,
    tools: Sequence[ToolLike],
    max_turns: int = _DEFAULT_MAX_TURNS,
    parallel: bool = True,
    tool_timeout: float | None = None,
    on_tool_call: Callable[[ToolInvocation], Awaitable[None] | None] | None = None,
    timeout: Timeouts | float | None = None,
    extra_headers: Mapping[str, str] | None = None,
    max_retries: int | None = None,
    extra_query: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> ToolRunStream:
    """The tool loop over streaming requests (``client.chat.stream_tools``): a
    :class:`ToolRunStream`. Same options as :func:`run_tools`; the request is validated now and
    sent when iteration begins."""
    loop = _Loop(
        client,
        request,
        kwargs,
        tools=tools,
        max_turns=max_turns,
        parallel=parallel,
        tool_timeout=tool_timeout,
        on_tool_call=on_tool_call,
        timeout=timeout,
        extra_headers=extra_headers,
        max_retries=max_retries,
        extra_query=extra_query,
    )
    return ToolRunStream(loop)
