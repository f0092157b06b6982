"""Checks of what people type or send: trimmed, normalised, bounded, or a clear refusal."""

from __future__ import annotations

import re
import unicodedata

from panel.domain import RuleError

CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: object, *, field: str, max_chars: int, required: bool) -> str:
    """Trim and check user text; refuse control characters rather than silently dropping them."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise RuleError("invalid", f"{field} must be text.")
    text = unicodedata.normalize("NFC", value.replace("\r\n", "\n")).strip()
    if CONTROL_CHARS.search(text):
        raise RuleError("invalid", f"{field} contains control characters.")
    if required and not text:
        raise RuleError("invalid", f"{field} must not be empty.")
    if len(text) > max_chars:
        raise RuleError("too_long", f"{field} is {len(text)} characters; the limit is {max_chars}.")
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
