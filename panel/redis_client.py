"""Connections to Redis, shared by the broker, audience counts, rate limits and lockouts.

redis-py is an optional extra (`livepanel[redis]`), so it is imported only here, and only
when a Redis URL is set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.asyncio import Redis

# Short timeouts: when Redis is away, a caller falls back (limits) or skips the send
# (the broker: the frame is in the log) instead of holding a request or the publisher.
CONNECT_TIMEOUT = 2.0
COMMAND_TIMEOUT = 2.0


def redis_errors() -> tuple[type[Exception], ...]:
    """What a Redis call raises when Redis is unreachable or refuses the call."""
    from redis.exceptions import RedisError

    return (RedisError, OSError)


def connect(url: str, *, retries: int = 1, name: str = "livepanel") -> Redis:
    """A client for `url` (it connects lazily), its connections named `name` in Redis's
    CLIENT LIST. `retries=0` for a subscription, so that a lost connection is reported to
    its owner instead of being quietly re-made (messages lost)."""
    try:
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
    except ImportError:
        raise ValueError("a Redis URL needs redis-py: pip install 'livepanel[redis]'") from None
    return Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=COMMAND_TIMEOUT,
        socket_keepalive=True,
        retry=Retry(NoBackoff(), retries),
        client_name=name,
    )


def check(url: str) -> None:
    """Raise ValueError with one clear line unless Redis at `url` answers a PING."""
    import asyncio

    async def ping() -> None:
        client = connect(url, retries=0)
        try:
            await client.ping()
        finally:
            await client.aclose()

    try:
        asyncio.run(ping())
    except ValueError:
        raise
    except Exception as exc:  # any failure to reach it becomes one line
        raise ValueError(f"cannot reach Redis at {url}: {exc}") from None
