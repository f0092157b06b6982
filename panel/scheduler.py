"""Runs sessions by the clock: one task that wakes at the next transition of any event."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from panel.clock import Clock
from panel.domain import EventStatus, next_wakeup
from panel.schedule import Schedule
from panel.store import Store

log = logging.getLogger(__name__)
IDLE_RECHECK = timedelta(minutes=10)  # look again even if nothing is due (new events)


class Scheduler:
    def __init__(self, store: Store, schedule: Schedule, clock: Clock) -> None:
        self.store = store
        self.schedule = schedule
        self.clock = clock
        self._poked = asyncio.Event()
        self.ticks = 0  # completed passes, so tests can wait for one

    def poke(self) -> None:
        """Look again now: an editor created or moved an event."""
        self._poked.set()

    async def tick(self) -> datetime | None:
        """Make every due transition of every event; return when to look next."""
        async with self.store.read() as repo:
            events = await repo.list_events([EventStatus.SCHEDULED, EventStatus.LIVE])
        wake: datetime | None = None
        for event in events:
            try:
                await self.schedule.run_due_transitions(event.id)
            except Exception:
                log.exception("scheduler: transitions for event %s failed", event.slug)
            async with self.store.read() as repo:
                fresh = await repo.event_by_id(event.id)
                slots = await repo.slots(event.id)
            when = next_wakeup(fresh, slots) if fresh else None
            if when is not None and (wake is None or when < wake):
                wake = when
        self.ticks += 1
        return wake

    async def run(self) -> None:
        """The scheduler task: tick, then sleep until the next transition or a poke."""
        while True:
            self._poked.clear()  # before the tick, so a poke during it is not lost
            wake = await self.tick()
            latest = self.clock.now() + IDLE_RECHECK
            wake = latest if wake is None else min(wake, latest)
            sleeper = asyncio.ensure_future(self.clock.sleep_until(wake))
            poked = asyncio.ensure_future(self._poked.wait())
            try:
                await asyncio.wait({sleeper, poked}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (sleeper, poked):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
