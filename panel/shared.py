"""What the processes of one site must agree on: the broker that carries frames, audience
counts, rate limits and sign-in lockouts. In memory for one process; in Redis (under
`Settings.redis_prefix`) when `Settings.redis_url` is set. The one place that chooses."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from panel.clock import Clock
from panel.config import Settings
from panel.live.audience import Audience, LocalAudience, RedisAudience
from panel.live.broker import Broker, broker_for_url
from panel.lockouts import Lockouts, MemoryLockouts
from panel.redis_client import connect, redis_errors
from panel.redis_limits import RedisLimiter, RedisLockouts
from panel.security import Limiter, RateLimiter

if TYPE_CHECKING:
    from redis.asyncio import Redis


@dataclass
class Shared:
    broker: Broker
    audience: Audience
    lockouts: Lockouts
    client: Redis | None  # the commands' connection pool, None in one process
    prefix: str = ""  # of every Redis key

    def limiter(self, name: str, per_minute: int) -> Limiter:
        """At most `per_minute` hits a minute per key, named apart from other limits."""
        if self.client is None:
            return RateLimiter(per_minute)
        return RedisLimiter(self.client, self.prefix, name, per_minute)

    async def close(self) -> None:
        await self.audience.close()
        if self.client is not None:
            with contextlib.suppress(*redis_errors()):
                await self.client.aclose()


def shared_for(settings: Settings, clock: Clock) -> Shared:
    broker = broker_for_url(settings.redis_url, settings.redis_prefix)
    if not settings.redis_url:
        return Shared(broker, LocalAudience(), MemoryLockouts(clock), None)
    client = connect(settings.redis_url)
    prefix = settings.redis_prefix
    return Shared(
        broker,
        RedisAudience(client, prefix, settings.presence_interval),
        RedisLockouts(client, prefix, clock),
        client,
        prefix,
    )
