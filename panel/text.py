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
    """A form's or JSON body's optional id: None for empty or 0, else a whole number."""
    if value in (None, "", 0, "0"):
        return None
    if isinstance(value, bool):
        raise RuleError("invalid", f"{field} must be a whole number.")
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):  # OverflowError: 1e999 in JSON is infinity
        raise RuleError("invalid", f"{field} must be a whole number.") from None
