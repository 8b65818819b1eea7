"""``client.embeddings``: ``POST /embeddings``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from .._config import Timeouts
from .._errors import ResponseValidationError
from ..types._validators import fail
from ..types.embeddings import (
    EmbeddingInput,
    EmbeddingsRequest,
    EmbeddingsResponse,
    decode_embedding,
)
from ..types.options import ProviderPreferences
from ._raw import build, encode_body, expect_object

if TYPE_CHECKING:
    from .._client import OpenRouter

__all__ = ["Embeddings"]


def _decoded(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with every base64 ``embedding`` string replaced by its list of floats."""
    items = body.get("data")
    if not isinstance(items, list):
        raise ResponseValidationError("POST /embeddings: the response body has no 'data' list")
    if not any(isinstance(i, dict) and isinstance(i.get("embedding"), str) for i in items):
        return body
    fixed = [
        {**item, "embedding": decode_embedding(item["embedding"])}
        if isinstance(item, dict) and isinstance(item.get("embedding"), str)
        else item
        for item in items
    ]
    return {**body, "data": fixed}


class Embeddings:
    """``client.embeddings``."""

    def __init__(self, client: OpenRouter) -> None:
        self._client = client

    async def create(
        self,
        request: EmbeddingsRequest | None = None,
        /,
        *,
        model: str | None = None,
        input: EmbeddingInput | None = None,
        encoding_format: Literal["float", "base64"] | None = None,
        dimensions: int | None = None,
        input_type: str | None = None,
        provider: ProviderPreferences | Mapping[str, Any] | None = None,
        user: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: Timeouts | float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        max_retries: int | None = None,
        extra_query: Mapping[str, str] | None = None,
    ) -> EmbeddingsResponse:
        """Embed ``input`` with ``model``; pass the fields or a built :class:`EmbeddingsRequest`.

        ``input``: a string, a list of strings, a token array, a list of token arrays, or a
        list of ``{"content": [parts]}`` items (checked before sending). Whatever
        ``encoding_format`` is asked for, each ``.embedding`` is a ``list[float]``: base64
        vectors are decoded here.
        """
        if request is None:
            if model is None:
                fail("required field is missing", "model")
            if input is None:
                fail("required field is missing", "input")
            request = EmbeddingsRequest(
                model=model,
                input=input,
                encoding_format=encoding_format,
                dimensions=dimensions,
                input_type=input_type,
                provider=provider,
                user=user,
                extra_body=extra_body,
            )
        elif not isinstance(request, EmbeddingsRequest):
            fail(f"expected an EmbeddingsRequest, got {type(request).__name__}")
        else:
            given = {
                "model": model,
                "input": input,
                "encoding_format": encoding_format,
                "dimensions": dimensions,
                "input_type": input_type,
                "provider": provider,
                "user": user,
                "extra_body": extra_body,
            }
            clash = sorted(name for name, value in given.items() if value is not None)
            if clash:
                fail("got an EmbeddingsRequest and keyword fields; pass one or the other", clash[0])
        body = encode_body(request.body(), request.extra_body)
        data, info = await self._client._request(
            "POST",
            "/embeddings",
            body=body,
            timeout=timeout,
            extra_headers=extra_headers,
            max_retries=max_retries,
            extra_query=extra_query,
        )
        try:
            decoded = _decoded(expect_object(data, "POST /embeddings", info))
        except ResponseValidationError as exc:
            exc.generation_id = exc.generation_id or info.generation_id
            raise
        return build(decoded, EmbeddingsResponse, "POST /embeddings", info)
