"""The streams of the synchronous facade: plain iterators and context managers over the
async core's streams (loaded with the first stream, as the async stream machinery is)."""

from __future__ import annotations

from typing import Any, Generic, TypeVar, cast

from .._parsed_stream import ParsedChatStream as AsyncParsedChatStream
from .._resources.completions import CompletionStream as AsyncCompletionStream
from .._streaming import ChatStream as AsyncChatStream
from .._streaming import Stream as AsyncStream
from .._structured import ParsedChatCompletion
from ..types.events import StreamEvent
from ..types.responses import ResponseInfo
from ._facade import Bridge, SyncIterator, blocking, calling, forwarded, iterating, same
from ._portal import Portal

__all__ = ["ChatStream", "CompletionStream", "ParsedChatStream", "chat_stream"]

E = TypeVar("E")
T = TypeVar("T")
S = TypeVar("S", bound="AsyncStream[Any]")


class _StreamFacade(Bridge[S, E]):
    """What every stream has (see :class:`openrouter_async.ChatStream` for the semantics)."""

    response = forwarded[ResponseInfo | None]()
    closed = forwarded[bool]()
    buffered = forwarded[int]()
    generation_id = forwarded[str | None]()
    text_stream = forwarded[SyncIterator[str]]()
    partial = calling(AsyncStream.partial, same)
    get_final_completion = blocking(AsyncStream.get_final_completion)
    get_final_text = blocking(AsyncStream.get_final_text)
    until_done = blocking(AsyncStream.until_done)


class ChatStream(_StreamFacade[AsyncChatStream, StreamEvent]):
    """:class:`openrouter_async.ChatStream`, synchronously: ``for event in stream``,
    ``stream.text_stream``, ``stream.get_final_completion()``, ``stream.chunks()``."""

    chunks = iterating(AsyncChatStream.chunks)


class ParsedChatStream(ChatStream, Generic[T]):
    """:class:`openrouter_async.ParsedChatStream`, synchronously: a ``stream(response_format=
    Model)`` whose ``get_final_completion().parsed`` is a ``Model``."""

    parse_as = forwarded[type[T]]()

    def get_final_completion(self) -> ParsedChatCompletion[T]:
        """Consume the rest of the stream; the completion with ``.parsed``."""
        inner = cast("AsyncParsedChatStream[T]", self._inner)
        return self._portal.run(inner.get_final_completion)


def chat_stream(portal: Portal, inner: AsyncChatStream) -> ChatStream:
    """The facade of what ``chat.completions.stream()`` returned (parsed or not)."""
    cls = ParsedChatStream if isinstance(inner, AsyncParsedChatStream) else ChatStream
    return cls(portal, inner)


class CompletionStream(_StreamFacade[AsyncCompletionStream, StreamEvent]):
    """A legacy text-completion stream, synchronously."""

    get_final_text_completion = blocking(AsyncCompletionStream.get_final_text_completion)
