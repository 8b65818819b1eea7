"""Content parts of a message (discriminated by ``type``) and the prompt-caching markers.

A message's ``content`` is a plain string or a list of parts; the converters at the bottom accept
either, plus plain dicts in the wire shape, and build the classes here (see ``_validators``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs

from .._convert import request_model
from .._errors import RequestValidationError
from ._validators import (
    check_str,
    coerce_model,
    coerce_models,
    constant,
    dispatch,
    extra_field,
    fail,
    optional_choice,
    optional_str,
    required_str,
    reraise_under,
)

__all__ = [
    "AudioPart",
    "CacheControl",
    "ContentPart",
    "FileData",
    "FilePart",
    "ImagePart",
    "ImageURL",
    "InputAudio",
    "OtherPart",
    "PromptCacheBreakpoint",
    "PromptCacheOptions",
    "TextPart",
    "VideoPart",
    "VideoURL",
]

_URL_SCHEMES = ("https://", "http://", "data:")


# Media URLs are plain strings: the API documents https and data: URLs, and for generated images
# echoed back raw base64 as well, so the SDK does not second-guess the form.


# --- caching markers ----------------------------------------------------------------------------


@request_model
@attrs.frozen(kw_only=True)
class CacheControl:
    """``{"type": "ephemeral", "ttl"?: "5m" | "1h"}``: an explicit (Anthropic-style) cache
    breakpoint on a text part or tool, or automatic prompt caching when set on the request."""

    type: Literal["ephemeral"] = attrs.field(default="ephemeral", validator=constant("ephemeral"))
    ttl: Literal["5m", "1h"] | None = attrs.field(
        default=None, validator=optional_choice("5m", "1h")
    )
    extra: Mapping[str, Any] | None = extra_field()


@request_model
@attrs.frozen(kw_only=True)
class PromptCacheBreakpoint:
    """``{"mode": "explicit"}``: the OpenAI-style cache breakpoint on a text part."""

    mode: Literal["explicit"] = attrs.field(default="explicit", validator=constant("explicit"))
    extra: Mapping[str, Any] | None = extra_field()


@request_model
@attrs.frozen(kw_only=True)
class PromptCacheOptions:
    """Request-level ``prompt_cache_options`` (explicit breakpoints only; OpenAI GPT-5.6+)."""

    mode: Literal["explicit"] = attrs.field(default="explicit", validator=constant("explicit"))
    ttl: str | None = attrs.field(default=None, validator=optional_str())
    extra: Mapping[str, Any] | None = extra_field()


def to_cache_control(value: CacheControl | Mapping[str, Any] | None) -> CacheControl | None:
    """Field converter for ``cache_control`` (also used by tools and the request)."""
    if value is None:
        return None
    return coerce_model(CacheControl, value, "cache_control")


def to_prompt_cache_options(
    value: PromptCacheOptions | Mapping[str, Any] | None,
) -> PromptCacheOptions | None:
    """Field converter for the request's ``prompt_cache_options``."""
    if value is None:
        return None
    return coerce_model(PromptCacheOptions, value, "prompt_cache_options")


def _to_breakpoint(
    value: PromptCacheBreakpoint | Mapping[str, Any] | None,
) -> PromptCacheBreakpoint | None:
    if value is None:
        return None
    return coerce_model(PromptCacheBreakpoint, value, "prompt_cache_breakpoint")


# --- parts ---------------------------------------------------------------------------------------


@request_model
@attrs.frozen(kw_only=True)
class TextPart:
    """``{"type": "text", "text": ...}``, optionally a cache breakpoint."""

    type: Literal["text"] = attrs.field(default="text", validator=constant("text"))
    text: str = attrs.field(validator=required_str())
    cache_control: CacheControl | None = attrs.field(default=None, converter=to_cache_control)
    prompt_cache_breakpoint: PromptCacheBreakpoint | None = attrs.field(
        default=None, converter=_to_breakpoint
    )
    extra: Mapping[str, Any] | None = extra_field()


@request_model
@attrs.frozen(kw_only=True)
class ImageURL:
    """An image by https URL or ``data:image/...;base64,...``. ``detail="original"`` is
    OpenRouter's (downgraded to ``high`` where unsupported)."""

    url: str = attrs.field(validator=required_str())
    detail: Literal["auto", "low", "high", "original"] | None = attrs.field(
        default=None, validator=optional_choice("auto", "low", "high", "original")
    )
    extra: Mapping[str, Any] | None = extra_field()


def to_image_url(value: ImageURL | Mapping[str, Any] | str) -> ImageURL:
    if isinstance(value, str):
        try:
            return ImageURL(url=value)
        except RequestValidationError as exc:
            reraise_under("image_url", exc)
    return coerce_model(ImageURL, value, "image_url", what="an ImageURL, a URL string")


@request_model
@attrs.frozen(kw_only=True)
class ImagePart:
    """``{"type": "image_url", "image_url": {"url", "detail"?}}``; a URL string is accepted too."""

    type: Literal["image_url"] = attrs.field(default="image_url", validator=constant("image_url"))
    image_url: ImageURL = attrs.field(converter=to_image_url)
    extra: Mapping[str, Any] | None = extra_field()


def _check_audio_data(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_str(value, attribute.name)
    # Documented as base64 audio bytes: a URL is certainly not that (':' is not base64).
    if value.startswith(_URL_SCHEMES):
        fail(
            "must be base64-encoded audio bytes (URLs and data: URLs are not supported)",
            attribute.name,
        )


@request_model
@attrs.frozen(kw_only=True)
class InputAudio:
    """Base64 audio; ``format`` is provider-dependent (wav, mp3, flac, m4a, ogg, aac, ...)."""

    data: str = attrs.field(validator=_check_audio_data)
    format: str = attrs.field(validator=required_str())
    extra: Mapping[str, Any] | None = extra_field()


def _to_input_audio(value: InputAudio | Mapping[str, Any]) -> InputAudio:
    return coerce_model(InputAudio, value, "input_audio")


@request_model
@attrs.frozen(kw_only=True)
class AudioPart:
    """``{"type": "input_audio", "input_audio": {"data", "format"}}``."""

    type: Literal["input_audio"] = attrs.field(
        default="input_audio", validator=constant("input_audio")
    )
    input_audio: InputAudio = attrs.field(converter=_to_input_audio)
    extra: Mapping[str, Any] | None = extra_field()


@request_model
@attrs.frozen(kw_only=True)
class FileData:
    """A file (PDF, ...) by https URL or data URL (``file_data``), or by uploaded ``file_id``."""

    filename: str | None = attrs.field(default=None, validator=optional_str())
    file_data: str | None = attrs.field(default=None, validator=optional_str())
    file_id: str | None = attrs.field(default=None, validator=optional_str())
    extra: Mapping[str, Any] | None = extra_field()


def _to_file_data(value: FileData | Mapping[str, Any]) -> FileData:
    return coerce_model(FileData, value, "file")


@request_model
@attrs.frozen(kw_only=True)
class FilePart:
    """``{"type": "file", "file": {"filename"?, "file_data"?, "file_id"?}}``."""

    type: Literal["file"] = attrs.field(default="file", validator=constant("file"))
    file: FileData = attrs.field(converter=_to_file_data)
    extra: Mapping[str, Any] | None = extra_field()


@request_model
@attrs.frozen(kw_only=True)
class VideoURL:
    url: str = attrs.field(validator=required_str())
    extra: Mapping[str, Any] | None = extra_field()


def _to_video_url(value: VideoURL | Mapping[str, Any] | str) -> VideoURL:
    if isinstance(value, str):
        try:
            return VideoURL(url=value)
        except RequestValidationError as exc:
            reraise_under("video_url", exc)
    return coerce_model(VideoURL, value, "video_url", what="a VideoURL, a URL string")


@request_model
@attrs.frozen(kw_only=True)
class VideoPart:
    """``{"type": "video_url", "video_url": {"url"}}`` (OpenRouter); ``type="input_video"`` is the
    deprecated spelling, kept so an echoed legacy part round-trips unchanged."""

    type: Literal["video_url", "input_video"] = attrs.field(
        default="video_url", validator=optional_choice("video_url", "input_video")
    )
    video_url: VideoURL = attrs.field(converter=_to_video_url)
    extra: Mapping[str, Any] | None = extra_field()


def _check_other_type(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_str(value, attribute.name, nonempty=True)


@request_model
@attrs.frozen(kw_only=True)
class OtherPart:
    """A part whose ``type`` the SDK does not model yet (``{"type": "tool_addition", ...}``):
    its other keys are in ``extra``, and the part is sent exactly as given."""

    type: str = attrs.field(validator=_check_other_type)
    extra: Mapping[str, Any] | None = extra_field()


ContentPart = TextPart | ImagePart | AudioPart | FilePart | VideoPart | OtherPart
"""Any part of a user / assistant / tool message."""

_PART_CLASSES: tuple[type, ...] = (TextPart, ImagePart, AudioPart, FilePart, VideoPart, OtherPart)
_PARTS: dict[str, type[Any]] = {
    "text": TextPart,
    "image_url": ImagePart,
    "input_audio": AudioPart,
    "file": FilePart,
    "video_url": VideoPart,
    "input_video": VideoPart,
}
_TEXT_PARTS: dict[str, type[Any]] = {"text": TextPart}


def _part(value: object, path: str) -> ContentPart:
    part: ContentPart = dispatch(
        value,
        path,
        key="type",
        table=_PARTS,
        accept=_PART_CLASSES,
        what="a content part",
        fallback=OtherPart,
    )
    return part


def _text_part(value: object, path: str) -> TextPart | OtherPart:
    # Only text parts are documented here; a type the SDK does not know is still sent as given.
    part: TextPart | OtherPart = dispatch(
        value,
        path,
        key="type",
        table=_TEXT_PARTS,
        accept=(TextPart, OtherPart),
        what="a text part",
        fallback=OtherPart,
    )
    return part


def to_content(
    value: str | Sequence[ContentPart | Mapping[str, Any]],
) -> str | tuple[ContentPart, ...]:
    """Field converter for ``content``: a string, or a list of parts (or part dicts)."""
    if isinstance(value, str):
        return value
    return coerce_models(value, "content", _part, what="content parts")


def to_optional_content(
    value: str | Sequence[ContentPart | Mapping[str, Any]] | None,
) -> str | tuple[ContentPart, ...] | None:
    return None if value is None else to_content(value)


def to_text_content(
    value: str | Sequence[TextPart | OtherPart | Mapping[str, Any]],
) -> str | tuple[TextPart | OtherPart, ...]:
    """Field converter for system / developer ``content``: a string or text parts (a part of a
    type the SDK does not know passes as :class:`OtherPart`)."""
    if isinstance(value, str):
        return value
    return coerce_models(value, "content", _text_part, what="text parts")
