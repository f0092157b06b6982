"""Every SQL statement, once. Backends supply a connection that runs `:name`-style queries."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from panel.domain import (
    Answer,
    Event,
    EventStatus,
    Frame,
    Lineup,
    Moderation,
    Panelist,
    Question,
    QuestionStatus,
    Slot,
    iso,
    parse_iso,
)
from panel.store import search
from panel.store.rows import Conn, Row
from panel.store.staffroom import StaffroomRows

__all__ = ["Conn", "Repo", "Row"]

# Columns that the generic UPDATE may set, per table (never names from user input).
EDITABLE = {
    "events": {
        "slug",
        "title",
        "summary",
        "intro_md",
        "related_json",
        "starts_at",
        "ends_at",
        "timezone",
        "moderation",
        "slow_mode_seconds",
        "blocked_terms",
    },
    "panelists": {"name", "role", "bio", "photo"},
    "questions": {
        "status",
        "body",
        "pinned",
        "merged_into",
        "answered",
        "directed_to",
        "reject_reason",
        "upvotes",
        "held_reason",
    },
    "answers": {"body_md", "status"},
}


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


def _panelist(r: Row) -> Panelist:
    return Panelist(id=r["id"], name=r["name"], role=r["role"], bio=r["bio"], photo=r["photo"])


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
    )


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
    )


def _frame(event_id: int, r: Row) -> Frame:
    return Frame(event_id, r["seq"], r["type"], parse_iso(r["at"]), json.loads(r["payload"]))


class Repo(StaffroomRows):
    """Queries on one connection. In a write, `frames` collects what the change appended.

    The console's drafts and backstage notes are in StaffroomRows (panel/store/staffroom.py)."""

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
        row = await self._one("SELECT * FROM events WHERE slug = :slug", slug=slug)
        return _event(row) if row else None

    async def event_by_id(self, event_id: int) -> Event | None:
        row = await self._one("SELECT * FROM events WHERE id = :id", id=event_id)
        return _event(row) if row else None

    async def list_events(self, statuses: Sequence[str] | None = None) -> list[Event]:
        rows = await self._all("SELECT * FROM events ORDER BY starts_at")
        events = [_event(r) for r in rows]
        return [e for e in events if statuses is None or e.status in statuses]

    async def _update(
        self, table: str, row_id: int, fields: dict[str, Any], now: datetime | None
    ) -> None:
        """UPDATE one row's columns (named by our code, checked against EDITABLE)."""
        assert fields and set(fields) <= EDITABLE[table], fields
        values = {k: iso(v) if isinstance(v, datetime) else v for k, v in fields.items()}
        if now is not None:
            values["updated_at"] = iso(now)
        sets = ", ".join(f"{name} = :{name}" for name in sorted(values))
        await self.conn.execute(
            f"UPDATE {table} SET {sets} WHERE id = :id", {**values, "id": row_id}
        )

    async def update_event(self, event_id: int, now: datetime, **fields: Any) -> None:
        await self._update("events", event_id, fields, now)

    async def delete_event(self, event_id: int) -> None:
        await self.conn.execute("DELETE FROM events WHERE id = :id", {"id": event_id})

    async def set_event_status(self, event_id: int, status: str, now: datetime) -> None:
        await self.conn.execute(
            "UPDATE events SET status = :status, updated_at = :now WHERE id = :id",
            {"status": status, "now": iso(now), "id": event_id},
        )

    # -- slots and panel ------------------------------------------------------
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

    async def update_slot(
        self, slot_id: int, label: str, starts_at: datetime, ends_at: datetime
    ) -> None:
        await self.conn.execute(
            "UPDATE slots SET label = :label, starts_at = :s, ends_at = :e, state = 'pending'"
            " WHERE id = :id",
            {"label": label, "s": iso(starts_at), "e": iso(ends_at), "id": slot_id},
        )

    async def delete_slot(self, slot_id: int) -> None:
        await self.conn.execute("DELETE FROM slots WHERE id = :id", {"id": slot_id})

    async def slot(self, slot_id: int) -> Slot | None:
        row = await self._one("SELECT * FROM slots WHERE id = :id", id=slot_id)
        return _slot(row) if row else None

    async def set_slot_state(self, slot_id: int, state: str) -> None:
        await self.conn.execute(
            "UPDATE slots SET state = :state WHERE id = :id", {"state": state, "id": slot_id}
        )

    async def insert_panelist(
        self, name: str, role: str, bio: str, now: datetime, photo: str | None = None
    ) -> int:
        row = await self._one(
            "INSERT INTO panelists (name, role, bio, photo, created_at) VALUES"
            " (:name, :role, :bio, :photo, :now) RETURNING id",
            name=name,
            role=role,
            bio=bio,
            photo=photo,
            now=iso(now),
        )
        assert row is not None
        return int(row["id"])

    async def panelist(self, panelist_id: int) -> Panelist | None:
        row = await self._one("SELECT * FROM panelists WHERE id = :id", id=panelist_id)
        return _panelist(row) if row else None

    async def update_panelist(self, panelist_id: int, **fields: Any) -> None:
        await self._update("panelists", panelist_id, fields, None)

    async def all_panelists(self) -> list[Panelist]:
        return [_panelist(r) for r in await self._all("SELECT * FROM panelists ORDER BY name")]

    async def assignments(self, event_id: int) -> list[Row]:
        return await self._all(
            "SELECT a.*, p.name AS panelist_name FROM assignments a JOIN panelists p"
            " ON p.id = a.panelist_id WHERE a.event_id = :e ORDER BY a.position, a.id",
            e=event_id,
        )

    async def unassign(self, assignment_id: int, event_id: int | None = None) -> Row | None:
        """Delete one assignment (only of `event_id`, when given); the row as it was."""
        row = await self._one("SELECT * FROM assignments WHERE id = :id", id=assignment_id)
        if row is None or event_id not in (None, row["event_id"]):
            return None
        await self.conn.execute("DELETE FROM assignments WHERE id = :id", {"id": assignment_id})
        return row

    async def assign(
        self, event_id: int, panelist_id: int, slot_id: int | None, position: int = 0
    ) -> None:
        await self.conn.execute(
            "INSERT INTO assignments (event_id, panelist_id, slot_id, position) VALUES"
            " (:e, :p, :s, :pos)",
            {"e": event_id, "p": panelist_id, "s": slot_id, "pos": position},
        )

    async def lineup(self, event_id: int) -> Lineup:
        rows = await self._all(
            "SELECT p.*, a.slot_id FROM assignments a JOIN panelists p ON p.id = a.panelist_id"
            " WHERE a.event_id = :e ORDER BY a.position, a.id",
            e=event_id,
        )
        core = tuple(_panelist(r) for r in rows if r["slot_id"] is None)
        by_slot: dict[int, tuple[Panelist, ...]] = {}
        for r in rows:
            if r["slot_id"] is not None:
                by_slot[r["slot_id"]] = (*by_slot.get(r["slot_id"], ()), _panelist(r))
        return Lineup(core=core, by_slot=by_slot)

    # -- invites --------------------------------------------------------------
    async def insert_invite(
        self, event_id: int, panelist_id: int, token_hash: str, now: datetime
    ) -> int:
        row = await self._one(
            "INSERT INTO invites (event_id, panelist_id, token_hash, created_at) VALUES"
            " (:e, :p, :h, :now) RETURNING id",
            e=event_id,
            p=panelist_id,
            h=token_hash,
            now=iso(now),
        )
        assert row is not None
        return int(row["id"])

    async def invite_by_hash(self, token_hash: str) -> Row | None:
        return await self._one(
            "SELECT * FROM invites WHERE token_hash = :h AND revoked_at IS NULL", h=token_hash
        )

    async def invite(self, invite_id: int) -> Row | None:
        return await self._one("SELECT * FROM invites WHERE id = :id", id=invite_id)

    async def touch_invite(self, invite_id: int, now: datetime) -> None:
        await self.conn.execute(
            "UPDATE invites SET last_used_at = :now WHERE id = :id",
            {"now": iso(now), "id": invite_id},
        )

    async def revoke_invite(self, invite_id: int, now: datetime) -> int:
        return await self.conn.execute(
            "UPDATE invites SET revoked_at = :now WHERE id = :id AND revoked_at IS NULL",
            {"now": iso(now), "id": invite_id},
        )

    async def invites(self, event_id: int) -> list[Row]:
        return await self._all(
            "SELECT i.*, p.name AS panelist_name FROM invites i JOIN panelists p"
            " ON p.id = i.panelist_id WHERE i.event_id = :e ORDER BY i.id",
            e=event_id,
        )

    # -- editors --------------------------------------------------------------
    async def insert_editor(
        self, username: str, password_hash: str, role: str, now: datetime
    ) -> int:
        row = await self._one(
            "INSERT INTO editors (username, password_hash, role, created_at) VALUES"
            " (:u, :h, :r, :now) RETURNING id",
            u=username,
            h=password_hash,
            r=role,
            now=iso(now),
        )
        assert row is not None
        return int(row["id"])

    async def editor_by_username(self, username: str) -> Row | None:
        return await self._one("SELECT * FROM editors WHERE username = :u", u=username)

    async def editor_by_id(self, editor_id: int) -> Row | None:
        return await self._one("SELECT * FROM editors WHERE id = :id", id=editor_id)

    async def editors(self) -> list[Row]:
        return await self._all(
            "SELECT id, username, role, created_at, locked_until FROM editors ORDER BY username"
        )

    async def set_editor_role(self, editor_id: int, role: str) -> None:
        await self.conn.execute(
            "UPDATE editors SET role = :r WHERE id = :id", {"r": role, "id": editor_id}
        )

    async def delete_editor(self, editor_id: int) -> None:
        await self.conn.execute("DELETE FROM editors WHERE id = :id", {"id": editor_id})

    async def record_login(self, editor_id: int, failed: int, locked_until: str | None) -> None:
        await self.conn.execute(
            "UPDATE editors SET failed_logins = :f, locked_until = :l WHERE id = :id",
            {"f": failed, "l": locked_until, "id": editor_id},
        )

    async def insert_api_token(
        self, editor_id: int, name: str, token_hash: str, now: datetime
    ) -> int:
        row = await self._one(
            "INSERT INTO api_tokens (editor_id, name, token_hash, created_at) VALUES"
            " (:e, :n, :h, :now) RETURNING id",
            e=editor_id,
            n=name,
            h=token_hash,
            now=iso(now),
        )
        assert row is not None
        return int(row["id"])

    async def api_token_by_hash(self, token_hash: str) -> Row | None:
        return await self._one(
            "SELECT t.*, e.username FROM api_tokens t JOIN editors e ON e.id = t.editor_id"
            " WHERE t.token_hash = :h AND t.revoked_at IS NULL",
            h=token_hash,
        )

    async def api_tokens(self) -> list[Row]:
        return await self._all(
            "SELECT t.id, t.name, t.created_at, t.last_used_at, t.revoked_at, e.username"
            " FROM api_tokens t JOIN editors e ON e.id = t.editor_id ORDER BY t.id DESC"
        )

    async def api_token(self, token_id: int) -> Row | None:
        return await self._one("SELECT * FROM api_tokens WHERE id = :id", id=token_id)

    async def revoke_api_token(self, token_id: int, now: datetime) -> int:
        return await self.conn.execute(
            "UPDATE api_tokens SET revoked_at = :now WHERE id = :id AND revoked_at IS NULL",
            {"now": iso(now), "id": token_id},
        )

    # -- questions ------------------------------------------------------------
    async def insert_question(
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
    ) -> int:
        row = await self._one(
            "INSERT INTO questions (event_id, body, display_name, reader_id, client_key, status,"
            " directed_to, held_reason, created_at, updated_at) VALUES (:e, :body, :name,"
            " :reader, :key, :status, :to, :held, :now, :now) RETURNING id",
            e=event_id,
            body=body,
            name=display_name,
            reader=reader_id,
            key=client_key,
            status=status,
            to=directed_to,
            held=held_reason,
            now=iso(now),
        )
        assert row is not None
        return int(row["id"])

    async def question_by_client_key(
        self, event_id: int, reader_id: str, client_key: str
    ) -> Question | None:
        row = await self._one(
            "SELECT * FROM questions WHERE event_id = :e AND reader_id = :r AND client_key = :k",
            e=event_id,
            r=reader_id,
            k=client_key,
        )
        return _question(row) if row else None

    async def question(self, question_id: int) -> Question | None:
        row = await self._one("SELECT * FROM questions WHERE id = :id", id=question_id)
        return _question(row) if row else None

    async def questions(self, event_id: int, statuses: Sequence[str]) -> list[Question]:
        rows = await self._all(
            "SELECT * FROM questions WHERE event_id = :e ORDER BY created_at, id", e=event_id
        )
        return [q for q in map(_question, rows) if q.status in statuses]

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
        row = await self._one(
            "SELECT 1 AS x FROM reader_bans WHERE event_id = :e AND reader_id = :r",
            e=event_id,
            r=reader_id,
        )
        return row is not None

    # -- answers --------------------------------------------------------------
    async def insert_answer(
        self,
        question_id: int,
        body_md: str,
        panelist_id: int | None,
        editor_id: int | None,
        now: datetime,
    ) -> int:
        row = await self._one(
            "INSERT INTO answers (question_id, panelist_id, editor_id, body_md, created_at,"
            " updated_at) VALUES (:q, :p, :ed, :body, :now, :now) RETURNING id",
            q=question_id,
            p=panelist_id,
            ed=editor_id,
            body=body_md,
            now=iso(now),
        )
        assert row is not None
        return int(row["id"])

    async def answer(self, answer_id: int) -> Answer | None:
        row = await self._one("SELECT * FROM answers WHERE id = :id", id=answer_id)
        return _answer(row) if row else None

    async def update_answer(self, answer_id: int, now: datetime, **fields: Any) -> None:
        await self._update("answers", answer_id, fields, now)

    async def answers_for_event(self, event_id: int) -> list[Answer]:
        rows = await self._all(
            "SELECT a.* FROM answers a JOIN questions q ON q.id = a.question_id"
            " WHERE q.event_id = :e AND a.status = 'published' ORDER BY a.created_at, a.id",
            e=event_id,
        )
        return [_answer(r) for r in rows]

    # -- event log ------------------------------------------------------------
    async def append_frame(
        self, event_id: int, type_: str, data: dict[str, Any], at: datetime
    ) -> Frame:
        """Give the change its seq; the counter row serialises writers, so seq has no gaps."""
        row = await self._one(
            "UPDATE events SET last_seq = last_seq + 1 WHERE id = :e RETURNING last_seq",
            e=event_id,
        )
        assert row is not None, f"no event {event_id}"
        seq = int(row["last_seq"])
        await self.conn.execute(
            "INSERT INTO event_log (event_id, seq, type, payload, at) VALUES"
            " (:e, :seq, :type, :payload, :at)",
            {
                "e": event_id,
                "seq": seq,
                "type": type_,
                "payload": json.dumps(data, separators=(",", ":")),
                "at": iso(at),
            },
        )
        frame = Frame(event_id, seq, type_, at, data)
        self.frames.append(frame)
        return frame

    def notify_staff(self, event_id: int, data: dict[str, Any], at: datetime) -> None:
        """A staff-only notice (no seq, not logged), sent after commit like the frames."""
        self.frames.append(Frame(event_id, None, "queue.changed", at, data))

    async def frames_since(self, event_id: int, since: int, limit: int = 1000) -> list[Frame]:
        rows = await self._all(
            "SELECT seq, type, payload, at FROM event_log WHERE event_id = :e AND seq > :since"
            " ORDER BY seq LIMIT :limit",
            e=event_id,
            since=since,
            limit=limit,
        )
        return [_frame(event_id, r) for r in rows]

    async def last_seq(self, event_id: int) -> int:
        row = await self._one("SELECT last_seq FROM events WHERE id = :e", e=event_id)
        return int(row["last_seq"]) if row else 0

    # -- audit ----------------------------------------------------------------
    async def audit(
        self,
        *,
        actor: str,
        action: str,
        event_id: int | None,
        target: str,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
        now: datetime,
    ) -> None:
        await self.conn.execute(
            "INSERT INTO audit_log (at, actor, action, event_id, target, before_json,"
            " after_json) VALUES (:at, :actor, :action, :e, :target, :before, :after)",
            {
                "at": iso(now),
                "actor": actor,
                "action": action,
                "e": event_id,
                "target": target,
                "before": json.dumps(before or {}),
                "after": json.dumps(after or {}),
            },
        )

    async def audit_entries(self, event_id: int | None = None, limit: int = 500) -> list[Row]:
        if event_id is None:
            return await self._all("SELECT * FROM audit_log ORDER BY id DESC LIMIT :l", l=limit)
        return await self._all(
            "SELECT * FROM audit_log WHERE event_id = :e ORDER BY id DESC LIMIT :l",
            e=event_id,
            l=limit,
        )

    # -- transcripts ----------------------------------------------------------
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

    async def ping(self) -> bool:
        return await self._one("SELECT 1 AS ok") is not None

    # -- archive --------------------------------------------------------------
    # Curation (the editors' working copy) lives in transcripts.items_json/intro/outro; what
    # the public sees is the snapshot in published_json plus its rows in archive_items.
    # The search statements themselves are dialect-specific and live in store/search.py.
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

    async def published_document(self, slug: str) -> Row | None:
        """The public snapshot of a published event's transcript, or None."""
        return await self._one(
            "SELECT e.id AS event_id, t.published_json, t.published_at, t.republished_at"
            " FROM transcripts t JOIN events e ON e.id = t.event_id"
            " WHERE e.slug = :slug AND e.status = 'published' AND t.published_json IS NOT NULL",
            slug=slug,
        )

    _PUBLISHED = (
        " FROM transcripts t JOIN events e ON e.id = t.event_id"
        " WHERE e.status = 'published' AND t.published_json IS NOT NULL"
        " AND (:person = '' OR EXISTS (SELECT 1 FROM archive_items i"
        " JOIN archive_item_people p ON p.item_id = i.id"
        " WHERE i.event_id = e.id AND p.name = :person))"
    )

    async def published_transcripts(
        self, *, person: str = "", limit: int = 20, offset: int = 0
    ) -> list[Row]:
        """Published transcripts, newest event first; `person` keeps those they answered in."""
        return await self._all(
            "SELECT e.id, e.slug, e.title, e.summary, e.starts_at, e.ends_at, e.timezone,"
            " t.intro_md, t.published_at, t.republished_at,"
            " (SELECT COUNT(*) FROM archive_items i WHERE i.event_id = e.id) AS items"
            + self._PUBLISHED
            + " ORDER BY e.starts_at DESC, e.id DESC LIMIT :limit OFFSET :offset",
            person=person,
            limit=limit,
            offset=offset,
        )

    async def count_published_transcripts(self, *, person: str = "") -> int:
        row = await self._one("SELECT COUNT(*) AS n" + self._PUBLISHED, person=person)
        return int(row["n"]) if row else 0

    async def recently_updated_transcripts(self, limit: int = 50) -> list[Row]:
        """For the feed: the most recently (re)published first."""
        return await self._all(
            "SELECT e.id, e.slug, e.title, e.summary, e.starts_at, e.intro_md AS event_intro_md,"
            " t.intro_md, t.published_at, t.republished_at,"
            " COALESCE(t.republished_at, t.published_at) AS updated,"
            " (SELECT COUNT(*) FROM archive_items i WHERE i.event_id = e.id) AS items"
            + self._PUBLISHED
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

    async def search_archive(
        self, query: str, *, person: str = "", limit: int = 10, offset: int = 0
    ) -> list[Row]:
        """Ranked hits for an FTS query built by search.match_query (markers, not HTML)."""
        sql = search.search_sql(self.conn)
        return await self._all(
            sql.hits,
            query=query,
            person=person,
            limit=limit,
            offset=offset,
            **search.marker_params(),
        )

    async def count_archive_hits(self, query: str, *, person: str = "") -> int:
        row = await self._one(search.search_sql(self.conn).count, query=query, person=person)
        return int(row["n"]) if row else 0
