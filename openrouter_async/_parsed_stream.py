"""The stream of ``chat.completions.stream(response_format=Model)``.

A :class:`~openrouter_async._streaming.ChatStream` whose final completion is parsed as the
class it was asked for, so ``(await stream.get_final_completion()).parsed`` is typed as that
class. It lives apart from ``_streaming`` (the stream machinery, which knows nothing of
structured outputs) and from ``_structured`` (pure, below the I/O layer), joining the two.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from ._streaming import ChatStream
from ._structured import ParsedChatCompletion, parse_completion

__all__ = ["ParsedChatStream"]

T = TypeVar("T")


class ParsedChatStream(ChatStream, Generic[T]):
    """Events as :class:`ChatStream` yields them; ``get_final_completion()`` returns a
    :class:`~openrouter_async.ParsedChatCompletion` whose ``.parsed`` is a ``T`` (or raises
    :class:`~openrouter_async.StructuredOutputError` with the model's text in ``raw``)."""

    parse_as: type[T]  # set by chat.completions.stream() right after construction

    async def get_final_completion(self) -> ParsedChatCompletion[T]:
        return parse_completion(await super().get_final_completion(), self.parse_as)
