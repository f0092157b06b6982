"""Runs sessions by the clock: one task that wakes at the next transition of any event.

Only the process holding the "scheduler" lease (a row in `leases`) ticks; the others keep
trying to take it, so one of them takes over within a lease of the leader's death.

An editor's change of an event or a slot may be made in any process, so a poke is also told to
every process through the broker's `schedule` channel (`relay_pokes`, `follow_pokes`): the
leader looks again at once, wherever the change was made."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta

from panel.clock import Clock, sleep_until_or_woken
from panel.domain import EventStatus, Transition, next_wakeup
from panel.live.broker import Broker, Message
from panel.schedule import Schedule
from panel.store import Store

log = logging.getLogger(__name__)
IDLE_RECHECK = timedelta(minutes=10)  # look again even if nothing is due (new events)
LEASE = timedelta(seconds=10)  # how long leadership lasts unless renewed
LEASE_NAME = "scheduler"
SCHEDULE_CHANNEL = "schedule"  # broker channel: "an event or a slot changed, look again"


def process_name() -> str:
    """Who holds a lease: host and pid for people reading the row, and a random part so that
    two schedulers are never taken for one."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Scheduler:
    def __init__(
        self,
        store: Store,
        schedule: Schedule,
        clock: Clock,
        lease: timedelta = LEASE,
        holder: str | None = None,
    ) -> None:
        self.store = store
        self.schedule = schedule
        self.clock = clock
        self.lease = lease
        self.holder = holder or process_name()
        self.leader = False  # held the lease at the last attempt
        self._poked = asyncio.Event()
        self._to_tell = asyncio.Event()  # a local change the other processes must hear of
        self.ticks = 0  # completed passes, so tests can wait for one
        self.attempts = 0  # tries to take or renew the lease, so tests can wait for one
        # Told how many seconds late each transition was made (the clock's), for /metrics.
        self.lag_observer: Callable[[float], None] | None = None
        # Other timed jobs only the lease holder does, each run at every tick and returning
        # when it is next due (the scheduled digest: panel/digest_mail.py).
        self.duties: list[Callable[[], Awaitable[datetime | None]]] = []

    def poke(self) -> None:
        """Look again now: an editor created or moved an event (and tell the others)."""
        self._poked.set()
        self._to_tell.set()

    async def relay_pokes(self, broker: Broker) -> None:
        """Tell every process of this process's pokes (a task; pokes close together go as
        one message)."""
        while True:
            await self._to_tell.wait()
            self._to_tell.clear()
            try:
                await broker.publish(SCHEDULE_CHANNEL, Message(None, "poke"))
            except Exception:  # the leader still looks within a third of a lease
                log.exception("scheduler: could not tell the other processes of a change")

    async def follow_pokes(self, messages: AsyncIterator[Message]) -> None:
        """Look again when any process changed an event or a slot (a task)."""
        async for message in messages:
            if not message.is_mark:
                self._poked.set()

    async def tick(self) -> datetime | None:
        """Make every due transition of every event; return when to look next."""
        async with self.store.read() as repo:
            events = await repo.list_events([EventStatus.SCHEDULED, EventStatus.LIVE])
        wake: datetime | None = None
        for event in events:
            try:
                made = await self.schedule.run_due_transitions(event.id)
            except Exception:
                log.exception("scheduler: transitions for event %s failed", event.slug)
            else:
                self._observe_lag(made)
            async with self.store.read() as repo:
                fresh = await repo.event_by_id(event.id)
                slots = await repo.slots(event.id)
            when = next_wakeup(fresh, slots) if fresh else None
            if when is not None and (wake is None or when < wake):
                wake = when
        for duty in self.duties:
            try:
                when = await duty()
            except Exception:
                log.exception("scheduler: a duty failed")
                continue
            if when is not None and (wake is None or when < wake):
                wake = when
        self.ticks += 1
        return wake

    def _observe_lag(self, made: list[Transition]) -> None:
        """How late each transition was made, after the instant it was due."""
        if self.lag_observer is None:
            return
        now = self.clock.now()
        for transition in made:
            self.lag_observer((now - transition.at).total_seconds())

    async def lead(self) -> bool:
        """Take or renew the lease; whether this process is the one that schedules now. A
        store that cannot be reached counts as not holding it."""
        now = self.clock.now()
        until = now + self.lease
        try:
            held = await self.store.write(
                lambda repo: repo.take_lease(LEASE_NAME, self.holder, now, until)
            )
        except Exception:
            log.exception("scheduler: cannot take or renew the lease")
            held = False
        if held != self.leader:
            log.info("scheduler: %s %s the lead", self.holder, "took" if held else "lost")
        self.leader = held
        self.attempts += 1
        return held

    async def release(self) -> None:
        """Give the lease up (a clean stop), so another process takes over at its next try."""
        if not self.leader:
            return
        self.leader = False
        try:
            await self.store.write(lambda repo: repo.release_lease(LEASE_NAME, self.holder))
        except Exception:  # e.g. the store is gone: the lease then simply expires
            log.warning("scheduler: could not release the lease; it expires by itself")

    async def run(self) -> None:
        """The scheduler task: take or renew the lease; if held, tick; then sleep until the
        next transition, the next renewal (a third of the lease) or a poke."""
        try:
            while True:
                self._poked.clear()  # before the tick, so a poke during it is not lost
                renew = self.clock.now() + self.lease / 3
                wake = await self.tick() if await self.lead() else renew
                latest = min(self.clock.now() + IDLE_RECHECK, renew)
                await self._sleep(latest if wake is None else min(wake, latest))
        finally:
            await self.release()

    async def _sleep(self, wake: datetime) -> None:
        """Until `wake` or a poke, whichever comes first."""
        await sleep_until_or_woken(self.clock, wake, self._poked)
