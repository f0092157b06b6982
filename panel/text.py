"""Checks of what people type or send: trimmed, normalised, bounded, or a clear refusal."""

from __future__ import annotations

import re
import unicodedata

from panel.domain import RuleError

# C0 controls but tab, line feed and carriage return; DEL; and the C1 controls (U+0080 to
# U+009F), which no keyboard types and which terminals and some parsers act on.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Unicode's 66 noncharacters (U+FDD0 to U+FDEF and the last two code points of every plane)
# and lone surrogates: never text, and U+FFFE/U+FFFF or a surrogate make an XML document (the
# Atom feed) malformed for every reader of it.
NONCHARACTERS = re.compile(
    "[\ud800-\udfff\ufdd0-\ufdef"
    + "".join(
        f"{chr(plane * 0x10000 + 0xFFFE)}-{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17)
    )
    + "]"
)


def refusal(text: str, field: str) -> str | None:
    """Why `text` cannot be stored, naming the first character at fault; None when it can."""
    for pattern, kind in (
        (CONTROL_CHARS, "control characters"),
        (NONCHARACTERS, "characters that are not text"),
    ):
        found = pattern.search(text)
        if found:
            return f"{field} contains {kind} (U+{ord(found.group()):04X}); remove them."
    return None


def clean_text(value: object, *, field: str, max_chars: int, required: bool) -> str:
    """Normalise (CRLF to LF, NFC), refuse control and non-characters rather than silently
    dropping them, trim, then check the length in characters after normalisation."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise RuleError("invalid", f"{field} must be text.")
    text = unicodedata.normalize("NFC", value.replace("\r\n", "\n"))
    # Checked before trimming: str.strip() would silently drop a leading U+001F or U+0085.
    problem = refusal(text, field)
    if problem:
        raise RuleError("invalid", problem)
    text = text.strip()
    if required and not text:
        raise RuleError("invalid", f"{field} must not be empty.")
    if len(text) > max_chars:
        # NFC can lengthen or shorten text, so the count may differ from the sender's own.
        raise RuleError(
            "too_long",
            f"{field} is {len(text):,} characters; "
            f"the limit is {max_chars:,} characters after normalisation.",
        )
    return text


def optional_id(value: object, field: str) -> int | None:
    """A form's, query's or JSON body's optional id: None for empty or 0, else a whole number.

    Only a JSON integer or ASCII digits are an id: 3.7 or "3.9" would be truncated by int(),
    3.0 is a float, True is an int in Python, and int() also takes "-3", " 3", "3_000" and
    "³"; all are refused rather than read as some other id.
    """
    if value is None or value == "" or value == "0" or type(value) is int and value == 0:
        return None
    if type(value) is int and value > 0:
        return value  # a number past 64 bits is "not found" in the store (rows.in_range)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value) or None
    raise RuleError("invalid", f"{field} must be a whole number (an id).")
