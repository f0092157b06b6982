"""The scheduler on a fake clock: transitions at their times, once each, also after a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from panel.actions import Actions
from panel.clock import FakeClock
from panel.config import Settings
from panel.domain import Frame
from panel.scheduler import Scheduler
from panel.store import Store, store_for_url
from tests.conftest import EVENT_START, LiveServer, seed_event, wait_for
from tests.pgdb import BOTH_STORES

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


@asynccontextmanager
async def node(settings: Settings, clock: FakeClock) -> AsyncIterator[Scheduler]:
    """One server process's worth of store, actions and scheduler on the shared database."""
    store = store_for_url(settings.db_url)
    await store.open()
    try:
        yield Scheduler(store, Actions(store, clock, settings), clock)
    finally:
        await store.close()


async def log(store: Store, event_id: int) -> list[Frame]:
    async with store.read() as repo:
        return await repo.frames_since(event_id, 0)


def steps(frames: list[Frame], info: dict[str, Any]) -> list[tuple[str, str | int]]:
    """Frames as (type, status or slot number 1-3): easy to compare with a whole schedule."""
    out: list[tuple[str, str | int]] = []
    for f in frames:
        if f.type == "event.status":
            out.append((f.type, str(f.data["status"])))
        else:
            slot = f.data["slot"]
            assert isinstance(slot, dict)
            out.append((f.type, info["slots"].index(slot["id"]) + 1))
    return out


WHOLE_DAY = [
    ("event.status", "live"),
    ("slot.started", 1),
    ("slot.ended", 1),
    ("slot.started", 2),
    ("slot.ended", 2),
    ("slot.started", 3),
    ("slot.ended", 3),
    ("event.status", "closed"),
]
# When each of WHOLE_DAY's frames was due, relative to the start.
DUE_AT = [0 * HOUR, 0 * HOUR, 1 * HOUR, 1 * HOUR, 2 * HOUR, 2 * HOUR, 3 * HOUR, 3 * HOUR]


async def test_tick_before_the_start_does_nothing(
    store: Store, actions: Actions, clock: FakeClock
) -> None:
    """A minute before the start nothing changes, and the next wake-up is the start."""
    clock.set(EVENT_START - MINUTE)
    info = await seed_event(actions)
    scheduler = Scheduler(store, actions, clock)
    assert await scheduler.tick() == EVENT_START
    assert await log(store, info["id"]) == []
    async with store.read() as repo:
        event = await repo.event_by_id(info["id"])
    assert event is not None and event.status == "scheduled"


@BOTH_STORES
async def test_tick_walks_an_event_through_its_day(
    store: Store, actions: Actions, clock: FakeClock
) -> None:
    """At each boundary tick makes exactly that boundary's transitions, once, in order."""
    clock.set(EVENT_START - MINUTE)
    info = await seed_event(actions)
    scheduler = Scheduler(store, actions, clock)
    await scheduler.tick()
    seen = 0
    for boundary, expected_next in ((0, 1 * HOUR), (1, 2 * HOUR), (2, 3 * HOUR), (3, None)):
        clock.set(EVENT_START + boundary * HOUR)
        wake = await scheduler.tick()
        frames = await log(store, info["id"])
        new = frames[seen:]
        assert steps(new, info) == WHOLE_DAY[2 * boundary : 2 * boundary + 2]
        assert all(f.at == EVENT_START + boundary * HOUR for f in new)
        seen = len(frames)
        assert wake == (EVENT_START + expected_next if expected_next else None)
    frames = await log(store, info["id"])
    assert [f.seq for f in frames] == list(range(1, 9))
    async with store.read() as repo:
        event = await repo.event_by_id(info["id"])
        slots = await repo.slots(info["id"])
    assert event is not None and event.status == "closed"
    assert [s.state for s in slots] == ["ended", "ended", "ended"]


async def test_frames_say_who_is_on_now(store: Store, actions: Actions, clock: FakeClock) -> None:
    """slot.started carries the new on-now list: core panel plus the slot's panelist."""
    clock.set(EVENT_START + HOUR)
    info = await seed_event(actions)
    await Scheduler(store, actions, clock).tick()
    frames = await log(store, info["id"])
    started_2 = [f for f in frames if f.type == "slot.started"][-1]
    on_now = started_2.data["on_now"]
    assert isinstance(on_now, list)
    assert [p["name"] for p in on_now] == ["Maria Ashdown", "Jenna Holt", "Kerry Dale"]


async def test_second_tick_changes_nothing(
    store: Store, actions: Actions, clock: FakeClock
) -> None:
    """Ticking again at the same time appends no frame and changes no state."""
    info = await seed_event(actions)  # the clock is half an hour into slot 1
    scheduler = Scheduler(store, actions, clock)
    await scheduler.tick()
    first = await log(store, info["id"])
    assert steps(first, info) == WHOLE_DAY[:2]
    await scheduler.tick()
    await scheduler.tick()
    assert await log(store, info["id"]) == first
    assert scheduler.ticks == 3


@BOTH_STORES
async def test_restart_after_missed_transitions_makes_each_once_in_order(
    settings: Settings, store: Store, actions: Actions, clock: FakeClock
) -> None:
    """The server is down from before the start until slot 3; the new process catches up."""
    clock.set(EVENT_START - MINUTE)
    info = await seed_event(actions)
    await Scheduler(store, actions, clock).tick()
    await store.close()  # the first process stops

    clock.set(EVENT_START + 2 * HOUR + 30 * MINUTE)  # down through five transitions
    async with node(settings, clock) as restarted:
        assert await restarted.tick() == EVENT_START + 3 * HOUR
        frames = await log(restarted.store, info["id"])
        assert steps(frames, info) == WHOLE_DAY[:6]
        # Each frame tells when its transition was due, not when it was made.
        assert [f.at for f in frames] == [EVENT_START + d for d in DUE_AT[:6]]
        await restarted.tick()
        assert len(await log(restarted.store, info["id"])) == 6

    async with node(settings, clock) as again:  # another restart: nothing to catch up
        await again.tick()
        assert len(await log(again.store, info["id"])) == 6
        clock.set(EVENT_START + 5 * HOUR)
        assert await again.tick() is None
        frames = await log(again.store, info["id"])
    assert steps(frames, info) == WHOLE_DAY
    assert [f.seq for f in frames] == list(range(1, 9))
    assert [f.at for f in frames] == [EVENT_START + d for d in DUE_AT]


async def test_restart_after_a_partly_run_event(
    settings: Settings, store: Store, actions: Actions, clock: FakeClock
) -> None:
    """What the first process did is not repeated; only the missed rest is made."""
    info = await seed_event(actions)  # half an hour into slot 1
    await Scheduler(store, actions, clock).tick()
    assert len(await log(store, info["id"])) == 2
    await store.close()

    clock.set(EVENT_START + 4 * HOUR)  # back after the end
    async with node(settings, clock) as restarted:
        await restarted.tick()
        frames = await log(restarted.store, info["id"])
    assert steps(frames, info) == WHOLE_DAY
    assert [f.seq for f in frames] == list(range(1, 9))


@BOTH_STORES
async def test_two_processes_ticking_at_once_make_each_transition_once(
    settings: Settings, store: Store, actions: Actions, clock: FakeClock
) -> None:
    """Two nodes on the same file ticking together still make every transition once."""
    clock.set(EVENT_START - MINUTE)
    info = await seed_event(actions)
    clock.set(EVENT_START + 3 * HOUR)
    async with node(settings, clock) as a, node(settings, clock) as b:
        await asyncio.wait_for(asyncio.gather(a.tick(), b.tick(), a.tick(), b.tick()), 30)
    frames = await log(store, info["id"])
    assert steps(frames, info) == WHOLE_DAY
    assert [f.seq for f in frames] == list(range(1, 9))


async def test_draft_events_are_left_alone(
    store: Store, actions: Actions, clock: FakeClock
) -> None:
    """A draft is never opened by the clock, even long after its start."""
    info = await seed_event(actions, status="draft")
    clock.set(EVENT_START + 10 * HOUR)
    assert await Scheduler(store, actions, clock).tick() is None
    assert await log(store, info["id"]) == []


async def test_several_events_each_get_their_own_transitions(
    store: Store, actions: Actions, clock: FakeClock
) -> None:
    """Two events starting an hour apart: the wake-up is the earliest next boundary."""
    first = await seed_event(actions, slug="first")
    second = await seed_event(actions, slug="second", start=EVENT_START + HOUR + 30 * MINUTE)
    scheduler = Scheduler(store, actions, clock)
    assert await scheduler.tick() == EVENT_START + HOUR  # slot 1 of `first` ends
    assert steps(await log(store, first["id"]), first) == WHOLE_DAY[:2]
    assert await log(store, second["id"]) == []
    clock.set(EVENT_START + HOUR + 45 * MINUTE)
    assert await scheduler.tick() == EVENT_START + 2 * HOUR  # slot 2 of `first` ends
    assert steps(await log(store, first["id"]), first) == WHOLE_DAY[:4]
    assert steps(await log(store, second["id"]), second) == WHOLE_DAY[:2]


# -- the running task inside the app -----------------------------------------------------------


async def server_frames(server: LiveServer, event_id: int) -> list[Frame]:
    return await server.acall(lambda: log(server.services.store, event_id))


async def test_running_scheduler_follows_the_fake_clock(server: LiveServer) -> None:
    """The app's scheduler task opens the event, hands over slots and closes it as time moves."""
    server.clock.set(EVENT_START - MINUTE)
    info = await server.acall(lambda: seed_event(server.actions))

    async def has(count: int) -> list[Frame] | None:
        frames = await server_frames(server, info["id"])
        return frames if len(frames) >= count else None

    server.clock.set(EVENT_START)
    frames = await wait_for(lambda: has(2), message="the event to go live")
    assert steps(frames, info) == WHOLE_DAY[:2]

    server.clock.set(EVENT_START + HOUR + MINUTE)
    frames = await wait_for(lambda: has(4), message="the first handover")
    assert steps(frames, info) == WHOLE_DAY[:4]

    server.clock.set(EVENT_START + 3 * HOUR)
    frames = await wait_for(lambda: has(8), message="the event to close")
    assert steps(frames, info) == WHOLE_DAY

    # One more full pass of the scheduler must not add anything.
    scheduler = server.services.scheduler
    before = scheduler.ticks

    async def poke() -> None:
        scheduler.poke()

    await server.acall(poke)
    await wait_for(lambda: scheduler.ticks > before, message="another scheduler pass")
    frames = await server_frames(server, info["id"])
    assert steps(frames, info) == WHOLE_DAY
    assert [f.seq for f in frames] == list(range(1, 9))


async def test_running_scheduler_picks_up_a_new_event(server: LiveServer) -> None:
    """An event created while the scheduler sleeps is opened without waiting for its recheck."""
    info = await server.acall(lambda: seed_event(server.actions))  # already in slot 1

    async def status() -> str | None:
        async def read() -> str | None:
            async with server.services.store.read() as repo:
                event = await repo.event_by_id(info["id"])
            return event.status if event else None

        return await server.acall(read)

    async def is_live() -> bool:
        return await status() == "live"

    await wait_for(is_live, message="the new event to go live")
    assert steps(await server_frames(server, info["id"]), info) == WHOLE_DAY[:2]


async def test_running_scheduler_catches_up_at_start_up(
    settings: Settings, clock: FakeClock, store: Store, actions: Actions
) -> None:
    """A server started after the event ended closes it, with every missed frame once."""
    clock.set(EVENT_START - MINUTE)
    info = await seed_event(actions)
    await store.close()
    clock.set(EVENT_START + 6 * HOUR)
    server = LiveServer(settings, clock)
    server.start()
    try:

        async def closed() -> list[Frame] | None:
            frames = await server_frames(server, info["id"])
            return frames if len(frames) >= 8 else None

        frames = await wait_for(closed, message="the catch-up at start-up")
        assert steps(frames, info) == WHOLE_DAY
        assert [f.at for f in frames] == [EVENT_START + d for d in DUE_AT]
    finally:
        server.stop()
