"""``client.chat`` of the synchronous facade (loaded on first use, as the async one is)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, overload

from .._resources.chat import Chat as AsyncChat
from .._resources.chat import ChatCompletions as AsyncChatCompletions
from ._facade import Facade, blocking, calling, late, resource
from ._portal import Portal

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .._config import Timeouts
    from ..types.chat_request import ChatRequest
    from ._runs import ToolRunStream
    from ._streams import ChatStream, ParsedChatStream

__all__ = ["Chat", "ChatCompletions"]

T = TypeVar("T")


def _chat_stream() -> Callable[[Portal, Any], ChatStream]:
    from ._streams import chat_stream

    return chat_stream


def _tool_run_stream() -> type[ToolRunStream]:
    from ._runs import ToolRunStream

    return ToolRunStream


class ChatCompletions(Facade[AsyncChatCompletions]):
    """``client.chat.completions``: ``create``, ``parse`` and ``stream``."""

    create = blocking(AsyncChatCompletions.create)
    parse = blocking(AsyncChatCompletions.parse)

    if TYPE_CHECKING:
        # The async method is overloaded (a ParamSpec would see only one overload), so its
        # overloads are restated here for type checkers only; a test keeps them identical.
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
            self, request: ChatRequest | Mapping[str, Any] | None = None, /, **kwargs: Any
        ) -> ChatStream: ...

    else:
        stream = calling(AsyncChatCompletions.stream, late(_chat_stream))


class Chat(Facade[AsyncChat]):
    """``client.chat``: ``completions`` and the tool loop."""

    completions = resource(ChatCompletions)
    run_tools = blocking(AsyncChat.run_tools)
    stream_tools = calling(AsyncChat.stream_tools, late(_tool_run_stream))
