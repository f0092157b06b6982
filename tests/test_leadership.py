"""Scheduler leadership: only the holder of the "scheduler" lease makes transitions, and
another process takes over once the holder has died (its lease expired) or stopped."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from panel.actions import Actions
from panel.clock import FakeClock
from panel.config import Settings
from panel.scheduler import LEASE_NAME, Scheduler
from panel.store import Store, store_for_url
from tests.conftest import EVENT_START, seed_event, wait_for
from tests.pgdb import BOTH_STORES
from tests.test_scheduler import WHOLE_DAY, log, steps

MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)


class Process:
    """One server process's scheduler task on the shared database, running `run()`."""

    def __init__(self, settings: Settings, clock: FakeClock, name: str, lease: timedelta):
        self.store = store_for_url(settings.db_url)
        self.scheduler = Scheduler(
            self.store, Actions(self.store, clock, settings), clock, lease, holder=name
        )
        self.task: asyncio.Task[None] | None = None
        self.open = False

    async def start(self) -> Scheduler:
        await self.store.open()
        self.open = True
        self.task = asyncio.create_task(self.scheduler.run())
        return self.scheduler

    async def _end_task(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None

    async def stop(self) -> None:
        """A clean stop: the task ends (releasing the lease), then the store closes."""
        await self._end_task()
        if self.open:
            self.open = False
            await self.store.close()

    async def crash(self) -> None:
        """The process dies without a word: its connections go first, so the lease it holds
        is never released (the clean stop's release fails and is only logged)."""
        if self.open:
            self.open = False
            await self.store.close()
        await self._end_task()


@asynccontextmanager
async def processes(
    settings: Settings, clock: FakeClock, lease: timedelta, *names: str
) -> AsyncIterator[list[Process]]:
    """Processes, not started; each is stopped on the way out if it still runs."""
    started = [Process(settings, clock, name, lease) for name in names]
    try:
        yield started
    finally:
        for p in started:
            await p.stop()


async def holder(store: Store, clock: FakeClock) -> str | None:
    async with store.read() as repo:
        return await repo.lease_holder(LEASE_NAME, clock.now())


async def next_attempt(scheduler: Scheduler, after: int) -> None:
    await wait_for(lambda: scheduler.attempts > after, message=f"{scheduler.holder} to try")


@BOTH_STORES
async def test_only_the_lease_holder_makes_transitions(
    settings: Settings, store: Store, actions: Actions, clock: FakeClock
) -> None:
    """Two schedulers on one database: the first takes the lease and makes every transition;
    the second keeps trying, is refused, and never ticks."""
    clock.set(EVENT_START - MINUTE)
    info = await seed_event(actions)
    lease = timedelta(hours=1)  # long, so no renewal is ever late on the fake clock
    async with processes(settings, clock, lease, "a", "b") as (pa, pb):
        a = await pa.start()
        await wait_for(lambda: a.leader and a.ticks == 1, message="a to lead")
        b = await pb.start()
        await next_attempt(b, 0)
        assert not b.leader and b.ticks == 0
        assert await holder(store, clock) == "a"

        clock.set(EVENT_START)  # a's wake-up; b sleeps until its next try
        await wait_for(lambda: a.ticks >= 2, message="a to tick at the start")
        tries = b.attempts
        clock.set(EVENT_START + 25 * MINUTE)  # past b's next try: refused again
        await next_attempt(b, tries)
        assert not b.leader and b.ticks == 0
        assert steps(await log(store, info["id"]), info) == WHOLE_DAY[:2]
        assert await holder(store, clock) == "a"


@BOTH_STORES
async def test_another_takes_over_once_the_dead_leaders_lease_expires(
    settings: Settings, store: Store, actions: Actions, clock: FakeClock
) -> None:
    """The leader dies: the lease stands until it expires, then the other scheduler takes it
    at its next try (a third of a lease later at most) and makes the transitions due."""
    clock.set(EVENT_START - MINUTE)
    info = await seed_event(actions)
    async with processes(settings, clock, 10 * SECOND, "a", "b") as (pa, pb):
        a = await pa.start()
        await wait_for(lambda: a.leader, message="a to lead")
        b = await pb.start()
        await next_attempt(b, 0)
        assert not b.leader and b.ticks == 0
        await pa.crash()
        assert await holder(store, clock) == "a"

        tries = b.attempts
        clock.advance(seconds=4)  # b's next try, inside a's lease: refused
        await next_attempt(b, tries)
        assert not b.leader and b.ticks == 0
        tries = b.attempts
        clock.advance(seconds=7)  # a's lease (taken at 0 s) has expired by b's next try
        await next_attempt(b, tries)
        assert b.leader and b.ticks == 1
        assert await holder(store, clock) == "b"

        clock.set(EVENT_START)
        await wait_for(lambda: b.ticks >= 2, message="b to tick at the start")
        assert steps(await log(store, info["id"]), info) == WHOLE_DAY[:2]


async def test_a_clean_stop_hands_over_at_the_next_try(
    settings: Settings, store: Store, clock: FakeClock
) -> None:
    """A leader that stops releases the lease: the other takes it long before it expires."""
    async with processes(settings, clock, timedelta(hours=1), "a", "b") as (pa, pb):
        a = await pa.start()
        await wait_for(lambda: a.leader, message="a to lead")
        b = await pb.start()
        await next_attempt(b, 0)
        assert not b.leader
        await pa.stop()
        assert await holder(store, clock) is None
        tries = b.attempts
        clock.advance(minutes=20)  # b's next try, 40 minutes before a's lease would expire
        await next_attempt(b, tries)
        assert b.leader and b.ticks == 1
        assert await holder(store, clock) == "b"
