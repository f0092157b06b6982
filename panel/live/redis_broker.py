"""The broker between processes: Redis pub/sub under a key prefix.

Each process keeps a `LocalBroker` for its own subscribers (its hub's channel tasks) and one
Redis connection that subscribes, for all of them, to every channel they follow. Publishing
delivers to this process's subscribers at once, then sends the message to Redis for the other
processes; a process ignores its own messages coming back. So this process's readers never
wait on Redis, and keep receiving its own frames while Redis is away.

Redis pub/sub may lose messages (a restart, a killed or too slow connection). Nothing here
repairs that: when the subscription connection is made again, each channel it resubscribes
gets a mark (`broker.mark(None)`), and the hub reads what it missed from the event log. While
Redis is away, publishing skips Redis at once (the frame is in the log).

On the wire a message is `origin:seq:text`, where `origin` names the sending process and
`seq` is empty for staff notices; `text` is the frame as the publisher encoded it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from panel.live.broker import LocalBroker, Message, Subscription, mark
from panel.redis_client import connect, redis_errors
from panel.tasks import cancel_and_wait

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.client import PubSub

log = logging.getLogger(__name__)
FIRST_RETRY = 0.1  # seconds before reconnecting; doubles up to MAX_RETRY
MAX_RETRY = 5.0
CONFIRM_TIMEOUT = 5.0  # wait this long for Redis to confirm a new subscription


def encode(origin: str, message: Message) -> str:
    seq = "" if message.seq is None else str(message.seq)
    return f"{origin}:{seq}:{message.text}"


def decode(data: str) -> tuple[str, Message]:
    """The sending process and the message; raises ValueError on anything else."""
    origin, seq, text = data.split(":", 2)
    return origin, Message(int(seq) if seq else None, text)


class RedisBroker:
    """Redis pub/sub between processes, a LocalBroker within this one (see the module doc)."""

    def __init__(self, url: str, prefix: str = "livepanel:") -> None:
        self.url = url
        self.prefix = prefix
        self.origin = secrets.token_hex(6)  # this process, on every message it sends
        self._local = LocalBroker()
        self._errors = redis_errors()
        self._client: Redis | None = None  # commands: PUBLISH
        self._subscriber: Redis | None = None  # the one subscription connection's pool
        self._pubsub: PubSub | None = None  # set while connected
        self._lock = asyncio.Lock()  # one subscribe or unsubscribe at a time
        self._joined: set[str] = set()  # subscribed on the current connection
        self._confirm: dict[str, asyncio.Future[None]] = {}
        self._resync: set[str] = set()  # resubscribed channels waiting for their mark
        self._task: asyncio.Task[None] | None = None
        self.connected = False
        self.connections = 0  # times the subscription connection was made, for tests
        self.unsent = 0  # messages Redis did not take (their frames are in the log)

    @property
    def subscriber_name(self) -> str:
        """The subscription connection's name in Redis's CLIENT LIST."""
        return f"livepanel-subscriber-{self.origin}"

    async def start(self) -> None:
        self._client = connect(self.url)
        self._subscriber = connect(self.url, retries=0, name=self.subscriber_name)
        self._task = asyncio.create_task(self._listen(), name="redis broker")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait([self._task])
        for client in (self._client, self._subscriber):
            if client is not None:
                with contextlib.suppress(*self._errors):
                    await client.aclose()

    async def publish(self, channel: str, message: Message) -> None:
        await self._local.publish(channel, message)
        if message.is_mark:
            return  # marks are this process's own bookkeeping
        if not self.connected or self._client is None:
            self.unsent += 1  # Redis is away: the others read it from the log later
            return
        try:
            await self._client.publish(self.prefix + channel, encode(self.origin, message))
        except self._errors as exc:
            self.unsent += 1
            log.warning("could not publish to Redis (%s); readers elsewhere catch up", exc)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        try:
            async with self._local.subscribe(channel) as messages:
                await self._sync(channel)
                yield messages
        finally:
            await self._sync(channel)

    def channels(self) -> list[str]:
        return self._local.channels()

    async def _sync(self, channel: str) -> None:
        """Subscribe to `channel` in Redis if this process follows it, else unsubscribe.
        A new subscription returns once Redis confirms it: the hub reads the log next, and
        must not miss what is published in between. One change at a time, so an
        unsubscribe and a subscribe of the same channel cannot overtake each other."""
        async with self._lock:
            pubsub = self._pubsub
            wanted = self._local.subscriptions(channel) > 0
            if pubsub is None or wanted == (channel in self._joined):
                return  # not connected: the reconnect subscribes it and marks it
            if not wanted:
                self._joined.discard(channel)
                with contextlib.suppress(*self._errors):
                    await pubsub.unsubscribe(self.prefix + channel)
                return
            self._joined.add(channel)
            confirmed = asyncio.get_running_loop().create_future()
            self._confirm[channel] = confirmed
            try:
                await pubsub.subscribe(self.prefix + channel)
                await asyncio.wait_for(confirmed, CONFIRM_TIMEOUT)
            except TimeoutError:
                pass  # the connection is failing: its reconnect subscribes and marks it
            except self._errors:
                pass  # the same
            finally:
                if self._confirm.get(channel) is confirmed:
                    del self._confirm[channel]

    async def _listen(self) -> None:
        """The subscription connection: made, read until it fails, made again with backoff."""
        assert self._subscriber is not None
        delay = FIRST_RETRY
        while True:
            pubsub = self._subscriber.pubsub()
            try:
                await pubsub.connect()
                # No await between listing the channels and publishing `_pubsub`: a channel
                # joined meanwhile is either in this list or subscribed by its own `_join`.
                self._resync = set(self._local.channels())
                self._joined = set(self._resync)
                self._pubsub = pubsub
                if self._resync:
                    await pubsub.subscribe(*(self.prefix + c for c in self._resync))
                self.connected = True
                self.connections += 1
                delay = FIRST_RETRY
                while True:
                    reply = await pubsub.get_message(timeout=None)
                    if reply is not None:
                        await self._handle(reply)
            except self._errors as exc:
                if self.connected:
                    log.warning("Redis subscription lost (%s); reconnecting", exc)
            finally:
                self.connected = False
                self._pubsub = None
                with contextlib.suppress(*self._errors):
                    await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY)

    async def _handle(self, reply: dict[str, Any]) -> None:
        name = str(reply.get("channel") or "")
        if not name.startswith(self.prefix):
            return
        channel = name.removeprefix(self.prefix)
        if reply["type"] == "subscribe":
            confirmed = self._confirm.get(channel)
            if confirmed is not None and not confirmed.done():
                confirmed.set_result(None)
            if channel in self._resync:
                # Messages may have been lost while the connection was down: read the log.
                self._resync.discard(channel)
                await self._local.publish(channel, mark(None))
        elif reply["type"] == "message":
            try:
                origin, message = decode(str(reply["data"]))
            except ValueError:
                log.warning("ignored a malformed message on %s", name)
                return
            if origin != self.origin:  # our own were delivered when published
                await self._local.publish(channel, message)
