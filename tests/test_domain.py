"""Pure domain rules: status transitions, who is on now, local times, due transitions."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from panel.actions import Actions
from panel.domain import (
    Event,
    EventStatus,
    Lineup,
    Panelist,
    RuleError,
    Slot,
    check_transition,
    due_transitions,
    on_now,
)
from panel.web.eventview import clock_label, load_event_view

LONDON = ZoneInfo("Europe/London")
HOUR = timedelta(hours=1)
S = EventStatus

# The lifecycle from ARCHITECTURE.md: draft -> scheduled -> live -> closed -> published,
# plus the editor's controls (back to draft, cancel before start, reopen, unpublish).
ALLOWED = [
    (S.DRAFT, S.SCHEDULED),
    (S.SCHEDULED, S.LIVE),
    (S.LIVE, S.CLOSED),
    (S.CLOSED, S.PUBLISHED),
    (S.CLOSED, S.LIVE),
    (S.PUBLISHED, S.CLOSED),
]
REFUSED = [
    (S.DRAFT, S.LIVE),
    (S.DRAFT, S.CLOSED),
    (S.DRAFT, S.PUBLISHED),
    (S.SCHEDULED, S.PUBLISHED),
    (S.LIVE, S.DRAFT),
    (S.LIVE, S.SCHEDULED),
    (S.LIVE, S.PUBLISHED),
    (S.CLOSED, S.DRAFT),
    (S.CLOSED, S.SCHEDULED),
    (S.PUBLISHED, S.DRAFT),
    (S.PUBLISHED, S.SCHEDULED),
    (S.PUBLISHED, S.LIVE),
] + [(status, status) for status in S]


def london(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A London wall-clock time as a UTC instant."""
    return datetime(year, month, day, hour, minute, tzinfo=LONDON).astimezone(UTC)


def afternoon(
    day: tuple[int, int, int], status: EventStatus = S.LIVE
) -> tuple[Event, list[Slot], Lineup]:
    """An event 13:00-16:00 London time with three one-hour slots and a core panel of two."""
    start = london(*day, 13)
    event = Event(
        id=1, slug="e", title="E", starts_at=start, ends_at=start + 3 * HOUR, status=status
    )
    slots = [
        Slot(
            id=10 + i,
            event_id=1,
            label=f"Slot {i + 1}",
            starts_at=start + i * HOUR,
            ends_at=start + (i + 1) * HOUR,
            position=i,
        )
        for i in range(3)
    ]
    core = (Panelist(1, "Maria Ashdown"), Panelist(2, "Jenna Holt"))
    lineup = Lineup(
        core=core,
        by_slot={
            10: (Panelist(3, "Sandra Kemp"),),
            11: (Panelist(4, "Kerry Dale"), Panelist(5, "Emma Marsh")),
            12: (Panelist(6, "Chloe Lam"),),
        },
    )
    return event, slots, lineup


def names(people: list[Panelist]) -> list[str]:
    return [p.name for p in people]


# -- status transitions ------------------------------------------------------------------


@pytest.mark.parametrize(("current", "target"), ALLOWED)
def test_allowed_transitions_pass(current: EventStatus, target: EventStatus) -> None:
    """The lifecycle steps and the editor's reopen/unpublish are accepted."""
    check_transition(current, target)


@pytest.mark.parametrize(("current", "target"), REFUSED)
def test_refused_transitions_raise_rule_error(current: EventStatus, target: EventStatus) -> None:
    """Skipping steps, going backwards past the lifecycle, or standing still is refused."""
    with pytest.raises(RuleError) as caught:
        check_transition(current, target)
    assert caught.value.code == "bad_transition"
    assert str(current) in caught.value.message and str(target) in caught.value.message


# -- who is on now -------------------------------------------------------------------------


@pytest.mark.parametrize("day", [(2026, 9, 15), (2026, 1, 15)], ids=["summer", "winter"])
def test_on_now_at_1359_is_core_and_first_slot(day: tuple[int, int, int]) -> None:
    """One minute before 2pm local, the core panel and the first slot's panelist answer."""
    event, slots, lineup = afternoon(day)
    assert names(on_now(event, slots, lineup, london(*day, 13, 59))) == [
        "Maria Ashdown",
        "Jenna Holt",
        "Sandra Kemp",
    ]


@pytest.mark.parametrize("day", [(2026, 9, 15), (2026, 1, 15)], ids=["summer", "winter"])
def test_on_now_at_1400_switches_to_second_slot(day: tuple[int, int, int]) -> None:
    """At 2pm local sharp the first slot's panelist has left and the second slot's joined."""
    event, slots, lineup = afternoon(day)
    assert names(on_now(event, slots, lineup, london(*day, 14))) == [
        "Maria Ashdown",
        "Jenna Holt",
        "Kerry Dale",
        "Emma Marsh",
    ]


@pytest.mark.parametrize("status", [S.LIVE, S.CLOSED])
def test_on_now_at_1600_is_nobody(status: EventStatus) -> None:
    """At 4pm the event is over, even if the scheduler has not closed it yet."""
    day = (2026, 9, 15)
    event, slots, lineup = afternoon(day, status)
    assert on_now(event, slots, lineup, london(*day, 16)) == []


def test_on_now_at_1559_is_the_last_slot() -> None:
    """A minute before the end, the core panel and the last slot's panelist are still on."""
    day = (2026, 9, 15)
    event, slots, lineup = afternoon(day)
    assert names(on_now(event, slots, lineup, london(*day, 15, 59))) == [
        "Maria Ashdown",
        "Jenna Holt",
        "Chloe Lam",
    ]


def test_on_now_is_nobody_before_the_event_goes_live() -> None:
    """A scheduled event has nobody on, even inside its first slot's time."""
    day = (2026, 9, 15)
    event, slots, lineup = afternoon(day, S.SCHEDULED)
    assert on_now(event, slots, lineup, london(*day, 13, 30)) == []


def test_on_now_lists_a_core_panelist_once_even_if_also_in_a_slot() -> None:
    """Someone on the core panel and in a slot appears once."""
    day = (2026, 9, 15)
    event, slots, lineup = afternoon(day)
    maria = lineup.core[0]
    by_slot = {**lineup.by_slot, 12: (maria, Panelist(6, "Chloe"))}
    doubled = Lineup(core=lineup.core, by_slot=by_slot)
    assert names(on_now(event, slots, doubled, london(*day, 15, 30))) == [
        "Maria Ashdown",
        "Jenna Holt",
        "Chloe",
    ]


# -- local times on the days the clocks change ---------------------------------------------


def test_clock_label_newspaper_style() -> None:
    """1pm, 1.30pm, 12pm (noon) and 12am (midnight)."""
    assert clock_label(datetime(2026, 1, 1, 13, 0)) == "1pm"
    assert clock_label(datetime(2026, 1, 1, 13, 30)) == "1.30pm"
    assert clock_label(datetime(2026, 1, 1, 12, 5)) == "12.05pm"
    assert clock_label(datetime(2026, 1, 1, 0, 0)) == "12am"
    assert clock_label(datetime(2026, 1, 1, 9, 0)) == "9am"


@pytest.mark.parametrize(
    ("day", "utc_hour"),
    [
        ((2026, 10, 24), 12),  # the Saturday before: still BST (UTC+1)
        ((2026, 10, 25), 13),  # clocks went back at 2am: GMT (UTC+0)
        ((2026, 3, 28), 13),  # the Saturday before: GMT
        ((2026, 3, 29), 12),  # clocks went forward at 1am: BST
    ],
)
def test_afternoon_event_on_clock_change_days_shows_local_time(
    day: tuple[int, int, int], utc_hour: int
) -> None:
    """A 1pm London event is stored at the right UTC instant and shown as 1pm again."""
    start = datetime(*day, utc_hour, tzinfo=UTC)
    event = Event(id=1, slug="e", title="E", starts_at=start, ends_at=start + 3 * HOUR)
    local = event.local(event.starts_at)
    assert (local.year, local.month, local.day, local.hour, local.minute) == (*day, 13, 0)
    assert local.utcoffset() == timedelta(hours=13 - utc_hour)
    assert clock_label(local) == "1pm"
    assert clock_label(event.local(event.ends_at)) == "4pm"


def test_overnight_slots_across_the_spring_change() -> None:
    """29 March 2026: 00:00, 01:00, 02:00 UTC are 12am GMT, 2am BST, 3am BST in London."""
    start = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
    event = Event(id=1, slug="e", title="E", starts_at=start, ends_at=start + 3 * HOUR)
    labels = [clock_label(event.local(start + i * HOUR)) for i in range(4)]
    assert labels == ["12am", "2am", "3am", "4am"]  # 1am London never happens that night
    assert [event.local(start + i * HOUR).utcoffset() for i in range(4)] == [
        timedelta(0),
        timedelta(hours=1),
        timedelta(hours=1),
        timedelta(hours=1),
    ]


def test_overnight_slots_across_the_autumn_change() -> None:
    """25 October 2026: 00:00 and 01:00 UTC are both 1am in London (BST, then GMT)."""
    start = datetime(2026, 10, 25, 0, 0, tzinfo=UTC)
    event = Event(id=1, slug="e", title="E", starts_at=start, ends_at=start + 3 * HOUR)
    local = [event.local(start + i * HOUR) for i in range(4)]
    assert [clock_label(t) for t in local] == ["1am", "1am", "2am", "3am"]
    assert [t.utcoffset() for t in local] == [
        timedelta(hours=1),
        timedelta(0),
        timedelta(0),
        timedelta(0),
    ]


@pytest.mark.parametrize("day", [(2026, 10, 25), (2026, 3, 29)], ids=["autumn", "spring"])
async def test_event_view_on_a_clock_change_day_shows_1pm_to_4pm(
    actions: Actions, day: tuple[int, int, int]
) -> None:
    """The event page's view (real store) labels the schedule in London time that day."""
    start = london(*day, 13)
    event_id = await actions.create_event(
        slug="clocks",
        title="Clocks",
        starts_at=start,
        ends_at=start + 3 * HOUR,
        status="scheduled",
        slots=[(f"Slot {i}", start + i * HOUR, start + (i + 1) * HOUR) for i in range(3)],
    )
    async with actions.store.read() as repo:
        event = await repo.event_by_id(event_id)
        assert event is not None
        view = await load_event_view(repo, event, start)
    assert view.time_range == "1pm–4pm"
    assert [(s["start"], s["end"]) for s in view.schedule] == [
        ("1pm", "2pm"),
        ("2pm", "3pm"),
        ("3pm", "4pm"),
    ]
    expected_date = {
        (2026, 10, 25): "Sunday 25 October 2026",
        (2026, 3, 29): "Sunday 29 March 2026",
    }[day]
    assert view.date_label == expected_date
    # Stored in UTC: GMT in late October, BST in late March.
    assert view.schedule[0]["slot"].starts_at == datetime(
        *day, 13 if day[1] == 10 else 12, tzinfo=UTC
    )


# -- due transitions -------------------------------------------------------------------------


def test_due_transitions_after_the_end_come_in_time_order() -> None:
    """Everything missed comes out oldest first; at one instant: end slot, (open), start slot."""
    day = (2026, 9, 15)
    event, slots, _ = afternoon(day, S.SCHEDULED)
    start = event.starts_at
    shuffled = slots[:]
    random.Random(7).shuffle(shuffled)
    due = due_transitions(event, shuffled, event.ends_at + timedelta(minutes=5))
    assert [(t.at - start, t.kind, t.slot_id) for t in due] == [
        (0 * HOUR, "event.live", None),
        (0 * HOUR, "slot.started", 10),
        (1 * HOUR, "slot.ended", 10),
        (1 * HOUR, "slot.started", 11),
        (2 * HOUR, "slot.ended", 11),
        (2 * HOUR, "slot.started", 12),
        (3 * HOUR, "slot.ended", 12),
        (3 * HOUR, "event.closed", None),
    ]


def test_due_transitions_only_what_is_due() -> None:
    """Before the start nothing is due; half an hour in, opening and the first slot."""
    day = (2026, 9, 15)
    event, slots, _ = afternoon(day, S.SCHEDULED)
    assert due_transitions(event, slots, event.starts_at - timedelta(seconds=1)) == []
    due = due_transitions(event, slots, event.starts_at + timedelta(minutes=30))
    assert [(t.kind, t.slot_id) for t in due] == [("event.live", None), ("slot.started", 10)]


def test_due_transitions_skip_what_was_already_done() -> None:
    """A live event whose first slot started only needs the handover at 2pm."""
    day = (2026, 9, 15)
    event, slots, _ = afternoon(day, S.LIVE)
    slots[0] = replace(slots[0], state="started")
    due = due_transitions(event, slots, london(*day, 14, 1))
    assert [(t.kind, t.slot_id) for t in due] == [("slot.ended", 10), ("slot.started", 11)]


@pytest.mark.parametrize("status", [S.DRAFT, S.CLOSED, S.PUBLISHED])
def test_due_transitions_none_for_draft_or_finished_events(status: EventStatus) -> None:
    """The clock never moves a draft, and never reopens a closed or published event."""
    event, slots, _ = afternoon((2026, 9, 15), status)
    assert due_transitions(event, slots, event.ends_at + HOUR) == []
