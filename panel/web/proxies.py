"""Trusted proxies: the client's address (and scheme) as a trusted reverse proxy reports it.

uvicorn's own proxy handling is turned off (panel/serving.py): it believes X-Forwarded-For
from 127.0.0.1 by default, so a local client could pose as any address. The app decides
instead, the same way however it is served, for HTTP and WebSocket scopes alike."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Networks:
    """A set of addresses and CIDR ranges, e.g. `127.0.0.1 10.0.0.0/8 ::1`."""

    def __init__(self, entries: Iterable[str]) -> None:
        networks: list[IPNetwork] = []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or CIDR range (e.g. 10.0.0.0/8)"
                ) from None
        self.networks = tuple(networks)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def __contains__(self, host: object) -> bool:
        try:
            address = ipaddress.ip_address(str(host))
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
        return any(address in network for network in self.networks)


def forwarded_client(peer: str, forwarded_for: Sequence[str], trusted: Networks) -> str:
    """The client's address: the right-most X-Forwarded-For entry that is not a trusted
    proxy. Each proxy appends the address it saw, so entries left of the first untrusted one
    are the client's own claims and are never believed. A malformed entry stops the walk:
    the hop that wrote it is the client."""
    if peer not in trusted:
        return peer
    client = peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
    for hop in reversed(hops):
        try:
            address = str(ipaddress.ip_address(hop))
        except ValueError:
            break
        client = address
        if address not in trusted:
            break
    return client


class TrustedProxies:
    """Outermost ASGI layer: rewrites scope["client"] (and the scheme from
    X-Forwarded-Proto) when the peer is a trusted proxy; otherwise leaves both untouched,
    so every per-IP limit counts the real peer. Sets the scope in place, so the server's
    access log names the same client."""

    def __init__(self, app: ASGIApp, trusted: Networks) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] in ("http", "websocket") and client and client[0] in self.trusted:
            forwarded_for: list[str] = []
            proto = None
            for name, value in scope["headers"]:
                if name == b"x-forwarded-for":
                    forwarded_for.append(value.decode("latin-1"))
                elif name == b"x-forwarded-proto":
                    proto = value.decode("latin-1").strip().lower()
            host = forwarded_client(client[0], forwarded_for, self.trusted)
            if host != client[0]:
                scope["client"] = (host, 0)  # the proxy's port says nothing of the client's
            if proto in ("http", "https"):
                secure = proto == "https"
                if scope["type"] == "websocket":
                    scope["scheme"] = "wss" if secure else "ws"
                else:
                    scope["scheme"] = proto
        await self.app(scope, receive, send)
