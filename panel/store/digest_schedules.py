"""Scheduled digests (migration 0015): one per event, sent by the scheduler once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from panel.domain import iso, parse_iso
from panel.store.rows import Row, Rows


@dataclass(frozen=True)
class DigestSchedule:
    event_id: int
    hours_before: int
    include_pending: bool
    created_at: datetime  # when it was (last) set: names this schedule's messages
    sent_at: datetime | None


def _schedule(r: Row) -> DigestSchedule:
    return DigestSchedule(
        event_id=r["event_id"],
        hours_before=r["hours_before"],
        include_pending=bool(r["include_pending"]),
        created_at=parse_iso(r["created_at"]),
        sent_at=parse_iso(r["sent_at"]) if r["sent_at"] else None,
    )


class DigestScheduleRows(Rows):
    async def set_digest_schedule(
        self, event_id: int, hours_before: int, include_pending: bool, now: datetime
    ) -> None:
        """Schedule (or re-schedule, to be sent again) the event's digest."""
        values = {"e": event_id, "h": hours_before, "p": int(include_pending), "now": iso(now)}
        await self.conn.execute(
            "INSERT INTO digest_schedules (event_id, hours_before, include_pending, created_at)"
            " VALUES (:e, :h, :p, :now) ON CONFLICT (event_id) DO UPDATE SET"
            " hours_before = :h, include_pending = :p, created_at = :now, sent_at = NULL",
            values,
        )

    async def cancel_digest_schedule(self, event_id: int) -> bool:
        removed = await self.conn.execute(
            "DELETE FROM digest_schedules WHERE event_id = :e AND sent_at IS NULL", {"e": event_id}
        )
        return removed == 1

    async def digest_schedule(self, event_id: int) -> DigestSchedule | None:
        row = await self._one("SELECT * FROM digest_schedules WHERE event_id = :e", e=event_id)
        return _schedule(row) if row else None

    async def unsent_digest_schedules(self) -> list[DigestSchedule]:
        rows = await self._all("SELECT * FROM digest_schedules WHERE sent_at IS NULL")
        return [_schedule(r) for r in rows]

    async def mark_digest_sent(self, event_id: int, now: datetime) -> bool:
        """True for the one transaction that marks it: the others find it sent already."""
        marked = await self.conn.execute(
            "UPDATE digest_schedules SET sent_at = :now WHERE event_id = :e AND sent_at IS NULL",
            {"e": event_id, "now": iso(now)},
        )
        return marked == 1
