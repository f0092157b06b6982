"""Panelist photos: accepted by their content, never by their name, and stored under our name."""

from __future__ import annotations

import secrets
from pathlib import Path

from panel.domain import RuleError

MAX_PHOTO_BYTES = 2 * 1024 * 1024


def sniff_image(data: bytes) -> str | None:
    """The file extension for JPEG, PNG or WebP content; None for anything else (SVG included)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def save_photo(data: bytes, folder: Path) -> str:
    """Store a photo under a random name with the extension its content proves; return its URL.

    The static file server then sends a content type fixed by that extension, and
    `X-Content-Type-Options: nosniff` stops browsers guessing otherwise.
    """
    if len(data) > MAX_PHOTO_BYTES:
        raise RuleError("too_large", "Photos can be at most 2 MB.")
    ext = sniff_image(data)
    if ext is None:
        raise RuleError("invalid", "Photos must be JPEG, PNG or WebP images.")
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.{ext}"
    (folder / name).write_bytes(data)
    return f"/uploads/{name}"
