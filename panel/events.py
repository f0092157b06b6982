"""Events: creating, editing, duplicating and deleting them, their moderation rules, and
the editors' status controls (schedule, go live, close, reopen)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from panel.clock import Clock
from panel.config import Settings
from panel.domain import (
    SYSTEM,
    Actor,
    Event,
    EventStatus,
    Moderation,
    RuleError,
    check_transition,
    iso,
)
from panel.live import protocol as p
from panel.schedule import check_slot, on_now_payload
from panel.store import Store
from panel.text import clean_text
from panel.writes import Tx, Writer

SLUG = re.compile(r"[a-z0-9][a-z0-9-]{1,79}")  # use fullmatch: `$` allows a final newline
BAD_SLUG = "The web address must be 2 to 80 lower-case letters, digits or hyphens."


def check_event_fields(
    *,
    slug: str,
    title: object,
    summary: object,
    intro_md: object,
    related: Sequence[dict[str, str]],
    starts_at: datetime,
    ends_at: datetime,
    timezone: str,
    moderation: str,
) -> dict[str, Any]:
    """Validate an event's editable fields; returns them cleaned."""
    if not SLUG.fullmatch(slug):
        raise RuleError("invalid", BAD_SLUG)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise RuleError("invalid", f"Unknown time zone {timezone!r}.") from None
    if moderation not in set(Moderation):
        raise RuleError("invalid", "Moderation must be pre or post.")
    if ends_at <= starts_at:
        raise RuleError("invalid", "An event must end after it starts.")
    links = []
    for link in related:
        url = str(link.get("url", "")).strip()
        if not url.startswith(("https://", "http://")):
            raise RuleError("invalid", "Related links must start with http:// or https://.")
        links.append(
            {
                "title": clean_text(
                    link.get("title") or url, field="Link title", max_chars=200, required=True
                ),
                "url": url[:1000],
                "summary": clean_text(
                    link.get("summary", ""), field="Link summary", max_chars=500, required=False
                ),
            }
        )
    return {
        "title": clean_text(title, field="Title", max_chars=200, required=True),
        "summary": clean_text(summary, field="Summary", max_chars=500, required=False),
        "intro_md": clean_text(intro_md, field="Introduction", max_chars=20000, required=False),
        "related": links,
    }


class Events:
    def __init__(self, store: Store, clock: Clock, settings: Settings) -> None:
        self.write = Writer(store, clock)
        self.settings = settings
        # Called after a change to an event's times or status (the scheduler looks again).
        self.on_schedule_change: Callable[[], None] = lambda: None

    async def create(
        self,
        *,
        slug: str,
        title: str,
        starts_at: datetime,
        ends_at: datetime,
        timezone: str = "Europe/London",
        summary: str = "",
        intro_md: str = "",
        related: Sequence[dict[str, str]] = (),
        moderation: str = "pre",
        status: str = "draft",
        slots: Sequence[tuple[str, datetime, datetime]] = (),
        actor: Actor = SYSTEM,
    ) -> int:
        """A new event (a draft unless told otherwise), with its slots."""
        fields = check_event_fields(
            slug=slug,
            title=title,
            summary=summary,
            intro_md=intro_md,
            related=related,
            starts_at=starts_at,
            ends_at=ends_at,
            timezone=timezone,
            moderation=moderation,
        )
        for label, start, end in slots:
            check_slot(label, start, end, starts_at, ends_at)

        async def job(tx: Tx) -> int:
            if await tx.repo.event_by_slug(slug):
                raise RuleError("conflict", f"An event called {slug!r} already exists.")
            event_id = await tx.repo.insert_event(
                slug=slug,
                starts_at=starts_at,
                ends_at=ends_at,
                timezone=timezone,
                moderation=moderation,
                status=status,
                now=tx.now,
                **fields,
            )
            for position, (label, start, end) in enumerate(slots):
                await tx.repo.insert_slot(event_id, label, start, end, position)
            await tx.audit(
                "event.create", f"event:{slug}", event_id=event_id, after={"title": title}
            )
            return event_id

        event_id = await self.write(actor, job)
        self.on_schedule_change()
        return event_id

    async def update(
        self,
        event_id: int,
        actor: Actor,
        *,
        title: object,
        summary: object,
        intro_md: object,
        related: Sequence[dict[str, str]],
        starts_at: datetime,
        ends_at: datetime,
        timezone: str,
        moderation: str,
    ) -> None:
        """Edit an event; its slots must still fit inside it."""

        async def job(tx: Tx) -> None:
            event = await tx.event(event_id)
            fields = check_event_fields(
                slug=event.slug,
                title=title,
                summary=summary,
                intro_md=intro_md,
                related=related,
                starts_at=starts_at,
                ends_at=ends_at,
                timezone=timezone,
                moderation=moderation,
            )
            for slot in await tx.repo.slots(event_id):
                check_slot(slot.label, slot.starts_at, slot.ends_at, starts_at, ends_at)
            await tx.repo.update_event(
                event_id,
                tx.now,
                title=fields["title"],
                summary=fields["summary"],
                intro_md=fields["intro_md"],
                related_json=json.dumps(fields["related"]),
                starts_at=starts_at,
                ends_at=ends_at,
                timezone=timezone,
                moderation=moderation,
            )
            await tx.audit(
                "event.edit",
                f"event:{event.slug}",
                event_id=event_id,
                before=_times(event.title, event.starts_at, event.ends_at, event.moderation),
                after=_times(fields["title"], starts_at, ends_at, moderation),
            )

        await self.write(actor, job)
        self.on_schedule_change()

    async def duplicate(self, event_id: int, slug: str, starts_at: datetime, actor: Actor) -> int:
        """The same panel and slot pattern on a new date, as a draft."""

        async def job(tx: Tx) -> int:
            event = await tx.event(event_id)
            if not SLUG.fullmatch(slug):
                raise RuleError("invalid", BAD_SLUG)
            if await tx.repo.event_by_slug(slug):
                raise RuleError("conflict", f"An event called {slug!r} already exists.")
            shift = starts_at - event.starts_at
            new_id = await tx.repo.insert_event(
                slug=slug,
                title=event.title,
                summary=event.summary,
                intro_md=event.intro_md,
                related=event.related,
                starts_at=event.starts_at + shift,
                ends_at=event.ends_at + shift,
                timezone=event.timezone,
                moderation=event.moderation,
                status=EventStatus.DRAFT,
                now=tx.now,
            )
            slot_map: dict[int, int] = {}
            for slot in await tx.repo.slots(event_id):
                slot_map[slot.id] = await tx.repo.insert_slot(
                    new_id, slot.label, slot.starts_at + shift, slot.ends_at + shift, slot.position
                )
            for row in await tx.repo.assignments(event_id):
                slot_id = slot_map.get(row["slot_id"]) if row["slot_id"] else None
                await tx.repo.assign(new_id, row["panelist_id"], slot_id, row["position"])
            await tx.audit(
                "event.duplicate",
                f"event:{slug}",
                event_id=new_id,
                before={"from": event.slug},
                after={"starts_at": iso(starts_at)},
            )
            return new_id

        return await self.write(actor, job)

    async def delete(self, event_id: int, actor: Actor) -> None:
        """Only drafts can be deleted: anything readers have seen stays."""

        async def job(tx: Tx) -> None:
            event = await tx.event(event_id)
            if event.status != EventStatus.DRAFT:
                raise RuleError("invalid", "Only a draft can be deleted.")
            await tx.audit(
                "event.delete", f"event:{event.slug}", event_id=None, before={"title": event.title}
            )
            await tx.repo.delete_event(event_id)

        await self.write(actor, job)

    async def set_rules(
        self,
        event_id: int,
        actor: Actor,
        *,
        moderation: str,
        slow_mode_seconds: int,
        blocked_terms: str,
    ) -> None:
        """Moderation mode, slow mode and the blocked-terms list."""
        if moderation not in set(Moderation):
            raise RuleError("invalid", "Moderation must be pre or post.")
        if not 0 <= slow_mode_seconds <= 3600:
            raise RuleError("invalid", "Slow mode must be between 0 and 3600 seconds.")
        terms = "\n".join(
            t.strip()
            for t in clean_text(
                blocked_terms, field="Blocked terms", max_chars=5000, required=False
            ).splitlines()
            if t.strip()
        )

        async def job(tx: Tx) -> None:
            event = await tx.event(event_id)
            await tx.repo.update_event(
                event_id,
                tx.now,
                moderation=moderation,
                slow_mode_seconds=slow_mode_seconds,
                blocked_terms=terms,
            )
            await tx.audit(
                "event.rules",
                f"event:{event.slug}",
                event_id=event_id,
                before={
                    "moderation": event.moderation,
                    "slow_mode_seconds": event.slow_mode_seconds,
                    "blocked_terms": list(event.blocked_terms),
                },
                after={
                    "moderation": moderation,
                    "slow_mode_seconds": slow_mode_seconds,
                    "blocked_terms": terms.splitlines(),
                },
            )

        await self.write(actor, job)

    async def set_status(self, event_id: int, target: str, actor: Actor) -> Event:
        """An editor's control: schedule, go live early, close, reopen."""
        try:
            status = EventStatus(target)
        except ValueError:
            raise RuleError("invalid", f"Unknown status {target!r}.") from None

        async def job(tx: Tx) -> Event:
            event = await tx.event(event_id)
            check_transition(event.status, status)
            if EventStatus.PUBLISHED in (event.status, status):
                # Publishing snapshots and indexes the curated transcript (panel.transcripts).
                raise RuleError(
                    "invalid",
                    "Publish or unpublish the transcript from its Transcript page in the desk.",
                )
            return await change_status(tx, event, status)

        event = await self.write(actor, job)
        self.on_schedule_change()
        return event


async def change_status(
    tx: Tx, event: Event, status: EventStatus, undid: int | None = None
) -> Event:
    """Set the event's status, tell readers (event.status) and audit it (as `event.undo`
    when it undoes audit entry `undid`); an event whose end time has passed cannot go live
    again."""
    if status == EventStatus.LIVE and tx.now >= event.ends_at:
        raise RuleError(
            "invalid",
            "This event's end time has passed: move the end time "
            "later on the Set-up page before reopening it.",
        )
    await tx.repo.set_event_status(event.id, status, tx.now)
    fresh = await tx.event(event.id)
    on_now_list = await on_now_payload(tx.repo, fresh, tx.now)
    await tx.frame(event.id, p.EVENT_STATUS, {"status": status, "on_now": on_now_list})
    await tx.audit(
        "event.status" if undid is None else "event.undo",
        f"event:{event.slug}",
        event_id=event.id,
        before={"status": event.status},
        after={"status": status} if undid is None else {"status": status, "undid": undid},
    )
    return fresh


def _times(title: str, starts_at: datetime, ends_at: datetime, moderation: str) -> dict[str, str]:
    return {
        "title": title,
        "starts_at": iso(starts_at),
        "ends_at": iso(ends_at),
        "moderation": moderation,
    }
