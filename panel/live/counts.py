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

from panel.clock import Clock
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
        self._sent_at: dict[int, datetime] = {}  # event id -> when its counts last went out
        self._wake = asyncio.Event()
        self.frames = 0  # counts frames published, for tests

    def changed(self, frames: Sequence[Frame]) -> None:
        """Called on the event loop after a commit: note the events, return at once."""
        events = {f.event_id for f in frames if may_change_counts(f)}
        if events:
            self._dirty |= events
            self._wake.set()

    def _due(self, event_id: int) -> datetime | None:
        last = self._sent_at.get(event_id)
        return None if last is None else last + self.window

    async def run(self) -> None:
        """Wait for a change, then for the end of that event's window, then announce."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            dues = [self._due(e) for e in self._dirty]
            waits = [d for d in dues if d is not None]
            if waits and len(waits) == len(dues):
                await self.clock.sleep_until(min(waits))
            now = self.clock.now()
            ready = {e for e in self._dirty if (self._due(e) or now) <= now}
            self._dirty -= ready
            for event_id in sorted(ready):
                self._sent_at[event_id] = now
                try:
                    await self.announce(event_id, now)
                except Exception:
                    log.exception("could not announce the counts of event %s", event_id)
            # Windows long over need no memory: the next change goes out at once.
            self._sent_at = {e: t for e, t in self._sent_at.items() if t + self.window > now}
            if self._dirty:
                self._wake.set()

    async def announce(self, event_id: int, now: datetime) -> None:
        """Read the event's counts and send them. (Not skipped when they equal the last ones
        this process sent: another process may have sent different ones since.)"""
        async with self.store.read() as repo:
            counts = (await repo.question_counts(event_id)).payload()
        text = protocol.unlogged(protocol.COUNTS, counts, now)
        await self.broker.publish(public_channel(event_id), Message(None, text))
        self.frames += 1
