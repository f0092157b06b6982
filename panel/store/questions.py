"""Readers' questions, their upvotes, and readers banned from asking.

Status and visibility are filtered here in SQL, so callers never fetch a whole event's
questions to throw most of them away: `published_questions` is what readers may see."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from panel.domain import Question, QuestionStatus, RuleError, iso, parse_iso
from panel.store.rows import Row, Rows, in_list


def _question(r: Row) -> Question:
    return Question(
        id=r["id"],
        event_id=r["event_id"],
        body=r["body"],
        display_name=r["display_name"],
        reader_id=r["reader_id"],
        status=QuestionStatus(r["status"]),
        created_at=parse_iso(r["created_at"]),
        directed_to=r["directed_to"],
        pinned=bool(r["pinned"]),
        merged_into=r["merged_into"],
        upvotes=r["upvotes"],
        answered=bool(r["answered"]),
        reject_reason=r["reject_reason"],
        held_reason=r["held_reason"],
        public_reason=r["public_reason"],
    )


def _to(directed_to: int | None) -> dict[str, Any]:
    """Parameters of the optional `directed_to` filter: None keeps every question."""
    return {"anyone": int(directed_to is None), "to": directed_to}


_TO = " AND (:anyone = 1 OR directed_to = :to)"


class QuestionRows(Rows):
    # -- questions ------------------------------------------------------------
    async def insert_question(self, **fields: Any) -> int:
        """`add_question`, for callers that need only the new id; a used key is refused."""
        question = await self.add_question(**fields)
        if question is None:
            raise RuleError("conflict", "This reader already asked a question with that key.")
        return question.id

    async def add_question(
        self,
        *,
        event_id: int,
        body: str,
        display_name: str,
        reader_id: str,
        client_key: str | None,
        status: str,
        directed_to: int | None,
        now: datetime,
        held_reason: str = "",
        key_hash: str | None = None,
        request_hash: str | None = None,
    ) -> Question | None:
        """Insert a question and return the stored row, in one statement; None (and nothing
        stored) when its key was used at this event already (by this reader, or by anyone
        under `key_hash`)."""
        row = await self._one(
            "INSERT INTO questions (event_id, body, display_name, reader_id, client_key,"
            " key_hash, request_hash, status, directed_to, held_reason, created_at, updated_at)"
            " VALUES (:e, :body, :name, :reader, :key, :kh, :rh, :status, :to, :held, :now,"
            " :now) ON CONFLICT DO NOTHING RETURNING *",
            e=event_id,
            body=body,
            name=display_name,
            reader=reader_id,
            key=client_key,
            kh=key_hash,
            rh=request_hash,
            status=status,
            to=directed_to,
            held=held_reason,
            now=iso(now),
        )
        return _question(row) if row else None

    async def question_by_key(
        self, event_id: int, key_hash: str, reader_id: str, client_key: str
    ) -> tuple[Question, str | None] | None:
        """The question stored under an Idempotency-Key at this event, and the hash of what
        was asked with it: by the key's hash, or (questions from before migration 0013) by
        this reader's key."""
        row = await self._one(
            "SELECT * FROM questions WHERE event_id = :e AND (key_hash = :kh"
            " OR (key_hash IS NULL AND reader_id = :r AND client_key = :k))"
            " ORDER BY key_hash IS NULL LIMIT 1",
            e=event_id,
            kh=key_hash,
            r=reader_id,
            k=client_key,
        )
        return (_question(row), row["request_hash"]) if row else None

    async def question(self, question_id: int) -> Question | None:
        row = await self._one("SELECT * FROM questions WHERE id = :id", id=question_id)
        return _question(row) if row else None

    async def questions(self, event_id: int, statuses: Sequence[str]) -> list[Question]:
        """The event's questions in any of `statuses`, oldest first (merged ones included)."""
        wanted, params = in_list("status", list(statuses))
        rows = await self._all(
            f"SELECT * FROM questions WHERE event_id = :e AND status IN {wanted}"
            " ORDER BY created_at, id",
            e=event_id,
            **params,
        )
        return [_question(r) for r in rows]

    async def published_questions(
        self, event_id: int, directed_to: int | None = None
    ) -> list[Question]:
        """What readers see: approved and not merged into another question, pinned first,
        then the newest; with `directed_to`, only those put to that panelist."""
        rows = await self._all(
            "SELECT * FROM questions WHERE event_id = :e AND status = 'approved'"
            " AND merged_into IS NULL" + _TO + " ORDER BY pinned DESC, created_at DESC, id DESC",
            e=event_id,
            **_to(directed_to),
        )
        return [_question(r) for r in rows]

    async def merged_questions(self, event_id: int) -> list[Question]:
        """Approved questions merged into another (shown under it), oldest first."""
        rows = await self._all(
            "SELECT * FROM questions WHERE event_id = :e AND status = 'approved'"
            " AND merged_into IS NOT NULL ORDER BY created_at, id",
            e=event_id,
        )
        return [_question(r) for r in rows]

    async def pending_questions(
        self, event_id: int, directed_to: int | None = None
    ) -> list[Question]:
        """Questions awaiting moderation, oldest first; `directed_to` as above. A duplicate
        merged into a waiting question is not listed: it waits with (and under) that one."""
        rows = await self._all(
            "SELECT * FROM questions WHERE event_id = :e AND status = 'pending'"
            " AND merged_into IS NULL" + _TO + " ORDER BY created_at, id",
            e=event_id,
            **_to(directed_to),
        )
        return [_question(r) for r in rows]

    async def duplicates_of(self, question_id: int) -> list[Question]:
        """The questions merged into this one (in any status), oldest first."""
        rows = await self._all(
            "SELECT * FROM questions WHERE merged_into = :q ORDER BY created_at, id", q=question_id
        )
        return [_question(r) for r in rows]

    async def open_duplicates(self, event_id: int) -> list[Question]:
        """Merged questions still waiting or published (what the desk lists under the kept
        question, to separate), oldest first."""
        rows = await self._all(
            "SELECT * FROM questions WHERE event_id = :e AND merged_into IS NOT NULL"
            " AND status IN ('pending', 'approved') ORDER BY created_at, id",
            e=event_id,
        )
        return [_question(r) for r in rows]

    async def merge_undo(self, question_id: int) -> dict[str, Any] | None:
        """What merging this question changed (see panel/merging.py); None if not recorded."""
        row = await self._one("SELECT merge_undo FROM questions WHERE id = :q", q=question_id)
        return json.loads(row["merge_undo"]) if row and row["merge_undo"] else None

    async def answered_questions(self, event_id: int) -> list[Question]:
        """What a transcript can hold: approved, not merged, marked answered and with at
        least one published answer; oldest first."""
        rows = await self._all(
            "SELECT * FROM questions q WHERE q.event_id = :e AND q.status = 'approved'"
            " AND q.merged_into IS NULL AND q.answered <> 0 AND EXISTS (SELECT 1 FROM answers a"
            " WHERE a.question_id = q.id AND a.status = 'published') ORDER BY q.created_at, q.id",
            e=event_id,
        )
        return [_question(r) for r in rows]

    async def reader_questions(self, event_id: int, reader_id: str) -> list[Question]:
        rows = await self._all(
            "SELECT * FROM questions WHERE event_id = :e AND reader_id = :r ORDER BY created_at",
            e=event_id,
            r=reader_id,
        )
        return [_question(r) for r in rows]

    async def last_question_at(self, event_id: int, reader_id: str) -> datetime | None:
        row = await self._one(
            "SELECT MAX(created_at) AS at FROM questions WHERE event_id = :e AND reader_id = :r",
            e=event_id,
            r=reader_id,
        )
        return parse_iso(row["at"]) if row and row["at"] else None

    async def update_question(self, question_id: int, now: datetime, **fields: Any) -> None:
        await self._update("questions", question_id, fields, now)

    # -- upvotes --------------------------------------------------------------
    async def add_upvote(self, question_id: int, reader_id: str, now: datetime) -> bool:
        added = await self.conn.execute(
            "INSERT INTO upvotes (question_id, reader_id, created_at) VALUES (:q, :r, :now)"
            " ON CONFLICT DO NOTHING",
            {"q": question_id, "r": reader_id, "now": iso(now)},
        )
        if added:
            await self.conn.execute(
                "UPDATE questions SET upvotes = upvotes + 1 WHERE id = :q", {"q": question_id}
            )
        return bool(added)

    async def votes_shown(self, question_id: int, upvotes: int) -> None:
        """A public frame of the question now carries `upvotes` (see panel/votes.py)."""
        await self.conn.execute(
            "UPDATE questions SET upvotes_shown = :n WHERE id = :q",
            {"n": upvotes, "q": question_id},
        )

    async def unannounced_votes(self) -> list[int]:
        """Published questions whose count changed since their last public frame; questions
        no longer public are marked as shown instead (readers no longer see their count)."""
        await self.conn.execute(
            "UPDATE questions SET upvotes_shown = upvotes"
            " WHERE upvotes <> upvotes_shown AND status <> :approved",
            {"approved": QuestionStatus.APPROVED.value},
        )
        rows = await self._all(
            "SELECT id FROM questions WHERE upvotes <> upvotes_shown ORDER BY id"
        )
        return [r["id"] for r in rows]

    # -- bans -----------------------------------------------------------------
    async def ban_reader(self, event_id: int, reader_id: str, now: datetime) -> None:
        await self.conn.execute(
            "INSERT INTO reader_bans (event_id, reader_id, created_at) VALUES (:e, :r, :now)"
            " ON CONFLICT DO NOTHING",
            {"e": event_id, "r": reader_id, "now": iso(now)},
        )

    async def bans(self, event_id: int) -> list[Row]:
        return await self._all(
            "SELECT * FROM reader_bans WHERE event_id = :e ORDER BY created_at", e=event_id
        )

    async def unban_reader(self, event_id: int, reader_id: str) -> int:
        return await self.conn.execute(
            "DELETE FROM reader_bans WHERE event_id = :e AND reader_id = :r",
            {"e": event_id, "r": reader_id},
        )

    async def is_banned(self, event_id: int, reader_id: str) -> bool:
        if self.cache is None:
            row = await self._one(
                "SELECT 1 AS x FROM reader_bans WHERE event_id = :e AND reader_id = :r",
                e=event_id,
                r=reader_id,
            )
            return row is not None
        return reader_id in await self._memo("bans", event_id, lambda: self._banned(event_id))

    async def _banned(self, event_id: int) -> frozenset[str]:
        rows = await self._all("SELECT reader_id FROM reader_bans WHERE event_id = :e", e=event_id)
        return frozenset(r["reader_id"] for r in rows)
