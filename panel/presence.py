"""Desk presence: which editors have an event's moderation desk open, and which question each
is handling. Each open desk reports every ~10 s and at once when its editor moves to another
question; a report older than `LAPSE` no longer counts. Not an editorial action, so nothing is
audited; a change is announced to the staff stream as `{"presence": editor_id}` so every desk
refreshes. Readers and panelists never see it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from panel.clock import Clock
from panel.config import Settings
from panel.domain import Actor, RuleError, parse_iso
from panel.store import Repo, Store
from panel.text import optional_id
from panel.writes import Tx, Writer

LAPSE = timedelta(seconds=30)  # a desk that has not reported for this long is gone


@dataclass(frozen=True)
class Editor:
    """An editor on an event's desk, and the question they are on, if any."""

    id: int
    name: str
    question_id: int | None


def _editor_id(actor: Actor) -> int:
    if actor.kind != "editor" or not isinstance(actor.id, int):
        raise RuleError("forbidden", "Only editors report desk presence.")
    return actor.id


async def _drop_lapsed(tx: Tx, event_id: int, keep: int) -> None:
    """Remove the rows of desks that stopped reporting (closed without a goodbye), and tell
    the other desks, so a departure shows within one report of any desk."""
    for editor_id in await tx.repo.lapsed_presence(event_id, tx.now - LAPSE):
        if editor_id != keep:
            await tx.repo.mark_absent(event_id, editor_id)
            tx.notify_staff(event_id, {"presence": editor_id})


class DeskPresence:
    def __init__(self, store: Store, clock: Clock, settings: Settings) -> None:
        self.write = Writer(store, clock)

    async def report(self, event_id: int, actor: Actor, question: object = None) -> None:
        """The editor has the event's desk open, on `question` (an id of the event) or none."""
        editor_id = _editor_id(actor)
        question_id = optional_id(question, "question")

        async def job(tx: Tx) -> None:
            await tx.event(event_id)
            if question_id is not None and (await tx.question(question_id)).event_id != event_id:
                raise RuleError("not_found", "No such question on this event.")
            await _drop_lapsed(tx, event_id, keep=editor_id)
            before = await tx.repo.presence_of(event_id, editor_id)
            await tx.repo.mark_present(event_id, editor_id, question_id, tx.now)
            unchanged = (
                before is not None
                and parse_iso(before["seen_at"]) >= tx.now - LAPSE
                and before["question_id"] == question_id
            )
            if not unchanged:
                tx.notify_staff(event_id, {"presence": editor_id})

        await self.write(actor, job)

    async def leave(self, event_id: int, actor: Actor) -> None:
        """The editor closed the event's desk."""
        editor_id = _editor_id(actor)

        async def job(tx: Tx) -> None:
            await _drop_lapsed(tx, event_id, keep=editor_id)
            if await tx.repo.mark_absent(event_id, editor_id):
                tx.notify_staff(event_id, {"presence": editor_id})

        await self.write(actor, job)


async def editors_here(repo: Repo, event_id: int, now: datetime) -> list[Editor]:
    """Every editor whose desk for the event reported within `LAPSE` of `now`, by name."""
    rows = await repo.present_editors(event_id, now - LAPSE)
    return [Editor(int(r["editor_id"]), str(r["username"]), r["question_id"]) for r in rows]
