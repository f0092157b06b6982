"""From the writer to the broker: committed frames are handed over without waiting, then one
task encodes each frame once and publishes it, in commit order (so in seq order per event)."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence

from panel.domain import Frame
from panel.live import protocol
from panel.live.broker import Broker, Message, public_channel, staff_channel

log = logging.getLogger(__name__)


class Publisher:
    """`hand_over` is the store's commit listener; `run` is the task that publishes."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        # Not bounded: its length is what the writer committed since this task last ran, and
        # the writer must never wait on fan-out. The task does no I/O with the local broker.
        self._pending: deque[Frame] = deque()
        self._wake = asyncio.Event()
        self.published = 0  # public frames published, for /metrics

    def hand_over(self, frames: Sequence[Frame]) -> None:
        """Called on the writer task after a commit: queue the frames and return at once."""
        self._pending.extend(frames)
        self._wake.set()

    @property
    def pending(self) -> int:
        """Frames committed and not yet published."""
        return len(self._pending)

    async def run(self) -> None:
        """Publish every handed-over frame, oldest first, until cancelled."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                frame = self._pending.popleft()
                try:
                    await self._publish(frame)
                except Exception:
                    # A lost public frame is read from the log by the hub on the next one.
                    log.exception("could not publish a frame of event %s", frame.event_id)

    async def _publish(self, frame: Frame) -> None:
        text = protocol.encode(frame)
        staff = staff_channel(frame.event_id)
        if frame.seq is None and frame.type == protocol.ASKER_NOTICE:  # public, not logged
            await self.broker.publish(public_channel(frame.event_id), Message(None, text))
            return
        if frame.seq is None:  # a staff notice: not logged, never public
            await self.broker.publish(staff, Message(None, text))
            return
        await self.broker.publish(public_channel(frame.event_id), Message(frame.seq, text))
        self.published += 1
        notice = protocol.unlogged(protocol.QUEUE_CHANGED, {"seq": frame.seq}, frame.at)
        await self.broker.publish(staff, Message(None, notice))
