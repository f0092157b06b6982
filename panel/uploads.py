"""Panelist photos: accepted by their content, never by their name, stored under our name, and
stripped of metadata (camera details, GPS position) before anyone can download them."""

from __future__ import annotations

import secrets
import struct
from pathlib import Path

from panel.domain import RuleError

MAX_PHOTO_BYTES = 2 * 1024 * 1024
NOT_AN_IMAGE = "Photos must be JPEG, PNG or WebP images."

# JPEG segments kept: JFIF (APP0), the colour profile (APP2) and Adobe's colour flag (APP14).
# Everything else among APPn and comments (EXIF and XMP live in APP1) is dropped.
_JPEG_KEEP_APP = {0xE0, 0xE2, 0xEE}
_PNG_DROP = {b"eXIf", b"tEXt", b"iTXt", b"zTXt", b"tIME"}
_WEBP_DROP = {b"EXIF", b"XMP "}


def sniff_image(data: bytes) -> str | None:
    """The file extension for JPEG, PNG or WebP content; None for anything else (SVG included)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _strip_jpeg(data: bytes) -> bytes:
    out, i = bytearray(b"\xff\xd8"), 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise ValueError("bad marker")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        end = i + 2 + length
        if length < 2 or end > len(data):
            raise ValueError("bad segment length")
        if marker == 0xDA:  # start of scan: the compressed image follows, copied as it is
            return bytes(out + data[i:])
        is_app = 0xE0 <= marker <= 0xEF
        if not (marker == 0xFE or (is_app and marker not in _JPEG_KEEP_APP)):
            out += data[i:end]
        i = end
    raise ValueError("no image data")


def _strip_png(data: bytes) -> bytes:
    out, i, seen_end = bytearray(data[:8]), 8, False
    while i + 12 <= len(data):
        length = struct.unpack(">I", data[i : i + 4])[0]
        kind = data[i + 4 : i + 8]
        end = i + 12 + length
        if end > len(data):
            raise ValueError("bad chunk length")
        if kind not in _PNG_DROP:
            out += data[i:end]
        i = end
        if kind == b"IEND":
            seen_end = True
            break
    if not seen_end or out[12:16] != b"IHDR":
        raise ValueError("not a whole PNG")
    return bytes(out)


def _strip_webp(data: bytes) -> bytes:
    chunks, i = bytearray(), 12
    while i + 8 <= len(data):
        kind = data[i : i + 4]
        size = struct.unpack("<I", data[i + 4 : i + 8])[0]
        end = i + 8 + size + (size & 1)
        if i + 8 + size > len(data):
            raise ValueError("bad chunk size")
        chunk = bytearray(data[i : min(end, len(data))])
        if kind == b"VP8X" and size >= 1:
            chunk[8] &= ~0x0C & 0xFF  # no EXIF (0x08) or XMP (0x04) flags any more
        if kind not in _WEBP_DROP:
            chunks += chunk
        i = end
    if not chunks:
        raise ValueError("no chunks")
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WEBP" + bytes(chunks)


_STRIPPERS = {"jpg": _strip_jpeg, "png": _strip_png, "webp": _strip_webp}


def clean_image(data: bytes) -> tuple[bytes, str]:
    """(the image without metadata, its extension); refuses anything that is not one."""
    if len(data) > MAX_PHOTO_BYTES:
        raise RuleError("too_large", "Photos can be at most 2 MB.")
    ext = sniff_image(data)
    if ext is None:
        raise RuleError("invalid", NOT_AN_IMAGE)
    try:
        return _STRIPPERS[ext](data), ext
    except (ValueError, struct.error, IndexError):
        raise RuleError("invalid", f"That file is not a whole image. {NOT_AN_IMAGE}") from None


def save_photo(data: bytes, folder: Path) -> str:
    """Store a cleaned photo under a random name with the extension its content proves.

    The static file server then sends a content type fixed by that extension, and
    `X-Content-Type-Options: nosniff` stops browsers guessing otherwise.
    """
    cleaned, ext = clean_image(data)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.{ext}"
    (folder / name).write_bytes(cleaned)
    return f"/uploads/{name}"
