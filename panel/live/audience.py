"""Audience counts: the readers following each public channel, in every process.

Each process knows only its own readers (`hub.readers`: one key per reader, however many
sockets they hold). `totals` takes those and returns each channel's audience across
processes. In one process that is the number of keys; with Redis, each process writes its
readers' keys into a set of its own per channel on every presence tick, registers the set
with an expiry in a hash per channel (field: the process), and reads the size of the union,
so a reader with tabs on two processes counts once. A process that dies stops refreshing its
field, and its readers drop out after `ttl` seconds. (The script reads the sets it finds
in the hash, so it needs one Redis, not a cluster.)
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Protocol

from panel.redis_client import redis_errors

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

# Replace this process's set of readers (KEYS[2]) and register it until its expiry in the
# channel's hash (KEYS[1]); drop expired processes and their sets; return the size of the
# union. Times are Redis's own, so processes on different machines need no common clock.
UNION_READERS = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local ttl = tonumber(ARGV[2])
redis.call('DEL', KEYS[2])
for i = 3, #ARGV, 1000 do
  redis.call('SADD', KEYS[2], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('HSET', KEYS[1], ARGV[1], now + ttl)
redis.call('PEXPIRE', KEYS[1], ttl)
local sets = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local until_ms = tonumber(all[i + 1])
  if until_ms == nil or until_ms < now then
    redis.call('HDEL', KEYS[1], all[i])
    redis.call('DEL', KEYS[1] .. ':' .. all[i])
  else
    table.insert(sets, KEYS[1] .. ':' .. all[i])
  end
end
return #redis.call('SUNION', unpack(sets))
"""


class Audience(Protocol):
    async def totals(self, readers: Mapping[str, Collection[str]]) -> dict[str, int]:
        """Each channel's audience in every process, given this process's `readers`."""

    async def close(self) -> None:
        """Withdraw this process's counts (on shutdown)."""


class LocalAudience:
    """One process: its counts are the whole audience."""

    async def totals(self, readers: Mapping[str, Collection[str]]) -> dict[str, int]:
        return {channel: len(keys) for channel, keys in readers.items()}

    async def close(self) -> None:
        return None


class RedisAudience:
    """Readers in Redis, under `{prefix}audience:{channel}` and, for each process, that
    key with `:{process}` (see the module doc)."""

    def __init__(self, client: Redis, prefix: str, interval: float) -> None:
        self.client = client
        self.prefix = prefix
        self.member = secrets.token_hex(6)  # this process's field in each hash
        # Three missed ticks and a count is gone: a dead process's readers drop out.
        self.ttl_ms = max(1000, math.ceil(3000 * interval))
        self._script = client.register_script(UNION_READERS)
        self._reported: set[str] = set()
        self._errors = redis_errors()

    def _key(self, channel: str) -> str:
        return f"{self.prefix}audience:{channel}"

    async def totals(self, readers: Mapping[str, Collection[str]]) -> dict[str, int]:
        try:
            for channel in self._reported - readers.keys():  # no sockets here any more
                await self._withdraw(channel)
            self._reported = set(readers)
            return {
                channel: int(
                    await self._script(
                        keys=[self._key(channel), f"{self._key(channel)}:{self.member}"],
                        args=[self.member, self.ttl_ms, *keys],
                    )
                )
                for channel, keys in readers.items()
            }
        except self._errors as exc:
            log.warning("audience counts from this process only: Redis is away (%s)", exc)
            return {channel: len(keys) for channel, keys in readers.items()}

    async def _withdraw(self, channel: str) -> None:
        await self.client.hdel(self._key(channel), self.member)
        await self.client.delete(f"{self._key(channel)}:{self.member}")

    async def close(self) -> None:
        try:
            for channel in self._reported:
                await self._withdraw(channel)
        except self._errors:
            pass  # the counts expire on their own
        self._reported.clear()
