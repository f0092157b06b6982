"""Rate limits and sign-in lockouts kept in Redis, so that the counts hold across processes.

Both fall back to their in-memory twin while Redis is unreachable: each process then limits
on its own, which is weaker but never lets a Redis outage turn every request into an error.
Times are Redis's own (its TIME), so processes need no common clock.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import secrets
from typing import TYPE_CHECKING

from panel.clock import Clock
from panel.lockouts import LOCKOUT, MAX_FAILED_LOGINS, MemoryLockouts
from panel.redis_client import redis_errors
from panel.security import RateLimiter

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)
FAILURES_KEPT_MS = 24 * 3600 * 1000  # an unknown username's failures are forgotten after a day

# A sliding window in a sorted set: drop hits older than the window, refuse when full (with
# the seconds until the oldest leaves), else record this hit.
SLIDING_WINDOW = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, math.ceil((tonumber(oldest[2]) + window - now) / 1000))
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return 0
"""

# One more failure; the MAX-th replaces the count with a lock.
FAIL = """
local failures = redis.call('INCR', KEYS[1])
if failures >= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return failures
"""


class RedisLimiter:
    """`RateLimiter`'s sliding window under `{prefix}limit:{name}:{key}`, shared."""

    def __init__(
        self, client: Redis, prefix: str, name: str, limit: int, window: float = 60.0
    ) -> None:
        self.client = client
        self.prefix = f"{prefix}limit:{name}:"
        self.limit = limit
        self.window_ms = int(window * 1000)
        self.fallback = RateLimiter(limit, window)
        self._script = client.register_script(SLIDING_WINDOW)
        self._hits = (f"{secrets.token_hex(6)}:{n}" for n in itertools.count())  # unique
        self._errors = redis_errors()

    async def retry_after(self, key: str) -> int:
        try:
            wait = await self._script(
                keys=[self.prefix + key], args=[self.limit, self.window_ms, next(self._hits)]
            )
        except self._errors as exc:
            log.warning("rate limit in this process only: Redis is away (%s)", exc)
            return self.fallback.hit(key)
        return int(wait)


class RedisLockouts:
    """`MemoryLockouts` under `{prefix}login:…` keys (the username hashed), shared."""

    def __init__(self, client: Redis, prefix: str, clock: Clock) -> None:
        self.client = client
        self.prefix = f"{prefix}login:"
        self.fallback = MemoryLockouts(clock)
        self._script = client.register_script(FAIL)
        self._errors = redis_errors()

    def _keys(self, username: str) -> list[str]:
        name = hashlib.sha256(username.encode("utf-8")).hexdigest()
        return [f"{self.prefix}failures:{name}", f"{self.prefix}locked:{name}"]

    async def locked(self, username: str) -> bool:
        try:
            return bool(await self.client.exists(self._keys(username)[1]))
        except self._errors as exc:
            log.warning("sign-in lockout in this process only: Redis is away (%s)", exc)
            return await self.fallback.locked(username)

    async def failed(self, username: str) -> None:
        lock_ms = int(LOCKOUT.total_seconds() * 1000)
        try:
            await self._script(
                keys=self._keys(username), args=[MAX_FAILED_LOGINS, lock_ms, FAILURES_KEPT_MS]
            )
        except self._errors as exc:
            log.warning("sign-in lockout in this process only: Redis is away (%s)", exc)
            await self.fallback.failed(username)
