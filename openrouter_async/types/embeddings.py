"""``POST /embeddings``: :class:`EmbeddingsRequest` in, :class:`EmbeddingsResponse` out.

The input is checked before anything is sent: a string, a list of strings, one token array,
a list of token arrays, or a list of multimodal items ``{"content": [parts]}``, never a mix
(the server would answer 400 for one bad element after the whole body was uploaded). Token ids
are non-negative integers; ``True``/``False`` are rejected although Python calls them ints.

``encoding_format="base64"`` makes the server send each vector as base64 of little-endian
float32 values (about a quarter of the JSON size); :func:`decode_embedding` turns it back into
``list[float]`` so ``.embedding`` is a list of floats whichever format was asked for.
"""

from __future__ import annotations

import array
import base64
import binascii
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs

from .._convert import NO_EXTRA, request_model, response_model, unstructure
from .._errors import RequestValidationError, ResponseValidationError
from ._validators import (
    check_int,
    check_str,
    fail,
    optional_choice,
    optional_int,
    optional_json_object,
    optional_str,
    required_str,
    reraise_under,
    type_name,
)
from .content import ContentPart, to_content
from .options import ProviderPreferences, to_provider
from .responses import CostDetails, PromptTokensDetails, ResponseInfo

__all__ = [
    "Embedding",
    "EmbeddingInput",
    "EmbeddingsRequest",
    "EmbeddingsResponse",
    "EmbeddingsUsage",
    "check_text_or_tokens",
    "decode_embedding",
]

EmbeddingInput = (
    str | Sequence[str] | Sequence[int] | Sequence[Sequence[int]] | Sequence[Mapping[str, Any]]
)
"""What ``input`` accepts (see the module docstring)."""


def _kind(item: object) -> str:
    if isinstance(item, str):
        return "strings"
    if isinstance(item, bool):
        return "booleans"
    if isinstance(item, int):
        return "token ids"
    if isinstance(item, Mapping):
        return "multimodal items"
    if isinstance(item, Sequence) and not isinstance(item, (bytes, bytearray)):
        return "token arrays"
    return type_name(item)


def _tokens(value: Sequence[Any], path: str) -> list[int]:
    if not value:
        fail("a token array must not be empty", path)
    for i, token in enumerate(value):
        if isinstance(token, bool):
            fail("token ids must be integers, got a boolean", f"{path}[{i}]")
        check_int(token, f"{path}[{i}]", lo=0)
    return list(value)


def _multimodal(item: Mapping[str, Any], path: str) -> dict[str, Any]:
    for key in item:
        if key != "content":
            fail(
                f"unknown field {key!r} of a multimodal input (expected: content)", f"{path}.{key}"
            )
    if "content" not in item:
        fail("required field is missing", f"{path}.content")
    content = item["content"]
    if isinstance(content, str) or not isinstance(content, Sequence):
        fail(f"must be a list of content parts, got {type_name(content)}", f"{path}.content")
    try:
        parts: tuple[ContentPart, ...] | str = to_content(content)
    except RequestValidationError as exc:
        reraise_under(path, exc)
    return {"content": unstructure(list(parts))}


def check_text_or_tokens(value: object, path: str, *, multimodal: bool = False) -> str | list[Any]:
    """A string, list of strings, token array or list of token arrays (or, with
    ``multimodal``, a list of ``{"content": [parts]}`` items) as plain JSON values."""
    shapes = "a string, a list of strings, a token array, a list of token arrays"
    if multimodal:
        shapes += " or a list of multimodal items"
    if isinstance(value, str):
        return check_str(value, path, nonempty=True)
    if not isinstance(value, Sequence) or isinstance(value, (bytes, bytearray)):
        fail(f"must be {shapes}, got {type_name(value)}", path)
    if not value:
        fail("must not be empty", path)
    kind = _kind(value[0])
    for i, item in enumerate(value):
        item_kind = _kind(item)
        if item_kind == "booleans":
            fail("token ids must be integers, got a boolean", f"{path}[{i}]")
        if item_kind != kind:
            fail(f"mixes {kind} and {item_kind}; use one kind of input per request", f"{path}[{i}]")
    if kind == "strings":
        return [check_str(item, f"{path}[{i}]", nonempty=True) for i, item in enumerate(value)]
    if kind == "token ids":
        return _tokens(value, path)
    if kind == "token arrays":
        return [_tokens(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if kind == "multimodal items" and multimodal:
        return [_multimodal(item, f"{path}[{i}]") for i, item in enumerate(value)]
    fail(f"must be {shapes}; got a list of {kind}", path)


def to_input(value: EmbeddingInput) -> str | list[Any]:
    """Field converter for ``input``: validates the shape, returns plain JSON values."""
    return check_text_or_tokens(value, "input", multimodal=True)


@request_model
@attrs.frozen(kw_only=True)
class EmbeddingsRequest:
    """A ``POST /embeddings`` request. ``model`` and ``input`` are required.

    ``extra_body`` is merged into the JSON last (it may add fields the SDK does not model).
    """

    model: str = attrs.field(validator=required_str(nonempty=True))
    input: str | list[Any] = attrs.field(converter=to_input)
    encoding_format: Literal["float", "base64"] | None = attrs.field(
        default=None, validator=optional_choice("float", "base64")
    )
    dimensions: int | None = attrs.field(default=None, validator=optional_int(lo=1))
    input_type: str | None = attrs.field(default=None, validator=optional_str(nonempty=True))
    """Provider-specific hint such as ``"search_query"`` / ``"search_document"``."""
    provider: ProviderPreferences | None = attrs.field(default=None, converter=to_provider)
    user: str | None = attrs.field(default=None, validator=optional_str())
    extra_body: Mapping[str, Any] | None = attrs.field(default=None, validator=optional_json_object)

    def body(self) -> dict[str, Any]:
        """The JSON object to send (``None`` fields omitted, ``extra_body`` not yet merged)."""
        data: dict[str, Any] = unstructure(self)
        data.pop("extra_body", None)
        return data


# --------------------------------------------------------------------------- response


def decode_embedding(value: str) -> list[float]:
    """Base64 of little-endian float32 values -> ``list[float]``.

    Raises :class:`ResponseValidationError` for bad base64 or a length not a multiple of 4.
    """
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ResponseValidationError(f"an embedding is not valid base64: {exc}") from exc
    if len(raw) % 4:
        raise ResponseValidationError(
            f"a base64 embedding has {len(raw)} bytes, not a whole number of float32 values"
        )
    floats = array.array("f")
    floats.frombytes(raw)
    if sys.byteorder == "big":
        floats.byteswap()
    return floats.tolist()


@response_model
@attrs.frozen(kw_only=True)
class Embedding:
    """One vector; ``index`` is the position of its input."""

    object: str = "embedding"
    index: int = 0
    embedding: list[float] = attrs.field(factory=list)
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)


@response_model
@attrs.frozen(kw_only=True)
class EmbeddingsUsage:
    prompt_tokens: int = 0
    total_tokens: int = 0
    cost: float | None = None
    is_byok: bool | None = None
    cost_details: CostDetails | None = None
    prompt_tokens_details: PromptTokensDetails | None = None
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)


@response_model
@attrs.frozen(kw_only=True)
class EmbeddingsResponse:
    """The vectors, in ``data`` (one per input, ``.embedding`` always ``list[float]``)."""

    object: str = "list"
    id: str | None = None
    model: str = ""
    data: list[Embedding] = attrs.field(factory=list)
    usage: EmbeddingsUsage | None = None
    extra: Mapping[str, Any] = attrs.field(default=NO_EXTRA, repr=False)
    response: ResponseInfo | None = attrs.field(default=None, eq=False, repr=False)

    def vectors(self) -> list[list[float]]:
        """The embeddings in input order."""
        return [item.embedding for item in sorted(self.data, key=lambda item: item.index)]

    @property
    def generation_id(self) -> str | None:
        if self.id:
            return self.id
        return self.response.generation_id if self.response is not None else None
