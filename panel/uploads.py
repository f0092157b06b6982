"""Panelist photos: accepted by their content, never by their name, decoded and re-encoded by
Pillow, and stored under our name.

Re-encoding keeps only the pixels: metadata (EXIF with camera and GPS, XMP, comments, text
chunks, colour profiles), HTML hidden in a chunk or a comment, and anything after the image's
end marker (a ZIP tail, a page) never reach storage, so no stored photo is also something
else (a polyglot). The pixel count is checked from the header before anything is decoded.
"""

from __future__ import annotations

import io
import secrets
from pathlib import Path

from PIL import Image, ImageOps

from panel.domain import RuleError

MAX_PHOTO_BYTES = 2 * 1024 * 1024
# A 40-megapixel image takes about 120 MB to decode; more from a 2 MB file is a
# decompression bomb, refused from its header before any pixel is decoded.
MAX_PHOTO_PIXELS = 40_000_000
# Photos are shown small: the longest side is stored at most this long (less to serve).
MAX_PHOTO_SIDE = 2048
NOT_AN_IMAGE = "Photos must be JPEG, PNG or WebP images."
TOO_MANY_PIXELS = f"Photos can be at most {MAX_PHOTO_PIXELS // 1_000_000} megapixels."
NOT_WHOLE = f"That file is not a whole image. {NOT_AN_IMAGE}"

_PILLOW_FORMAT = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP"}


def sniff_image(data: bytes) -> str | None:
    """The file extension for JPEG, PNG or WebP content; None for anything else (SVG included)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _decode(data: bytes, ext: str) -> Image.Image:
    """The first frame's pixels, upright, at most MAX_PHOTO_SIDE on its longest side."""
    image = Image.open(io.BytesIO(data), formats=[_PILLOW_FORMAT[ext]])
    width, height = image.size
    if width * height > MAX_PHOTO_PIXELS:
        raise RuleError(
            "too_large", f"That image is {width:,} × {height:,} pixels. {TOO_MANY_PIXELS}"
        )
    image.draft("RGB", (MAX_PHOTO_SIDE, MAX_PHOTO_SIDE))  # JPEG: decode at a smaller scale
    image.load()
    # The EXIF orientation is about to be dropped with the rest: apply it to the pixels.
    upright = ImageOps.exif_transpose(image)
    has_alpha = "A" in upright.getbands() or "transparency" in upright.info
    pixels = upright.convert("RGBA" if has_alpha and ext != "jpg" else "RGB")
    pixels.thumbnail((MAX_PHOTO_SIDE, MAX_PHOTO_SIDE))
    # A new image from the bare pixels: Pillow's encoders would write back what the decoder
    # kept in `info` (a JPEG comment, the EXIF, the colour profile).
    return Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())


def _encode(image: Image.Image, ext: str) -> bytes:
    """Only the pixels: no EXIF, ICC profile, text or comment is passed to the encoder."""
    out = io.BytesIO()
    if ext == "png":
        image.save(out, "PNG")
    else:
        image.save(out, _PILLOW_FORMAT[ext], quality=88)
    return out.getvalue()


def clean_image(data: bytes) -> tuple[bytes, str]:
    """(the image re-encoded from its pixels alone, its extension); refuses anything else."""
    if len(data) > MAX_PHOTO_BYTES:
        raise RuleError("too_large", "Photos can be at most 2 MB.")
    ext = sniff_image(data)
    if ext is None:
        raise RuleError("invalid", NOT_AN_IMAGE)
    try:
        return _encode(_decode(data, ext), ext), ext
    except RuleError:  # a ValueError too: ours, already clear
        raise
    except Image.DecompressionBombError:  # Pillow's own, stricter limit, met by Image.open
        raise RuleError("too_large", TOO_MANY_PIXELS) from None
    except (OSError, ValueError, SyntaxError, EOFError):
        # Pillow's ways of saying "truncated", "corrupt" or "not this format".
        raise RuleError("invalid", NOT_WHOLE) from None


def save_photo(data: bytes, folder: Path) -> str:
    """Store a cleaned photo under a random name with the extension its content proves.

    The static file server then sends a content type fixed by that extension, and
    `X-Content-Type-Options: nosniff` stops browsers guessing otherwise. CPU-bound (a
    decode and an encode): call it in a thread.
    """
    cleaned, ext = clean_image(data)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.{ext}"
    (folder / name).write_bytes(cleaned)
    return f"/uploads/{name}"
