"""Transcripts: curating a closed event's Q&A into an article, publishing and unpublishing it.

The editors work on a private curation (order, hidden items, corrected text, intro and
outro). Publishing takes a snapshot of the visible items, which is all any public surface
(the page, the exports, the feed, search) ever reads; later edits stay private until the
transcript is republished, which stamps an "updated" time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from panel import payloads
from panel.clock import Clock
from panel.config import Settings
from panel.curation import (
    NOTES_MAX_CHARS,
    Curation,
    CurationItem,
    build_document,
    document_items,
    index_rows,
    load_curation,
)
from panel.domain import (
    Actor,
    Event,
    EventStatus,
    RuleError,
    check_transition,
    iso,
)
from panel.live import protocol as p
from panel.render import markdown_to_html
from panel.store import Repo, Store
from panel.text import clean_text
from panel.writes import Tx, Writer, event_or_fail


def _require_curatable(event: Event) -> None:
    if event.status not in (EventStatus.CLOSED, EventStatus.PUBLISHED):
        raise RuleError("invalid", "A transcript can be curated once the event has closed.")


def _item(cur: Curation, question_id: int) -> CurationItem:
    for item in cur.items:
        if item.question.id == question_id:
            return item
    raise RuleError("not_found", "That question is not in this transcript.")


@dataclass(frozen=True)
class Edit:
    """One curation change: the new stored state and what the audit log records."""

    items: list[dict[str, Any]]
    intro_md: str
    outro_md: str
    target: str
    before: dict[str, Any]
    after: dict[str, Any]


Change = Callable[[Repo, "Curation", datetime], Awaitable[Edit | None]]


class Transcripts:
    """Curation and publication; each change is one store write, audited."""

    def __init__(self, store: Store, clock: Clock, settings: Settings) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.write = Writer(store, clock)

    async def curation(self, event_id: int) -> Curation:
        async with self.store.read() as repo:
            return await load_curation(repo, await event_or_fail(repo, event_id))

    async def preview(self, event_id: int) -> dict[str, Any]:
        """The document publishing now would produce (for the editors' preview)."""
        cur = await self.curation(event_id)
        now = self.clock.now()
        first = cur.published_at if cur.is_public and cur.published_at else now
        return build_document(cur, first, now if cur.is_public else None)

    async def _edit(self, event_id: int, actor: Actor, action: str, change: Change) -> bool:
        """Run `change(repo, cur, now)` on a curatable event's curation; save and audit it.

        False when `change` found nothing to change.
        """

        async def job(tx: Tx) -> bool:
            event = await tx.event(event_id)
            _require_curatable(event)
            cur = await load_curation(tx.repo, event)
            result = await change(tx.repo, cur, tx.now)
            if result is None:
                return False
            await tx.repo.save_curation(
                event.id,
                result.intro_md,
                result.outro_md,
                result.items,
                tx.now,
                pending_changes=cur.is_public,
            )
            await tx.audit(
                action, result.target, event_id=event.id, before=result.before, after=result.after
            )
            return True

        return await self.write(actor, job)

    async def move(self, event_id: int, question_id: int, direction: str, actor: Actor) -> None:
        """Move an item one place up or down within its slot's section."""
        if direction not in ("up", "down"):
            raise RuleError("invalid", "Move an item up or down.")

        async def change(repo: Repo, cur: Curation, now: datetime) -> Edit | None:
            item = _item(cur, question_id)
            items = list(cur.items)
            index = items.index(item)
            other = index - 1 if direction == "up" else index + 1
            if not 0 <= other < len(items) or items[other].slot != item.slot:
                where = "first" if direction == "up" else "last"
                raise RuleError("invalid", f"That question is already {where} in its section.")
            items[index], items[other] = items[other], items[index]
            moved = replace(cur, items=tuple(items))
            return Edit(
                moved.stored_items(),
                cur.intro_md,
                cur.outro_md,
                f"question:{question_id}",
                {"position": index},
                {"position": other},
            )

        await self._edit(event_id, actor, "transcript.move", change)

    async def set_hidden(self, event_id: int, question_id: int, hidden: bool, actor: Actor) -> None:
        """Leave an item out of the published transcript, or put it back."""

        async def change(repo: Repo, cur: Curation, now: datetime) -> Edit | None:
            item = _item(cur, question_id)
            if item.hidden == hidden:
                return None
            items = [
                {"question_id": i.question.id, "hidden": hidden if i is item else i.hidden}
                for i in cur.items
            ]
            return Edit(
                items,
                cur.intro_md,
                cur.outro_md,
                f"question:{question_id}",
                {"hidden": item.hidden},
                {"hidden": hidden},
            )

        await self._edit(
            event_id, actor, "transcript.hide" if hidden else "transcript.show", change
        )

    async def set_notes(
        self, event_id: int, intro_md: object, outro_md: object, actor: Actor
    ) -> None:
        """The transcript's own introduction and closing note (markdown)."""
        intro = clean_text(
            intro_md, field="Introduction", max_chars=NOTES_MAX_CHARS, required=False
        )
        outro = clean_text(
            outro_md, field="Closing note", max_chars=NOTES_MAX_CHARS, required=False
        )

        async def change(repo: Repo, cur: Curation, now: datetime) -> Edit | None:
            if (intro, outro) == (cur.intro_md, cur.outro_md):
                return None
            return Edit(
                cur.stored_items(),
                intro,
                outro,
                f"event:{cur.event.slug}",
                {"intro_md": cur.intro_md, "outro_md": cur.outro_md},
                {"intro_md": intro, "outro_md": outro},
            )

        await self._edit(event_id, actor, "transcript.notes", change)

    async def correct(
        self, event_id: int, kind: str, target_id: int, body: object, actor: Actor
    ) -> bool:
        """Fix a typo in a question or an answer of the transcript; False if unchanged.

        The text is corrected at the source, so the event page agrees (an update frame goes
        out), and the audit log keeps the before and after.
        """
        if kind == "question":
            text = clean_text(
                body, field="Question", required=True, max_chars=self.settings.question_max_chars
            )
        elif kind == "answer":
            text = clean_text(
                body, field="Answer", required=True, max_chars=self.settings.answer_max_chars
            )
        else:
            raise RuleError("invalid", "Correct a question or an answer.")

        async def change(repo: Repo, cur: Curation, now: datetime) -> Edit | None:
            people = {person.id: person for person in cur.lineup.everyone()}
            if kind == "question":
                question = _item(cur, target_id).question
                if question.body == text:
                    return None
                await repo.update_question(question.id, now, body=text)
                fresh = await repo.question(question.id)
                assert fresh is not None
                await repo.append_frame(
                    cur.event.id,
                    p.QUESTION_UPDATED,
                    {"question": payloads.question(fresh, people)},
                    now,
                )
                before = question.body
            else:
                answer = next((a for i in cur.items for a in i.answers if a.id == target_id), None)
                if answer is None:
                    raise RuleError("not_found", "That answer is not in this transcript.")
                if answer.body_md == text:
                    return None
                await repo.update_answer(
                    answer.id, now, body_md=text, body_html=markdown_to_html(text)
                )
                fresh_answer = await repo.answer(answer.id)
                assert fresh_answer is not None
                await repo.append_frame(
                    cur.event.id,
                    p.ANSWER_UPDATED,
                    {"answer": payloads.answer(fresh_answer, people)},
                    now,
                )
                before = answer.body_md
            return Edit(
                cur.stored_items(),
                cur.intro_md,
                cur.outro_md,
                f"{kind}:{target_id}",
                {"body": before},
                {"body": text},
            )

        return await self._edit(event_id, actor, "transcript.correct", change)

    async def publish(
        self,
        event_id: int,
        actor: Actor,
        *,
        intro_md: str | None = None,
        outro_md: str | None = None,
    ) -> None:
        """closed -> published: snapshot the visible items and index them for search.

        `intro_md`/`outro_md` replace the curated notes when given (the demo uses this).
        """
        if intro_md is not None:
            intro_md = clean_text(
                intro_md, field="Introduction", max_chars=NOTES_MAX_CHARS, required=False
            )
        if outro_md is not None:
            outro_md = clean_text(
                outro_md, field="Closing note", max_chars=NOTES_MAX_CHARS, required=False
            )

        async def job(tx: Tx) -> None:
            repo, now = tx.repo, tx.now
            event = await tx.event(event_id)
            check_transition(event.status, EventStatus.PUBLISHED)
            cur = await load_curation(repo, event)
            intro = cur.intro_md if intro_md is None else intro_md
            outro = cur.outro_md if outro_md is None else outro_md
            await repo.save_curation(
                event.id, intro, outro, cur.stored_items(), now, pending_changes=False
            )
            await repo.set_event_status(event.id, EventStatus.PUBLISHED, now)
            cur = replace(cur, intro_md=intro, outro_md=outro)
            # Published before (then taken down): keep the first date, stamp this one "updated".
            first = cur.published_at or now
            updated = now if cur.published_at else None
            document = await self._snapshot(repo, cur, first, updated)
            await tx.frame(
                event.id, p.EVENT_STATUS, {"status": EventStatus.PUBLISHED, "on_now": []}
            )
            await tx.audit(
                "transcript.publish",
                f"event:{event.slug}",
                event_id=event.id,
                before={"status": event.status},
                after={"status": EventStatus.PUBLISHED, "items": len(document_items(document))},
            )

        await self.write(actor, job)

    async def republish(self, event_id: int, actor: Actor) -> None:
        """Publish the current curation over the public snapshot, with an "updated" time."""

        async def job(tx: Tx) -> None:
            event = await tx.event(event_id)
            if event.status != EventStatus.PUBLISHED:
                raise RuleError("invalid", "Only a published transcript can be republished.")
            cur = await load_curation(tx.repo, event)
            document = await self._snapshot(tx.repo, cur, cur.published_at or tx.now, tx.now)
            await tx.audit(
                "transcript.republish",
                f"event:{event.slug}",
                event_id=event.id,
                before={},
                after={"items": len(document_items(document)), "updated_at": iso(tx.now)},
            )

        await self.write(actor, job)

    async def unpublish(self, event_id: int, actor: Actor) -> None:
        """published -> closed: the transcript leaves every public surface at once."""

        async def job(tx: Tx) -> None:
            event = await tx.event(event_id)
            if event.status != EventStatus.PUBLISHED:
                raise RuleError("invalid", "This transcript is not published.")
            check_transition(event.status, EventStatus.CLOSED)
            await tx.repo.set_event_status(event.id, EventStatus.CLOSED, tx.now)
            await tx.repo.clear_publication(event.id)
            await tx.frame(event.id, p.EVENT_STATUS, {"status": EventStatus.CLOSED, "on_now": []})
            await tx.audit(
                "transcript.unpublish",
                f"event:{event.slug}",
                event_id=event.id,
                before={"status": event.status},
                after={"status": EventStatus.CLOSED},
            )

        await self.write(actor, job)

    async def _snapshot(
        self, repo: Repo, cur: Curation, published_at: datetime, updated_at: datetime | None
    ) -> dict[str, Any]:
        document = build_document(cur, published_at, updated_at)
        await repo.set_publication(cur.event.id, document, published_at, updated_at)
        await repo.replace_archive_items(cur.event.id, index_rows(document))
        return document
