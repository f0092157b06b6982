"""Erasing a reader's identifying data (panel/forgetting.py): the rows that name a reader."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from panel.store.rows import Row, Rows, in_list


class ForgetRows(Rows):
    async def questions_of_reader(self, reader_id: str) -> list[Row]:
        """Every question the reader asked, in any event."""
        return await self._all(
            "SELECT id, event_id, body, display_name FROM questions WHERE reader_id = :r"
            " ORDER BY id",
            r=reader_id,
        )

    async def unlink_question(self, question_id: int, pseudonym: str) -> None:
        """The question keeps its text but no longer names or points to its asker."""
        await self.conn.execute(
            "UPDATE questions SET reader_id = :p, display_name = '', client_key = NULL,"
            " key_hash = NULL, request_hash = NULL"
            " WHERE id = :id",
            {"p": pseudonym, "id": question_id},
        )

    async def reader_rows(self, table: str, reader_id: str) -> list[Row]:
        """The reader's upvotes or reports, by the key that identifies each row."""
        key = {"upvotes": "question_id", "reports": "id"}[table]
        return await self._all(
            f"SELECT {key} AS key FROM {table} WHERE reader_id = :r", r=reader_id
        )

    async def rekey_reader_row(self, table: str, key: int, reader_id: str, pseudonym: str) -> None:
        """One upvote or report kept (counts stay true) under a pseudonym of its own."""
        column = {"upvotes": "question_id", "reports": "id"}[table]
        await self.conn.execute(
            f"UPDATE {table} SET reader_id = :p WHERE {column} = :k AND reader_id = :r",
            {"p": pseudonym, "k": key, "r": reader_id},
        )

    async def _in_events(self, select: str, event_ids: Sequence[int], where: str) -> list[Row]:
        """`select` WHERE event_id IN (the events) AND `where`; the ids bound one by one."""
        events, params = in_list("e", event_ids)
        return await self.conn.fetchall(f"{select} WHERE event_id IN {events} AND {where}", params)

    async def question_frames(self, event_ids: Sequence[int]) -> list[Row]:
        """The logged frames that carry a question's public view, in the given events."""
        return await self._in_events(
            "SELECT event_id, seq, payload FROM event_log",
            event_ids,
            "type IN ('question.published', 'question.updated')",
        )

    async def rewrite_frame(self, event_id: int, seq: int, data: Mapping[str, Any]) -> None:
        """A logged frame's payload, written as append_frame writes it."""
        await self.conn.execute(
            "UPDATE event_log SET payload = :payload WHERE event_id = :e AND seq = :seq",
            {"payload": json.dumps(data, separators=(",", ":")), "e": event_id, "seq": seq},
        )

    async def count_log_rewrite(self, event_ids: Sequence[int]) -> None:
        """Tell every process that these events' logs changed behind their seqs (migration
        0018): the presence tick then drops the frames it keeps in memory."""
        events, params = in_list("e", event_ids)
        await self.conn.execute(
            f"UPDATE events SET log_rewrites = log_rewrites + 1 WHERE id IN {events}", params
        )

    async def published_documents(self, event_ids: Sequence[int]) -> list[Row]:
        return await self._in_events(
            "SELECT event_id, published_json FROM transcripts",
            event_ids,
            "published_json IS NOT NULL",
        )

    async def rewrite_document(self, event_id: int, document: Mapping[str, Any]) -> None:
        """A published transcript's snapshot, written as set_publication writes it."""
        await self.conn.execute(
            "UPDATE transcripts SET published_json = :doc WHERE event_id = :e",
            {"doc": json.dumps(document, ensure_ascii=False), "e": event_id},
        )
