"""Transcripts (the editors' curation and the public snapshot) and the archive built from
published ones: its items, who answered in them, listings and full-text search.

Curation lives in transcripts.items_json/intro_md/outro_md; what the public sees is the
snapshot in published_json plus its rows in archive_items. The search statements are the
one dialect-specific SQL: panel/store/search.py holds them, chosen by the declared dialect."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from panel.domain import iso
from panel.store import search
from panel.store.rows import Row, Rows

_PUBLISHED = (
    " FROM transcripts t JOIN events e ON e.id = t.event_id"
    " WHERE e.status = 'published' AND t.published_json IS NOT NULL"
    " AND (:person = '' OR EXISTS (SELECT 1 FROM archive_items i"
    " JOIN archive_item_people p ON p.item_id = i.id"
    " WHERE i.event_id = e.id AND p.name = :person))"
)


class ArchiveRows(Rows):
    # -- transcripts: curation and publication --------------------------------
    async def save_transcript(
        self,
        event_id: int,
        intro_md: str,
        outro_md: str,
        items: list[dict[str, Any]],
        published_at: datetime | None,
        now: datetime,
    ) -> None:
        await self.conn.execute(
            "INSERT INTO transcripts (event_id, intro_md, outro_md, items_json, published_at,"
            " updated_at) VALUES (:e, :intro, :outro, :items, :pub, :now)"
            " ON CONFLICT (event_id) DO UPDATE SET intro_md = excluded.intro_md,"
            " outro_md = excluded.outro_md, items_json = excluded.items_json,"
            " published_at = excluded.published_at, updated_at = excluded.updated_at",
            {
                "e": event_id,
                "intro": intro_md,
                "outro": outro_md,
                "items": json.dumps(items),
                "pub": iso(published_at) if published_at else None,
                "now": iso(now),
            },
        )

    async def transcript(self, event_id: int) -> Row | None:
        return await self._one("SELECT * FROM transcripts WHERE event_id = :e", e=event_id)

    async def save_curation(
        self,
        event_id: int,
        intro_md: str,
        outro_md: str,
        items: list[dict[str, Any]],
        now: datetime,
        *,
        pending_changes: bool,
    ) -> None:
        """Store the curated order, visibility and notes; never touches the public snapshot."""
        await self.conn.execute(
            "INSERT INTO transcripts (event_id, intro_md, outro_md, items_json, updated_at,"
            " pending_changes) VALUES (:e, :intro, :outro, :items, :now, :pending)"
            " ON CONFLICT (event_id) DO UPDATE SET intro_md = excluded.intro_md,"
            " outro_md = excluded.outro_md, items_json = excluded.items_json,"
            " updated_at = excluded.updated_at, pending_changes = excluded.pending_changes",
            {
                "e": event_id,
                "intro": intro_md,
                "outro": outro_md,
                "items": json.dumps(items),
                "now": iso(now),
                "pending": int(pending_changes),
            },
        )

    async def set_publication(
        self,
        event_id: int,
        document: Mapping[str, Any],
        published_at: datetime,
        republished_at: datetime | None,
    ) -> None:
        await self.conn.execute(
            "UPDATE transcripts SET published_json = :doc, published_at = :pub,"
            " republished_at = :re, pending_changes = 0 WHERE event_id = :e",
            {
                "doc": json.dumps(document, ensure_ascii=False),
                "pub": iso(published_at),
                "re": iso(republished_at) if republished_at else None,
                "e": event_id,
            },
        )

    async def clear_publication(self, event_id: int) -> None:
        """Take the snapshot down; published_at stays as the record of the first publication."""
        await self.conn.execute(
            "UPDATE transcripts SET published_json = NULL, pending_changes = 0 WHERE event_id = :e",
            {"e": event_id},
        )
        await self.delete_archive_items(event_id)

    # -- archive items --------------------------------------------------------
    async def replace_archive_items(
        self, event_id: int, items: Sequence[Mapping[str, Any]]
    ) -> None:
        """The searchable rows of one published transcript (question, answers, people)."""
        await self.delete_archive_items(event_id)
        for item in items:
            row = await self._one(
                "INSERT INTO archive_items (event_id, question_id, position, question, answers,"
                " people) VALUES (:e, :q, :pos, :question, :answers, :people) RETURNING id",
                e=event_id,
                q=item["question_id"],
                pos=item["position"],
                question=item["question"],
                answers=item["answers"],
                people=" ".join(item["names"]),
            )
            assert row is not None
            for name in item["names"]:
                await self.conn.execute(
                    "INSERT INTO archive_item_people (item_id, name) VALUES (:i, :name)"
                    " ON CONFLICT (item_id, name) DO NOTHING",
                    {"i": row["id"], "name": name},
                )

    async def delete_archive_items(self, event_id: int) -> None:
        await self.conn.execute(
            "DELETE FROM archive_item_people WHERE item_id IN"
            " (SELECT id FROM archive_items WHERE event_id = :e)",
            {"e": event_id},
        )
        await self.conn.execute("DELETE FROM archive_items WHERE event_id = :e", {"e": event_id})

    async def archive_items(self, event_id: int) -> list[Row]:
        return await self._all(
            "SELECT * FROM archive_items WHERE event_id = :e ORDER BY position", e=event_id
        )

    # -- what the public reads ------------------------------------------------
    async def published_document(self, slug: str) -> Row | None:
        """The public snapshot of a published event's transcript, or None."""
        return await self._one(
            "SELECT e.id AS event_id, t.published_json, t.published_at, t.republished_at"
            " FROM transcripts t JOIN events e ON e.id = t.event_id"
            " WHERE e.slug = :slug AND e.status = 'published' AND t.published_json IS NOT NULL",
            slug=slug,
        )

    async def published_transcripts(
        self, *, person: str = "", limit: int = 20, offset: int = 0
    ) -> list[Row]:
        """Published transcripts, newest event first; `person` keeps those they answered in."""
        return await self._all(
            "SELECT e.id, e.slug, e.title, e.summary, e.starts_at, e.ends_at, e.timezone,"
            " t.intro_md, t.published_at, t.republished_at,"
            " (SELECT COUNT(*) FROM archive_items i WHERE i.event_id = e.id) AS items"
            + _PUBLISHED
            + " ORDER BY e.starts_at DESC, e.id DESC LIMIT :limit OFFSET :offset",
            person=person,
            limit=limit,
            offset=offset,
        )

    async def count_published_transcripts(self, *, person: str = "") -> int:
        row = await self._one("SELECT COUNT(*) AS n" + _PUBLISHED, person=person)
        return int(row["n"]) if row else 0

    async def recently_updated_transcripts(self, limit: int = 50) -> list[Row]:
        """For the feed: the most recently (re)published first."""
        return await self._all(
            "SELECT e.id, e.slug, e.title, e.summary, e.starts_at, e.intro_md AS event_intro_md,"
            " t.intro_md, t.published_at, t.republished_at,"
            " COALESCE(t.republished_at, t.published_at) AS updated,"
            " (SELECT COUNT(*) FROM archive_items i WHERE i.event_id = e.id) AS items"
            + _PUBLISHED
            + " ORDER BY updated DESC, e.id DESC LIMIT :limit",
            person="",
            limit=limit,
        )

    async def archive_people(self) -> list[str]:
        """Everyone who answered in a published transcript, for the filter."""
        rows = await self._all(
            "SELECT DISTINCT p.name FROM archive_item_people p"
            " JOIN archive_items i ON i.id = p.item_id JOIN events e ON e.id = i.event_id"
            " WHERE e.status = 'published' ORDER BY p.name"
        )
        return [str(r["name"]) for r in rows]

    # -- full-text search (the dialect's own statements) ----------------------
    def archive_query(self, text: str) -> str:
        """Reader input as this dialect's search query; "" when it holds no words."""
        return search.search_sql(self.dialect).query(text)

    async def search_archive(
        self, query: str, *, person: str = "", limit: int = 10, offset: int = 0
    ) -> list[Row]:
        """Ranked hits for a query built by archive_query (snippets carry markers, not HTML)."""
        return await self._all(
            search.search_sql(self.dialect).hits,
            query=query,
            person=person,
            limit=limit,
            offset=offset,
            **search.marker_params(),
        )

    async def count_archive_hits(self, query: str, *, person: str = "") -> int:
        row = await self._one(search.search_sql(self.dialect).count, query=query, person=person)
        return int(row["n"]) if row else 0
