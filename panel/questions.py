"""Readers' questions: asking, with the event's rules (upvotes are in panel/votes.py)."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import datetime

from panel import idempotency, payloads
from panel.clock import Clock
from panel.config import Settings
from panel.domain import (
    Actor,
    Event,
    EventStatus,
    Moderation,
    Panelist,
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

    async def replay(
        self, slug: str, reader_id: str, client_key: str, body: object, name: object, to: object
    ) -> Question | None:
        """The question already stored under `client_key` at the public event `slug` (a
        retry), found by a read alone; None when the key is new. Another question under the
        same key is refused (422 idempotency_mismatch)."""
        body, name = self.check(body, name)
        asked = idempotency.request_hash(body, name, optional_id(to, "to"))
        async with self.write.store.read() as repo:
            event = await repo.event_by_slug(slug)
            if event is None or event.status == EventStatus.DRAFT:
                raise RuleError("not_found", "No such event.")
            found = await repo.question_by_key(
                event.id, idempotency.key_hash(client_key), reader_id, client_key
            )
        return idempotency.replayed(found, asked) if found else None

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

        async def event(tx: Tx) -> Event:
            return await tx.event(event_id)

        return await self._ask(event, reader_id, body, name, to, client_key)

    async def post_to(
        self,
        slug: str,
        reader_id: str,
        body: object,
        name: object = "",
        to: object = None,
        client_key: str | None = None,
    ) -> tuple[Question, bool]:
        """`post` to the event at `slug`, found in the same transaction; a draft is not found."""

        async def event(tx: Tx) -> Event:
            found = await tx.repo.event_by_slug(slug)
            if found is None or found.status == EventStatus.DRAFT:
                raise RuleError("not_found", "No such event.")
            return found

        return await self._ask(event, reader_id, body, name, to, client_key)

    async def _ask(
        self,
        find_event: Callable[[Tx], Awaitable[Event]],
        reader_id: str,
        body: object,
        name: object,
        to: object,
        client_key: str | None,
    ) -> tuple[Question, bool]:
        body, name = self.check(body, name)
        directed_to = optional_id(to, "to")
        hashed_key = idempotency.key_hash(client_key) if client_key else None
        asked = idempotency.request_hash(body, name, directed_to)

        async def job(tx: Tx) -> tuple[Question, bool]:
            event = await find_event(tx)

            async def earlier() -> Question | None:
                """The question already asked with this key, if any, whoever's cookie this
                is: a retry gets it back, whatever the rules say now (the same key with
                another question: 422)."""
                if not client_key or not hashed_key:
                    return None
                found = await tx.repo.question_by_key(event.id, hashed_key, reader_id, client_key)
                return idempotency.replayed(found, asked) if found else None

            try:
                people = await _check_rules(tx, event, reader_id, directed_to)
            except RuleError:
                if first := await earlier():
                    return first, False
                raise
            # A blocked term holds the question for review even under post-moderation.
            term = blocked_term_in(f"{body}\n{name}", event.blocked_terms)
            publish = event.moderation == Moderation.POST and term is None
            status = QuestionStatus.APPROVED if publish else QuestionStatus.PENDING
            question = await tx.repo.add_question(
                event_id=event.id,
                body=body,
                display_name=name,
                reader_id=reader_id,
                client_key=client_key,
                key_hash=hashed_key,
                request_hash=asked if client_key else None,
                status=status,
                directed_to=directed_to,
                now=tx.now,
                held_reason=f"contains the blocked term {term!r}" if term else "",
            )
            if question is None:  # the key was used: the first question stands
                first = await earlier()
                assert first is not None
                return first, False
            if publish:
                await tx.frame(
                    event.id,
                    p.QUESTION_PUBLISHED,
                    {"question": payloads.question(question, people)},
                )
            tx.notify_staff(event.id, {"question_id": question.id, "status": status})
            return question, True

        return await self.write(Actor("reader", reader_id), job)


def _closed_message(status: EventStatus) -> str:
    if status == EventStatus.DRAFT:
        return "This event is not open for questions yet."
    return "This event has closed; it no longer takes questions."


async def _check_rules(
    tx: Tx, event: Event, reader_id: str, directed_to: int | None
) -> dict[int, Panelist]:
    """May this reader ask this event now (open, not banned, not too soon, to a panelist on
    its panel)? The panel, by id, if so."""
    if not accepts_questions(event.status):
        raise RuleError("not_accepting", _closed_message(event.status))
    if await tx.repo.is_banned(event.id, reader_id):
        raise RuleError("forbidden", "You can no longer post questions to this event.")
    await _check_slow_mode(tx.repo, event, reader_id, tx.now)
    people = await tx.people(event.id)
    if directed_to is not None and directed_to not in people:
        raise RuleError("invalid", "That panelist is not on this event's panel.")
    return people


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
