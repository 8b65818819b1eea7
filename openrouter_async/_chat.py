"""``client.chat.completions``: create (non-streaming) and stream."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._config import Timeouts, merge_timeouts
from ._decode import parse_chat_completion
from ._errors import RequestValidationError
from ._streaming import ChatStream
from .types.chat_request import ChatRequest, chat_request_body, coerce_chat_request
from .types.responses import ChatCompletion

if TYPE_CHECKING:
    from ._client import OpenRouter

__all__ = ["Chat", "ChatCompletions"]


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
        **kwargs: Any,
    ) -> ChatCompletion:
        """Send a chat completion request and return the whole completion.

        Pass a :class:`ChatRequest`, or its fields as keyword arguments (plain dicts are
        validated the same way). ``response`` on the result holds status, headers, elapsed.
        A 200 whose body is an error, or a choice that finished with ``"error"``, raises.
        """
        chat_request = coerce_chat_request(request, **kwargs)
        if chat_request.stream:
            raise RequestValidationError(
                "create() returns a whole completion; use chat.completions.stream() to stream",
                path="stream",
            )
        body = chat_request_body(chat_request)
        data, info = await self._client._request(
            "POST",
            "/chat/completions",
            body=body,
            timeout=timeout,
            extra_headers=extra_headers,
        )
        completion = parse_chat_completion(data, status_code=info.status_code, headers=info.headers)
        object.__setattr__(completion, "response", info)
        return completion

    def stream(
        self,
        request: ChatRequest | Mapping[str, Any] | None = None,
        /,
        *,
        timeout: Timeouts | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> ChatStream:
        """Stream a chat completion: ``async with client.chat.completions.stream(...) as s``.

        The request is validated now; it is sent when the ``async with`` block (or the first
        iteration) begins. It is retried only until the response starts, never after.
        """
        client = self._client
        client._ensure_open()
        chat_request = coerce_chat_request(request, **kwargs)
        body = chat_request_body(chat_request, stream=True)
        config = client.config
        headers = client._prep.headers(
            config.auth_header(), json_body=True, stream=True, extra=extra_headers
        )
        url = client._prep.url("/chat/completions")
        timeouts = merge_timeouts(config.timeouts, timeout)
        transport = client._transport

        async def send() -> Any:
            client._ensure_open()
            return await transport.send(
                "POST", url, headers=headers, body=body, params=None, timeouts=timeouts, stream=True
            )

        return ChatStream(
            send,
            timeouts=timeouts,
            retry=config.retry,
            deadline=client._deadline(timeouts),
            kind="chat",
            describe="POST /chat/completions (stream)",
        )


class Chat:
    """``client.chat``."""

    def __init__(self, client: OpenRouter) -> None:
        self.completions = ChatCompletions(client)
