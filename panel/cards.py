"""Share cards: the PNG a link preview shows (og:image) when an event has no image of its own.

Pure rendering with Pillow, no web types. A card depends only on its text and colour, so
`card_version` (a hash of them) names it in the URL and `render_card` keeps recent cards.
"""

from __future__ import annotations

import functools
import hashlib
import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

# The size link previews expect for a large card (1.91:1).
CARD_SIZE = (1200, 630)
MARGIN = 72
PAPER, INK, MUTED = "#ffffff", "#1a1a1a", "#595959"
# Debian's DejaVu when installed (Chromium brings it), else Pillow's own scalable font.
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"),)
TITLE_LINES = 4
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def card_version(*parts: str) -> str:
    """A short hash of everything a card shows: it changes exactly when the card does."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def _font(size: int, bold: bool = False) -> Font:
    name = "DejaVuSerif-Bold.ttf" if bold else "DejaVuSans.ttf"
    for folder in FONT_DIRS:
        if (folder / name).is_file():
            return ImageFont.truetype(str(folder / name), size)
    return ImageFont.load_default(size=size)


def _wrap(text: str, font: Font, width: int) -> list[str]:
    """Words into lines no wider than `width` pixels (a single longer word keeps its line)."""
    lines: list[str] = []
    for word in text.split():
        line = f"{lines[-1]} {word}" if lines else word
        if lines and font.getlength(line) <= width:
            lines[-1] = line
        else:
            lines.append(word)
    return lines or [""]


def _title_lines(title: str) -> tuple[list[str], Font, int]:
    """The title wrapped to fit: a smaller size for a long one, cut with "…" past four lines."""
    width = CARD_SIZE[0] - 2 * MARGIN
    for size in (72, 60, 50):
        font = _font(size, bold=True)
        lines = _wrap(title, font, width)
        if len(lines) <= TITLE_LINES:
            return lines, font, size
    lines = lines[:TITLE_LINES]
    lines[-1] = lines[-1].rstrip(" .,;:") + "…"
    return lines, font, size


@functools.lru_cache(maxsize=128)
def render_card(title: str, when: str, site_name: str, accent: str) -> bytes:
    """A 1200×630 PNG: the site's name in the accent colour, the title, and the date."""
    image = Image.new("RGB", CARD_SIZE, PAPER)
    draw = ImageDraw.Draw(image)
    width, height = CARD_SIZE
    draw.rectangle((0, 0, width, 18), fill=accent)
    draw.text((MARGIN, 64), site_name, font=_font(40, bold=True), fill=accent)
    draw.text((MARGIN, 124), "LIVE Q&A", font=_font(28), fill=MUTED)
    lines, title_font, size = _title_lines(title)
    y = 200
    for line in lines:
        draw.text((MARGIN, y), line, font=title_font, fill=INK)
        y += int(size * 1.2)
    draw.line((MARGIN, height - 120, width - MARGIN, height - 120), fill="#d8d4cc", width=2)
    draw.text((MARGIN, height - 96), when, font=_font(34), fill=INK)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
