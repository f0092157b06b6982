"""Readers' reports of published questions and answers: rows for the editors only.

Nothing here touches event_log, and no reader page or reader API reads these rows."""

from __future__ import annotations

from datetime import datetime

from panel.domain import iso
from panel.store.rows import Row, Rows


class ReportRows(Rows):
    async def add_report(
        self,
        *,
        event_id: int,
        target_kind: str,
        target_id: int,
        reader_id: str,
        reason: str,
        detail: str,
        now: datetime,
    ) -> int | None:
        """The new report's id, or None when this reader reported this item already."""
        row = await self._one(
            "INSERT INTO reports (event_id, target_kind, target_id, reader_id, reason, detail,"
            " created_at) VALUES (:e, :kind, :target, :reader, :reason, :detail, :now)"
            " ON CONFLICT (reader_id, target_kind, target_id) DO NOTHING RETURNING id",
            e=event_id,
            kind=target_kind,
            target=target_id,
            reader=reader_id,
            reason=reason,
            detail=detail,
            now=iso(now),
        )
        return int(row["id"]) if row else None

    async def reports_for_event(self, event_id: int) -> list[Row]:
        """Every report on the event's items, oldest first (the reader id is left out)."""
        return await self._all(
            "SELECT id, target_kind, target_id, reason, detail, created_at FROM reports"
            " WHERE event_id = :e ORDER BY created_at, id",
            e=event_id,
        )
