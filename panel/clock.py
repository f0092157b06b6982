"""Clocks: the real one, and a fake one that tests move by hand."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    async def sleep_until(self, when: datetime) -> None: ...


async def sleep_until_or_woken(clock: Clock, when: datetime, wake: asyncio.Event) -> None:
    """Until the clock reaches `when` or `wake` is set, whichever comes first."""
    sleeper = asyncio.ensure_future(clock.sleep_until(when))
    woken = asyncio.ensure_future(wake.wait())
    try:
        await asyncio.wait({sleeper, woken}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sleeper, woken):
            task.cancel()
        # Not `suppress(CancelledError)` around an await: that would also swallow a
        # cancellation of the caller arriving meanwhile, and its loop would go on.
        await asyncio.wait({sleeper, woken})


class SystemClock:
    """Wall-clock time in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep_until(self, when: datetime) -> None:
        delay = (when - self.now()).total_seconds()
        if delay > 0:
            await asyncio.sleep(min(delay, 3600))


class FakeClock:
    """A clock that only moves when told to; sleepers wake when it passes their time.

    Safe to move from another thread (browser tests drive a server running in a thread).
    """

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def now(self) -> datetime:
        return self._now

    async def sleep_until(self, when: datetime) -> None:
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        self._waiters.add(waiter)
        try:
            while self._now < when:
                waiter[1].clear()
                await waiter[1].wait()
        finally:
            self._waiters.discard(waiter)

    def set(self, when: datetime) -> None:
        self._now = when
        for loop, changed in list(self._waiters):
            loop.call_soon_threadsafe(changed.set)

    def advance(self, **delta: float) -> None:
        self.set(self._now + timedelta(**delta))
