"""Every state change: each runs as one store write and appends the frames it causes."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from panel import payloads
from panel.clock import Clock
from panel.config import Settings
from panel.domain import (
    Event,
    EventStatus,
    Moderation,
    Question,
    QuestionStatus,
    RuleError,
    Transition,
    accepts_questions,
    blocked_term_in,
    check_transition,
    due_transitions,
)
from panel.live import protocol as p
from panel.lookups import SYSTEM, Actor, clean_text  # noqa: F401 - re-exported
from panel.lookups import event_or_fail as _event
from panel.lookups import on_now_payload as _on_now_payload
from panel.lookups import optional_id as _optional_id
from panel.lookups import panel_member as _panel_member
from panel.lookups import people as _people
from panel.lookups import question_or_fail as _question
from panel.planning import Planning
from panel.store import Repo, Store
from panel.transcripts import Transcripts


class Actions(Planning):
    """Readers', moderators' and panelists' changes, plus the clock's; set-up is in Planning."""

    def __init__(self, store: Store, clock: Clock, settings: Settings) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        # Called after a change to an event's times or status (the scheduler looks again).
        self.on_schedule_change: Callable[[], None] = lambda: None
        self.unknown_logins: dict[str, tuple[int, datetime | None]] = {}

    # -- readers --------------------------------------------------------------
    async def post_question(
        self,
        event_id: int,
        reader_id: str,
        body: object,
        name: object = "",
        to: object = None,
        client_key: str | None = None,
    ) -> tuple[Question, bool]:
        """Store a reader's question; (question, False) when the key names an earlier one."""
        body, name = self.check_question(body, name)
        directed_to = _optional_id(to, "to")
        now = self.clock.now()

        async def job(repo: Repo) -> tuple[Question, bool]:
            event = await _event(repo, event_id)
            if client_key:
                earlier = await repo.question_by_client_key(event.id, reader_id, client_key)
                if earlier:
                    return earlier, False
            if not accepts_questions(event.status):
                raise RuleError("not_accepting", _closed_message(event.status))
            if await repo.is_banned(event.id, reader_id):
                raise RuleError("forbidden", "You can no longer post questions to this event.")
            await _check_slow_mode(repo, event, reader_id, now)
            people = await _people(repo, event.id)
            if directed_to is not None and directed_to not in people:
                raise RuleError("invalid", "That panelist is not on this event's panel.")
            # A blocked term holds the question for review even under post-moderation.
            term = blocked_term_in(f"{body}\n{name}", event.blocked_terms)
            publish = event.moderation == Moderation.POST and term is None
            status = QuestionStatus.APPROVED if publish else QuestionStatus.PENDING
            qid = await repo.insert_question(
                event_id=event.id,
                body=body,
                display_name=name,
                reader_id=reader_id,
                client_key=client_key,
                status=status,
                directed_to=directed_to,
                now=now,
                held_reason=f"contains the blocked term {term!r}" if term else "",
            )
            question = await repo.question(qid)
            assert question is not None
            if publish:
                await repo.append_frame(
                    event.id,
                    p.QUESTION_PUBLISHED,
                    {"question": payloads.question(question, people)},
                    now,
                )
            repo.notify_staff(event.id, {"question_id": qid, "status": status}, now)
            return question, True

        return await self.store.write(job)

    def check_question(self, body: object, name: object) -> tuple[str, str]:
        """The question's text and name, trimmed and checked (a refusal costs no quota)."""
        return (
            clean_text(
                body, field="Question", max_chars=self.settings.question_max_chars, required=True
            ),
            clean_text(name, field="Name", max_chars=self.settings.name_max_chars, required=False),
        )

    async def upvote(self, question_id: int, reader_id: str) -> int:
        """Count one upvote per reader; returns the new total."""
        now = self.clock.now()

        async def job(repo: Repo) -> int:
            question = await _question(repo, question_id)
            if question.status != QuestionStatus.APPROVED:
                raise RuleError("not_found", "No such question.")
            if await repo.add_upvote(question.id, reader_id, now):
                await self._question_updated(repo, question.id, now)
            fresh = await _question(repo, question_id)
            return fresh.upvotes

        return await self.store.write(job)

    # -- moderation -----------------------------------------------------------
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
    ) -> Question:
        """approve, reject, pin, unpin, merge (into), withdraw, edit (body), direct (to),
        answered, unanswered. The first decision wins: a second gets `already_moderated`."""
        reason = clean_text(reason, field="Reason", max_chars=500, required=False)
        into_id = _optional_id(into, "into")
        to_id = _optional_id(to, "to")
        new_body = (
            None
            if body is None
            else clean_text(
                body, field="Question", max_chars=self.settings.question_max_chars, required=True
            )
        )
        now = self.clock.now()
        handlers: dict[str, Callable[..., Awaitable[None]]] = {
            "approve": self._approve,
            "reject": self._reject,
            "pin": self._pin,
            "unpin": self._unpin,
            "merge": self._merge,
            "withdraw": self._withdraw,
            "edit": self._edit,
            "direct": self._direct,
            "answered": self._mark_answered,
            "unanswered": self._mark_unanswered,
        }
        if action not in handlers:
            raise RuleError(
                "invalid",
                f"Unknown moderation action {action!r}; expected one of "
                + ", ".join(sorted(handlers))
                + ".",
            )

        async def job(repo: Repo) -> Question:
            before = await _question(repo, question_id)
            event = await _event(repo, before.event_id)
            await handlers[action](
                repo, before, now, into_id=into_id, reason=reason, body=new_body, to_id=to_id
            )
            after = await _question(repo, question_id)
            await repo.audit(
                actor=str(actor),
                action=f"question.{action}",
                event_id=event.id,
                target=f"question:{question_id}",
                before=_audit_view(before),
                after=_audit_view(after),
                now=now,
            )
            repo.notify_staff(event.id, {"question_id": question_id, "action": action}, now)
            return after

        return await self.store.write(job)

    async def _approve(self, repo: Repo, q: Question, now: datetime, **_: Any) -> None:
        _require_pending(q)
        await repo.update_question(q.id, now, status=QuestionStatus.APPROVED)
        await self._publish_question(repo, q.id, p.QUESTION_PUBLISHED, now)

    async def _reject(
        self, repo: Repo, q: Question, now: datetime, *, reason: str, **_: Any
    ) -> None:
        _require_pending(q)
        await repo.update_question(q.id, now, status=QuestionStatus.REJECTED, reject_reason=reason)

    async def _pin(self, repo: Repo, q: Question, now: datetime, **_: Any) -> None:
        await self._set_pinned(repo, q, now, True)

    async def _unpin(self, repo: Repo, q: Question, now: datetime, **_: Any) -> None:
        await self._set_pinned(repo, q, now, False)

    async def _set_pinned(self, repo: Repo, q: Question, now: datetime, pinned: bool) -> None:
        if q.status != QuestionStatus.APPROVED:
            raise RuleError("invalid", "Only a published question can be pinned or unpinned.")
        await repo.update_question(q.id, now, pinned=int(pinned))
        await self._question_updated(repo, q.id, now)

    async def _merge(
        self, repo: Repo, q: Question, now: datetime, *, into_id: int | None, **_: Any
    ) -> None:
        if into_id is None or into_id == q.id:
            raise RuleError("invalid", "Merging needs another question to merge into.")
        target = await _question(repo, into_id)
        if target.event_id != q.event_id:
            raise RuleError("invalid", "Both questions must belong to the same event.")
        if target.status != QuestionStatus.APPROVED or target.merged_into is not None:
            raise RuleError("invalid", "Merge into a published question that is not itself merged.")
        if q.merged_into is not None or q.status in (
            QuestionStatus.REJECTED,
            QuestionStatus.WITHDRAWN,
        ):
            raise RuleError("already_moderated", "This question was already dealt with.")
        was_public = q.status == QuestionStatus.APPROVED
        # Merging is an editorial decision to show the duplicate under the kept question.
        await repo.update_question(
            q.id, now, status=QuestionStatus.APPROVED, merged_into=target.id, pinned=0
        )
        await repo.update_question(target.id, now, upvotes=target.upvotes + q.upvotes)
        kind = p.QUESTION_UPDATED if was_public else p.QUESTION_PUBLISHED
        await self._publish_question(repo, q.id, kind, now)
        await self._question_updated(repo, target.id, now)

    async def _edit(
        self, repo: Repo, q: Question, now: datetime, *, body: str | None, **_: Any
    ) -> None:
        """Fix a typo; the original stays in the audit log."""
        if body is None:
            raise RuleError("invalid", "Editing needs the new text.")
        if q.status in (QuestionStatus.REJECTED, QuestionStatus.WITHDRAWN):
            raise RuleError("invalid", "This question is not shown; there is nothing to fix.")
        await repo.update_question(q.id, now, body=body)
        if q.status == QuestionStatus.APPROVED:
            await self._question_updated(repo, q.id, now)

    async def _direct(
        self, repo: Repo, q: Question, now: datetime, *, to_id: int | None, **_: Any
    ) -> None:
        if to_id is not None and to_id not in await _people(repo, q.event_id):
            raise RuleError("invalid", "That panelist is not on this event's panel.")
        await repo.update_question(q.id, now, directed_to=to_id)
        if q.status == QuestionStatus.APPROVED:
            await self._question_updated(repo, q.id, now)

    async def _mark_answered(self, repo: Repo, q: Question, now: datetime, **_: Any) -> None:
        await self._set_answered(repo, q, now, True)

    async def _mark_unanswered(self, repo: Repo, q: Question, now: datetime, **_: Any) -> None:
        await self._set_answered(repo, q, now, False)

    async def _set_answered(self, repo: Repo, q: Question, now: datetime, value: bool) -> None:
        """Answered in the room or elsewhere, without a written answer here."""
        if q.status != QuestionStatus.APPROVED:
            raise RuleError("invalid", "Only a published question can be marked answered.")
        await repo.update_question(q.id, now, answered=int(value))
        await self._question_updated(repo, q.id, now)

    async def _withdraw(self, repo: Repo, q: Question, now: datetime, **_: Any) -> None:
        if q.status != QuestionStatus.APPROVED:
            raise RuleError("invalid", "Only a published question can be withdrawn.")
        await repo.update_question(q.id, now, status=QuestionStatus.WITHDRAWN, pinned=0)
        await repo.append_frame(q.event_id, p.QUESTION_WITHDRAWN, {"id": q.id}, now)

    async def _publish_question(
        self, repo: Repo, question_id: int, kind: str, now: datetime
    ) -> None:
        question = await _question(repo, question_id)
        people = await _people(repo, question.event_id)
        await repo.append_frame(
            question.event_id, kind, {"question": payloads.question(question, people)}, now
        )

    async def _question_updated(self, repo: Repo, question_id: int, now: datetime) -> None:
        await self._publish_question(repo, question_id, p.QUESTION_UPDATED, now)

    # -- answers --------------------------------------------------------------
    async def answer(self, question_id: int, body: object, actor: Actor) -> int:
        """A panelist's (or editor's) answer; several may answer one question."""
        body = clean_text(
            body, field="Answer", max_chars=self.settings.answer_max_chars, required=True
        )
        now = self.clock.now()

        async def job(repo: Repo) -> int:
            question = await _question(repo, question_id)
            event = await _event(repo, question.event_id)
            if question.status != QuestionStatus.APPROVED or question.merged_into is not None:
                raise RuleError("invalid", "Only a published question can be answered.")
            if event.status in (EventStatus.DRAFT, EventStatus.PUBLISHED):
                raise RuleError("invalid", "This event is not taking answers.")
            panelist_id = await _panelist_of(repo, actor, event.id)
            editor_id = int(actor.id) if actor.kind == "editor" and actor.id is not None else None
            answer_id = await repo.insert_answer(question.id, body, panelist_id, editor_id, now)
            if panelist_id is not None:  # published: the draft and its claim are done with
                await repo.delete_draft(question.id, panelist_id)
            if not question.answered:
                # No question.updated for this: answer.published means "answered" to clients,
                # and one frame instead of two matters with thousands of readers.
                await repo.update_question(question.id, now, answered=1)
            await self._publish_answer(repo, answer_id, event.id, p.ANSWER_PUBLISHED, now)
            repo.notify_staff(event.id, {"question_id": question.id, "answer_id": answer_id}, now)
            return answer_id

        return await self.store.write(job)

    async def edit_answer(self, answer_id: int, body: object, actor: Actor) -> None:
        """Authors edit their own answers; editors may edit any."""
        body = clean_text(
            body, field="Answer", max_chars=self.settings.answer_max_chars, required=True
        )
        now = self.clock.now()

        async def job(repo: Repo) -> None:
            answer = await repo.answer(answer_id)
            if answer is None or answer.status != "published":
                raise RuleError("not_found", "No such answer.")
            question = await _question(repo, answer.question_id)
            own = (
                actor.kind == "panelist"
                and actor.id == answer.panelist_id
                and actor.acts_for(question.event_id)
            )
            if not (own or actor.kind == "editor"):
                raise RuleError("forbidden", "You can only edit your own answers.")
            if (await _event(repo, question.event_id)).status == EventStatus.PUBLISHED:
                # The transcript is the record now: corrections go through its curation page.
                raise RuleError(
                    "invalid",
                    "This event's transcript is published; correct "
                    "answers on its Transcript page in the desk.",
                )
            await repo.update_answer(answer_id, now, body_md=body)
            await repo.audit(
                actor=str(actor),
                action="answer.edit",
                event_id=question.event_id,
                target=f"answer:{answer_id}",
                before={"body": answer.body_md},
                after={"body": body},
                now=now,
            )
            await self._publish_answer(repo, answer_id, question.event_id, p.ANSWER_UPDATED, now)

        await self.store.write(job)

    async def withdraw_answer(self, answer_id: int, actor: Actor) -> None:
        """Take a published answer down (an editor's call); readers see it disappear."""
        now = self.clock.now()

        async def job(repo: Repo) -> None:
            answer = await repo.answer(answer_id)
            if answer is None or answer.status != "published":
                raise RuleError("already_moderated", "That answer is not published.")
            question = await _question(repo, answer.question_id)
            await repo.update_answer(answer_id, now, status="withdrawn")
            await repo.audit(
                actor=str(actor),
                action="answer.withdraw",
                event_id=question.event_id,
                target=f"answer:{answer_id}",
                before={"body": answer.body_md},
                after={"status": "withdrawn"},
                now=now,
            )
            await repo.append_frame(
                question.event_id,
                p.ANSWER_WITHDRAWN,
                {"id": answer_id, "question_id": question.id},
                now,
            )
            repo.notify_staff(question.event_id, {"answer_id": answer_id}, now)

        await self.store.write(job)

    async def _publish_answer(
        self, repo: Repo, answer_id: int, event_id: int, kind: str, now: datetime
    ) -> None:
        answer = await repo.answer(answer_id)
        assert answer is not None
        people = await _people(repo, event_id)
        await repo.append_frame(event_id, kind, {"answer": payloads.answer(answer, people)}, now)

    # -- events and the clock -------------------------------------------------
    async def set_status(self, event_id: int, target: str, actor: Actor) -> Event:
        """An editor's control: schedule, go live early, close, reopen."""
        try:
            status = EventStatus(target)
        except ValueError:
            raise RuleError("invalid", f"Unknown status {target!r}.") from None
        now = self.clock.now()

        async def job(repo: Repo) -> Event:
            event = await _event(repo, event_id)
            check_transition(event.status, status)
            if status == EventStatus.LIVE and now >= event.ends_at:
                raise RuleError(
                    "invalid",
                    "This event's end time has passed: move the end time "
                    "later on the Set-up page before reopening it.",
                )
            if EventStatus.PUBLISHED in (event.status, status):
                # Publishing snapshots and indexes the curated transcript (panel.transcripts).
                raise RuleError(
                    "invalid",
                    "Publish or unpublish the transcript from its Transcript page in the desk.",
                )
            await repo.set_event_status(event.id, status, now)
            fresh = await _event(repo, event.id)
            await repo.append_frame(
                event.id,
                p.EVENT_STATUS,
                {"status": status, "on_now": await _on_now_payload(repo, fresh, now)},
                now,
            )
            await repo.audit(
                actor=str(actor),
                action="event.status",
                event_id=event.id,
                target=f"event:{event.slug}",
                before={"status": event.status},
                after={"status": status},
                now=now,
            )
            return fresh

        event = await self.store.write(job)
        self.on_schedule_change()
        return event

    async def run_due_transitions(self, event_id: int) -> list[Transition]:
        """Make every clock transition that is due for one event, each exactly once."""
        now = self.clock.now()

        async def job(repo: Repo) -> list[Transition]:
            event = await _event(repo, event_id)
            due = due_transitions(event, await repo.slots(event.id), now)
            for transition in due:
                await self._apply(repo, event.id, transition)
            return due

        return await self.store.write(job)

    async def _apply(self, repo: Repo, event_id: int, t: Transition) -> None:
        # Frames carry the instant the transition was due, so a late catch-up tells the truth.
        if t.kind in ("event.live", "event.closed"):
            status = EventStatus.LIVE if t.kind == "event.live" else EventStatus.CLOSED
            await repo.set_event_status(event_id, status, t.at)
            event = await _event(repo, event_id)
            await repo.append_frame(
                event_id,
                p.EVENT_STATUS,
                {"status": status, "on_now": await _on_now_payload(repo, event, t.at)},
                t.at,
            )
            return
        assert t.slot_id is not None
        state = "started" if t.kind == "slot.started" else "ended"
        await repo.set_slot_state(t.slot_id, state)
        event = await _event(repo, event_id)
        slot = next(s for s in await repo.slots(event_id) if s.id == t.slot_id)
        await repo.append_frame(
            event_id,
            t.kind,
            {"slot": payloads.slot(slot), "on_now": await _on_now_payload(repo, event, t.at)},
            t.at,
        )

    # -- transcripts ----------------------------------------------------------
    async def publish_transcript(
        self, event_id: int, actor: Actor, intro_md: str = "", outro_md: str = ""
    ) -> None:
        """Publish a closed event's transcript as curated (see panel.transcripts); empty
        notes keep the curated ones."""
        await Transcripts(self.store, self.clock, self.settings).publish(
            event_id, actor, intro_md=intro_md or None, outro_md=outro_md or None
        )


def _closed_message(status: EventStatus) -> str:
    if status == EventStatus.DRAFT:
        return "This event is not open for questions yet."
    return "This event has closed; it no longer takes questions."


async def _check_slow_mode(repo: Repo, event: Event, reader_id: str, now: datetime) -> None:
    """Slow mode: at most one question per reader per interval."""
    if event.slow_mode_seconds <= 0:
        return
    last = await repo.last_question_at(event.id, reader_id)
    if last is not None:
        wait = event.slow_mode_seconds - (now - last).total_seconds()
        if wait > 0:
            raise RuleError(
                "rate_limited",
                f"Slow mode is on: you can ask again in {math.ceil(wait)} seconds.",
                retry_after=math.ceil(wait),
            )


def _require_pending(q: Question) -> None:
    if q.status != QuestionStatus.PENDING:
        raise RuleError(
            "already_moderated", f"This question was already dealt with (it is {q.status})."
        )


def _audit_view(q: Question) -> dict[str, Any]:
    return {
        "status": q.status,
        "body": q.body,
        "pinned": q.pinned,
        "merged_into": q.merged_into,
        "upvotes": q.upvotes,
    }


async def _panelist_of(repo: Repo, actor: Actor, event_id: int) -> int | None:
    if actor.kind == "editor":
        return None
    panelist_id = await _panel_member(repo, actor, event_id)
    if panelist_id is not None:
        return panelist_id
    raise RuleError("forbidden", "Only this event's panelists and editors can answer.")
