"""The event log (every public change, numbered by the event's gapless seq), staff notices,
and the audit log of who changed what."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from panel.domain import Frame, iso, parse_iso
from panel.store.rows import Row, Rows, in_list


def _frame(event_id: int, r: Row) -> Frame:
    return Frame(event_id, r["seq"], r["type"], parse_iso(r["at"]), json.loads(r["payload"]))


class LogRows(Rows):
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
        last, _ = await self.log_state(event_id)
        return last

    async def log_state(self, event_id: int) -> tuple[int, int]:
        """Where the event's log ends, and how many times forget-reader rewrote it."""
        row = await self._one("SELECT last_seq, log_rewrites FROM events WHERE id = :e", e=event_id)
        return (int(row["last_seq"]), int(row["log_rewrites"])) if row else (0, 0)

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

    async def audit_entries(
        self,
        event_id: int | None = None,
        limit: int = 500,
        *,
        actor: str | None = None,
        action: str | None = None,
    ) -> list[Row]:
        """Newest first: one event's entries (all entries if None), optionally one actor's or
        one action's."""
        where, params = _audit_where(event_id, actor=actor, action=action)
        return await self._all(
            f"SELECT * FROM audit_log{where} ORDER BY id DESC LIMIT :l", l=limit, **params
        )

    async def audit_entry(self, entry_id: int) -> Row | None:
        return await self._one("SELECT * FROM audit_log WHERE id = :id", id=entry_id)

    async def latest_audit(
        self, event_id: int, target: str, actions: Sequence[str] = ()
    ) -> Row | None:
        """The newest entry on `target` (optionally only these actions): who last did what."""
        only, names = in_list("a", actions)
        rows = await self._all(
            "SELECT * FROM audit_log WHERE event_id = :e AND target = :t"
            + (f" AND action IN {only}" if actions else "")
            + " ORDER BY id DESC LIMIT 1",
            e=event_id,
            t=target,
            **names,
        )
        return rows[0] if rows else None

    async def audit_after(self, event_id: int, target: str, entry_id: int) -> Row | None:
        """The first entry on `target` after entry `entry_id`: someone acted on it since."""
        return await self._one(
            "SELECT * FROM audit_log WHERE event_id = :e AND target = :t AND id > :id"
            " ORDER BY id LIMIT 1",
            e=event_id,
            t=target,
            id=entry_id,
        )

    async def changed_since(self, question_id: int, at: datetime) -> bool:
        """Whether the question or any of its answers changed after `at` (e.g. an answer)."""
        row = await self._one(
            "SELECT 1 AS x FROM questions WHERE id = :q AND updated_at > :at"
            " UNION ALL SELECT 1 AS x FROM answers WHERE question_id = :q AND updated_at > :at",
            q=question_id,
            at=iso(at),
        )
        return row is not None

    async def audit_choices(self, event_id: int | None = None) -> tuple[list[str], list[str]]:
        """The actors and the actions that occur in a log, for its filters."""
        where, params = _audit_where(event_id)
        actors = await self._all(f"SELECT DISTINCT actor FROM audit_log{where}", **params)
        actions = await self._all(f"SELECT DISTINCT action FROM audit_log{where}", **params)
        return (
            sorted(str(r["actor"]) for r in actors),
            sorted(str(r["action"]) for r in actions),
        )


def _audit_where(
    event_id: int | None, *, actor: str | None = None, action: str | None = None
) -> tuple[str, dict[str, Any]]:
    """The WHERE clause (with its parameters) that picks a log and its filters."""
    conditions, params = [], {}
    for column, value in (("event_id", event_id), ("actor", actor), ("action", action)):
        if value is not None:
            conditions.append(f"{column} = :{column}")
            params[column] = value
    return (" WHERE " + " AND ".join(conditions) if conditions else ""), params
