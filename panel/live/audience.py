"""Audience counts: the sockets following each public channel, in every process.

Each process knows only its own sockets (`hub.count`). `totals` takes those counts and
returns each channel's audience across processes. In one process that is the same numbers;
with Redis, each process writes its own count into a hash per channel (field: the process)
on every presence tick, with an expiry, and reads the sum. A process that dies stops
refreshing its field, and its readers drop out of the sum after `ttl` seconds.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from panel.redis_client import redis_errors

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

# Write this process's count (with its expiry time), drop expired counts, return the sum.
# Times are Redis's own, so processes on different machines need no common clock.
SUM_COUNTS = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local ttl = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ' ' .. (now + ttl))
redis.call('PEXPIRE', KEYS[1], ttl)
local total = 0
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local count, until_ms = string.match(all[i + 1], '(%d+) (%d+)')
  if count == nil or tonumber(until_ms) < now then
    redis.call('HDEL', KEYS[1], all[i])
  else
    total = total + tonumber(count)
  end
end
return total
"""


class Audience(Protocol):
    async def totals(self, counts: Mapping[str, int]) -> dict[str, int]:
        """Each channel's audience in every process, given this process's `counts`."""

    async def close(self) -> None:
        """Withdraw this process's counts (on shutdown)."""


class LocalAudience:
    """One process: its counts are the whole audience."""

    async def totals(self, counts: Mapping[str, int]) -> dict[str, int]:
        return dict(counts)

    async def close(self) -> None:
        return None


class RedisAudience:
    """Counts summed in Redis, under `{prefix}audience:{channel}` (see the module doc)."""

    def __init__(self, client: Redis, prefix: str, interval: float) -> None:
        self.client = client
        self.prefix = prefix
        self.member = secrets.token_hex(6)  # this process's field in each hash
        # Three missed ticks and a count is gone: a dead process's readers drop out.
        self.ttl_ms = max(1000, math.ceil(3000 * interval))
        self._script = client.register_script(SUM_COUNTS)
        self._reported: set[str] = set()
        self._errors = redis_errors()

    def _key(self, channel: str) -> str:
        return f"{self.prefix}audience:{channel}"

    async def totals(self, counts: Mapping[str, int]) -> dict[str, int]:
        try:
            for channel in self._reported - counts.keys():  # no sockets here any more
                await self.client.hdel(self._key(channel), self.member)
            self._reported = set(counts)
            return {
                channel: int(
                    await self._script(
                        keys=[self._key(channel)], args=[self.member, count, self.ttl_ms]
                    )
                )
                for channel, count in counts.items()
            }
        except self._errors as exc:
            log.warning("audience counts from this process only: Redis is away (%s)", exc)
            return dict(counts)

    async def close(self) -> None:
        try:
            for channel in self._reported:
                await self.client.hdel(self._key(channel), self.member)
        except self._errors:
            pass  # the counts expire on their own
        self._reported.clear()
