"""Email addresses: a sane syntax check, strict enough that an address can go into a header
as it is (no spaces, quotes, commas, angle brackets or line breaks)."""

from __future__ import annotations

import re

from panel.domain import RuleError

# The dot-atom local part of RFC 5322 (no quoted strings), and a domain of dotted DNS labels
# ending in a top-level label of letters (or an IDN's xn-- form).
_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TOP = r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})"
ADDRESS = re.compile(rf"({_LOCAL})@((?:{_LABEL}\.)+{_TOP})")
MAX_LENGTH = 254  # what fits in SMTP's forward path


def valid_address(address: str) -> bool:
    """Whether `address` (already trimmed) is a plain `local@domain.tld` address."""
    match = ADDRESS.fullmatch(address)
    return match is not None and len(address) <= MAX_LENGTH and len(match.group(1)) <= 64


def clean_email(value: object, field: str = "Email") -> str | None:
    """An optional address from a form: None when empty, else the trimmed address, or a
    RuleError that says what is wrong."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise RuleError("invalid", f"{field} must be text.")
    address = value.strip()
    if not address:
        return None
    if not valid_address(address):
        raise RuleError(
            "invalid",
            f"{field}: {address[:80]!r} is not an email address such as name@example.org "
            "(one @, no spaces, and a domain with a dot).",
        )
    return address
