"""The pre-event digest by email: one message to each panelist of the event who has an
address, holding their own questions first, then the rest (panel/digest.py writes them).

An editor sends it with one action (`send_now`), or schedules it `hours_before` the start
(`schedule`), and the scheduler sends it once (`send_due`, a duty of the lease holder). Either
way the messages are queued in the action's own transaction and sent by the outbox task."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from panel.clock import Clock
from panel.digest import build_digest, digest_html, digest_subject, digest_text
from panel.domain import SYSTEM, Actor, Event, RuleError, accepts_questions, iso
from panel.mail.config import NOT_CONFIGURED, MailConfig
from panel.mail.message import html_document
from panel.outbox import Outbox, queue_mail
from panel.store import Store
from panel.store.digest_schedules import DigestSchedule
from panel.writes import Tx, Writer, event_or_fail

log = logging.getLogger(__name__)
KIND = "digest"
MAX_HOURS_BEFORE = 24 * 30
# The send form's one-time key (a double click posts it twice; a fresh page has a new one).
REQUEST_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")


@dataclass(frozen=True)
class Letter:
    panelist_id: int
    to: str
    subject: str
    text: str
    html: str


class DigestMail:
    def __init__(
        self, store: Store, clock: Clock, mail: MailConfig | None, outbox: Outbox | None
    ) -> None:
        self.store = store
        self.clock = clock
        self.write = Writer(store, clock)
        self.mail = mail
        self.outbox = outbox
        self.on_schedule_change: Callable[[], None] = lambda: None  # the scheduler's poke

    def _require_mail(self) -> None:
        if self.mail is None:
            raise RuleError("unavailable", NOT_CONFIGURED + ".")

    async def letters(self, event_id: int, include_pending: bool) -> list[Letter]:
        """The digest written for each panelist with an address, from one read snapshot."""
        async with self.store.read() as repo:
            event = await event_or_fail(repo, event_id)
            digest = await build_digest(
                repo, event, include_pending=include_pending, now=self.clock.now()
            )
            emails = await repo.panelist_emails([p.id for p in digest.panelists])
        subject = digest_subject(digest)
        return [
            Letter(
                panelist_id=p.id,
                to=emails[p.id],
                subject=subject,
                text=digest_text(digest, p.id),
                html=html_document(subject, digest_html(digest, p.id)),
            )
            for p in digest.panelists
            if p.id in emails
        ]

    async def send_now(
        self, event_id: int, actor: Actor, *, include_pending: bool, request_key: str
    ) -> int:
        """Queue the digest for every panelist with an address; how many messages were
        queued (0 when this request key was sent already: a double click sends once)."""
        self._require_mail()
        if not REQUEST_KEY.fullmatch(request_key):
            raise RuleError("invalid", "The form is out of date: reload the page and send again.")
        letters = await self.letters(event_id, include_pending)
        if not letters:
            raise RuleError(
                "invalid",
                "No panelist of this event has an email address: add them on the Set-up page.",
            )

        async def job(tx: Tx) -> int:
            queued = await _queue(tx, event_id, letters, f"digest:{event_id}:{request_key}")
            if queued:
                await tx.audit(
                    "digest.send",
                    f"event:{event_id}",
                    event_id=event_id,
                    after={"messages": queued, "include_pending": include_pending},
                )
            return queued

        queued = await self.write(actor, job)
        self._poke_outbox()
        return queued

    async def schedule(
        self, event_id: int, actor: Actor, *, hours_before: int, include_pending: bool
    ) -> None:
        """Have the scheduler send the digest `hours_before` the event starts (once)."""
        self._require_mail()
        if not 1 <= hours_before <= MAX_HOURS_BEFORE:
            raise RuleError(
                "invalid", f"Hours before the start must be from 1 to {MAX_HOURS_BEFORE}."
            )

        async def job(tx: Tx) -> None:
            event = await tx.event(event_id)
            if not accepts_questions(event.status) and event.status != "draft":
                raise RuleError("conflict", f"This event is {event.status}: too late for a digest.")
            await tx.repo.set_digest_schedule(event_id, hours_before, include_pending, tx.now)
            await tx.audit(
                "digest.schedule",
                f"event:{event_id}",
                event_id=event_id,
                after={"hours_before": hours_before, "include_pending": include_pending},
            )

        await self.write(actor, job)
        self.on_schedule_change()

    async def cancel_schedule(self, event_id: int, actor: Actor) -> None:
        async def job(tx: Tx) -> None:
            if not await tx.repo.cancel_digest_schedule(event_id):
                raise RuleError("not_found", "No digest is scheduled for this event.")
            await tx.audit("digest.unschedule", f"event:{event_id}", event_id=event_id)

        await self.write(actor, job)

    async def send_due(self) -> datetime | None:
        """The scheduler's duty: send each scheduled digest whose time has come, once;
        return when the next one is due. Without email, nothing is sent (the desk says so)."""
        if self.mail is None:
            return None
        now = self.clock.now()
        async with self.store.read() as repo:
            schedules = await repo.unsent_digest_schedules()
            events = {s.event_id: await repo.event_by_id(s.event_id) for s in schedules}
        wake: datetime | None = None
        for schedule in schedules:
            event = events[schedule.event_id]
            if event is None or not accepts_questions(event.status):
                continue  # a draft waits; a closed event's digest is never sent
            due = send_time(event, schedule)
            if due > now:
                wake = due if wake is None else min(wake, due)
                continue
            try:
                await self._send_scheduled(event, schedule)
            except Exception:  # one event's failure does not stop the others
                log.exception("digest: the scheduled digest of %s failed", event.slug)
        return wake

    async def _send_scheduled(self, event: Event, schedule: DigestSchedule) -> None:
        letters = await self.letters(event.id, schedule.include_pending)
        key = f"digest:{event.id}:scheduled:{iso(schedule.created_at)}"

        async def job(tx: Tx) -> int | None:
            # Marking it sent in the same transaction as the messages is what makes it once:
            # after a restart, or in another process, it is no longer unsent.
            if not await tx.repo.mark_digest_sent(event.id, tx.now):
                return None
            queued = await _queue(tx, event.id, letters, key)
            await tx.audit(
                "digest.send",
                f"event:{event.id}",
                event_id=event.id,
                after={"messages": queued, "scheduled": True},
            )
            return queued

        if await self.write(SYSTEM, job) is not None:
            self._poke_outbox()

    def _poke_outbox(self) -> None:
        if self.outbox is not None:
            self.outbox.poke()


def send_time(event: Event, schedule: DigestSchedule) -> datetime:
    return event.starts_at - timedelta(hours=schedule.hours_before)


async def _queue(tx: Tx, event_id: int, letters: list[Letter], key: str) -> int:
    queued = 0
    for letter in letters:
        new = await queue_mail(
            tx,
            to=letter.to,
            subject=letter.subject,
            text=letter.text,
            html=letter.html,
            kind=KIND,
            event_id=event_id,
            dedupe_key=f"{key}:{letter.panelist_id}",
        )
        queued += new is not None
    return queued
