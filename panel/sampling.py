"""The audience of live events, sampled into the store once a minute for the post-event report.

One writer: only the process holding the scheduler lease samples (every process runs the
presence tick, and each knows the audience across processes). At most one write per minute,
holding one row per live event; a minute sampled twice (the lease changed hands within it)
keeps its first row (the table's key)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from panel.clock import Clock
from panel.domain import EventStatus
from panel.live.broker import public_channel
from panel.store import Store


def minute_of(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


class AudienceSampler:
    def __init__(self, store: Store, clock: Clock, leads: Callable[[], bool]) -> None:
        self.store = store
        self.clock = clock
        self.leads = leads  # does this process hold the scheduler lease now?
        self.sampled: datetime | None = None  # the last minute sampled here

    async def due(self) -> tuple[datetime, dict[str, int]] | None:
        """The minute to sample and the live events' channels (channel -> event id), or None
        when this process does not lead or has sampled this minute already."""
        minute = minute_of(self.clock.now())
        if not self.leads() or minute == self.sampled:
            return None
        async with self.store.read() as repo:
            live = await repo.list_events([EventStatus.LIVE])
        # The scheduler closes an event at its end, so a live event past it is a write in
        # progress (the demo playing an earlier afternoon), not an audience.
        now = self.clock.now()
        return minute, {public_channel(e.id): e.id for e in live if now < e.ends_at}

    async def record(
        self, minute: datetime, channels: Mapping[str, int], totals: Mapping[str, int]
    ) -> int:
        """Store each live event's audience at `minute`; the rows written."""
        samples = [(event_id, minute, totals.get(c, 0)) for c, event_id in channels.items()]
        written = 0
        if samples:
            written = await self.store.write(lambda repo: repo.add_audience_samples(samples))
        self.sampled = minute
        return written
