"""Who may read /metrics: a bearer token and/or an address allowlist (docs/operations.md).

Kept apart from what /metrics says, so that the content can change (prometheus-client)
without touching the rule. Each restriction that is set must pass; with neither set,
/metrics stays open, as before: it holds aggregate counts, nothing about a reader."""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from panel.web.base import json_error
from panel.web.proxies import Networks

METRICS_PATH = "/metrics"


class MetricsAccess:
    """Refuses /metrics without the token (401) or from outside the allowlist (403). Placed
    inside TrustedProxies, so the allowlist sees the client a trusted proxy reported."""

    def __init__(self, app: ASGIApp, token: str, allowed: Networks) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode() if token else b""
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].rstrip("/") == METRICS_PATH:
            refusal = self._refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope) -> ASGIApp | None:
        if self.allowed:
            client = scope.get("client")
            if not client or client[0] not in self.allowed:
                return json_error("forbidden", "Metrics are not served to this address.", 403)
        if self.expected:
            given = dict(scope["headers"]).get(b"authorization", b"")
            # Constant time: the comparison must not tell how much of a guess was right.
            if not hmac.compare_digest(given, self.expected):
                return json_error(
                    "unauthorized",
                    "Metrics need the token: Authorization: Bearer <LIVEPANEL_METRICS_TOKEN>.",
                    401,
                    headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                )
        return None
