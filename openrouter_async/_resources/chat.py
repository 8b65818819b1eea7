"""``client.chat.completions``: create (non-streaming) and stream."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

import attrs

from .._config import Timeouts
from .._errors import RequestValidationError
from .._json import exact_bytes
from .._parse import parse_chat_completion
from ..types._fast_body import fast_chat_body
from ..types.responses import ChatCompletion

if TYPE_CHECKING:
    from .._client import OpenRouter
    from .._parsed_stream import ParsedChatStream
    from .._streaming import ChatStream
    from .._structured import ParsedChatCompletion
    from .._tool_loop import ToolInvocation, ToolLike, ToolRunResult, ToolRunStream
    from ..types.chat_request import ChatRequest

T = TypeVar("T")

__all__ = ["Chat", "ChatCompletions"]


def _fast_body(request: Any, kwargs: Mapping[str, Any], stream: bool | None) -> bytes | None:
    """The fast path's body for plain values (keyword arguments, or one plain dict as a batch
    sends it); ``None`` sends the request through the full builder."""
    if request is None:
        return fast_chat_body(kwargs, stream=stream)
    if type(request) is dict and not kwargs:
        return fast_chat_body(request, stream=stream)
    return None


class ChatCompletions:
    """``POST /chat/completions``."""

    def __init__(self, client: OpenRouter) -> None:
        self._client = client

    async def create(
        self,
        request: ChatRequest | Mapping[str, Any] | None = None,
        /,
        *,
        timeout: Timeouts | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        max_retries: int | None = None,
        extra_query: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> ChatCompletion:
        """Send a chat completion request and return the whole completion.

        Pass a :class:`ChatRequest`, or its fields as keyword arguments (plain dicts are
        validated the same way). ``response`` on the result holds status, headers, elapsed.
        A 200 whose body is an error, or a choice that finished with ``"error"``, raises.
        ``timeout``, ``max_retries``, ``extra_headers`` and ``extra_query`` apply to this call
        only (every method that sends a request takes them); ``extra_body`` is a request field.
        """
        return await self._send(
            self._body(request, kwargs),
            timeout=timeout,
            extra_headers=extra_headers,
            max_retries=max_retries,
            extra_query=extra_query,
        )

    @staticmethod
    def _body(request: ChatRequest | Mapping[str, Any] | None, kwargs: dict[str, Any]) -> bytes:
        """The JSON body of a non-streaming request, validated (raises before anything is
        sent). The batch runner builds each item's body here once, for all its attempts."""
        body = _fast_body(request, kwargs, None)
        if body is None:
            from ..types.chat_request import chat_request_body, coerce_chat_request

            chat_request = coerce_chat_request(request, **kwargs)
            if chat_request.stream:
                raise RequestValidationError(
                    "create() returns a whole completion; use chat.completions.stream() to stream",
                    path="stream",
                )
            body = chat_request_body(chat_request)
        return exact_bytes(body)

    @staticmethod
    def _item_body(
        item: ChatRequest | Mapping[str, Any],
    ) -> tuple[ChatRequest | Mapping[str, Any], bytes]:
        """A batch item as it is sent, and its body (validated, built once for all its
        attempts): a plain mapping the fast body path accepts is sent as it is, anything richer
        becomes a :class:`ChatRequest` first."""
        # The exact-class test first: an ABC isinstance costs ~2.4k instructions.
        if item.__class__ is dict or isinstance(item, Mapping):
            body = fast_chat_body(item)
            if body is not None:
                return item, exact_bytes(body)
            from ..types.chat_request import coerce_chat_request

            item = coerce_chat_request(item)
        else:
            # The request-model graph loads only when an item needs it: a ChatRequest item
            # means the caller has already imported it.
            from ..types.chat_request import ChatRequest

            if not isinstance(item, ChatRequest):
                raise RequestValidationError(
                    "a batch item must be a ChatRequest, a mapping of request fields or an "
                    f"(id, request) pair, got {type(item).__name__}"
                )
        return item, ChatCompletions._body(item, {})

    async def _send(
        self,
        body: bytes,
        *,
        timeout: Timeouts | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        max_retries: int | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> ChatCompletion:
        data, info = await self._client._request(
            "POST",
            "/chat/completions",
            body=body,
            timeout=timeout,
            extra_headers=extra_headers,
            max_retries=max_retries,
            extra_query=extra_query,
        )
        completion = parse_chat_completion(data, status_code=info.status_code, headers=info.headers)
        object.__setattr__(completion, "response", info)
        return completion

    async def parse(
        self,
        request: ChatRequest | Mapping[str, Any] | None = None,
        /,
        *,
        response_format: type[T],
        strict: bool = True,
        timeout: Timeouts | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        max_retries: int | None = None,
        extra_query: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> ParsedChatCompletion[T]:
        """Structured output: ask for JSON matching ``response_format`` (an attrs class,
        dataclass, TypedDict or pydantic model) and return the completion with ``.parsed``, an
        instance of it.

        The class's JSON Schema is sent as a ``json_schema`` response format (``strict`` asks
        the provider to enforce it). Output that is not JSON or does not match the schema
        (missing or mistyped fields, unknown keys) raises ``StructuredOutputError`` with the
        model's text in ``raw``.
        """
        from .._structured import parse_completion, response_format_for
        from ..types.chat_request import coerce_chat_request

        chat_request = coerce_chat_request(request, **kwargs)
        if chat_request.response_format is not None:
            raise RequestValidationError(
                "parse() sets response_format from the class it is given; leave it unset in "
                "the request",
                path="response_format",
            )
        fmt = response_format_for(response_format, strict=strict)
        completion = await self.create(
            attrs.evolve(chat_request, response_format=fmt),
            timeout=timeout,
            extra_headers=extra_headers,
            max_retries=max_retries,
            extra_query=extra_query,
        )
        return parse_completion(completion, response_format)

    # With a class as ``response_format`` the stream is a ParsedChatStream[T], so the type of
    # ``(await stream.get_final_completion()).parsed`` is known; the options are the same.
    @overload
    def stream(
        self,
        request: ChatRequest | Mapping[str, Any] | None = None,
        /,
        *,
        response_format: type[T],
        timeout: Timeouts | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        max_retries: int | None = None,
        extra_query: Mapping[str, str] | None = None,
        accumulate: bool = True,
        **kwargs: Any,
    ) -> ParsedChatStream[T]: ...

    @overload
    def stream(
        self,
        request: ChatRequest | Mapping[str, Any] | None = None,
        /,
        *,
        timeout: Timeouts | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        max_retries: int | None = None,
        extra_query: Mapping[str, str] | None = None,
        accumulate: bool = True,
        **kwargs: Any,
    ) -> ChatStream: ...

    def stream(
        self,
        request: ChatRequest | Mapping[str, Any] | None = None,
        /,
        *,
        timeout: Timeouts | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        max_retries: int | None = None,
        extra_query: Mapping[str, str] | None = None,
        accumulate: bool = True,
        **kwargs: Any,
    ) -> ChatStream:
        """Stream a chat completion: ``async with client.chat.completions.stream(...) as s``.

        The request is validated now; it is sent when the ``async with`` block (or the first
        iteration) begins. It is retried only until the response starts, never after.
        ``accumulate=False`` keeps no text, reasoning or images for ``get_final_completion()``
        (tool calls, finish reason and usage are still kept), for outputs too big to hold.

        ``response_format=Model`` (an attrs class, dataclass, TypedDict or pydantic model) asks
        for JSON matching it, as :meth:`parse` does; the stream is then a ``ParsedChatStream``
        whose ``get_final_completion()`` returns a ``ParsedChatCompletion`` (``.parsed`` is a
        ``Model``).
        """
        from .._streaming import ChatStream  # the stream machinery loads on first use

        parse_as = kwargs.get("response_format")
        stream_cls: type[ChatStream] = ChatStream
        parsed_cls: type[ParsedChatStream[Any]] | None = None
        if isinstance(parse_as, type):
            from .._parsed_stream import ParsedChatStream
            from .._structured import response_format_for

            kwargs["response_format"] = response_format_for(parse_as)
            stream_cls = parsed_cls = ParsedChatStream

        body = _fast_body(request, kwargs, True)
        if body is None:
            from ..types.chat_request import chat_request_body, coerce_chat_request

            body = chat_request_body(coerce_chat_request(request, **kwargs), stream=True)
        stream = self._client._open_stream(
            stream_cls,
            "/chat/completions",
            body,
            kind="chat",
            timeout=timeout,
            extra_headers=extra_headers,
            max_retries=max_retries,
            extra_query=extra_query,
            accumulate=accumulate,
        )
        if parsed_cls is not None and isinstance(stream, parsed_cls) and isinstance(parse_as, type):
            stream.parse_as = parse_as
        return stream


class Chat:
    """``client.chat``: ``completions``, and the tool loop (``run_tools`` / ``stream_tools``)."""

    def __init__(self, client: OpenRouter) -> None:
        self._client = client
        self.completions = ChatCompletions(client)

    async def run_tools(
        self,
        request: ChatRequest | Mapping[str, Any] | None = None,
        /,
        *,
        tools: Sequence[ToolLike],
        max_turns: int = 8,
        parallel: bool = True,
        tool_timeout: float | None = None,
        on_tool_call: Callable[[ToolInvocation], Awaitable[None] | None] | None = None,
        timeout: Timeouts | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        max_retries: int | None = None,
        extra_query: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> ToolRunResult:
        """Call the model, run the tools it asks for, send the results back, until it answers.

        ``tools`` are annotated functions (sync or async) or ``function_tool`` objects (plus
        server tools, passed through). Stops at a message without tool calls or after
        ``max_turns`` requests (then ``result.stop_reason == "max_turns"``; no exception). A
        failing tool sends ``{"error": "<Type>: <message>"}`` to the model instead of raising.
        Other keyword arguments are the request, as for ``completions.create()``.
        """
        from .._tool_loop import run_tools

        return await run_tools(
            self._client,
            request,
            tools=tools,
            max_turns=max_turns,
            parallel=parallel,
            tool_timeout=tool_timeout,
            on_tool_call=on_tool_call,
            timeout=timeout,
            extra_headers=extra_headers,
            max_retries=max_retries,
            extra_query=extra_query,
            **kwargs,
        )

    def stream_tools(
        self,
        request: ChatRequest | Mapping[str, Any] | None = None,
        /,
        *,
        tools: Sequence[ToolLike],
        max_turns: int = 8,
        parallel: bool = True,
        tool_timeout: float | None = None,
        on_tool_call: Callable[[ToolInvocation], Awaitable[None] | None] | None = None,
        timeout: Timeouts | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        max_retries: int | None = None,
        extra_query: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> ToolRunStream:
        """:meth:`run_tools` over streaming requests: ``async with ... as run: async for event
        in run`` yields each turn's stream events, a ``ToolResultEvent`` per tool call, and last
        the ``ToolRunResult`` (also ``run.result``)."""
        from .._tool_loop import stream_tools

        return stream_tools(
            self._client,
            request,
            tools=tools,
            max_turns=max_turns,
            parallel=parallel,
            tool_timeout=tool_timeout,
            on_tool_call=on_tool_call,
            timeout=timeout,
            extra_headers=extra_headers,
            max_retries=max_retries,
            extra_query=extra_query,
            **kwargs,
        )
