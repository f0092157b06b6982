"""Merging a duplicate into the question kept, so that nothing is lost, and separating it again.

A merge shows the duplicate under the kept question: its answers move there (each remembers
the question it was written for, `answers.moved_from`), its upvotes are added to the kept
question's, an answered duplicate makes the kept question answered, and its asker is credited
under the kept question. What the merge changed on the duplicate is recorded in
`questions.merge_undo`, so `unmerge` (the desk's "Separate") restores it.

The rules (docs/desk.md, "Merging"):
- The kept question is published or waiting. A waiting duplicate merged into a waiting
  question waits with it and shares its fate: published under it when it is approved,
  rejected with it. A public duplicate merged into a waiting question publishes the kept
  question, so readers never lose a question (or an answer) they could see.
- Merging into a question that is itself merged goes to the question it was merged into, and
  a question that has duplicates brings them along: there are never chains.
"""

from __future__ import annotations

import json
from typing import Any

from panel.answers import publish_answer
from panel.domain import Question, QuestionStatus, RuleError
from panel.live import protocol as p
from panel.questions import publish_question
from panel.writes import Tx

APPROVED, PENDING = QuestionStatus.APPROVED, QuestionStatus.PENDING
GONE = (QuestionStatus.REJECTED, QuestionStatus.WITHDRAWN)


async def merge(tx: Tx, dup: Question, into: int | None) -> None:
    """Merge `dup` into question `into` (or into the question that one was merged into)."""
    kept = await _kept_question(tx, dup, into)
    if dup.status == APPROVED and kept.status == PENDING:
        kept = await _approve_kept(tx, kept)
    shown = kept.status == APPROVED
    brought = await tx.repo.duplicates_of(dup.id)
    records = {d.id: await _record(tx, d, dup) for d in brought}
    own_votes = dup.upvotes - sum(r["upvotes"] for r in records.values())
    status = APPROVED if shown else dup.status
    undo = {
        "status": dup.status.value,
        "status_after": status.value,
        "pinned": dup.pinned,
        "upvotes": own_votes,
        "kept_answered": kept.answered,
    }
    await tx.repo.update_question(
        dup.id,
        tx.now,
        status=status,
        merged_into=kept.id,
        pinned=0,
        upvotes=own_votes,
        merge_undo=json.dumps(undo),
    )
    # Frames in an order every client can follow: the duplicate leaves its place (taking
    # its own duplicates' lines and its answers with it), then those lines and answers
    # reappear under the kept question, which then shows the combined count.
    if shown:
        public = dup.status == APPROVED
        await publish_question(tx, dup.id, p.QUESTION_UPDATED if public else p.QUESTION_PUBLISHED)
    for d in brought:
        await _repoint(tx, d, records[d.id], kept)
    moved = await tx.repo.published_answers(dup.id)
    await tx.repo.move_answers(dup.id, kept.id)
    if shown:
        for answer in moved:
            await publish_answer(tx, answer.id, kept.event_id, p.ANSWER_UPDATED)
    answered = kept.answered or dup.answered or bool(moved) or any(d.answered for d in brought)
    await tx.repo.update_question(
        kept.id, tx.now, upvotes=kept.upvotes + dup.upvotes, answered=int(answered)
    )
    if shown:
        await publish_question(tx, kept.id, p.QUESTION_UPDATED)


async def unmerge(tx: Tx, dup: Question) -> None:
    """Separate a merged question: restore it as it was before the merge."""
    if dup.merged_into is None:
        raise RuleError("invalid", "This question is not merged into another.")
    if dup.status in GONE:
        raise RuleError(
            "invalid",
            f"This question was {dup.status} after the merge; there is nothing to separate.",
        )
    kept = await tx.question(dup.merged_into)
    undo = await _record(tx, dup, kept)
    if kept.upvotes < undo["upvotes"]:
        raise RuleError(
            "conflict",
            f"#{kept.id} has fewer upvotes than this question gave it; it cannot be separated.",
        )
    # A duplicate that has since followed its kept question's fate (approved with it) keeps
    # that status; otherwise it gets back the status it had before the merge.
    status = QuestionStatus(undo["status"]) if dup.status == undo["status_after"] else dup.status
    was_shown = dup.status == APPROVED and kept.status == APPROVED
    await tx.repo.update_question(
        dup.id,
        tx.now,
        status=status,
        merged_into=None,
        merge_undo=None,
        pinned=int(bool(undo["pinned"]) and status == APPROVED),
    )
    await tx.repo.return_answers(dup.id)
    returned = await tx.repo.published_answers(dup.id)
    others = [d for d in await tx.repo.duplicates_of(kept.id) if d.status == APPROVED]
    answered = (
        bool(undo["kept_answered"])
        or bool(await tx.repo.published_answers(kept.id))
        or any(d.answered for d in others)
    )
    await tx.repo.update_question(
        kept.id, tx.now, upvotes=kept.upvotes - undo["upvotes"], answered=int(answered)
    )
    if status == APPROVED:
        await publish_question(
            tx, dup.id, p.QUESTION_UPDATED if was_shown else p.QUESTION_PUBLISHED
        )
        for answer in returned:
            await publish_answer(tx, answer.id, dup.event_id, p.ANSWER_UPDATED)
    elif was_shown:  # it was published only by the merge: back to the queue
        await tx.frame(dup.event_id, p.QUESTION_WITHDRAWN, {"id": dup.id})
    if kept.status == APPROVED:
        await publish_question(tx, kept.id, p.QUESTION_UPDATED)


async def follow(tx: Tx, kept: Question, status: QuestionStatus, reason: str = "") -> None:
    """Duplicates waiting with `kept` share its fate: published under it when it is approved,
    rejected with it. Call after `kept` itself changed (its frame goes first)."""
    for d in await tx.repo.duplicates_of(kept.id):
        if d.status != PENDING:
            continue
        fields: dict[str, Any] = {"status": status}
        if status == QuestionStatus.REJECTED:
            fields["reject_reason"] = reason
        await tx.repo.update_question(d.id, tx.now, **fields)
        if status == APPROVED:
            await publish_question(tx, d.id, p.QUESTION_PUBLISHED)
        await tx.audit(
            f"question.{'approve' if status == APPROVED else 'reject'}",
            f"question:{d.id}",
            event_id=d.event_id,
            before={"status": d.status, "merged_into": kept.id},
            after={"status": status, "merged_into": kept.id},
        )


def refuse_if_waiting_with(q: Question) -> None:
    """A duplicate waiting with its kept question is decided with it, not on its own."""
    if q.merged_into is not None:
        raise RuleError(
            "invalid",
            f"This question waits with #{q.merged_into}: approve or reject that one, "
            "or separate this one first.",
        )


async def _kept_question(tx: Tx, dup: Question, into: int | None) -> Question:
    if into is None or into == dup.id:
        raise RuleError("invalid", "Merging needs another question to merge into.")
    if dup.merged_into is not None:
        raise RuleError(
            "already_moderated",
            f"This question is already merged into #{dup.merged_into}; separate it first.",
        )
    if dup.status in GONE:
        raise RuleError(
            "already_moderated", f"This question was already dealt with (it is {dup.status})."
        )
    kept = await tx.question(into)
    if kept.event_id != dup.event_id:
        raise RuleError("invalid", "Both questions must belong to the same event.")
    if kept.merged_into is not None:  # never a chain: merge into the question it joined
        kept = await tx.question(kept.merged_into)
    if kept.id == dup.id:
        raise RuleError("invalid", f"#{into} is already merged into this question.")
    if kept.status not in (APPROVED, PENDING):
        raise RuleError(
            "invalid", f"Merge into a published or waiting question (#{kept.id} is {kept.status})."
        )
    return kept


async def _approve_kept(tx: Tx, kept: Question) -> Question:
    """A public duplicate merged into a waiting question publishes the kept question."""
    await tx.repo.update_question(kept.id, tx.now, status=APPROVED)
    await publish_question(tx, kept.id, p.QUESTION_PUBLISHED)
    await follow(tx, kept, APPROVED)
    await tx.audit(
        "question.approve",
        f"question:{kept.id}",
        event_id=kept.event_id,
        before={"status": kept.status},
        after={"status": APPROVED, "reason": "a published duplicate was merged into it"},
    )
    return await tx.question(kept.id)


async def _record(tx: Tx, dup: Question, kept: Question) -> dict[str, Any]:
    """What the merge of `dup` into `kept` changed. Merges made before it was recorded
    (migration 0010) published the duplicate and added its upvotes."""
    return await tx.repo.merge_undo(dup.id) or {
        "status": APPROVED.value,
        "status_after": APPROVED.value,
        "pinned": False,
        "upvotes": dup.upvotes,
        "kept_answered": kept.answered,
    }


async def _repoint(tx: Tx, d: Question, undo: dict[str, Any], kept: Question) -> None:
    """Move a duplicate of a question being merged under the question kept now."""
    status = APPROVED if kept.status == APPROVED and d.status == PENDING else d.status
    undo = {**undo, "kept_answered": kept.answered}
    await tx.repo.update_question(
        d.id, tx.now, status=status, merged_into=kept.id, merge_undo=json.dumps(undo)
    )
    if kept.status == APPROVED and status == APPROVED:
        await publish_question(
            tx, d.id, p.QUESTION_PUBLISHED if d.status == PENDING else p.QUESTION_UPDATED
        )
