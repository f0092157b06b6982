"""Closing the staff sockets of ended sessions, in every process.

When sessions end (sign-out, a password change, an editor disabled or removed, an invite
revoked), the action that ended them calls `announce` with their ids after its commit. That
publishes one message on the broker's `sessions` channel, so it reaches every process (with a
shared broker) or this one (LocalBroker). Each process's `follow` task takes those messages and
resolves the future of every staff socket it holds that `watch`es one of those ids; the socket
then closes with 1008 "signed out" (panel/web/live.py).

A socket starts watching its session *before* it checks that the session is live. So a
session that ends after the check is announced to a watcher that is already there, and one that
ended before it fails the check: nothing slips between the two.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterator, Sequence

from panel.live.broker import Broker, Message

log = logging.getLogger(__name__)
SESSIONS_CHANNEL = "sessions"


class Signouts:
    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        # Each open staff socket's future, and the session it belongs to: a few dozen at most,
        # so an announcement simply looks at them all.
        self._watching: dict[asyncio.Future[None], str] = {}

    async def announce(self, session_ids: Sequence[str]) -> None:
        """Tell every process that these sessions ended (ids only: hashes, never tokens)."""
        if not session_ids:
            return
        try:
            await self.broker.publish(SESSIONS_CHANNEL, Message(None, json.dumps(session_ids)))
        except Exception:
            # The sessions have ended in the database, so every request already fails; only
            # sockets that are open elsewhere stay open until they next reconnect.
            log.exception("could not announce %d ended sessions", len(session_ids))

    async def follow(self, messages: AsyncIterator[Message]) -> None:
        """Close the watched sockets of every announced session (a task, until cancelled)."""
        async for message in messages:
            if message.is_mark:
                continue  # a broker's resubscription note (panel/live/redis_broker.py)
            try:
                ended = json.loads(message.text)
            except ValueError:
                log.error("not a list of sessions on %r: %.80r", SESSIONS_CHANNEL, message.text)
                continue
            ended = {str(i) for i in ended} if isinstance(ended, list) else set()
            for future, session_id in self._watching.items():
                if session_id in ended and not future.done():
                    future.set_result(None)

    @contextlib.contextmanager
    def watch(self, session_id: str) -> Iterator[asyncio.Future[None]]:
        """A future that is done once `session_id` is announced as ended."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._watching[future] = session_id
        try:
            yield future
        finally:
            del self._watching[future]
            future.cancel()

    def watched(self) -> int:
        """How many sockets watch a session in this process (for tests and diagnostics)."""
        return len(self._watching)
