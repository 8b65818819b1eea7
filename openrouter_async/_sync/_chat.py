"""``client.chat`` of the synchronous facade (loaded on first use, as the async one is)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._chat import Chat as AsyncChat
from .._chat import ChatCompletions as AsyncChatCompletions
from ._facade import Facade, blocking, calling, late, resource

if TYPE_CHECKING:
    from ._runs import ToolRunStream
    from ._streams import ChatStream

__all__ = ["Chat", "ChatCompletions"]


def _chat_stream() -> type[ChatStream]:
    from ._streams import ChatStream

    return ChatStream


def _tool_run_stream() -> type[ToolRunStream]:
    from ._runs import ToolRunStream

    return ToolRunStream


class ChatCompletions(Facade[AsyncChatCompletions]):
    """``client.chat.completions``: ``create``, ``parse`` and ``stream``."""

    create = blocking(AsyncChatCompletions.create)
    parse = blocking(AsyncChatCompletions.parse)
    stream = calling(AsyncChatCompletions.stream, late(_chat_stream))


class Chat(Facade[AsyncChat]):
    """``client.chat``: ``completions`` and the tool loop."""

    completions = resource(ChatCompletions)
    run_tools = blocking(AsyncChat.run_tools)
    stream_tools = calling(AsyncChat.stream_tools, late(_tool_run_stream))
