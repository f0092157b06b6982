"""The console's private rows: panelists' drafts (with their soft claims) and backstage notes.

Nothing here touches event_log: these rows are for staff and never reach a reader."""

from __future__ import annotations

from datetime import datetime

from panel.domain import Audience, Draft, Note, iso, parse_iso
from panel.store.rows import Row, Rows


def _draft(r: Row) -> Draft:
    return Draft(
        question_id=r["question_id"],
        panelist_id=r["panelist_id"],
        event_id=r["event_id"],
        body=r["body"],
        updated_at=parse_iso(r["updated_at"]),
        claimed_until=parse_iso(r["claimed_until"]) if r["claimed_until"] else None,
    )


def _note(r: Row) -> Note:
    return Note(
        id=r["id"],
        event_id=r["event_id"],
        audience=Audience(r["audience"]),
        to_panelist=r["to_panelist"],
        question_id=r["question_id"],
        author_kind=r["author_kind"],
        author_id=r["author_id"],
        author_name=r["author_name"],
        body=r["body"],
        created_at=parse_iso(r["created_at"]),
    )


class StaffroomRows(Rows):
    # -- drafts and claims -----------------------------------------------------
    async def draft(self, question_id: int, panelist_id: int) -> Draft | None:
        row = await self._one(
            "SELECT * FROM answer_drafts WHERE question_id = :q AND panelist_id = :p",
            q=question_id,
            p=panelist_id,
        )
        return _draft(row) if row else None

    async def drafts_for_event(self, event_id: int) -> list[Draft]:
        rows = await self._all(
            "SELECT * FROM answer_drafts WHERE event_id = :e ORDER BY updated_at", e=event_id
        )
        return [_draft(r) for r in rows]

    async def save_draft(
        self,
        *,
        question_id: int,
        panelist_id: int,
        event_id: int,
        body: str,
        now: datetime,
        claimed_until: datetime | None,
    ) -> None:
        await self.conn.execute(
            "INSERT INTO answer_drafts (question_id, panelist_id, event_id, body, updated_at,"
            " claimed_until) VALUES (:q, :p, :e, :body, :now, :until)"
            " ON CONFLICT (question_id, panelist_id) DO UPDATE SET body = excluded.body,"
            " updated_at = excluded.updated_at, claimed_until = excluded.claimed_until",
            {
                "q": question_id,
                "p": panelist_id,
                "e": event_id,
                "body": body,
                "now": iso(now),
                "until": iso(claimed_until) if claimed_until else None,
            },
        )

    async def delete_draft(self, question_id: int, panelist_id: int) -> int:
        return await self.conn.execute(
            "DELETE FROM answer_drafts WHERE question_id = :q AND panelist_id = :p",
            {"q": question_id, "p": panelist_id},
        )

    # -- backstage notes -------------------------------------------------------
    async def insert_note(
        self,
        *,
        event_id: int,
        audience: str,
        to_panelist: int | None,
        question_id: int | None,
        author_kind: str,
        author_id: int | None,
        author_name: str,
        body: str,
        now: datetime,
    ) -> int:
        row = await self._one(
            "INSERT INTO backstage_notes (event_id, audience, to_panelist, question_id,"
            " author_kind, author_id, author_name, body, created_at) VALUES (:e, :audience,"
            " :to, :q, :kind, :author, :name, :body, :now) RETURNING id",
            e=event_id,
            audience=audience,
            to=to_panelist,
            q=question_id,
            kind=author_kind,
            author=author_id,
            name=author_name,
            body=body,
            now=iso(now),
        )
        assert row is not None
        return int(row["id"])

    async def notes(self, event_id: int, limit: int = 200) -> list[Note]:
        """The event's newest notes first; who may see which is decided by the caller."""
        rows = await self._all(
            "SELECT * FROM backstage_notes WHERE event_id = :e ORDER BY id DESC LIMIT :l",
            e=event_id,
            l=limit,
        )
        return [_note(r) for r in rows]
