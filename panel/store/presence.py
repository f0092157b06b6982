"""Desk presence rows: which editors have an event's desk open, and the question each is on.

Runtime state for staff only: never audited, never in event_log, never read by a reader page."""

from __future__ import annotations

from datetime import datetime

from panel.domain import iso
from panel.store.rows import Row, Rows


class PresenceRows(Rows):
    async def presence_of(self, event_id: int, editor_id: int) -> Row | None:
        """One editor's presence row on the event's desk (lapsed or not)."""
        return await self._one(
            "SELECT question_id, seen_at FROM desk_presence"
            " WHERE event_id = :e AND editor_id = :ed",
            e=event_id,
            ed=editor_id,
        )

    async def mark_present(
        self, event_id: int, editor_id: int, question_id: int | None, now: datetime
    ) -> None:
        await self.conn.execute(
            "INSERT INTO desk_presence (event_id, editor_id, question_id, seen_at)"
            " VALUES (:e, :ed, :q, :now) ON CONFLICT (event_id, editor_id)"
            " DO UPDATE SET question_id = excluded.question_id, seen_at = excluded.seen_at",
            {"e": event_id, "ed": editor_id, "q": question_id, "now": iso(now)},
        )

    async def mark_absent(self, event_id: int, editor_id: int) -> int:
        """Remove the editor's row; the number removed (0 or 1)."""
        return await self.conn.execute(
            "DELETE FROM desk_presence WHERE event_id = :e AND editor_id = :ed",
            {"e": event_id, "ed": editor_id},
        )

    async def lapsed_presence(self, event_id: int, seen_before: datetime) -> list[int]:
        """The editors whose last report on the event's desk is older than `seen_before`."""
        rows = await self._all(
            "SELECT editor_id FROM desk_presence WHERE event_id = :e AND seen_at < :before"
            " ORDER BY editor_id",
            e=event_id,
            before=iso(seen_before),
        )
        return [int(r["editor_id"]) for r in rows]

    async def present_editors(self, event_id: int, seen_since: datetime) -> list[Row]:
        """Editors on the event's desk whose last report is at or after `seen_since`, by name:
        editor_id, username, question_id."""
        return await self._all(
            "SELECT p.editor_id, e.username, p.question_id FROM desk_presence p"
            " JOIN editors e ON e.id = p.editor_id"
            " WHERE p.event_id = :e AND p.seen_at >= :since ORDER BY e.username",
            e=event_id,
            since=iso(seen_since),
        )
