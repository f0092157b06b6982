"""Domain values and pure rules. No I/O, no framework types."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo


class EventStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    LIVE = "live"
    CLOSED = "closed"
    PUBLISHED = "published"


class QuestionStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class Moderation(StrEnum):
    PRE = "pre"
    POST = "post"


# Which status changes are allowed; closed -> live is "reopen", published -> closed "unpublish".
TRANSITIONS: dict[EventStatus, frozenset[EventStatus]] = {
    EventStatus.DRAFT: frozenset({EventStatus.SCHEDULED}),
    EventStatus.SCHEDULED: frozenset({EventStatus.DRAFT, EventStatus.LIVE, EventStatus.CLOSED}),
    EventStatus.LIVE: frozenset({EventStatus.CLOSED}),
    EventStatus.CLOSED: frozenset({EventStatus.LIVE, EventStatus.PUBLISHED}),
    EventStatus.PUBLISHED: frozenset({EventStatus.CLOSED}),
}


@dataclass(frozen=True)
class Actor:
    """Who did something, for permissions and the audit log."""

    kind: str  # "editor", "panelist", "reader", "system"
    id: int | str | None = None
    name: str = ""
    # The one event an invite signed this panelist in to; None for trusted callers (demo).
    event_id: int | None = None

    def acts_for(self, event_id: int) -> bool:
        """An invite opens one event's console, even for a panelist on several panels."""
        return self.event_id is None or self.event_id == event_id

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}:{self.name}" if self.id is not None else self.kind


SYSTEM = Actor("system")


class RuleError(ValueError):
    """A request that the domain rules refuse; the message is safe to show to users."""

    def __init__(self, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after  # seconds, for rate limits (sent as Retry-After)


def check_transition(current: EventStatus, target: EventStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise RuleError("bad_transition", f"An event cannot go from {current} to {target}.")


def accepts_questions(status: EventStatus) -> bool:
    """Advance questions open at `scheduled`; nothing is accepted once closed."""
    return status in (EventStatus.SCHEDULED, EventStatus.LIVE)


def takes_answers(status: EventStatus) -> bool:
    """Panelists answer from `scheduled` until the transcript is published (after the close
    too, so they can finish)."""
    return status not in (EventStatus.DRAFT, EventStatus.PUBLISHED)


@dataclass(frozen=True)
class Slot:
    id: int
    event_id: int
    label: str
    starts_at: datetime
    ends_at: datetime
    position: int = 0
    state: str = "pending"  # pending -> started -> ended, advanced by the scheduler

    def covers(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at


HONORIFICS = {"dr", "prof", "professor", "mr", "mrs", "ms", "mx", "sir", "dame"}


def initials(name: str) -> str:
    """Two letters for a photo placeholder: "Dr Priya Hamid" -> "PH"."""
    words = [w for w in name.split() if w.lower().strip(".") not in HONORIFICS] or name.split()
    picked = words[:1] + words[1:][-1:]
    return "".join(w[0] for w in picked).upper()


@dataclass(frozen=True)
class Panelist:
    id: int
    name: str
    role: str = ""
    bio: str = ""
    photo: str | None = None

    @property
    def initials(self) -> str:
        return initials(self.name)


@dataclass(frozen=True)
class Event:
    id: int
    slug: str
    title: str
    starts_at: datetime
    ends_at: datetime
    timezone: str = "Europe/London"
    summary: str = ""
    intro_md: str = ""
    related: tuple[dict[str, str], ...] = ()
    moderation: Moderation = Moderation.PRE
    status: EventStatus = EventStatus.SCHEDULED
    last_seq: int = 0
    slow_mode_seconds: int = 0
    blocked_terms: tuple[str, ...] = ()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self.zone)


@dataclass(frozen=True)
class Lineup:
    """Who sits on an event's panel: the core panel all along, others per slot."""

    core: tuple[Panelist, ...]
    by_slot: dict[int, tuple[Panelist, ...]] = field(default_factory=dict)

    def everyone(self) -> list[Panelist]:
        seen: dict[int, Panelist] = {p.id: p for p in self.core}
        for members in self.by_slot.values():
            for p in members:
                seen.setdefault(p.id, p)
        return list(seen.values())


def current_slot(slots: Iterable[Slot], at: datetime) -> Slot | None:
    return next((s for s in slots if s.covers(at)), None)


def on_now(event: Event, slots: Sequence[Slot], lineup: Lineup, at: datetime) -> list[Panelist]:
    """Panelists answering at `at`: the core panel plus the current slot's, while the event runs."""
    # "Go live early" is allowed, so the status decides; the end time still stops the panel.
    if event.status != EventStatus.LIVE or at >= event.ends_at:
        return []
    slot = current_slot(slots, at)
    people = list(lineup.core)
    if slot is not None:
        people += [p for p in lineup.by_slot.get(slot.id, ()) if p not in people]
    return people


@dataclass(frozen=True)
class Transition:
    """One clock-driven change the scheduler must make, in time order."""

    at: datetime
    kind: str  # "event.live", "slot.started", "slot.ended", "event.closed"
    slot_id: int | None = None

    @property
    def order(self) -> tuple[datetime, int]:
        # At the same instant: end the old slot, close or open the event, then start the next slot.
        rank = {"slot.ended": 0, "event.live": 1, "event.closed": 3, "slot.started": 2}
        return (self.at, rank[self.kind])


def due_transitions(event: Event, slots: Sequence[Slot], now: datetime) -> list[Transition]:
    """Transitions whose time has come and that have not been made yet, oldest first."""
    due: list[Transition] = []
    if event.status not in (EventStatus.SCHEDULED, EventStatus.LIVE):
        return due
    if event.status == EventStatus.SCHEDULED and event.starts_at <= now:
        due.append(Transition(event.starts_at, "event.live"))
    for slot in slots:
        if slot.state == "pending" and slot.starts_at <= now and slot.ends_at > event.starts_at:
            due.append(Transition(slot.starts_at, "slot.started", slot.id))
        if slot.state in ("pending", "started") and slot.ends_at <= now:
            due.append(Transition(slot.ends_at, "slot.ended", slot.id))
    if event.ends_at <= now:
        due.append(Transition(event.ends_at, "event.closed"))
    return sorted(due, key=lambda t: t.order)


def next_wakeup(event: Event, slots: Sequence[Slot]) -> datetime | None:
    """The earliest future instant at which this event will have a transition due."""
    if event.status not in (EventStatus.SCHEDULED, EventStatus.LIVE):
        return None
    times = [event.ends_at]
    if event.status == EventStatus.SCHEDULED:
        times.append(event.starts_at)
    for slot in slots:
        if slot.state == "pending":
            times.append(slot.starts_at)
        if slot.state != "ended":
            times.append(slot.ends_at)
    return min(times)


def utc(dt: datetime) -> datetime:
    """Make a datetime aware in UTC; naive values are taken to be UTC already."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def iso(dt: datetime) -> str:
    """The one text form of an instant: fixed width, UTC, sortable as text."""
    return utc(dt).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    return utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


@dataclass(frozen=True)
class Frame:
    """One entry of an event's public log; seq is None for frames that are not logged."""

    event_id: int
    seq: int | None
    type: str
    at: datetime
    data: dict[str, object]


@dataclass(frozen=True)
class Question:
    id: int
    event_id: int
    body: str
    display_name: str
    reader_id: str
    status: QuestionStatus
    created_at: datetime
    directed_to: int | None = None
    pinned: bool = False
    merged_into: int | None = None
    upvotes: int = 0
    answered: bool = False
    reject_reason: str = ""
    held_reason: str = ""
    public_reason: str = ""  # shown to the asker only (panel/openness.py)


@dataclass(frozen=True)
class Answer:
    id: int
    question_id: int
    body_md: str
    created_at: datetime
    updated_at: datetime
    panelist_id: int | None = None
    editor_id: int | None = None
    status: str = "published"
    # body_md as sanitised HTML, rendered when the answer was written (None: not yet).
    body_html: str | None = None


def blocked_term_in(text: str, terms: Iterable[str]) -> str | None:
    """The first blocked term found in `text` (case-insensitive, whole words), if any."""
    for term in terms:
        term = term.strip()
        if term and re.search(rf"(?<!\w){re.escape(term)}(?!\w)", text, re.IGNORECASE):
            return term
    return None


# Where a search hit's matched words start and stop: two private-use characters that never
# occur in indexed text (the store strips them), turned into <mark> only by render.marked_html.
MARK_START = "\ue000"
MARK_STOP = "\ue001"


@dataclass(frozen=True)
class Draft:
    """A panelist's unpublished answer to one question, and their soft claim on it."""

    question_id: int
    panelist_id: int
    event_id: int
    body: str
    updated_at: datetime
    # The claim ("being answered by"): held while the answer box is open and typed in.
    claimed_until: datetime | None = None

    def claims(self, now: datetime) -> bool:
        return self.claimed_until is not None and self.claimed_until > now


class Audience(StrEnum):
    PANEL = "panel"  # an editor's note to every panelist of the event
    PANELIST = "panelist"  # an editor's note to one panelist
    EDITORS = "editors"  # a panelist's flag to the editors


@dataclass(frozen=True)
class Note:
    """A backstage message between editors and panelists; never shown to readers."""

    id: int
    event_id: int
    audience: Audience
    to_panelist: int | None
    question_id: int | None
    author_kind: str
    author_id: int | None
    author_name: str
    body: str
    created_at: datetime

    def visible_to(self, kind: str, person_id: int | None) -> bool:
        """Editors see every note; a panelist sees the panel's, their own, and theirs to see."""
        if kind == "editor":
            return True
        if kind != "panelist":
            return False
        if self.audience == Audience.PANEL:
            return True
        if self.audience == Audience.PANELIST:
            return self.to_panelist == person_id
        return self.author_kind == "panelist" and self.author_id == person_id
