"""Content parts from a file path, bytes or a URL: images, PDFs (and other files), audio, video.

::

    messages=[{"role": "user", "content": [
        TextPart(text="What is in these?"),
        image_part("photo.jpg", detail="low"),     # data:image/jpeg;base64,...
        file_part(pdf_bytes, filename="report.pdf"),
        audio_part("question.wav"),                 # {"data": <base64>, "format": "wav"}
        image_part("https://example.com/cat.png"),  # URLs are passed through
    ]}]

A ``source`` is a path (``str`` or ``os.PathLike``), raw ``bytes``, or a ``str`` starting with
``https://``, ``http://`` or ``data:``. Other strings are taken as paths.

The type is read from the bytes (magic numbers: PNG, JPEG, GIF, WEBP, PDF, WAV, MP3, FLAC, OGG,
AAC, AIFF, M4A/MP4, MOV, WEBM, MPEG), then from the file extension; a ``mime_type=`` (or, for
audio, ``format=``) argument overrides both. What the API accepts:

* images (``image_part``): PNG, JPEG, WEBP, GIF, as an https URL or a base64 data URL;
* files (``file_part``): PDF (any model; OpenRouter parses it for models without native file
  input) and text formats (plain text, Markdown, CSV, JSON, HTML, XML), as a URL or data URL;
* audio (``audio_part``): base64 only — URLs are not supported by the API, so they are refused
  here; format ``wav``, ``mp3``, ``flac``, ``ogg``, ``m4a``, ``aac``, ``aiff``, ``webm`` (or
  any name passed as ``format=``, e.g. ``pcm16``; support varies by provider);
* video (``video_part``): MP4, MPEG, MOV, WEBM as a URL or data URL (URL support varies by
  provider; Gemini on AI Studio takes only YouTube links).

Size limits: the API documents none of its own; providers do (OpenAI, for one, takes images up
to 20 MB). To catch mistakes before a large upload, each helper refuses inputs larger than its
``max_bytes`` (defaults: images 20 MiB, audio 25 MiB, files 50 MiB, video 100 MiB; base64 then
adds a third); pass ``max_bytes=None`` to lift the check. URLs are not fetched, so not measured.

Everything that is wrong — unreadable file, unknown or unsupported type, bad data URL, too large
— raises :class:`~openrouter_async.RequestValidationError`. Files are read synchronously: these
are meant for request building, not for huge media.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import os
import posixpath
import urllib.parse
from typing import Literal, NoReturn, TypeAlias

from ._errors import RequestValidationError
from .types.content import (
    AudioPart,
    FileData,
    FilePart,
    ImagePart,
    ImageURL,
    InputAudio,
    VideoPart,
    VideoURL,
)

__all__ = [
    "AUDIO_MAX_BYTES",
    "FILE_MAX_BYTES",
    "IMAGE_MAX_BYTES",
    "VIDEO_MAX_BYTES",
    "Source",
    "audio_part",
    "data_url",
    "file_part",
    "image_part",
    "sniff_mime_type",
    "video_part",
]

Source: TypeAlias = str | os.PathLike[str] | bytes | bytearray | memoryview

_MIB = 1024 * 1024
IMAGE_MAX_BYTES = 20 * _MIB
AUDIO_MAX_BYTES = 25 * _MIB
FILE_MAX_BYTES = 50 * _MIB
VIDEO_MAX_BYTES = 100 * _MIB

_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"})
_VIDEO_TYPES = frozenset({"video/mp4", "video/mpeg", "video/quicktime", "video/webm"})
_TEXT_TYPES = frozenset(
    {"application/json", "application/xml", "application/x-ndjson", "application/yaml"}
)
#: Audio MIME type -> the API's ``format`` name.
_AUDIO_FORMATS = {
    "audio/wav": "wav",
    "audio/mpeg": "mp3",
    "audio/flac": "flac",
    "audio/ogg": "ogg",
    "audio/mp4": "m4a",
    "audio/aac": "aac",
    "audio/aiff": "aiff",
    "audio/webm": "webm",
}
_EXTENSIONS = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".pdf": "application/pdf",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".aif": "audio/aiff",
    ".aiff": "audio/aiff",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
    ".mpeg": "video/mpeg",
    ".mpg": "video/mpeg",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".csv": "text/csv",
    ".tsv": "text/tab-separated-values",
    ".json": "application/json",
    ".jsonl": "application/x-ndjson",
    ".html": "text/html",
    ".htm": "text/html",
    ".xml": "application/xml",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
}
_DEFAULT_NAMES = {"application/pdf": "document.pdf", "text/plain": "document.txt"}
_URL_PREFIXES = ("https://", "http://")


def _fail(message: str, path: str = "source") -> NoReturn:
    raise RequestValidationError(message, path=path)


# --- recognising types ----------------------------------------------------------------------------


def _sniff_iso_bmff(head: bytes) -> str | None:
    # ISO base media (MP4, M4A, MOV, HEIC): a box whose type is "ftyp", then the major brand.
    if head[4:8] != b"ftyp":
        return None
    brand = head[8:12]
    if brand in (b"M4A ", b"M4B ", b"M4P "):
        return "audio/mp4"
    if brand == b"qt  ":
        return "video/quicktime"
    if brand in (b"heic", b"heix", b"mif1", b"msf1", b"avif"):
        return "image/heic" if brand != b"avif" else "image/avif"
    return "video/mp4"


def sniff_mime_type(data: bytes) -> str | None:
    """The MIME type the first bytes of ``data`` announce, or ``None`` when they say nothing."""
    head = bytes(data[:16])
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"RIFF") and len(head) >= 12:
        return {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}.get(
            head[8:12]
        )
    if head.startswith(b"FORM") and head[8:12] in (b"AIFF", b"AIFC"):
        return "audio/aiff"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"ID3"):
        return "audio/mpeg"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if head.startswith((b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")):
        return "video/mpeg"
    if head.startswith(b"BM") and len(head) >= 14 and head[6:10] == b"\x00\x00\x00\x00":
        return "image/bmp"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        layer = (head[1] >> 1) & 0b11
        if layer == 0b01:
            return "audio/mpeg"  # MPEG audio layer III frame sync
        if layer == 0b00:
            return "audio/aac"  # ADTS
    return _sniff_iso_bmff(head)


def _type_from_name(name: str | None) -> str | None:
    if not name:
        return None
    ext = posixpath.splitext(name.lower())[1]
    if ext in _EXTENSIONS:
        return _EXTENSIONS[ext]
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed


def _looks_like_text(data: bytes) -> bool:
    sample = bytes(data[:4096])
    if b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(sample) - 3  # a multi-byte character cut by the sample's end
    return True


def _mime_type(data: bytes, name: str | None, *, text: bool = False) -> str | None:
    found = sniff_mime_type(data) or _type_from_name(name)
    if found is None and text and _looks_like_text(data):
        found = "text/plain"
    return found


# --- reading sources ------------------------------------------------------------------------------


class _Loaded:
    """A source read into memory: the bytes, a name (for extension and filename), and the
    MIME type a data URL declared."""

    __slots__ = ("data", "declared", "name")

    def __init__(self, data: bytes, name: str | None, declared: str | None = None) -> None:
        self.data = data
        self.name = name
        self.declared = declared


def _parse_data_url(url: str) -> _Loaded:
    header, comma, payload = url.partition(",")
    if not comma:
        _fail("a data: URL needs a ',' before its data (data:<mime>;base64,<data>)")
    params = header[len("data:") :].split(";")
    if "base64" not in (p.strip().lower() for p in params[1:]):
        _fail("only base64 data: URLs are supported (data:<mime>;base64,<data>)")
    mime = params[0].strip().lower() or None
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        _fail(f"the data: URL's base64 payload is invalid: {exc}")
    return _Loaded(data, None, mime)


def _check_size(size: int, max_bytes: int | None, what: str) -> None:
    if max_bytes is not None and size > max_bytes:
        _fail(
            f"{what} is {size} bytes, over the limit of {max_bytes} bytes ({max_bytes / _MIB:g} "
            "MiB); pass max_bytes= to change it, or send a URL"
        )


def _read_path(path: str | os.PathLike[str], max_bytes: int | None) -> _Loaded:
    shown = os.fspath(path)
    try:
        with open(path, "rb") as file:
            what = f"file {shown!r}"
            _check_size(os.fstat(file.fileno()).st_size, max_bytes, what)  # fail before reading
            # st_size is 0 for /proc files and means nothing for devices and FIFOs: the limit
            # also holds for what is actually read, never more than one byte past it.
            data = file.read() if max_bytes is None else file.read(max_bytes + 1)
            if max_bytes is not None and len(data) > max_bytes:
                _fail(
                    f"{what} is more than {max_bytes} bytes, over the limit of {max_bytes} bytes "
                    f"({max_bytes / _MIB:g} MiB); pass max_bytes= to change it, or send a URL"
                )
    except RequestValidationError:
        raise
    except OSError as exc:
        reason = exc.strerror or str(exc)
        hint = ""
        if isinstance(path, str) and isinstance(exc, FileNotFoundError):
            hint = " (a str is read as a path unless it starts with https://, http:// or data:)"
        _fail(f"cannot read file {shown!r}: {reason}{hint}")
    return _Loaded(data, os.path.basename(shown))


def _load(source: Source, max_bytes: int | None) -> _Loaded:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        _check_size(len(data), max_bytes, "the data")
        return _Loaded(data, None)
    if isinstance(source, str) and source[:5].lower() == "data:":
        # Decoded size is about 3/4 of the base64 text: check before decoding a huge string.
        _check_size(len(source) * 3 // 4, max_bytes, "the data: URL's content")
        return _parse_data_url(source)
    if isinstance(source, str | os.PathLike):
        return _read_path(source, max_bytes)
    _fail(f"expected a path, bytes or a URL string, got {type(source).__name__}")


def _is_url(source: Source) -> bool:
    return isinstance(source, str) and source[:8].lower().startswith(_URL_PREFIXES)


def data_url(data: bytes, mime_type: str) -> str:
    """``data:<mime_type>;base64,<data>``."""
    return f"data:{mime_type};base64,{base64.b64encode(data).decode('ascii')}"


def _describe(loaded: _Loaded) -> str:
    return repr(loaded.name) if loaded.name else "the data"


# --- the part builders ----------------------------------------------------------------------------


def image_part(
    source: Source,
    *,
    detail: Literal["auto", "low", "high", "original"] | None = None,
    mime_type: str | None = None,
    max_bytes: int | None = IMAGE_MAX_BYTES,
) -> ImagePart:
    """An image content part (PNG, JPEG, WEBP or GIF) from a path, bytes or URL.

    Local data becomes a ``data:image/...;base64,...`` URL; http(s) URLs are sent as they are.
    ``detail`` is ``auto``/``low``/``high``/``original`` (OpenRouter's, downgraded to ``high``
    where unsupported).
    """
    if _is_url(source):
        assert isinstance(source, str)
        return ImagePart(image_url=ImageURL(url=source, detail=detail))
    loaded = _load(source, max_bytes)
    mime = (mime_type or loaded.declared or _mime_type(loaded.data, loaded.name) or "").lower()
    if mime == "image/jpg":
        mime = "image/jpeg"
    if mime not in _IMAGE_TYPES:
        got = f"its type is {mime}" if mime else "its type is not recognised"
        _fail(
            f"{_describe(loaded)} is not a supported image ({got}); supported: PNG, JPEG, "
            "WEBP, GIF" + (" (use file_part for PDFs)" if mime == "application/pdf" else "")
        )
    return ImagePart(image_url=ImageURL(url=data_url(loaded.data, mime), detail=detail))


def _file_type_ok(mime: str) -> bool:
    return mime == "application/pdf" or mime.startswith("text/") or mime in _TEXT_TYPES


def file_part(
    source: Source,
    *,
    filename: str | None = None,
    mime_type: str | None = None,
    max_bytes: int | None = FILE_MAX_BYTES,
) -> FilePart:
    """A file content part (a PDF, or a text format) from a path, bytes or URL.

    Local data becomes ``file_data="data:application/pdf;base64,..."``; http(s) URLs are sent as
    they are. ``filename`` defaults to the file's name (a path or URL's last segment, else
    ``document.pdf`` / ``document.txt``…). A ``mime_type`` you give is trusted as is.
    """
    if _is_url(source):
        assert isinstance(source, str)
        segment = posixpath.basename(urllib.parse.urlsplit(source).path)
        name = filename or (urllib.parse.unquote(segment) or None)
        return FilePart(file=FileData(filename=name, file_data=source))
    loaded = _load(source, max_bytes)
    mime = (
        (mime_type or "").lower()
        or loaded.declared
        or _mime_type(loaded.data, loaded.name, text=True)
    )
    if mime_type is None and (mime is None or not _file_type_ok(mime)):
        hint = ""
        if mime in _IMAGE_TYPES:
            hint = "; use image_part for images"
        elif mime in _AUDIO_FORMATS:
            hint = "; use audio_part for audio"
        elif mime in _VIDEO_TYPES:
            hint = "; use video_part for video"
        got = f"its type is {mime}" if mime else "its type is not recognised"
        _fail(
            f"{_describe(loaded)} is not a supported file ({got}); supported: PDF and text "
            f"formats, or pass mime_type= to send it anyway{hint}"
        )
    assert mime is not None
    if filename is None:
        filename = loaded.name or _DEFAULT_NAMES.get(mime) or _default_name(mime)
    return FilePart(file=FileData(filename=filename, file_data=data_url(loaded.data, mime)))


def _default_name(mime: str) -> str:
    ext = next((e for e, m in _EXTENSIONS.items() if m == mime), None)
    return f"document{ext or ''}"


def audio_part(
    source: Source,
    *,
    format: str | None = None,
    max_bytes: int | None = AUDIO_MAX_BYTES,
) -> AudioPart:
    """An audio content part (base64 data plus ``format``) from a path, bytes or data: URL.

    http(s) URLs are refused: the API accepts audio only as base64. ``format`` defaults to what
    the bytes (or extension) say — ``wav``, ``mp3``, ``flac``, ``ogg``, ``m4a``, ``aac``,
    ``aiff``, ``webm``; pass it for raw formats such as ``pcm16``.
    """
    if _is_url(source):
        _fail(
            "audio cannot be sent by URL (the API takes base64 audio only); download it and "
            "pass the bytes or a path"
        )
    loaded = _load(source, max_bytes)
    fmt = format
    if fmt is None:
        mime = loaded.declared or _mime_type(loaded.data, loaded.name)
        if mime in ("video/mp4", "video/webm"):
            # Audio in an MP4 or WebM container (m4a brands other than M4A, .webm audio).
            mime = "audio/mp4" if mime == "video/mp4" else "audio/webm"
        if mime in ("audio/x-wav", "audio/wave", "audio/vnd.wave"):
            mime = "audio/wav"
        fmt = _AUDIO_FORMATS.get(mime or "")
        if fmt is None:
            got = f"its type is {mime}" if mime else "its type is not recognised"
            _fail(
                f"{_describe(loaded)} is not a supported audio format ({got}); supported: "
                f"{', '.join(sorted(set(_AUDIO_FORMATS.values())))}, or pass format="
            )
    elif not fmt.strip():
        _fail("must be a non-empty audio format name such as 'wav'", "format")
    encoded = base64.b64encode(loaded.data).decode("ascii")
    return AudioPart(input_audio=InputAudio(data=encoded, format=fmt))


def video_part(
    source: Source,
    *,
    mime_type: str | None = None,
    max_bytes: int | None = VIDEO_MAX_BYTES,
) -> VideoPart:
    """A video content part (``video_url``) from a URL, a path or bytes (MP4, MPEG, MOV, WEBM).

    URLs (YouTube links included) are sent as they are; local data becomes a base64 data URL.
    """
    if _is_url(source):
        assert isinstance(source, str)
        return VideoPart(video_url=VideoURL(url=source))
    loaded = _load(source, max_bytes)
    mime = (mime_type or loaded.declared or _mime_type(loaded.data, loaded.name) or "").lower()
    if mime == "audio/mp4":
        mime = "video/mp4"  # same container; the brand only hints at audio
    if mime not in _VIDEO_TYPES:
        got = f"its type is {mime}" if mime else "its type is not recognised"
        _fail(
            f"{_describe(loaded)} is not a supported video ({got}); supported: MP4, MPEG, MOV, WEBM"
        )
    return VideoPart(video_url=VideoURL(url=data_url(loaded.data, mime)))
