"""The audit log pages: one event's (times in its zone) and the desk's whole log (UTC)."""

from __future__ import annotations

from datetime import UTC, tzinfo
from typing import Any

from starlette.requests import Request

from panel.auditview import action_label, actor_label, audit_lines
from panel.domain import Event
from panel.web.base import services

LIMIT = 500


async def audit_context(request: Request, event: Event | None) -> dict[str, Any]:
    """The entries (newest first, at most LIMIT, no-ops left out) and the filters' choices.

    The filters are plain GET parameters (`actor`, `action`), so they work without JavaScript.
    """
    actor = request.query_params.get("actor") or None
    action = request.query_params.get("action") or None
    event_id = event.id if event else None
    async with services(request).store.read() as repo:
        rows = await repo.audit_entries(event_id, LIMIT, actor=actor, action=action)
        actors, actions = await repo.audit_choices(event_id)
        names = {p.id: p.name for p in await repo.all_panelists()}
    zone: tzinfo = event.zone if event else UTC
    day = event.local(event.starts_at).date().isoformat() if event else None
    return {
        "entries": audit_lines(rows, zone=zone, day=day, names=names, on_event=event is not None),
        "limit": LIMIT,
        "full": len(rows) >= LIMIT,
        "zone_name": event.timezone if event else "UTC",
        "actor": actor or "",
        "action": action or "",
        "actors": [(a, actor_label(a)) for a in actors],
        "actions": [(a, action_label(a)) for a in actions],
    }
