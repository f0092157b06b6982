"""Undo: an editor takes back their own destructive action (close the event, reject and
ban, withdraw a question or an answer) within `Settings.undo_seconds`.

The undo token is the audit entry of the action: no table of its own. An undo is refused
when someone (or something) has acted on the target since, so it never overwrites a later
decision. The inverse runs in one transaction, audited as `question.undo`, `answer.undo` or
`event.undo` with the undone entry's id.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import timedelta

from panel.answers import publish_answer
from panel.auditview import row_sentence
from panel.clock import Clock
from panel.config import Settings
from panel.domain import Actor, EventStatus, Question, QuestionStatus, RuleError, parse_iso
from panel.events import change_status
from panel.live import protocol as p
from panel.questions import publish_question
from panel.store import Repo, Store
from panel.store.rows import Row
from panel.writes import Tx, Writer


class Undo:
    def __init__(self, store: Store, clock: Clock, settings: Settings) -> None:
        self.store = store
        self.write = Writer(store, clock)
        self.settings = settings
        # Called after an undo reopened an event (the scheduler looks again).
        self.on_schedule_change: Callable[[], None] = lambda: None

    async def offer(self, actor: Actor, event_id: int, target: str) -> int | None:
        """The token (audit entry id) for the actor's action just done on `target`, if it
        can be undone."""
        async with self.store.read() as repo:
            entry = await repo.latest_audit(event_id, target)
            if entry is None or not _by(entry, actor):
                return None
            return int(entry["id"]) if await _inverse(repo, entry) else None

    async def undo(self, entry_id: int, actor: Actor) -> str:
        """Apply the inverse of audit entry `entry_id`; returns what was restored, in words."""

        async def job(tx: Tx) -> tuple[str, bool]:
            entry = await tx.repo.audit_entry(entry_id)
            inverse = await _inverse(tx.repo, entry) if entry is not None else None
            if entry is None or inverse is None:
                raise RuleError("not_found", "There is nothing to undo.")
            if not _by(entry, actor):
                raise RuleError("forbidden", "Only the editor who did it can undo it.")
            window = self.settings.undo_seconds
            if tx.now - parse_iso(entry["at"]) > timedelta(seconds=window):
                raise RuleError("invalid", f"Cannot undo after {window} seconds.")
            later = await tx.repo.audit_after(entry["event_id"], entry["target"], entry["id"])
            if later is not None:
                if later["action"].endswith(".undo"):
                    raise RuleError("conflict", "That was already undone.")
                names = {p.id: p.name for p in (await tx.people(entry["event_id"])).values()}
                raise RuleError("conflict", f"Cannot undo: {row_sentence(later, names)} after you.")
            return await inverse(tx, entry), entry["action"] == "event.status"

        message, reopened = await self.write(actor, job)
        if reopened:
            self.on_schedule_change()
        return message


Inverse = Callable[[Tx, Row], Awaitable[str]]


def _by(entry: Row, actor: Actor) -> bool:
    """Whether the entry's actor (`editor:3:Anna`) is this editor, by kind and id."""
    return entry["actor"].split(":")[:2] == [actor.kind, str(actor.id)]


async def _inverse(repo: Repo, entry: Row) -> Inverse | None:
    """The inverse of an undoable entry; None for anything else."""
    action, after = entry["action"], json.loads(entry["after_json"])
    if action == "event.status" and after.get("status") == EventStatus.CLOSED:
        return _reopen
    if action == "question.withdraw":
        return _republish_question
    if action == "answer.withdraw":
        return _republish_answer
    if action == "question.reject":
        # Only the reject of "Reject and ban author", which audits its ban in the same
        # transaction (same instant, same editor) just before.
        ban = await repo.latest_audit(entry["event_id"], entry["target"], ["reader.ban"])
        if ban is not None and (ban["at"], ban["actor"]) == (entry["at"], entry["actor"]):
            return _unban
    return None


def _item_id(entry: Row) -> int:
    return int(entry["target"].split(":", 1)[1])


async def _unchanged_question(tx: Tx, entry: Row, status: QuestionStatus) -> Question:
    """The question, if it is still as the action left it (no answer, vote or edit since)."""
    question = await tx.question(_item_id(entry))
    if question.status != status or await tx.repo.changed_since(
        question.id, parse_iso(entry["at"])
    ):
        raise RuleError("conflict", f"Cannot undo: #{question.id} has changed since.")
    return question


async def _reopen(tx: Tx, entry: Row) -> str:
    event = await tx.event(entry["event_id"])
    if event.status != EventStatus.CLOSED:
        raise RuleError("conflict", "Cannot undo: the event is no longer closed.")
    if tx.now >= event.ends_at:
        raise RuleError(
            "invalid", "Cannot undo: the event's end time has passed, so it stays closed."
        )
    before = EventStatus(json.loads(entry["before_json"]).get("status", EventStatus.LIVE))
    await change_status(tx, event, before, undid=entry["id"])
    return f"Undone: the event is {before} again."


async def _unban(tx: Tx, entry: Row) -> str:
    question = await _unchanged_question(tx, entry, QuestionStatus.REJECTED)
    await tx.repo.unban_reader(question.event_id, question.reader_id)
    await tx.repo.update_question(
        question.id, tx.now, status=QuestionStatus.PENDING, reject_reason=""
    )
    await tx.audit(
        "question.undo",
        entry["target"],
        event_id=question.event_id,
        before={"status": question.status, "banned": True},
        after={"status": QuestionStatus.PENDING, "banned": False, "undid": entry["id"]},
    )
    # Nothing public changed: a staff notice only, no reader frame.
    tx.notify_staff(question.event_id, {"question_id": question.id, "action": "undo"})
    return f"Undone: #{question.id} is back in the queue and its author is not banned."


async def _republish_question(tx: Tx, entry: Row) -> str:
    question = await _unchanged_question(tx, entry, QuestionStatus.WITHDRAWN)
    pinned = bool(json.loads(entry["before_json"]).get("pinned", False))
    await tx.repo.update_question(
        question.id, tx.now, status=QuestionStatus.APPROVED, pinned=int(pinned)
    )
    await publish_question(tx, question.id, p.QUESTION_PUBLISHED)
    # Its answers were never withdrawn, only hidden with it: show them again, in order.
    for answer in await tx.repo.answers_for_event(question.event_id):
        if answer.question_id == question.id:
            await publish_answer(tx, answer.id, question.event_id, p.ANSWER_PUBLISHED)
    await tx.audit(
        "question.undo",
        entry["target"],
        event_id=question.event_id,
        before={"status": question.status},
        after={"status": QuestionStatus.APPROVED, "pinned": pinned, "undid": entry["id"]},
    )
    tx.notify_staff(question.event_id, {"question_id": question.id, "action": "undo"})
    return f"Undone: #{question.id} is published again."


async def _republish_answer(tx: Tx, entry: Row) -> str:
    answer = await tx.repo.answer(_item_id(entry))
    if answer is None or answer.status != "withdrawn" or answer.updated_at > parse_iso(entry["at"]):
        raise RuleError("conflict", "Cannot undo: the answer has changed since.")
    question = await tx.question(answer.question_id)
    if question.status != QuestionStatus.APPROVED or question.merged_into is not None:
        raise RuleError("conflict", f"Cannot undo: #{question.id} is no longer published.")
    await tx.repo.update_answer(answer.id, tx.now, status="published")
    await publish_answer(tx, answer.id, question.event_id, p.ANSWER_PUBLISHED)
    await tx.audit(
        "answer.undo",
        entry["target"],
        event_id=question.event_id,
        before={"status": "withdrawn"},
        after={"status": "published", "undid": entry["id"]},
    )
    tx.notify_staff(question.event_id, {"answer_id": answer.id, "action": "undo"})
    return f"Undone: the answer to #{question.id} is published again."
