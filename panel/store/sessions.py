"""Editors' and panelists' sessions: one row per signed-in browser, found by the token's hash."""

from __future__ import annotations

from datetime import datetime

from panel.domain import iso
from panel.store.rows import Row, Rows


class SessionRows(Rows):
    async def insert_session(
        self,
        session_id: str,
        kind: str,
        now: datetime,
        expires_at: datetime,
        *,
        editor_id: int | None = None,
        panelist_id: int | None = None,
        invite_id: int | None = None,
        event_id: int | None = None,
    ) -> None:
        await self.conn.execute(
            "INSERT INTO staff_sessions (id, kind, editor_id, panelist_id, invite_id, event_id,"
            " created_at, last_seen_at, expires_at)"
            " VALUES (:id, :kind, :ed, :p, :i, :e, :now, :now, :exp)",
            {
                "id": session_id,
                "kind": kind,
                "ed": editor_id,
                "p": panelist_id,
                "i": invite_id,
                "e": event_id,
                "now": iso(now),
                "exp": iso(expires_at),
            },
        )

    async def live_session(
        self, session_id: str, now: datetime, idle_since: datetime
    ) -> Row | None:
        """The session if it has neither expired nor idled out, with who it belongs to; an
        editor's only while the account is enabled, a panelist's only while the invite is."""
        return await self._one(
            "SELECT s.*, e.username, p.name AS panelist_name FROM staff_sessions s"
            " LEFT JOIN editors e ON e.id = s.editor_id"
            " LEFT JOIN panelists p ON p.id = s.panelist_id"
            " LEFT JOIN invites i ON i.id = s.invite_id"
            " WHERE s.id = :id AND s.expires_at > :now AND s.last_seen_at > :idle"
            " AND (s.kind <> 'editor' OR e.disabled_at IS NULL)"
            " AND (s.kind <> 'panelist' OR i.revoked_at IS NULL)",
            id=session_id,
            now=iso(now),
            idle=iso(idle_since),
        )

    async def touch_session(self, session_id: str, now: datetime) -> None:
        await self.conn.execute(
            "UPDATE staff_sessions SET last_seen_at = :now WHERE id = :id",
            {"now": iso(now), "id": session_id},
        )

    async def end_sessions(
        self,
        *,
        session_id: str | None = None,
        editor_id: int | None = None,
        invite_id: int | None = None,
        keep: str | None = None,
    ) -> list[str]:
        """Delete one session, or every session of an editor or an invite (except `keep`);
        the ids deleted, so that their open sockets can be closed."""
        rows = await self._all(
            "DELETE FROM staff_sessions WHERE (id = :id OR editor_id = :ed OR invite_id = :i)"
            " AND id <> :keep RETURNING id",
            id=session_id,
            ed=editor_id,
            i=invite_id,
            keep=keep or "",
        )
        return sorted(str(row["id"]) for row in rows)

    async def end_stale_sessions(self, now: datetime, idle_since: datetime) -> int:
        """Forget sessions that can no longer be used (housekeeping at sign-in)."""
        return await self.conn.execute(
            "DELETE FROM staff_sessions WHERE expires_at <= :now OR last_seen_at <= :idle",
            {"now": iso(now), "idle": iso(idle_since)},
        )
