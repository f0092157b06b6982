"""Caps on live sockets: at most so many per client address, and so many in all.

A socket takes its place before its handshake is accepted and gives it back when it ends;
one over a cap is refused before it costs anything (see `web/live.refuse`). Counted in this
process: with several processes, each holds its own caps (docs/operations.md).

Readers' and staff sockets are counted apart per address, so that a newsroom's readers behind
one NAT address cannot lock its own editors out of the desk; the total counts both.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections import Counter
from collections.abc import Iterator

READERS = "readers"
STAFF = "staff"


def address_bucket(host: str | None) -> str:
    """The bucket an address counts in: an IPv4 address itself, an IPv6 address's /64 (one
    household or one attacker's subnet holds a whole /64), or "unknown" (no address)."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host  # a Unix socket path, or a test client's name
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class SocketCaps:
    """Counts the open sockets of this process by kind and address bucket."""

    def __init__(self, per_ip: int, total: int) -> None:
        self.per_ip = per_ip
        self.total = total
        self._by_bucket: Counter[tuple[str, str]] = Counter()
        self.open = 0
        self.open_by_kind: Counter[str] = Counter()  # for /metrics: sockets by role
        self.refused = 0  # sockets refused for a cap, for /metrics and tests

    def count(self, kind: str, host: str | None) -> int:
        return self._by_bucket[(kind, address_bucket(host))]

    def refusal(self, kind: str, host: str | None) -> str | None:
        """Why a new socket of `kind` from `host` must be refused now, or None."""
        if self.open >= self.total:
            return "too many live connections to this server: try again later"
        if self._by_bucket[(kind, address_bucket(host))] >= self.per_ip:
            return "too many live connections from your address: close some tabs"
        return None

    @contextlib.contextmanager
    def admit(self, kind: str, host: str | None) -> Iterator[str | None]:
        """Hold a place for one socket while the block runs. Yields None, or the reason the
        socket is refused; a refused socket holds nothing."""
        reason = self.refusal(kind, host)
        if reason is not None:
            self.refused += 1
            yield reason
            return
        key = (kind, address_bucket(host))
        self._by_bucket[key] += 1
        self.open += 1
        self.open_by_kind[kind] += 1
        try:
            yield None
        finally:
            self.open -= 1
            self.open_by_kind[kind] -= 1
            self._by_bucket[key] -= 1
            if not self._by_bucket[key]:
                del self._by_bucket[key]  # an address that left costs no memory
