"""Form bodies decoded strictly: a field that is not UTF-8 is refused, never stored altered.

Starlette decodes a urlencoded field's percent-escapes with errors="replace" (so "%FF"
becomes U+FFFD) and reads raw bytes as Latin-1, and it falls back to Latin-1 for a multipart
field its charset cannot decode: either way the server would keep text other than what was
sent. Forms are refused here instead, as `read_json` refuses a body that is not JSON.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from python_multipart.multipart import parse_options_header
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from panel.domain import RuleError

NOT_UTF8 = "The form's text is not valid UTF-8, so nothing was saved. Send it again from the page."


def field_text(raw: bytes, charset: str = "utf-8") -> str:
    """A field's bytes as text, or a refusal (also for an unpaired surrogate, which UTF-8
    cannot hold)."""
    try:
        return raw.decode(charset)
    except UnicodeDecodeError:
        raise RuleError("bad_request", NOT_UTF8) from None


def parse_urlencoded(body: bytes, max_fields: int) -> FormData:
    """An `application/x-www-form-urlencoded` body: `+` is a space, `%XX` a byte, and the
    bytes of each name and value must be UTF-8 (browsers send nothing else)."""
    items: list[tuple[str, str | UploadFile]] = []
    for pair in body.split(b"&"):
        if not pair:
            continue
        if len(items) == max_fields:
            raise RuleError("bad_request", f"A form can have at most {max_fields} fields.")
        name, _, value = pair.partition(b"=")
        items.append(
            (
                field_text(unquote_to_bytes(name.replace(b"+", b" "))),
                field_text(unquote_to_bytes(value.replace(b"+", b" "))),
            )
        )
    return FormData(items)


class StrictMultiPartParser(MultiPartParser):
    """Starlette's multipart parser, but a text field its charset cannot decode is refused.

    It reads the parser's current part; tests/test_text.py sends raw bytes to catch a
    Starlette release that changes that."""

    def on_part_end(self) -> None:
        part = self._current_part
        if part.file is None:
            field_text(bytes(part.data), self._charset)
        super().on_part_end()


async def strict_form(
    request: Request, *, max_files: int, max_fields: int, max_part_size: int
) -> FormData:
    """The request's form (urlencoded or multipart), decoded strictly; empty for other types."""
    content_type, _ = parse_options_header(request.headers.get("content-type"))
    if content_type == b"application/x-www-form-urlencoded":
        return parse_urlencoded(await request.body(), max_fields)
    if content_type != b"multipart/form-data":
        return FormData()
    parser = StrictMultiPartParser(
        request.headers,
        request.stream(),
        max_files=max_files,
        max_fields=max_fields,
        max_part_size=max_part_size,
    )
    try:
        return await parser.parse()
    except MultiPartException as exc:
        raise RuleError("bad_request", exc.message) from None
