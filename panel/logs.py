"""Logs without secrets or raw addresses: invite tokens redacted from paths, and client
addresses replaced by a keyed hash that changes every UTC day (docs/security.md)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import re
from datetime import date
from typing import Any

from panel.clock import Clock, SystemClock

REDACTED = "[redacted]"
# Paths whose last part is a bearer secret: /invite/{token} signs a panelist in.
SECRET_PATHS = re.compile(r"(/invite/)[^/?#\s]+")
# Query parameters that carry secrets, should a client put one there.
SECRET_QUERY = re.compile(r"([?&](?:token|key|secret|password|csrf_token)=)[^&#\s]*", re.I)
# A port after an address, as uvicorn names a client: "203.0.113.9:51234", "::1:8000".
PORT = re.compile(r":\d{1,5}$")


def redact_path(path: str) -> str:
    """`path` (with its query) fit for a log: tokens replaced by [redacted]."""
    return SECRET_QUERY.sub(rf"\1{REDACTED}", SECRET_PATHS.sub(rf"\1{REDACTED}", path))


class AddressPseudonyms:
    """A client address as `ip-` and 12 hex digits of an HMAC keyed with the site secret
    and the UTC date: one address reads the same all day (to follow an abuser in the logs),
    but not across days, and cannot be reversed by hashing all IPv4 addresses."""

    def __init__(self, secret: str, clock: Clock | None = None) -> None:
        self.secret = secret.encode()
        self.clock = clock or SystemClock()
        self._day: date | None = None
        self._key = b""

    def _key_for_today(self) -> bytes:
        today = self.clock.now().date()
        if today != self._day:
            message = b"livepanel access log " + today.isoformat().encode()
            self._key = hmac.new(self.secret, message, hashlib.sha256).digest()
            self._day = today
        return self._key

    def of(self, address: str) -> str:
        digest = hmac.new(self._key_for_today(), address.encode(), hashlib.sha256).hexdigest()
        return f"ip-{digest[:12]}"

    def scrub(self, value: str) -> str:
        """A log argument: an address (with or without its port) becomes its pseudonym, a
        path loses its tokens, anything else is left as it is."""
        for candidate in (PORT.sub("", value), value):
            try:
                return self.of(str(ipaddress.ip_address(candidate.strip("[]"))))
            except ValueError:
                continue
        return redact_path(value) if value.startswith("/") else value


class PrivateLogRecords(logging.Filter):
    """Rewrites the arguments of uvicorn's access and connection messages (client address,
    path) before any handler formats them. Installed on the handlers by
    panel/serving.py's log configuration, so it holds in every worker process."""

    def __init__(self, secret: str, clock: Clock | None = None) -> None:
        super().__init__()
        self.pseudonyms = AddressPseudonyms(secret, clock)

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(self._scrub(arg) for arg in record.args)
        return True

    def _scrub(self, arg: Any) -> Any:
        return self.pseudonyms.scrub(arg) if isinstance(arg, str) else arg
