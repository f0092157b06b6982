"""In-process fan-out: channels of subscribers, each with a bounded queue of encoded frames."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass(eq=False)
class Subscriber:
    """One socket's view of a channel. Items are (seq or None, encoded text)."""

    queue: asyncio.Queue[tuple[int | None, str]]
    overflowed: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, seq: int | None, text: str) -> None:
        if self.overflowed.is_set():
            return
        try:
            self.queue.put_nowait((seq, text))
        except asyncio.QueueFull:
            # Never grow memory for a slow reader: it is closed and resumes by seq.
            self.overflowed.set()

    def drain(self) -> list[tuple[int | None, str]]:
        items = []
        while not self.queue.empty():
            items.append(self.queue.get_nowait())
        return items


class Hub:
    def __init__(self, queue_size: int = 256) -> None:
        self.queue_size = queue_size
        self._channels: dict[str, set[Subscriber]] = {}
        self.delivered = 0  # frames handed to subscriber queues, for /metrics
        self.dropped = 0  # subscribers closed for falling behind

    @contextlib.contextmanager
    def subscribe(self, channel: str) -> Iterator[Subscriber]:
        sub = Subscriber(asyncio.Queue(self.queue_size))
        self._channels.setdefault(channel, set()).add(sub)
        try:
            yield sub
        finally:
            members = self._channels.get(channel)
            if members is not None:
                members.discard(sub)
                if not members:
                    del self._channels[channel]
            if sub.overflowed.is_set():
                self.dropped += 1

    def deliver(self, channel: str, seq: int | None, text: str) -> None:
        """Hand one encoded frame to every subscriber of `channel`, without awaiting."""
        for sub in self._channels.get(channel, ()):
            sub.offer(seq, text)
            self.delivered += 1

    def count(self, channel: str) -> int:
        return len(self._channels.get(channel, ()))

    def channels(self, prefix: str) -> list[str]:
        return [name for name in self._channels if name.startswith(prefix)]
