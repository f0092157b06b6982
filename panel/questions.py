"""Readers' questions: asking, with the event's rules (upvotes are in panel/votes.py)."""

from __future__ import annotations

import math
from datetime import datetime

from panel import payloads
from panel.clock import Clock
from panel.config import Settings
from panel.domain import (
    Actor,
    Event,
    EventStatus,
    Moderation,
    Question,
    QuestionStatus,
    RuleError,
    accepts_questions,
    blocked_term_in,
)
from panel.live import protocol as p
from panel.store import Repo, Store
from panel.text import clean_text, optional_id
from panel.writes import Tx, Writer


async def publish_question(tx: Tx, question_id: int, kind: str) -> None:
    """Append a frame carrying the question's public view (published or updated)."""
    question = await tx.question(question_id)
    people = await tx.people(question.event_id)
    await tx.frame(question.event_id, kind, {"question": payloads.question(question, people)})
    await tx.repo.votes_shown(question.id, question.upvotes)  # readers now have its count


class Questions:
    def __init__(self, store: Store, clock: Clock, settings: Settings) -> None:
        self.write = Writer(store, clock)
        self.settings = settings

    def check(self, body: object, name: object) -> tuple[str, str]:
        """The question's text and name, trimmed and checked (a refusal costs no quota)."""
        return (
            clean_text(
                body, field="Question", max_chars=self.settings.question_max_chars, required=True
            ),
            clean_text(name, field="Name", max_chars=self.settings.name_max_chars, required=False),
        )

    async def post(
        self,
        event_id: int,
        reader_id: str,
        body: object,
        name: object = "",
        to: object = None,
        client_key: str | None = None,
    ) -> tuple[Question, bool]:
        """Store a reader's question; (question, False) when the key names an earlier one."""
        body, name = self.check(body, name)
        directed_to = optional_id(to, "to")

        async def job(tx: Tx) -> tuple[Question, bool]:
            event = await tx.event(event_id)
            if client_key:
                earlier = await tx.repo.question_by_client_key(event.id, reader_id, client_key)
                if earlier:
                    return earlier, False
            if not accepts_questions(event.status):
                raise RuleError("not_accepting", _closed_message(event.status))
            if await tx.repo.is_banned(event.id, reader_id):
                raise RuleError("forbidden", "You can no longer post questions to this event.")
            await _check_slow_mode(tx.repo, event, reader_id, tx.now)
            people = await tx.people(event.id)
            if directed_to is not None and directed_to not in people:
                raise RuleError("invalid", "That panelist is not on this event's panel.")
            # A blocked term holds the question for review even under post-moderation.
            term = blocked_term_in(f"{body}\n{name}", event.blocked_terms)
            publish = event.moderation == Moderation.POST and term is None
            status = QuestionStatus.APPROVED if publish else QuestionStatus.PENDING
            qid = await tx.repo.insert_question(
                event_id=event.id,
                body=body,
                display_name=name,
                reader_id=reader_id,
                client_key=client_key,
                status=status,
                directed_to=directed_to,
                now=tx.now,
                held_reason=f"contains the blocked term {term!r}" if term else "",
            )
            question = await tx.question(qid)
            if publish:
                await tx.frame(
                    event.id,
                    p.QUESTION_PUBLISHED,
                    {"question": payloads.question(question, people)},
                )
            tx.notify_staff(event.id, {"question_id": qid, "status": status})
            return question, True

        return await self.write(Actor("reader", reader_id), job)


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
