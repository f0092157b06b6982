"""Live question counts: a `counts` frame (no seq) to an event's readers when they change,
at most one per event per window however fast questions arrive.

The commit listener only notes which events a write may have changed (a question posted,
moderated or answered); the task reads the counts from the store, so the numbers are right
whichever process made the change, and publishes them through the broker, so every
process's readers get them. The first change after a quiet window goes out at once; changes
inside the window go out together when it ends. Each process throttles the writes it
committed; upvotes, pins and edits send nothing. Times come from the injected clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from panel.clock import Clock, sleep_until_or_woken
from panel.domain import Frame
from panel.live import protocol
from panel.live.broker import Broker, Message, public_channel
from panel.store import Store

log = logging.getLogger(__name__)


# Moderation actions that change no count (the staff notice names the action).
_COUNTLESS_ACTIONS = frozenset({"pin", "unpin", "edit", "direct"})


def may_change_counts(frame: Frame) -> bool:
    """Every change of a question's status or answered mark sends a staff notice naming the
    question: a post, a moderation action, an undo, an answer. Upvotes and pins do not
    count, so a vote storm sends no counts."""
    return (
        frame.type == protocol.QUEUE_CHANGED
        and "question_id" in frame.data
        and frame.data.get("action") not in _COUNTLESS_ACTIONS
    )


class CountsAnnouncer:
    """`changed` is the store's commit listener; `run` is the task that announces."""

    def __init__(self, store: Store, broker: Broker, clock: Clock, window: float) -> None:
        self.store = store
        self.broker = broker
        self.clock = clock
        self.window = timedelta(seconds=window)
        self._dirty: set[int] = set()
        # Event id -> when its counts last went out, while that window lasts.
        self._sent_at: dict[int, datetime] = {}
        self._wake = asyncio.Event()
        self.frames = 0  # counts frames published, for tests

    def changed(self, frames: Sequence[Frame]) -> None:
        """Called on the event loop after a commit: note the events, return at once."""
        events = {f.event_id for f in frames if may_change_counts(f)}
        if events:
            self._dirty |= events
            self._wake.set()

    async def run(self) -> None:
        """Announce each changed event whose window is over; then wait for the next window
        to end or for a new change, whichever comes first."""
        while True:
            self._wake.clear()  # a change from here on wakes the wait below
            now = self.clock.now()
            # Only events inside their window are remembered: the others may go out now.
            self._sent_at = {e: t for e, t in self._sent_at.items() if t + self.window > now}
            ready = sorted(self._dirty - self._sent_at.keys())
            self._dirty.difference_update(ready)
            for event_id in ready:
                self._sent_at[event_id] = now
                try:
                    await self.announce(event_id, now)
                except Exception:
                    log.exception("could not announce the counts of event %s", event_id)
            waiting = [self._sent_at[e] for e in self._dirty if e in self._sent_at]
            if len(waiting) < len(self._dirty):
                continue  # an event changed during the sends, outside any window: go now
            if waiting:
                # Another event's change must not wait for this window: it wakes us.
                await sleep_until_or_woken(self.clock, min(waiting) + self.window, self._wake)
            else:
                await self._wake.wait()

    async def announce(self, event_id: int, now: datetime) -> None:
        """Read the event's counts and send them. (Not skipped when they equal the last ones
        this process sent: another process may have sent different ones since.)"""
        async with self.store.read() as repo:
            counts = (await repo.question_counts(event_id)).payload()
        text = protocol.unlogged(protocol.COUNTS, counts, now)
        await self.broker.publish(public_channel(event_id), Message(None, text))
        self.frames += 1
