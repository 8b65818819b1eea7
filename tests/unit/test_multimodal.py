"""Content parts from files, bytes and URLs, with real tiny files written by the tests."""

from __future__ import annotations

import base64
import contextlib
import io
import os
import struct
import threading
import wave
import zlib
from pathlib import Path

import orjson
import pytest

import openrouter_async as ora
from openrouter_async.multimodal import (
    audio_part,
    data_url,
    file_part,
    image_part,
    sniff_mime_type,
    video_part,
)
from openrouter_async.types.chat_request import ChatRequest, chat_request_body

# --- tiny valid files made with the standard library ---------------------------------------------


def make_png(width: int = 1, height: int = 1) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def make_wav(frames: int = 80) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * frames)
    return buffer.getvalue()


def make_pdf() -> bytes:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 72 72] >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


PNG = make_png()
WAV = make_wav()
PDF = make_pdf()
GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff"
    b"!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


def decode_data_url(url: str) -> tuple[str, bytes]:
    header, _, payload = url.partition(",")
    assert header.startswith("data:")
    assert header.endswith(";base64")
    return header[5:-7], base64.b64decode(payload)


def test_the_test_files_are_valid() -> None:
    with wave.open(io.BytesIO(WAV)) as reader:
        assert reader.getnframes() == 80
    assert zlib.decompress(PNG[PNG.index(b"IDAT") + 4 : -16]) == b"\x00\xff\x00\x00"
    assert PDF.startswith(b"%PDF-1.4")
    assert PDF.rstrip().endswith(b"%%EOF")


# --- sniffing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
        (GIF, "image/gif"),
        (b"RIFF\x1a\x00\x00\x00WEBPVP8 ", "image/webp"),
        (PDF, "application/pdf"),
        (WAV, "audio/wav"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "audio/mpeg"),
        (b"\xff\xfb\x90\x64\x00", "audio/mpeg"),
        (b"\xff\xf1\x50\x80\x00", "audio/aac"),
        (b"fLaC\x00\x00\x00\x22", "audio/flac"),
        (b"OggS\x00\x02\x00\x00", "audio/ogg"),
        (b"FORM\x00\x00\x00\x20AIFFCOMM", "audio/aiff"),
        (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00", "audio/mp4"),
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", "video/mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00", "video/quicktime"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81", "video/webm"),
        (b"\x00\x00\x01\xba\x44\x00", "video/mpeg"),
        (b"plain text", None),
        (b"", None),
    ],
)
def test_sniff(data: bytes, mime: str | None) -> None:
    assert sniff_mime_type(data) == mime


# --- images -------------------------------------------------------------------------------------


def test_image_from_path(tmp_path: Path) -> None:
    path = tmp_path / "pixel.png"
    path.write_bytes(PNG)
    part = image_part(path, detail="low")
    assert isinstance(part, ora.ImagePart)
    assert part.image_url.detail == "low"
    assert decode_data_url(part.image_url.url) == ("image/png", PNG)
    assert image_part(str(path)) == image_part(PNG)


def test_image_type_comes_from_the_bytes_not_the_name(tmp_path: Path) -> None:
    path = tmp_path / "really-a-gif.png"
    path.write_bytes(GIF)
    assert decode_data_url(image_part(path).image_url.url)[0] == "image/gif"


def test_image_extension_is_the_fallback(tmp_path: Path) -> None:
    path = tmp_path / "photo.JPG"
    path.write_bytes(b"no magic here")
    assert decode_data_url(image_part(path).image_url.url)[0] == "image/jpeg"


def test_image_urls_pass_through() -> None:
    url = "https://example.com/cat.png?size=large"
    assert image_part(url, detail="high").image_url.url == url
    data = data_url(PNG, "image/png")
    assert image_part(data).image_url.url == data


def test_image_errors(tmp_path: Path) -> None:
    with pytest.raises(ora.RequestValidationError, match="use file_part for PDFs"):
        image_part(PDF)
    with pytest.raises(ora.RequestValidationError, match="not recognised"):
        image_part(b"\x00\x01\x02")
    bmp = b"BM\x3a\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00"
    with pytest.raises(ora.RequestValidationError, match="image/bmp"):
        image_part(bmp)
    with pytest.raises(ora.RequestValidationError, match="No such file") as info:
        image_part(str(tmp_path / "missing.png"))
    assert info.value.path == "source"
    with pytest.raises(ora.RequestValidationError, match="cannot read"):
        image_part(tmp_path)  # a directory
    with pytest.raises(ora.RequestValidationError, match="base64"):
        image_part("data:image/png,rawtext")
    with pytest.raises(ora.RequestValidationError, match="invalid"):
        image_part("data:image/png;base64,@@@")
    with pytest.raises(ora.RequestValidationError, match="supported image"):
        image_part("data:text/plain;base64," + base64.b64encode(b"hi").decode())
    with pytest.raises(ora.RequestValidationError):
        image_part(PNG, detail=5)  # type: ignore[arg-type]  # a detail level is a string
    with pytest.raises(ora.RequestValidationError, match="expected a path"):
        image_part(12)  # type: ignore[arg-type]


def test_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    path.write_bytes(PNG + b"\x00" * 1000)
    with pytest.raises(ora.RequestValidationError, match="over the limit of 100 bytes"):
        image_part(path, max_bytes=100)
    with pytest.raises(ora.RequestValidationError, match="over the limit"):
        image_part(PNG, max_bytes=10)
    with pytest.raises(ora.RequestValidationError, match="over the limit"):
        image_part(data_url(PNG + b"\x00" * 1000, "image/png"), max_bytes=100)
    assert image_part(path, max_bytes=None).image_url.url.startswith("data:image/png;base64,")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_size_limit_holds_for_files_without_a_size() -> None:
    # Regression: the limit was checked against st_size, which is 0 for devices; reading
    # /dev/zero never ended. Now at most max_bytes + 1 bytes are read.
    with pytest.raises(ora.RequestValidationError, match="more than 1000 bytes"):
        file_part("/dev/zero", max_bytes=1000)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_size_limit_holds_for_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    payload = PNG + b"\x00" * 5000

    def write() -> None:
        # The reader stops at the limit and closes its end, as it should.
        with contextlib.suppress(BrokenPipeError), open(fifo, "wb") as out:
            out.write(payload)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        with pytest.raises(ora.RequestValidationError, match="over the limit of 100 bytes"):
            image_part(fifo, max_bytes=100)
    finally:
        writer.join(5)
    assert not writer.is_alive()


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")
def test_proc_files_are_read_whole_and_limited() -> None:
    # st_size is 0 for /proc files: the content is still read, and still limited.
    part = file_part("/proc/self/status", max_bytes=None)
    assert part.file.file_data.startswith("data:text/plain;base64,")
    with pytest.raises(ora.RequestValidationError, match="over the limit of 10 bytes"):
        file_part("/proc/self/status", max_bytes=10)


def test_mime_type_override() -> None:
    assert (
        decode_data_url(image_part(b"\x00\x01", mime_type="image/webp").image_url.url)[0]
        == "image/webp"
    )
    assert (
        decode_data_url(image_part(b"\x00\x01", mime_type="image/jpg").image_url.url)[0]
        == "image/jpeg"
    )


# --- files --------------------------------------------------------------------------------------


def test_pdf_from_path_bytes_and_url(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(PDF)
    part = file_part(path)
    assert isinstance(part, ora.FilePart)
    assert part.file.filename == "report.pdf"
    assert part.file.file_data is not None
    assert decode_data_url(part.file.file_data) == ("application/pdf", PDF)
    assert file_part(PDF).file.filename == "document.pdf"
    assert file_part(PDF, filename="x.pdf").file.filename == "x.pdf"
    remote = file_part("https://example.com/papers/a%20b.pdf")
    assert remote.file.file_data == "https://example.com/papers/a%20b.pdf"
    assert remote.file.filename == "a b.pdf"


def test_text_files(tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("# Title\n\nSome *text* — with unicode.\n", encoding="utf-8")
    part = file_part(notes)
    assert part.file.file_data is not None
    assert decode_data_url(part.file.file_data)[0] == "text/markdown"
    plain = file_part("héllo wörld".encode())
    assert plain.file.filename == "document.txt"
    assert plain.file.file_data is not None
    assert decode_data_url(plain.file.file_data)[0] == "text/plain"


def test_file_errors() -> None:
    with pytest.raises(ora.RequestValidationError, match="use image_part"):
        file_part(PNG)
    with pytest.raises(ora.RequestValidationError, match="use audio_part"):
        file_part(WAV)
    with pytest.raises(ora.RequestValidationError, match="mime_type="):
        file_part(b"\x00\x01\x02\x03")
    forced = file_part(b"\x00\x01", mime_type="application/octet-stream", filename="blob.bin")
    assert forced.file.file_data is not None
    assert decode_data_url(forced.file.file_data)[0] == "application/octet-stream"


# --- audio --------------------------------------------------------------------------------------


def test_audio_from_path_is_base64_with_format(tmp_path: Path) -> None:
    path = tmp_path / "hello.wav"
    path.write_bytes(WAV)
    part = audio_part(path)
    assert isinstance(part, ora.AudioPart)
    assert part.input_audio.format == "wav"
    assert base64.b64decode(part.input_audio.data) == WAV
    assert not part.input_audio.data.startswith("data:")


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "mp3"),
        (b"fLaC\x00\x00\x00\x22", "flac"),
        (b"OggS\x00\x02\x00\x00", "ogg"),
        (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00", "m4a"),
        (b"\x00\x00\x00\x20ftypmp42\x00\x00\x00\x00", "m4a"),  # audio in a generic MP4 box
        (b"\xff\xf1\x50\x80\x00", "aac"),
        (b"FORM\x00\x00\x00\x20AIFFCOMM", "aiff"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81", "webm"),
    ],
)
def test_audio_formats(data: bytes, fmt: str) -> None:
    assert audio_part(data).input_audio.format == fmt


def test_audio_data_url_extension_and_explicit_format(tmp_path: Path) -> None:
    from_data_url = audio_part(data_url(WAV, "audio/x-wav"))
    assert from_data_url.input_audio.format == "wav"
    assert base64.b64decode(from_data_url.input_audio.data) == WAV
    raw = tmp_path / "take.mp3"
    raw.write_bytes(b"\x00" * 16)
    assert audio_part(raw).input_audio.format == "mp3"
    assert audio_part(b"\x00\x01", format="pcm16").input_audio.format == "pcm16"


def test_audio_errors() -> None:
    with pytest.raises(ora.RequestValidationError, match="base64 audio only"):
        audio_part("https://example.com/a.wav")
    with pytest.raises(ora.RequestValidationError, match="pass format="):
        audio_part(b"\x00\x01\x02")
    with pytest.raises(ora.RequestValidationError, match="image/png"):
        audio_part(PNG)
    with pytest.raises(ora.RequestValidationError) as info:
        audio_part(WAV, format=" ")
    assert info.value.path == "format"


# --- video --------------------------------------------------------------------------------------


def test_video() -> None:
    url = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    assert video_part(url).video_url.url == url
    mp4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00" + b"\x00" * 16
    assert decode_data_url(video_part(mp4).video_url.url) == ("video/mp4", mp4)
    with pytest.raises(ora.RequestValidationError, match="supported video"):
        video_part(PNG)


# --- into a request -----------------------------------------------------------------------------


def test_parts_go_into_a_request_body(tmp_path: Path) -> None:
    path = tmp_path / "pixel.png"
    path.write_bytes(PNG)
    request = ChatRequest(
        model="openai/gpt-4o-mini",
        messages=[
            {
                "role": "user",
                "content": [
                    ora.TextPart(text="Describe these."),
                    image_part(path),
                    file_part(PDF, filename="doc.pdf"),
                    audio_part(WAV),
                ],
            }
        ],
    )
    content = orjson.loads(chat_request_body(request))["messages"][0]["content"]
    assert [part["type"] for part in content] == ["text", "image_url", "file", "input_audio"]
    assert content[1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert content[2]["file"] == {
        "filename": "doc.pdf",
        "file_data": data_url(PDF, "application/pdf"),
    }
    assert content[3]["input_audio"] == {"data": base64.b64encode(WAV).decode(), "format": "wav"}
