"""Events and their slots: the rows, their status, and the SQL that reads and writes them.

The event's seq counter (`events.last_seq`) belongs to the log (panel/store/log.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from panel.domain import Event, EventStatus, Moderation, Slot, iso, parse_iso
from panel.store.rows import Row, Rows, in_list


def _event(r: Row) -> Event:
    return Event(
        id=r["id"],
        slug=r["slug"],
        title=r["title"],
        summary=r["summary"],
        intro_md=r["intro_md"],
        related=tuple(json.loads(r["related_json"])),
        starts_at=parse_iso(r["starts_at"]),
        ends_at=parse_iso(r["ends_at"]),
        timezone=r["timezone"],
        moderation=Moderation(r["moderation"]),
        status=EventStatus(r["status"]),
        last_seq=r["last_seq"],
        slow_mode_seconds=r["slow_mode_seconds"],
        blocked_terms=tuple(t for t in r["blocked_terms"].splitlines() if t.strip()),
    )


def _slot(r: Row) -> Slot:
    return Slot(
        id=r["id"],
        event_id=r["event_id"],
        label=r["label"],
        starts_at=parse_iso(r["starts_at"]),
        ends_at=parse_iso(r["ends_at"]),
        position=r["position"],
        state=r["state"],
    )


class EventRows(Rows):
    # -- events ---------------------------------------------------------------
    async def insert_event(
        self,
        *,
        slug: str,
        title: str,
        starts_at: datetime,
        ends_at: datetime,
        timezone: str,
        now: datetime,
        summary: str = "",
        intro_md: str = "",
        related: Sequence[dict[str, str]] = (),
        moderation: str = "pre",
        status: str = "draft",
    ) -> int:
        row = await self._one(
            "INSERT INTO events (slug, title, summary, intro_md, related_json, starts_at, ends_at,"
            " timezone, moderation, status, created_at, updated_at) VALUES (:slug, :title,"
            " :summary, :intro_md, :related, :starts_at, :ends_at, :timezone, :moderation,"
            " :status, :now, :now) RETURNING id",
            slug=slug,
            title=title,
            summary=summary,
            intro_md=intro_md,
            related=json.dumps(list(related)),
            starts_at=iso(starts_at),
            ends_at=iso(ends_at),
            timezone=timezone,
            moderation=moderation,
            status=status,
            now=iso(now),
        )
        assert row is not None
        return int(row["id"])

    async def event_by_slug(self, slug: str) -> Event | None:
        event_id = self.cache.get("slug", slug) if self.cache else None
        if isinstance(event_id, int):
            return await self.event_by_id(event_id)
        row = await self._one("SELECT * FROM events WHERE slug = :slug", slug=slug)
        event = _event(row) if row else None
        if event and self.cache:
            self.cache.put("slug", slug, event.id)
            self.cache.put("event", event.id, event)
        return event

    async def event_by_id(self, event_id: int) -> Event | None:
        async def load() -> Event | None:
            row = await self._one("SELECT * FROM events WHERE id = :id", id=event_id)
            return _event(row) if row else None

        return await self._memo("event", event_id, load)

    async def list_events(self, statuses: Sequence[str] | None = None) -> list[Event]:
        """Events by start time; with `statuses`, only those in one of them."""
        wanted, params = in_list("status", list(statuses or ()))
        rows = await self._all(
            f"SELECT * FROM events WHERE :every = 1 OR status IN {wanted} ORDER BY starts_at",
            every=int(statuses is None),
            **params,
        )
        return [_event(r) for r in rows]

    async def update_event(self, event_id: int, now: datetime, **fields: Any) -> None:
        await self._update("events", event_id, fields, now)

    async def delete_event(self, event_id: int) -> None:
        await self.conn.execute("DELETE FROM events WHERE id = :id", {"id": event_id})

    async def set_event_status(self, event_id: int, status: str, now: datetime) -> None:
        await self.conn.execute(
            "UPDATE events SET status = :status, updated_at = :now WHERE id = :id",
            {"status": status, "now": iso(now), "id": event_id},
        )

    # -- slots ----------------------------------------------------------------
    async def insert_slot(
        self, event_id: int, label: str, starts_at: datetime, ends_at: datetime, position: int = 0
    ) -> int:
        row = await self._one(
            "INSERT INTO slots (event_id, label, starts_at, ends_at, position) VALUES"
            " (:event_id, :label, :starts_at, :ends_at, :position) RETURNING id",
            event_id=event_id,
            label=label,
            starts_at=iso(starts_at),
            ends_at=iso(ends_at),
            position=position,
        )
        assert row is not None
        return int(row["id"])

    async def slots(self, event_id: int) -> list[Slot]:
        rows = await self._all(
            "SELECT * FROM slots WHERE event_id = :e ORDER BY starts_at, position", e=event_id
        )
        return [_slot(r) for r in rows]

    async def slot(self, slot_id: int) -> Slot | None:
        row = await self._one("SELECT * FROM slots WHERE id = :id", id=slot_id)
        return _slot(row) if row else None

    async def update_slot(
        self, slot_id: int, label: str, starts_at: datetime, ends_at: datetime
    ) -> None:
        await self.conn.execute(
            "UPDATE slots SET label = :label, starts_at = :s, ends_at = :e, state = 'pending'"
            " WHERE id = :id",
            {"label": label, "s": iso(starts_at), "e": iso(ends_at), "id": slot_id},
        )

    async def set_slot_state(self, slot_id: int, state: str) -> None:
        await self.conn.execute(
            "UPDATE slots SET state = :state WHERE id = :id", {"state": state, "id": slot_id}
        )

    async def delete_slot(self, slot_id: int) -> None:
        await self.conn.execute("DELETE FROM slots WHERE id = :id", {"id": slot_id})
