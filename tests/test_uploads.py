"""Photos are decoded and re-encoded: only their pixels are stored. Metadata (camera, GPS),
HTML in a chunk or comment, and data after the end marker (a page, a ZIP) never reach the disk;
a decompression bomb is refused from its header."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from PIL import Image, TiffImagePlugin
from PIL.PngImagePlugin import PngInfo

from panel.domain import RuleError
from panel.uploads import MAX_PHOTO_SIDE, clean_image, save_photo

SECRET = b"GPS 54.97N 1.61W Canon EOS"
PAGE = b"<html><body><script>alert('polyglot')</script></body></html>"


def picture(kind: str, size: tuple[int, int] = (16, 12), **save: object) -> bytes:
    """A real image with a gradient (so re-encoding has something to keep)."""
    image = Image.new("RGB", size)
    image.putdata(
        [(x * 15 % 256, y * 20 % 256, 90) for y in range(size[1]) for x in range(size[0])]
    )
    out = io.BytesIO()
    image.save(out, kind, **save)
    return out.getvalue()


def exif_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Canon"  # Make
    exif[0x0110] = SECRET.decode()  # Model
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to view
    gps = {1: "N", 2: (TiffImagePlugin.IFDRational(54), 58, 12), 3: "W"}
    exif[0x8825] = gps  # GPSInfo
    return exif.tobytes()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def with_chunk_before_idat(png: bytes, chunk: bytes) -> bytes:
    at = png.index(b"IDAT") - 4
    return png[:at] + chunk + png[at:]


def zip_with(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(name, data)
    return out.getvalue()


def pixels(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def payload_free(cleaned: bytes, *payloads: bytes) -> None:
    for payload in payloads:
        assert payload not in cleaned, payload
    assert b"<html" not in cleaned.lower() and b"<script" not in cleaned.lower()
    assert not zipfile.is_zipfile(io.BytesIO(cleaned))


POLYGLOTS = {
    "html in a png text chunk": (
        lambda: with_chunk_before_idat(picture("PNG"), png_chunk(b"tEXt", b"Comment\0" + PAGE)),
        "png",
    ),
    "html in a private png chunk": (
        lambda: with_chunk_before_idat(picture("PNG"), png_chunk(b"htMl", PAGE)),
        "png",
    ),
    "a page after IEND": (lambda: picture("PNG") + PAGE, "png"),
    "a zip after IEND": (lambda: picture("PNG") + zip_with("index.html", PAGE), "png"),
    "html in a jpeg comment": (lambda: picture("JPEG", comment=PAGE), "jpg"),
    "a zip after the jpeg end marker": (
        lambda: picture("JPEG") + zip_with("index.html", PAGE),
        "jpg",
    ),
    "a page after the jpeg end marker": (lambda: picture("JPEG") + PAGE, "jpg"),
    "html in webp xmp": (lambda: picture("WEBP", xmp=PAGE), "webp"),
    "a zip after the webp data": (lambda: picture("WEBP") + zip_with("x.html", PAGE), "webp"),
}


@pytest.mark.parametrize("name", POLYGLOTS)
def test_a_polyglot_is_stored_as_its_picture_alone(name: str, tmp_path: Path) -> None:
    make, ext = POLYGLOTS[name]
    dirty = make()
    assert PAGE in dirty or b"index.html" in dirty  # the payload is really there
    url = save_photo(dirty, tmp_path)
    stored = (tmp_path / url.rsplit("/", 1)[1]).read_bytes()
    assert url.endswith(f".{ext}")
    payload_free(stored, PAGE, b"index.html", b"x.html", b"PK\x03\x04")
    assert pixels(stored).size == (16, 12)


def test_exif_with_gps_is_dropped_and_its_orientation_applied() -> None:
    dirty = picture("JPEG", size=(40, 20), exif=exif_with_gps())
    assert SECRET in dirty and b"Canon" in dirty
    cleaned, ext = clean_image(dirty)
    assert ext == "jpg"
    payload_free(cleaned, SECRET, b"Canon")
    image = pixels(cleaned)
    assert image.getexif() == {} and "icc_profile" not in image.info
    assert image.size == (20, 40)  # turned upright, since the orientation tag is gone


@pytest.mark.parametrize(
    ("kind", "save"),
    [
        ("PNG", {"pnginfo": PngInfo()}),
        ("WEBP", {"exif": b""}),
        ("JPEG", {"icc_profile": b""}),
    ],
)
def test_every_kind_of_metadata_is_dropped(kind: str, save: dict[str, object]) -> None:
    if kind == "PNG":
        info = PngInfo()
        info.add_text("Author", SECRET.decode())
        info.add_text("Comment", SECRET.decode(), zip=True)
        info.add_itxt("XML:com.adobe.xmp", SECRET.decode())
        save = {"pnginfo": info, "exif": exif_with_gps()}
    elif kind == "WEBP":
        save = {"exif": exif_with_gps(), "xmp": SECRET}
    else:
        save = {"exif": exif_with_gps(), "comment": SECRET, "icc_profile": b"\0" * 128 + SECRET}
    dirty = picture(kind, **save)
    assert SECRET in dirty or zlib.compress(SECRET) in dirty or kind == "PNG"
    cleaned, _ = clean_image(dirty)
    payload_free(cleaned, SECRET, b"Canon")
    assert pixels(cleaned).info.get("exif") is None


def test_png_pixels_and_transparency_survive_exactly() -> None:
    image = Image.new("RGBA", (5, 3))
    image.putdata([(x * 50, y * 80, 7, 255 if x % 2 else 0) for y in range(3) for x in range(5)])
    out = io.BytesIO()
    image.save(out, "PNG")
    cleaned, ext = clean_image(out.getvalue())
    assert ext == "png"
    assert pixels(cleaned).convert("RGBA").tobytes() == image.tobytes()


def test_a_huge_photo_is_stored_smaller() -> None:
    cleaned, _ = clean_image(picture("PNG", size=(MAX_PHOTO_SIDE * 2, 100)))
    assert pixels(cleaned).size == (MAX_PHOTO_SIDE, 50)


@pytest.mark.parametrize(
    ("width", "height", "said"),
    [
        (10_000, 5_000, "10,000 × 5,000 pixels"),  # over our cap, under Pillow's own
        (50_000, 50_000, "megapixels"),  # 7.5 GB decoded: Pillow refuses it too
    ],
)
def test_a_decompression_bomb_is_refused_from_its_header(
    width: int, height: int, said: str
) -> None:
    """Millions of pixels in a few kilobytes: refused before a row is decoded."""
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    rows = zlib.compressobj(9)
    idat = rows.compress(b"\0" * (width * 3 + 1) * 64) + rows.flush()  # a start of the rows
    bomb = b"\x89PNG\r\n\x1a\n" + header + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")
    assert len(bomb) < 100_000
    with pytest.raises(RuleError, match="at most 40 megapixels") as refused:
        clean_image(bomb)
    assert refused.value.code == "too_large" and said in refused.value.message


@pytest.mark.parametrize(
    "broken",
    [
        b"\x89PNG\r\n\x1a\n" + b"\0\0\0\x0dIHDR",  # cut off inside its first chunk
        picture("PNG")[:-30],  # its pixels cut short
        b"\xff\xd8\xff\xe0\xff\xff",  # a segment longer than the file
        picture("JPEG")[:200],  # a JPEG cut off in its tables
        b"RIFF\x04\0\0\0WEBP",  # no chunks at all
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00"
        + PAGE
        + b"\xff\xd9",  # a JPEG by its markers whose "scan" is a page, with no frame
    ],
)
def test_a_truncated_or_malformed_image_is_refused_clearly(broken: bytes) -> None:
    with pytest.raises(RuleError, match="not a whole image"):
        clean_image(broken)


def test_svg_and_gif_are_refused_by_their_content() -> None:
    for data in (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', picture("GIF")):
        with pytest.raises(RuleError, match="must be JPEG, PNG or WebP"):
            clean_image(data)
