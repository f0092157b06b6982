"""Editors' moderation: the eleven actions on a question, bans, and ban-and-reject.

Each moderation action is a small function of (tx, question, request); `moderate` runs the
named one in a transaction with its audit entry and staff notice. The first decision wins:
a second approve or reject gets `already_moderated`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from panel import merging, openness
from panel.auditview import who
from panel.clock import Clock
from panel.config import Settings
from panel.domain import Actor, Question, QuestionStatus, RuleError, parse_iso
from panel.live import protocol as p
from panel.questions import publish_question
from panel.store import Store
from panel.text import clean_text, optional_id
from panel.writes import Tx, Writer

# An editor's private reason for a rejection (kept in the audit log).
REASON_MAX_CHARS = 500


@dataclass(frozen=True)
class Request:
    """What an action may need besides the question, checked before the transaction."""

    into: int | None = None  # merge target
    reason: str = ""  # reject reason (private)
    asker_reason: str = ""  # reject reason shown to the asker only (panel/openness.py)
    body: str | None = None  # edit: the corrected text
    to: int | None = None  # direct: the panelist, or None for anyone


Handler = Callable[[Tx, Question, Request], Awaitable[None]]


async def _approve(tx: Tx, q: Question, _: Request) -> None:
    await _require_pending(tx, q)
    await tx.repo.update_question(q.id, tx.now, status=QuestionStatus.APPROVED)
    await publish_question(tx, q.id, p.QUESTION_PUBLISHED)
    await merging.follow(tx, q, QuestionStatus.APPROVED)


async def _reject(tx: Tx, q: Question, r: Request) -> None:
    await _require_pending(tx, q)
    waiting_with = [d for d in await tx.repo.duplicates_of(q.id) if d.status == q.status]
    await tx.repo.update_question(
        q.id,
        tx.now,
        status=QuestionStatus.REJECTED,
        reject_reason=r.reason,
        public_reason=r.asker_reason,
    )
    await merging.follow(tx, q, QuestionStatus.REJECTED, r.reason)
    # Each asker's page learns it (ids only); duplicates that waited with it share its
    # fate, and the reason shown.
    tx.notify_asker(q.event_id, q.id)
    for d in waiting_with:
        if r.asker_reason:
            await tx.repo.update_question(d.id, tx.now, public_reason=r.asker_reason)
        tx.notify_asker(d.event_id, d.id)


def _yes_no(column: str, value: bool, refusal: str) -> Handler:
    """pin/unpin and answered/unanswered: a yes/no mark on a published question. (Answered
    marks a question answered in the room or elsewhere, without a written answer here.)"""

    async def handler(tx: Tx, q: Question, _: Request) -> None:
        if q.status != QuestionStatus.APPROVED:
            raise RuleError("invalid", refusal)
        await tx.repo.update_question(q.id, tx.now, **{column: int(value)})
        await publish_question(tx, q.id, p.QUESTION_UPDATED)

    return handler


PIN_REFUSAL = "Only a published question can be pinned or unpinned."
ANSWERED_REFUSAL = "Only a published question can be marked answered."


async def _merge(tx: Tx, q: Question, r: Request) -> None:
    await merging.merge(tx, q, r.into)


async def _unmerge(tx: Tx, q: Question, _: Request) -> None:
    await merging.unmerge(tx, q)


async def _edit(tx: Tx, q: Question, r: Request) -> None:
    """Fix a typo; the original stays in the audit log."""
    if r.body is None:
        raise RuleError("invalid", "Editing needs the new text.")
    if q.status in (QuestionStatus.REJECTED, QuestionStatus.WITHDRAWN):
        raise RuleError("invalid", "This question is not shown; there is nothing to fix.")
    await tx.repo.update_question(q.id, tx.now, body=r.body)
    if q.status == QuestionStatus.APPROVED:
        await publish_question(tx, q.id, p.QUESTION_UPDATED)


async def _direct(tx: Tx, q: Question, r: Request) -> None:
    if r.to is not None and r.to not in await tx.people(q.event_id):
        raise RuleError("invalid", "That panelist is not on this event's panel.")
    await tx.repo.update_question(q.id, tx.now, directed_to=r.to)
    if q.status == QuestionStatus.APPROVED:
        await publish_question(tx, q.id, p.QUESTION_UPDATED)


async def _withdraw(tx: Tx, q: Question, _: Request) -> None:
    if q.status != QuestionStatus.APPROVED:
        raise RuleError("invalid", "Only a published question can be withdrawn.")
    await tx.repo.update_question(q.id, tx.now, status=QuestionStatus.WITHDRAWN, pinned=0)
    await tx.frame(q.event_id, p.QUESTION_WITHDRAWN, {"id": q.id})


HANDLERS: dict[str, Handler] = {
    "approve": _approve,
    "reject": _reject,
    "pin": _yes_no("pinned", True, PIN_REFUSAL),
    "unpin": _yes_no("pinned", False, PIN_REFUSAL),
    "merge": _merge,
    "unmerge": _unmerge,
    "withdraw": _withdraw,
    "edit": _edit,
    "direct": _direct,
    "answered": _yes_no("answered", True, ANSWERED_REFUSAL),
    "unanswered": _yes_no("answered", False, ANSWERED_REFUSAL),
}


class Moderation:
    def __init__(self, store: Store, clock: Clock, settings: Settings) -> None:
        self.write = Writer(store, clock)
        self.settings = settings

    async def moderate(
        self,
        question_id: int,
        action: str,
        actor: Actor,
        *,
        into: object = None,
        reason: object = "",
        body: object = None,
        to: object = None,
        asker_reason: object = None,
        asker_note: object = None,
    ) -> Question:
        """approve, reject (with a private reason, and what to show the asker), pin, unpin,
        merge (into), unmerge, withdraw, edit (body), direct (to), answered, unanswered."""
        request = self._request(into=into, reason=reason, body=body, to=to)
        if action == "reject":
            request = replace(request, asker_reason=openness.asker_reason(asker_reason, asker_note))
        if action not in HANDLERS:
            raise RuleError(
                "invalid",
                f"Unknown moderation action {action!r}; expected one of "
                + ", ".join(sorted(HANDLERS))
                + ".",
            )

        async def job(tx: Tx) -> Question:
            return await _run(tx, question_id, action, request)

        return await self.write(actor, job)

    async def ban_and_reject(self, question_id: int, actor: Actor) -> Question:
        """Stop a flooder in one step: ban the author from this event and reject the question."""

        async def job(tx: Tx) -> Question:
            await _ban(tx, question_id)
            return await _run(tx, question_id, "reject", Request(reason="Author banned"))

        return await self.write(actor, job)

    async def ban_author(self, question_id: int, actor: Actor) -> None:
        """Stop a flooder: the author of this question can post no more to this event."""

        async def job(tx: Tx) -> None:
            await _ban(tx, question_id)

        await self.write(actor, job)

    async def lift_ban(self, event_id: int, reader_id: str, actor: Actor) -> None:
        """Let a banned reader post again (a ban is per event)."""

        async def job(tx: Tx) -> None:
            if not await tx.repo.unban_reader(event_id, reader_id):
                raise RuleError("not_found", "That reader is not banned here.")
            await tx.audit(
                "reader.unban",
                f"reader:{reader_id[:8]}",
                event_id=event_id,
                before={"banned": True},
                after={"banned": False},
            )

        await self.write(actor, job)

    def _request(self, *, into: object, reason: object, body: object, to: object) -> Request:
        return Request(
            into=optional_id(into, "into"),
            reason=clean_text(reason, field="Reason", max_chars=REASON_MAX_CHARS, required=False),
            body=None
            if body is None
            else clean_text(
                body, field="Question", max_chars=self.settings.question_max_chars, required=True
            ),
            to=optional_id(to, "to"),
        )


async def _run(tx: Tx, question_id: int, action: str, request: Request) -> Question:
    """One moderation action on one question, audited, with a staff notice."""
    before = await tx.question(question_id)
    event = await tx.event(before.event_id)
    await HANDLERS[action](tx, before, request)
    after = await tx.question(question_id)
    await tx.audit(
        f"question.{action}",
        f"question:{question_id}",
        event_id=event.id,
        before=_audit_view(before),
        after=_audit_view(after),
    )
    tx.notify_staff(event.id, {"question_id": question_id, "action": action})
    return after


async def _ban(tx: Tx, question_id: int) -> None:
    question = await tx.question(question_id)
    await tx.repo.ban_reader(question.event_id, question.reader_id, tx.now)
    await tx.audit(
        "reader.ban",
        f"question:{question_id}",
        event_id=question.event_id,
        before={},
        after={"banned": True},
    )


async def _require_pending(tx: Tx, q: Question) -> None:
    if q.status != QuestionStatus.PENDING:
        raise await _already_decided(
            tx, q, f"This question was already dealt with (it is {q.status})."
        )
    merging.refuse_if_waiting_with(q)


# The decisions that take a question out of the queue, in the words of the refusal.
DECISIONS = {
    "question.approve": "approved",
    "question.reject": "rejected",
    "question.merge": "merged",
    "question.withdraw": "withdrew",
}


async def _already_decided(tx: Tx, q: Question, fallback: str) -> RuleError:
    """First decision wins: the refusal names who decided and when, from the audit log
    ("Anna already approved this question at 13:42."); `fallback` when no editor did (a
    question published by post-moderation) or the last decision was undone."""
    entry = await tx.repo.latest_audit(
        q.event_id, f"question:{q.id}", [*DECISIONS, "question.undo"]
    )
    if entry is None or entry["action"] not in DECISIONS:
        return RuleError("already_moderated", fallback)
    event = await tx.event(q.event_id)
    at = event.local(parse_iso(entry["at"])).strftime("%H:%M")
    return RuleError(
        "already_moderated",
        f"{who(entry['actor'])} already {DECISIONS[entry['action']]} this question at {at}.",
    )


def _audit_view(q: Question) -> dict[str, Any]:
    return {
        "status": q.status,
        "body": q.body,
        "pinned": q.pinned,
        "merged_into": q.merged_into,
        "upvotes": q.upvotes,
        # Without these, marking answered, directing and a reject's reason left no trace.
        "answered": q.answered,
        "directed_to": q.directed_to,
        "reject_reason": q.reject_reason,
        "public_reason": q.public_reason,
    }
