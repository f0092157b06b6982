"""The mail outbox (migration 0015): messages waiting to be sent, sent, or given up on.

Rows are written by actions in their own transaction (`panel.outbox.queue_mail`) and worked
through by the outbox task, which claims a row before sending it. Editors only: the rows
hold panelists' addresses, so no public page or API reads them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from panel.domain import iso, parse_iso
from panel.store.rows import Row, Rows, in_list

QUEUED, SENT, FAILED = "queued", "sent", "failed"


@dataclass(frozen=True)
class OutboxMail:
    id: int
    event_id: int | None
    to: str
    subject: str
    text: str
    html: str
    kind: str
    dedupe_key: str | None
    created_at: datetime
    attempts: int
    next_try_at: datetime
    sent_at: datetime | None
    last_error: str
    status: str


def _mail(r: Row) -> OutboxMail:
    return OutboxMail(
        id=r["id"],
        event_id=r["event_id"],
        to=r["to_address"],
        subject=r["subject"],
        text=r["text_body"],
        html=r["html_body"],
        kind=r["kind"],
        dedupe_key=r["dedupe_key"],
        created_at=parse_iso(r["created_at"]),
        attempts=r["attempts"],
        next_try_at=parse_iso(r["next_try_at"]),
        sent_at=parse_iso(r["sent_at"]) if r["sent_at"] else None,
        last_error=r["last_error"],
        status=r["status"],
    )


class OutboxRows(Rows):
    async def queue_mail(
        self,
        *,
        to: str,
        subject: str,
        text: str,
        html: str,
        kind: str,
        now: datetime,
        event_id: int | None = None,
        dedupe_key: str | None = None,
    ) -> int | None:
        """The new row's id, or None when a row with this dedupe key exists already."""
        row = await self._one(
            "INSERT INTO mail_outbox (event_id, to_address, subject, text_body, html_body, kind,"
            " dedupe_key, created_at, next_try_at) VALUES (:e, :to, :subject, :text, :html,"
            " :kind, :key, :now, :now) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
            e=event_id,
            to=to,
            subject=subject,
            text=text,
            html=html,
            kind=kind,
            key=dedupe_key,
            now=iso(now),
        )
        return int(row["id"]) if row else None

    async def due_mail(self, now: datetime, limit: int = 50) -> list[OutboxMail]:
        """Queued rows whose next try has come, the longest waiting first."""
        rows = await self._all(
            "SELECT * FROM mail_outbox WHERE status = 'queued' AND next_try_at <= :now"
            " ORDER BY next_try_at, id LIMIT :limit",
            now=iso(now),
            limit=limit,
        )
        return [_mail(r) for r in rows]

    async def claim_mail(self, mail_id: int, now: datetime, retry_at: datetime) -> bool:
        """Take a due row for sending: count the attempt, clear the last one's error (this
        attempt's outcome replaces it) and move its next try to `retry_at` (when it is tried
        again should this attempt fail, or this process die). False when another process
        took it first."""
        taken = await self.conn.execute(
            "UPDATE mail_outbox SET attempts = attempts + 1, next_try_at = :retry,"
            " last_error = ''"
            " WHERE id = :id AND status = 'queued' AND next_try_at <= :now",
            {"id": mail_id, "now": iso(now), "retry": iso(retry_at)},
        )
        return taken == 1

    async def mail_sent(self, mail_id: int, now: datetime) -> None:
        await self.conn.execute(
            "UPDATE mail_outbox SET status = 'sent', sent_at = :now, last_error = ''"
            " WHERE id = :id",
            {"id": mail_id, "now": iso(now)},
        )

    async def mail_not_sent(self, mail_id: int, error: str, *, give_up: bool) -> None:
        """Record why an attempt failed; `give_up` marks the row failed for good."""
        await self.conn.execute(
            "UPDATE mail_outbox SET last_error = :error, status = :status WHERE id = :id",
            {"id": mail_id, "error": error[:1000], "status": FAILED if give_up else QUEUED},
        )

    async def retry_mail(self, mail_id: int, now: datetime) -> bool:
        """Queue a failed row again, with its attempts counted from zero (an editor's Retry)."""
        changed = await self.conn.execute(
            "UPDATE mail_outbox SET status = 'queued', attempts = 0, next_try_at = :now"
            " WHERE id = :id AND status = 'failed'",
            {"id": mail_id, "now": iso(now)},
        )
        return changed == 1

    async def mail_of_events(self, event_ids: Sequence[int]) -> list[Row]:
        """The bodies of every message about these events (forget-reader rewrites them)."""
        events, params = in_list("e", event_ids)
        return await self.conn.fetchall(
            "SELECT id, text_body, html_body FROM mail_outbox"
            f" WHERE event_id IN {events} ORDER BY id",
            params,
        )

    async def rewrite_mail(self, mail_id: int, text: str, html: str) -> None:
        await self.conn.execute(
            "UPDATE mail_outbox SET text_body = :text, html_body = :html WHERE id = :id",
            {"id": mail_id, "text": text, "html": html},
        )

    async def purge_mail(self, created_before: datetime) -> int:
        """Delete the sent and failed rows created before then (retention); queued ones stay."""
        return await self.conn.execute(
            "DELETE FROM mail_outbox WHERE status IN ('sent', 'failed') AND created_at < :before",
            {"before": iso(created_before)},
        )

    async def next_mail_due(self) -> datetime | None:
        row = await self._one(
            "SELECT MIN(next_try_at) AS due FROM mail_outbox WHERE status = 'queued'"
        )
        return parse_iso(row["due"]) if row and row["due"] else None

    async def mail_backlog(self) -> int:
        """How many messages wait to be sent (for the desk and /metrics)."""
        row = await self._one("SELECT COUNT(*) AS n FROM mail_outbox WHERE status = 'queued'")
        return int(row["n"]) if row else 0

    async def outbox(self, event_id: int | None = None, limit: int = 200) -> list[OutboxMail]:
        """The newest rows first, of one event or of all."""
        if event_id is None:
            rows = await self._all(
                "SELECT * FROM mail_outbox ORDER BY id DESC LIMIT :limit", limit=limit
            )
        else:
            rows = await self._all(
                "SELECT * FROM mail_outbox WHERE event_id = :e ORDER BY id DESC LIMIT :limit",
                e=event_id,
                limit=limit,
            )
        return [_mail(r) for r in rows]
