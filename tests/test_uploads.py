"""Photos keep their picture and lose their metadata (camera, GPS) before they are served."""

from __future__ import annotations

import struct
import zlib

import pytest

from panel.domain import RuleError
from panel.uploads import clean_image

SECRET = b"GPS 54.97N 1.61W Canon EOS"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def png(*extra: bytes) -> bytes:
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    pixels = png_chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
    return b"\x89PNG\r\n\x1a\n" + header + b"".join(extra) + pixels + png_chunk(b"IEND", b"")


def jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def jpeg(*segments: bytes) -> bytes:
    scan = jpeg_segment(0xDA, b"\x01\x01\x00\x00\x3f\x00") + b"\x12\x34\x56"
    return b"\xff\xd8" + b"".join(segments) + scan + b"\xff\xd9"


def webp(*chunks: tuple[bytes, bytes]) -> bytes:
    body = b""
    for kind, data in chunks:
        body += kind + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def test_png_text_and_exif_chunks_are_removed_and_the_rest_kept() -> None:
    dirty = png(png_chunk(b"tEXt", b"Comment\0" + SECRET), png_chunk(b"eXIf", SECRET))
    cleaned, ext = clean_image(dirty)
    assert ext == "png" and SECRET not in cleaned
    assert cleaned == png()  # exactly the picture's own chunks, in order


def test_jpeg_exif_xmp_and_comments_are_removed_jfif_and_scan_kept() -> None:
    jfif = jpeg_segment(0xE0, b"JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    dirty = jpeg(jfif, jpeg_segment(0xE1, b"Exif\0\0" + SECRET), jpeg_segment(0xFE, SECRET))
    cleaned, ext = clean_image(dirty)
    assert ext == "jpg" and SECRET not in cleaned
    assert cleaned == jpeg(jfif)


def test_webp_exif_and_xmp_chunks_and_flags_are_removed() -> None:
    vp8x = bytes([0x0C, 0, 0, 0]) + b"\0" * 6  # flags say "has EXIF and XMP"
    dirty = webp((b"VP8X", vp8x), (b"VP8 ", b"\x01\x02\x03"), (b"EXIF", SECRET), (b"XMP ", SECRET))
    cleaned, ext = clean_image(dirty)
    assert ext == "webp" and SECRET not in cleaned
    assert cleaned == webp((b"VP8X", b"\0" * 10), (b"VP8 ", b"\x01\x02\x03"))


@pytest.mark.parametrize(
    "broken",
    [
        b"\x89PNG\r\n\x1a\n" + b"\0\0\0\x0dIHDR",  # cut off inside its first chunk
        png()[:-12],  # no IEND
        b"\xff\xd8\xff\xe0\xff\xff",  # a segment longer than the file
        b"RIFF\x04\0\0\0WEBP",  # no chunks at all
    ],
)
def test_a_truncated_or_malformed_image_is_refused_clearly(broken: bytes) -> None:
    with pytest.raises(RuleError, match="not a whole image"):
        clean_image(broken)
