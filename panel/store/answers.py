"""Answers: what panelists (or editors) publish under a question."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from panel.domain import Answer, iso, parse_iso
from panel.store.rows import Row, Rows


def _answer(r: Row) -> Answer:
    return Answer(
        id=r["id"],
        question_id=r["question_id"],
        body_md=r["body_md"],
        created_at=parse_iso(r["created_at"]),
        updated_at=parse_iso(r["updated_at"]),
        panelist_id=r["panelist_id"],
        editor_id=r["editor_id"],
        status=r["status"],
        body_html=r["body_html"],
    )


class AnswerRows(Rows):
    async def insert_answer(
        self,
        question_id: int,
        body_md: str,
        body_html: str,
        panelist_id: int | None,
        editor_id: int | None,
        now: datetime,
    ) -> int:
        row = await self._one(
            "INSERT INTO answers (question_id, panelist_id, editor_id, body_md, body_html,"
            " created_at, updated_at) VALUES (:q, :p, :ed, :body, :html, :now, :now)"
            " RETURNING id",
            q=question_id,
            p=panelist_id,
            ed=editor_id,
            body=body_md,
            html=body_html,
            now=iso(now),
        )
        assert row is not None
        return int(row["id"])

    async def answer(self, answer_id: int) -> Answer | None:
        row = await self._one("SELECT * FROM answers WHERE id = :id", id=answer_id)
        return _answer(row) if row else None

    async def update_answer(self, answer_id: int, now: datetime, **fields: Any) -> None:
        await self._update("answers", answer_id, fields, now)

    async def answers_without_html(self, limit: int) -> list[Answer]:
        """Answers written before their HTML was stored (migration 0005), oldest first."""
        rows = await self._all(
            "SELECT * FROM answers WHERE body_html IS NULL ORDER BY id LIMIT :n", n=limit
        )
        return [_answer(r) for r in rows]

    async def store_answer_html(self, answer_id: int, body_html: str) -> None:
        """Fill in an answer's rendered HTML without marking it edited (updated_at stays)."""
        await self._update("answers", answer_id, {"body_html": body_html}, None)

    async def published_answers(self, question_id: int) -> list[Answer]:
        rows = await self._all(
            "SELECT * FROM answers WHERE question_id = :q AND status = 'published'"
            " ORDER BY created_at, id",
            q=question_id,
        )
        return [_answer(r) for r in rows]

    async def move_answers(self, from_question: int, to_question: int) -> None:
        """Show a merged question's answers under the kept one, remembering where each was
        written (an answer already moved keeps its first question)."""
        await self.conn.execute(
            "UPDATE answers SET moved_from = COALESCE(moved_from, question_id), question_id = :dst"
            " WHERE question_id = :src",
            {"src": from_question, "dst": to_question},
        )

    async def return_answers(self, question_id: int) -> None:
        """Put back under `question_id` every answer written for it and moved by a merge."""
        await self.conn.execute(
            "UPDATE answers SET question_id = :q, moved_from = NULL WHERE moved_from = :q",
            {"q": question_id},
        )

    async def answers_for_event(self, event_id: int) -> list[Answer]:
        """The event's published answers (to questions in any status), in the order given."""
        rows = await self._all(
            "SELECT a.* FROM answers a JOIN questions q ON q.id = a.question_id"
            " WHERE q.event_id = :e AND a.status = 'published' ORDER BY a.created_at, a.id",
            e=event_id,
        )
        return [_answer(r) for r in rows]
