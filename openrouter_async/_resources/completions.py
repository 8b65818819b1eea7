"""``client.completions``: legacy text completions, ``POST /completions`` (create and stream).

Streaming goes through the same :class:`~openrouter_async._streaming.Stream` as chat, with the
decoder's ``kind="completion"``: each ``choices[i].text`` piece arrives as a ``TextDelta``.
The accumulator folds a stream into a chat-shaped completion (text in
``choices[i].message.content``); :meth:`CompletionStream.get_final_text_completion` gives the
same :class:`TextCompletion` shape ``create()`` returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._config import Timeouts
from .._error_body import error_from_payload
from .._errors import RequestValidationError
from .._streaming import Stream
from ..types.completions import (
    TextCompletion,
    TextCompletionRequest,
    coerce_text_completion_request,
    text_completion_from_chat,
)
from ..types.events import StreamEvent
from ._raw import build, encode_body, expect_object

if TYPE_CHECKING:
    from .._client import OpenRouter

__all__ = ["CompletionStream", "Completions"]

_PATH = "/completions"


class CompletionStream(Stream[StreamEvent]):
    """``async with client.completions.stream(...) as stream: async for event in stream``.

    Events are the typed deltas (``TextDelta`` for text, then ``Finish`` and ``Usage``);
    ``text_stream`` yields only the text. ``get_final_completion()`` returns the chat-shaped
    fold (``choices[i].message.content``); ``get_final_text_completion()`` the legacy shape.
    """

    async def get_final_text_completion(self) -> TextCompletion:
        """Consume the rest of the stream and return it as a :class:`TextCompletion`."""
        return text_completion_from_chat(await self.get_final_completion(), self.response)


def _check_choices(data: dict[str, Any], status_code: int, headers: Mapping[str, str]) -> None:
    """A choice that finished with ``error`` raises, as chat completions do."""
    choices = data.get("choices")
    if not isinstance(choices, list):
        return
    for choice in choices:
        if not isinstance(choice, dict):
            continue
        error = choice.get("error")
        if error is not None or choice.get("finish_reason") == "error":
            if not isinstance(error, Mapping):
                error = {"message": "the provider reported finish_reason 'error'"}
            exc = error_from_payload(status_code, {"error": error}, headers)
            if exc.generation_id is None and isinstance(data.get("id"), str):
                exc.generation_id = data["id"]
            raise exc


class Completions:
    """``client.completions`` (legacy; prefer ``client.chat.completions``)."""

    def __init__(self, client: OpenRouter) -> None:
        self._client = client

    async def create(
        self,
        request: TextCompletionRequest | Mapping[str, Any] | None = None,
        /,
        *,
        timeout: Timeouts | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        max_retries: int | None = None,
        extra_query: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> TextCompletion:
        """Complete ``prompt``; fields as in :class:`TextCompletionRequest` (or one of them).

        A 200 whose body is an error, or a choice that finished with ``"error"``, raises.
        """
        req = coerce_text_completion_request(request, **kwargs)
        if req.stream:
            raise RequestValidationError(
                "create() returns a whole completion; use completions.stream() to stream",
                path="stream",
            )
        body = encode_body(req.body(), req.extra_body)
        data, info = await self._client._request(
            "POST",
            _PATH,
            body=body,
            timeout=timeout,
            extra_headers=extra_headers,
            max_retries=max_retries,
            extra_query=extra_query,
        )
        obj = expect_object(data, f"POST {_PATH}", info)
        _check_choices(obj, info.status_code, info.headers)
        return build(obj, TextCompletion, f"POST {_PATH}", info)

    def stream(
        self,
        request: TextCompletionRequest | Mapping[str, Any] | None = None,
        /,
        *,
        timeout: Timeouts | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        max_retries: int | None = None,
        extra_query: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> CompletionStream:
        """Stream a text completion: ``async with client.completions.stream(...) as s``.

        Validated now, sent when the ``async with`` block (or the first iteration) begins;
        retried only until the response starts.
        """
        client = self._client
        client._ensure_open()
        req = coerce_text_completion_request(request, **kwargs)
        body = encode_body(req.body(stream=True), req.extra_body)
        return client._open_stream(
            CompletionStream,
            _PATH,
            body,
            kind="completion",
            timeout=timeout,
            extra_headers=extra_headers,
        )
