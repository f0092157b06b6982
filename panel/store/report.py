"""What the post-event report (panel/report.py) reads, and the audience samples it charts.

Plain rows, one statement each, the same SQL on SQLite and PostgreSQL: the figures are worked
out in Python, so both stores give the same report."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from panel.domain import iso
from panel.store.rows import Row, Rows, in_list

# The audit actions that decide a question the first time (panel/moderation.py).
DECISIONS = ("question.approve", "question.reject", "question.merge")


class EventReportRows(Rows):
    async def report_questions(self, event_id: int) -> list[Row]:
        """Every question of the event, oldest first, with what the report needs of it."""
        return await self._all(
            "SELECT id, body, status, reject_reason, held_reason, directed_to, merged_into,"
            " upvotes, answered, created_at FROM questions WHERE event_id = :e"
            " ORDER BY created_at, id",
            e=event_id,
        )

    async def report_decisions(self, event_id: int) -> list[Row]:
        """Each question's first decision by an editor: its target ("question:12") and time."""
        actions, params = in_list("action", DECISIONS)
        return await self._all(
            "SELECT target, MIN(at) AS at FROM audit_log"
            f" WHERE event_id = :e AND action IN {actions} GROUP BY target",
            e=event_id,
            **params,
        )

    async def report_answers(self, event_id: int) -> list[Row]:
        """The event's published answers, oldest first, with the question each now sits under."""
        return await self._all(
            "SELECT a.question_id, a.created_at FROM answers a"
            " JOIN questions q ON q.id = a.question_id"
            " WHERE q.event_id = :e AND a.status = 'published' ORDER BY a.created_at, a.id",
            e=event_id,
        )

    async def upvote_count(self, event_id: int) -> int:
        """Upvotes cast on the event's questions (one per reader and question)."""
        row = await self._one(
            "SELECT COUNT(*) AS n FROM upvotes u JOIN questions q ON q.id = u.question_id"
            " WHERE q.event_id = :e",
            e=event_id,
        )
        return int(row["n"]) if row else 0

    async def audience_samples(self, event_id: int) -> list[Row]:
        """The event's audience, one row a minute while it was live, oldest first."""
        return await self._all(
            "SELECT at, readers FROM audience_samples WHERE event_id = :e ORDER BY at",
            e=event_id,
        )

    async def add_audience_samples(self, samples: Iterable[tuple[int, datetime, int]]) -> int:
        """Store (event id, minute, readers) samples; a minute an event has already is kept
        as it was. Returns the rows written."""
        written = 0
        for event_id, at, readers in samples:
            written += await self.conn.execute(
                "INSERT INTO audience_samples (event_id, at, readers) VALUES (:e, :at, :n)"
                " ON CONFLICT (event_id, at) DO NOTHING",
                {"e": event_id, "at": iso(at), "n": readers},
            )
        return written
