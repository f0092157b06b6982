"""The schedule: an event's slots, and the clock's transitions (live, slot started, slot
ended, closed), each made exactly once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from panel import payloads
from panel.clock import Clock
from panel.config import Settings
from panel.domain import (
    SYSTEM,
    Actor,
    Event,
    EventStatus,
    RuleError,
    Transition,
    due_transitions,
    iso,
    on_now,
)
from panel.live import protocol as p
from panel.store import Repo, Store
from panel.text import clean_text
from panel.writes import Tx, Writer


def check_slot(
    label: object, start: datetime, end: datetime, event_start: datetime, event_end: datetime
) -> str:
    text = clean_text(label, field="Slot label", max_chars=120, required=True)
    if end <= start:
        raise RuleError("invalid", f"Slot {text!r} must end after it starts.")
    if not (event_start <= start and end <= event_end):
        raise RuleError("invalid", f"Slot {text!r} must lie inside the event.")
    return text


async def on_now_payload(repo: Repo, event: Event, at: datetime) -> list[dict[str, Any]]:
    """Who is answering at `at`, as frames carry it."""
    people = on_now(event, await repo.slots(event.id), await repo.lineup(event.id), at)
    return [payloads.panelist(person) for person in people]


class Schedule:
    def __init__(self, store: Store, clock: Clock, settings: Settings) -> None:
        self.write = Writer(store, clock)
        self.settings = settings
        # Called after a change to an event's times (the scheduler looks again).
        self.on_schedule_change: Callable[[], None] = lambda: None

    async def add_slot(
        self, event_id: int, label: object, starts_at: datetime, ends_at: datetime, actor: Actor
    ) -> int:
        async def job(tx: Tx) -> int:
            event = await tx.event(event_id)
            text = check_slot(label, starts_at, ends_at, event.starts_at, event.ends_at)
            slot_id = await tx.repo.insert_slot(
                event_id, text, starts_at, ends_at, len(await tx.repo.slots(event_id))
            )
            await tx.audit(
                "slot.add",
                f"slot:{slot_id}",
                event_id=event_id,
                before={},
                after={"label": text, "starts_at": iso(starts_at), "ends_at": iso(ends_at)},
            )
            return slot_id

        slot_id = await self.write(actor, job)
        self.on_schedule_change()
        return slot_id

    async def update_slot(
        self,
        slot_id: int,
        label: object,
        starts_at: datetime,
        ends_at: datetime,
        actor: Actor,
        event_id: int | None = None,
    ) -> None:
        """Change a slot (of `event_id`, when given); it runs again from `pending`."""

        async def job(tx: Tx) -> None:
            slot = await tx.repo.slot(slot_id)
            if slot is None or event_id not in (None, slot.event_id):
                raise RuleError("not_found", "No such slot.")
            event = await tx.event(slot.event_id)
            text = check_slot(label, starts_at, ends_at, event.starts_at, event.ends_at)
            await tx.repo.update_slot(slot_id, text, starts_at, ends_at)
            await tx.audit(
                "slot.edit",
                f"slot:{slot_id}",
                event_id=event.id,
                before={
                    "label": slot.label,
                    "starts_at": iso(slot.starts_at),
                    "ends_at": iso(slot.ends_at),
                },
                after={"label": text, "starts_at": iso(starts_at), "ends_at": iso(ends_at)},
            )

        await self.write(actor, job)
        self.on_schedule_change()

    async def delete_slot(self, slot_id: int, actor: Actor, event_id: int | None = None) -> None:
        async def job(tx: Tx) -> None:
            slot = await tx.repo.slot(slot_id)
            if slot is None or event_id not in (None, slot.event_id):
                raise RuleError("not_found", "No such slot.")
            await tx.repo.delete_slot(slot_id)
            await tx.audit(
                "slot.delete",
                f"slot:{slot_id}",
                event_id=slot.event_id,
                before={"label": slot.label},
                after={},
            )

        await self.write(actor, job)

    async def run_due_transitions(self, event_id: int) -> list[Transition]:
        """Make every clock transition that is due for one event, each exactly once."""

        async def job(tx: Tx) -> list[Transition]:
            event = await tx.event(event_id)
            due = due_transitions(event, await tx.repo.slots(event.id), tx.now)
            for transition in due:
                await _apply(tx, event.id, transition)
            return due

        return await self.write(SYSTEM, job)


async def _apply(tx: Tx, event_id: int, t: Transition) -> None:
    # Frames carry the instant the transition was due, so a late catch-up tells the truth.
    if t.kind in ("event.live", "event.closed"):
        status = EventStatus.LIVE if t.kind == "event.live" else EventStatus.CLOSED
        await tx.repo.set_event_status(event_id, status, t.at)
        event = await tx.event(event_id)
        on_now_list = await on_now_payload(tx.repo, event, t.at)
        await tx.frame(event_id, p.EVENT_STATUS, {"status": status, "on_now": on_now_list}, t.at)
        return
    assert t.slot_id is not None
    await tx.repo.set_slot_state(t.slot_id, "started" if t.kind == "slot.started" else "ended")
    event = await tx.event(event_id)
    slot = next(s for s in await tx.repo.slots(event_id) if s.id == t.slot_id)
    await tx.frame(
        event_id,
        t.kind,
        {"slot": payloads.slot(slot), "on_now": await on_now_payload(tx.repo, event, t.at)},
        t.at,
    )
