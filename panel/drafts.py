"""Panelists' drafts and soft claims: typed answers that survive anything, and "being
answered by" marks that other staff see within a second.

A draft is private to its panelist. A claim is a draft row with `claimed_until` set: opening
the answer box sets it, typing renews it, closing the box or publishing ends it, and an idle
box lets it lapse. Claims are soft: others can still answer. Staff pages hear about a claim
that starts or ends through a staff notice carrying only the question id.
"""

from __future__ import annotations

import unicodedata
from datetime import timedelta

from panel.answers import NOT_TAKING_ANSWERS
from panel.clock import Clock
from panel.config import Settings
from panel.domain import (
    Actor,
    Draft,
    EventStatus,
    Question,
    QuestionStatus,
    RuleError,
    takes_answers,
)
from panel.store import Repo, Store
from panel.text import CONTROL_CHARS
from panel.writes import Tx, Writer, panel_member, question_or_fail


def seen_by_panel(question: Question) -> bool:
    """Panelists see published questions, and those taken down after being published (merged
    ones stay approved). Pending and rejected text is for editors only."""
    return question.status in (QuestionStatus.APPROVED, QuestionStatus.WITHDRAWN)


async def panel_question(repo: Repo, question_id: int) -> Question:
    """A question as a panelist may know it: one never published does not exist for them."""
    question = await question_or_fail(repo, question_id)
    if not seen_by_panel(question):
        raise RuleError("not_found", "No such question.")
    return question


def unanswerable_reason(question: Question, event_status: EventStatus) -> str | None:
    """Why a panelist cannot answer this question now, in words; None when they can."""
    if question.merged_into is not None:
        return f"The editors merged this question into #{question.merged_into}: answer it there."
    if question.status == QuestionStatus.WITHDRAWN:
        return "The editors withdrew this question: it can no longer be answered."
    if question.status != QuestionStatus.APPROVED:
        return "This question is not published, so it cannot be answered."
    if not takes_answers(event_status):
        return NOT_TAKING_ANSWERS
    return None


def draft_text(value: object, max_chars: int) -> str:
    """A draft is kept as typed (no trimming: the panelist is mid-sentence), but checked."""
    if not isinstance(value, str):
        raise RuleError("invalid", "The draft must be text.")
    text = unicodedata.normalize("NFC", value.replace("\r\n", "\n"))
    if CONTROL_CHARS.search(text):
        raise RuleError("invalid", "The draft contains control characters.")
    if len(text) > max_chars:
        raise RuleError(
            "too_long",
            f"Your answer is {len(text):,} characters; the limit is {max_chars:,}. "
            "Shorten it to save and publish it.",
        )
    return text


class Drafts:
    def __init__(self, store: Store, clock: Clock, settings: Settings) -> None:
        self.write = Writer(store, clock)
        self.settings = settings

    @property
    def idle(self) -> timedelta:
        return timedelta(seconds=self.settings.claim_idle_seconds)

    async def get(self, question_id: int, actor: Actor) -> Draft | None:
        async with self.write.store.read() as repo:
            question = await panel_question(repo, question_id)
            panelist_id = await _own_panelist(repo, actor, question.event_id)
            return await repo.draft(question_id, panelist_id)

    async def claim(self, question_id: int, actor: Actor) -> Draft:
        """Open the answer box: mark the question as being answered by this panelist."""

        async def job(tx: Tx) -> Draft:
            question, panelist_id, earlier = await _mine(tx, question_id)
            reason = unanswerable_reason(question, (await tx.event(question.event_id)).status)
            if reason:
                raise RuleError("conflict", reason)
            body = earlier.body if earlier else ""
            return await self._keep(tx, question, panelist_id, body, earlier, claim=True)

        return await self.write(actor, job)

    async def save(self, question_id: int, actor: Actor, body: object) -> Draft:
        """Keep what the panelist has typed so far; typing renews an open box's claim."""
        text = draft_text(body, self.settings.answer_max_chars)

        async def job(tx: Tx) -> Draft:
            question, panelist_id, earlier = await _mine(tx, question_id)
            event = await tx.event(question.event_id)
            # The box is open when a claim was set (even a lapsed one): typing renews it. A
            # question that went away keeps the text but no longer takes a claim.
            open_box = earlier is not None and earlier.claimed_until is not None
            claim = open_box and unanswerable_reason(question, event.status) is None
            return await self._keep(tx, question, panelist_id, text, earlier, claim=claim)

        return await self.write(actor, job)

    async def release(self, question_id: int, actor: Actor, body: object = None) -> Draft | None:
        """Close the answer box: the claim ends, the text (if any) stays as a draft."""
        text = None if body is None else draft_text(body, self.settings.answer_max_chars)

        async def job(tx: Tx) -> Draft | None:
            question, panelist_id, earlier = await _mine(tx, question_id)
            kept = text if text is not None else (earlier.body if earlier else "")
            if not kept:
                await _forget(tx, question, panelist_id, earlier)
                return None
            return await self._keep(tx, question, panelist_id, kept, earlier, claim=False)

        return await self.write(actor, job)

    async def discard(self, question_id: int, actor: Actor) -> None:
        """Throw the draft away, and the claim with it."""

        async def job(tx: Tx) -> None:
            question, panelist_id, earlier = await _mine(tx, question_id)
            await _forget(tx, question, panelist_id, earlier)

        await self.write(actor, job)

    async def _keep(
        self,
        tx: Tx,
        question: Question,
        panelist_id: int,
        body: str,
        earlier: Draft | None,
        *,
        claim: bool,
    ) -> Draft:
        until = tx.now + self.idle if claim else None
        await tx.repo.save_draft(
            question_id=question.id,
            panelist_id=panelist_id,
            event_id=question.event_id,
            body=body,
            now=tx.now,
            claimed_until=until,
        )
        was_claimed = earlier is not None and earlier.claims(tx.now)
        if claim != was_claimed:  # only a claim that starts or ends is news to colleagues
            tx.notify_staff(question.event_id, {"claim": question.id})
        return Draft(question.id, panelist_id, question.event_id, body, tx.now, until)


async def _mine(tx: Tx, question_id: int) -> tuple[Question, int, Draft | None]:
    """The question (as a panelist may know it), the acting panelist, and their draft."""
    question = await panel_question(tx.repo, question_id)
    panelist_id = await _own_panelist(tx.repo, tx.actor, question.event_id)
    return question, panelist_id, await tx.repo.draft(question_id, panelist_id)


async def _forget(tx: Tx, question: Question, panelist_id: int, earlier: Draft | None) -> None:
    await tx.repo.delete_draft(question.id, panelist_id)
    if earlier is not None and earlier.claims(tx.now):
        tx.notify_staff(question.event_id, {"claim": question.id})


async def _own_panelist(repo: Repo, actor: Actor, event_id: int) -> int:
    """Drafts belong to a panelist of this event, signed in to it."""
    panelist_id = await panel_member(repo, actor, event_id)
    if panelist_id is not None:
        return panelist_id
    raise RuleError("forbidden", "Only this event's panelists keep drafts here.")
