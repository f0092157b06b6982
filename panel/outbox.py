"""The mail outbox: a message is queued in the transaction of the action that causes it
(`queue_mail`), and a background task in each process sends what is due (`Outbox.run`).

So a request never waits for a mail server, and an outage loses nothing: a message that
could not be sent is tried again with exponential backoff, up to `mail_attempts` times,
unless the server refused it for good (5xx), which is recorded on its row at once. Several
processes may run the task: each claims a row in a write transaction before sending it
(`OutboxRows.claim_mail`), so no row is sent by two at once."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from panel.clock import Clock, sleep_until_or_woken
from panel.config import Settings
from panel.domain import Actor, RuleError
from panel.mail.config import MailConfig
from panel.mail.message import build_message
from panel.mail.smtp import MailRefused, SmtpSender
from panel.store import Store
from panel.store.outbox import OutboxMail
from panel.writes import Tx, Writer

log = logging.getLogger(__name__)
BATCH = 50  # rows read per look at the queue
# Look at the queue at least this often: mail queued by another process (which pokes only
# its own task) is still sent within this, should that process have stopped.
RECHECK = timedelta(minutes=1)
PURGE_EVERY = timedelta(hours=1)  # how often old sent and failed rows are deleted


async def queue_mail(
    tx: Tx,
    *,
    to: str,
    subject: str,
    text: str,
    html: str,
    kind: str,
    event_id: int | None = None,
    dedupe_key: str | None = None,
) -> int | None:
    """Queue a message in the action's own transaction; None when its dedupe key was queued
    before (a double click, a retried job). Call `Outbox.poke` after the commit."""
    return await tx.repo.queue_mail(
        to=to,
        subject=subject,
        text=text,
        html=html,
        kind=kind,
        now=tx.now,
        event_id=event_id,
        dedupe_key=dedupe_key,
    )


def retry_delay(settings: Settings, attempt: int) -> timedelta:
    """How long after failed attempt number `attempt` (from 1) the next one comes."""
    return timedelta(seconds=settings.mail_first_retry_seconds * 3 ** (attempt - 1))


class Outbox:
    """The sending task of one process, and what /metrics and the desk read of it."""

    def __init__(self, store: Store, clock: Clock, settings: Settings, config: MailConfig):
        self.store = store
        self.clock = clock
        self.settings = settings
        self.config = config
        self.sender = SmtpSender(config.target, settings.mail_timeout_seconds)
        self._poked = asyncio.Event()
        self.backlog = 0  # queued rows at the end of the last pass (for /metrics)
        self.sent = 0  # messages this process delivered to the server
        self.passes = 0  # completed looks at the queue, so tests can wait for one
        self.purged = 0  # old rows this process deleted (retention)
        self._purged_at: datetime | None = None

    async def retry(self, mail_id: int, actor: Actor) -> None:
        """An editor's Retry of a failed message: queued again, its attempts from zero."""

        async def job(tx: Tx) -> None:
            if not await tx.repo.retry_mail(mail_id, tx.now):
                raise RuleError("not_found", "No failed message with that number.")
            await tx.audit("mail.retry", f"mail:{mail_id}", event_id=None, after={"queued": 1})

        await Writer(self.store, self.clock)(actor, job)
        self.poke()

    def poke(self) -> None:
        """Look at the queue now: something was queued (call after the commit)."""
        self._poked.set()

    async def run(self) -> None:
        """The task: send what is due, then sleep until the next row is due, a poke, or
        RECHECK."""
        while True:
            self._poked.clear()  # before the pass, so a poke during it is not lost
            due: datetime | None = None
            try:
                await self.send_due()
                await self.purge_old()
                async with self.store.read() as repo:
                    due = await repo.next_mail_due()
                    self.backlog = await repo.mail_backlog()
            except Exception:  # e.g. the store is away: the next pass tries again
                log.exception("outbox: a pass over the queue failed")
            self.passes += 1
            latest = self.clock.now() + RECHECK
            await sleep_until_or_woken(
                self.clock, latest if due is None else min(due, latest), self._poked
            )

    async def purge_old(self) -> None:
        """At most once per PURGE_EVERY: delete the sent and failed rows older than
        `mail_keep_days` (0 keeps them). Each process may do it; a DELETE twice is harmless."""
        now = self.clock.now()
        keep = self.settings.mail_keep_days
        if keep <= 0 or (self._purged_at is not None and now - self._purged_at < PURGE_EVERY):
            return
        before = now - timedelta(days=keep)
        deleted = await self.store.write(lambda repo: repo.purge_mail(before))
        self._purged_at = now
        if deleted:
            self.purged += deleted
            log.info("outbox: deleted %s message(s) queued before %s", deleted, before.date())

    async def send_due(self) -> int:
        """Send every row that is due now; how many went out."""
        sent = 0
        while True:
            async with self.store.read() as repo:
                due = await repo.due_mail(self.clock.now(), BATCH)
            for mail in due:
                sent += await self._send(mail)
            if len(due) < BATCH:  # each row sent, failed or moved on: none is due again
                return sent

    async def _send(self, mail: OutboxMail) -> bool:
        now = self.clock.now()
        attempt = mail.attempts + 1
        # Claimed with its next try already set: if this process dies mid-send, the row
        # is tried again then, as after any other failed attempt.
        retry_at = now + retry_delay(self.settings, attempt)
        if not await self.store.write(lambda repo: repo.claim_mail(mail.id, now, retry_at)):
            return False  # another process took it
        message = build_message(
            sender=self.config.sender,
            to=mail.to,
            subject=mail.subject,
            text=mail.text,
            html=mail.html,
            now=now,
        )
        try:
            await self.sender.send(message)
        except MailRefused as refused:
            give_up = refused.permanent or attempt >= self.settings.mail_attempts
            reason = str(refused)
            await self.store.write(
                lambda repo: repo.mail_not_sent(mail.id, reason, give_up=give_up)
            )
            # The row id, not the address: logs are kept longer than the outbox.
            log.warning(
                "outbox: message %s attempt %s %s: %s",
                mail.id,
                attempt,
                "failed for good" if give_up else "failed, will retry",
                reason,
            )
            return False
        await self.store.write(lambda repo: repo.mail_sent(mail.id, self.clock.now()))
        self.sent += 1
        return True
