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
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

from panel.clock import Clock
from panel.lockouts import (
    ACCOUNT_CEILING,
    LOCKOUT,
    MAX_FAILED_LOGINS,
    MAX_FAILED_PER_ADDRESS,
    MemoryLockouts,
    Standing,
)
from panel.redis_client import redis_errors
from panel.security import RateLimiter

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

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

# The three sign-in counts (panel/lockouts.py). KEYS[1] is the username's hash: `n` its failures
# across addresses, `f:<a>` and `l:<a>` one address's failures and lock (ms) for it; KEYS[2] is
# the address's own hash: `n` and `l`. Each lives LOCKOUT after its last failure.
FAIL = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local a, lock = ARGV[1], tonumber(ARGV[4])
local max_pair, max_address = tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('HINCRBY', KEYS[1], 'n', 1)
if redis.call('HINCRBY', KEYS[1], 'f:' .. a, 1) >= max_pair then
  redis.call('HSET', KEYS[1], 'f:' .. a, 0, 'l:' .. a, now + lock)
end
redis.call('PEXPIRE', KEYS[1], lock)
if redis.call('HINCRBY', KEYS[2], 'n', 1) >= max_address then
  redis.call('HSET', KEYS[2], 'n', 0, 'l', now + lock)
end
redis.call('PEXPIRE', KEYS[2], lock)
return 1
"""

# {address's failures for the name, its lock holds, the address's lock holds, name's failures}
STANDING = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local a = ARGV[1]
local pair_lock = tonumber(redis.call('HGET', KEYS[1], 'l:' .. a) or 0)
local address_lock = tonumber(redis.call('HGET', KEYS[2], 'l') or 0)
return {
  tonumber(redis.call('HGET', KEYS[1], 'f:' .. a) or 0),
  pair_lock > now and 1 or 0,
  address_lock > now and 1 or 0,
  tonumber(redis.call('HGET', KEYS[1], 'n') or 0),
}
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

    async def give_back(self, key: str) -> None:
        try:
            await self.client.zpopmax(self.prefix + key)  # the newest hit
        except self._errors as exc:
            log.warning("rate limit in this process only: Redis is away (%s)", exc)
            self.fallback.take_back(key)


class RedisLockouts:
    """`MemoryLockouts` under `{prefix}login:…` keys (usernames and addresses hashed), shared."""

    def __init__(self, client: Redis, prefix: str, clock: Clock) -> None:
        self.client = client
        self.prefix = f"{prefix}login:"
        self.fallback = MemoryLockouts(clock)
        self._fail = client.register_script(FAIL)
        self._standing = client.register_script(STANDING)
        self._errors = redis_errors()

    def _name_key(self, username: str) -> str:
        return f"{self.prefix}name:{_hashed(username)}"

    def _keys(self, username: str, address: str) -> tuple[list[str], str]:
        """The two keys of an attempt, and the address's field name within the first."""
        hashed = _hashed(address)
        return [self._name_key(username), f"{self.prefix}address:{hashed}"], hashed

    def _away(self, exc: Exception) -> None:
        log.warning("sign-in lockout in this process only: Redis is away (%s)", exc)

    async def standing(self, username: str, address: str) -> Standing:
        keys, field = self._keys(username, address)
        try:
            pair, pair_locked, address_locked, total = await self._standing(keys=keys, args=[field])
        except self._errors as exc:
            self._away(exc)
            return await self.fallback.standing(username, address)
        return Standing(
            pair_failures=int(pair),
            pair_locked=bool(pair_locked),
            address_locked=bool(address_locked),
            name_slowed=int(total) >= ACCOUNT_CEILING,
        )

    async def failed(self, username: str, address: str) -> None:
        keys, field = self._keys(username, address)
        lock_ms = int(LOCKOUT.total_seconds() * 1000)
        try:
            await self._fail(
                keys=keys, args=[field, MAX_FAILED_LOGINS, MAX_FAILED_PER_ADDRESS, lock_ms]
            )
        except self._errors as exc:
            self._away(exc)
            await self.fallback.failed(username, address)

    async def succeeded(self, username: str, address: str) -> None:
        keys, field = self._keys(username, address)
        try:
            await self.client.hdel(keys[0], f"f:{field}", f"l:{field}")
        except self._errors as exc:
            self._away(exc)
            await self.fallback.succeeded(username, address)

    async def locked_until(self, username: str) -> datetime | None:
        try:
            # decode_responses=True (panel/redis_client.py): text, not bytes
            fields = cast(dict[str, str], await self.client.hgetall(self._name_key(username)))
            seconds, micros = await self.client.time()
            ttl_ms = await self.client.pttl(self._name_key(username))
        except self._errors as exc:
            self._away(exc)
            return await self.fallback.locked_until(username)
        now_ms = int(seconds) * 1000 + int(micros) // 1000
        ends = [int(v) for k, v in fields.items() if k.startswith("l:") and int(v) > now_ms]
        if int(fields.get("n", 0)) >= ACCOUNT_CEILING and ttl_ms > 0:
            ends.append(now_ms + int(ttl_ms))  # slowed until LOCKOUT after the last failure
        return datetime.fromtimestamp(max(ends) / 1000, UTC) if ends else None

    async def forget(self, username: str) -> None:
        try:
            await self.client.delete(self._name_key(username))
        except self._errors as exc:
            self._away(exc)
        await self.fallback.forget(username)


def _hashed(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
