"""Carries encoded frames between processes: publish to a channel, subscribe to one.

The interface is deliberately small (encode/broadcaster's shape), so that a Redis backend
can be added in a file of its own and chosen by `broker_for_url`:

- `await broker.publish(channel, message)` sends one message to every subscription of
  `channel`, in this process and (for a shared backend) in every other one.
- `async with broker.subscribe(channel) as messages:` yields a `Subscription`: an async
  iterator of the messages published on `channel` from the moment the block is entered, in
  publish order, whose `drain(limit)` also returns the messages already received without
  waiting (so the hub can send a burst to each socket as one message). Leaving the block
  ends the subscription.

A message is a frame already encoded once by the publisher, plus its seq (None for frames
that are not logged: staff notices). The broker promises neither delivery nor exactly-once:
the hub (panel/live/hub.py) drops duplicates by seq and fills gaps from the event log. A
*mark* (`mark(seq)`, empty text) is no frame: it tells the hub that the log reaches `seq`, so
that a lost last frame, or frames lost while Redis was away, are read from the log.

`LocalBroker` is one process; `RedisBroker` (panel/live/redis_broker.py) joins processes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

PUBLIC_PREFIX = "event:"


def public_channel(event_id: int) -> str:
    return f"{PUBLIC_PREFIX}{event_id}"


def staff_channel(event_id: int) -> str:
    return f"staff:{event_id}"


def event_of(channel: str) -> int | None:
    """The event id of a public channel; None for any other channel."""
    if not channel.startswith(PUBLIC_PREFIX):
        return None
    rest = channel.removeprefix(PUBLIC_PREFIX)
    return int(rest) if rest.isdigit() else None


@dataclass(frozen=True, slots=True)
class Message:
    """One published frame: its seq (None when it is not logged) and its encoded text."""

    seq: int | None
    text: str

    @property
    def is_mark(self) -> bool:
        return not self.text


def mark(seq: int | None) -> Message:
    """Not a frame: "the log reaches `seq`" (None: "look where the log ends"); the hub fills
    any gap up to there from the log. Marks stay in the process that makes them."""
    return Message(seq, "")


class Subscription(Protocol):
    """What `Broker.subscribe` yields: the channel's messages, in publish order."""

    def __aiter__(self) -> AsyncIterator[Message]: ...

    async def __anext__(self) -> Message:
        """The next message, waiting for it if none has arrived."""

    def drain(self, limit: int) -> list[Message]:
        """Up to `limit` messages that have already arrived, without waiting; [] if none."""


class Broker(Protocol):
    async def start(self) -> None:
        """Connect (a no-op in one process)."""

    async def stop(self) -> None:
        """Disconnect; subscriptions still open end with their blocks."""

    async def publish(self, channel: str, message: Message) -> None:
        """Send `message` to every subscription of `channel`."""

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[Subscription]:
        """The messages published on `channel` while the block is open, in order."""


class _Messages:
    """The async iterator a LocalBroker subscription yields."""

    def __init__(self, queue: asyncio.Queue[Message]) -> None:
        self._queue = queue

    def __aiter__(self) -> _Messages:
        return self

    async def __anext__(self) -> Message:
        return await self._queue.get()

    def drain(self, limit: int) -> list[Message]:
        taken: list[Message] = []
        while len(taken) < limit and not self._queue.empty():
            taken.append(self._queue.get_nowait())
        return taken


class LocalBroker:
    """One process: publishing puts the message on each subscription's queue, at once.

    The queues are not bounded, because their only reader is the hub, which takes messages
    without awaiting (except to fill a gap from the log); a bounded queue would have to
    either block every channel's publishing or lose messages. The bounded queues that
    protect memory are the sockets' (panel/live/hub.py).
    """

    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue[Message]]] = {}

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, channel: str, message: Message) -> None:
        for queue in self._queues.get(channel, ()):
            queue.put_nowait(message)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        queue: asyncio.Queue[Message] = asyncio.Queue()
        self._queues.setdefault(channel, set()).add(queue)
        try:
            yield _Messages(queue)
        finally:
            members = self._queues.get(channel)
            if members is not None:
                members.discard(queue)
                if not members:
                    del self._queues[channel]

    def subscriptions(self, channel: str) -> int:
        """How many subscriptions `channel` has now (for tests and diagnostics)."""
        return len(self._queues.get(channel, ()))

    def channels(self) -> list[str]:
        """The channels that have a subscription now."""
        return list(self._queues)


def broker_for_url(url: str | None, prefix: str = "livepanel:") -> Broker:
    """LocalBroker without a URL, RedisBroker for a Redis one (channels named under
    `prefix`); raises ValueError with one clear line for anything else."""
    if not url:
        return LocalBroker()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from panel.live.redis_broker import RedisBroker  # redis is an optional extra

        return RedisBroker(url, prefix)
    raise ValueError(f"cannot use broker {url!r}: expected a redis:// URL")
