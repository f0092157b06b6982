"""Passwords, tokens, CSRF and rate limits: the security primitives, each small."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import math
import secrets
import time
from collections import deque
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP's minimum for argon2id: m=19 MiB, t=2, p=1.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


async def hash_password(password: str) -> str:
    """argon2id, off the event loop (it is deliberately slow)."""
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(stored_hash: str, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(stored_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


def new_token() -> str:
    """A random URL-safe token of 256 bits (invites, API tokens)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """Only this is stored; a stolen database does not yield usable tokens."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def mask_csrf(secret: str) -> str:
    """The session's CSRF secret in a fresh disguise for each page: a random pad, then the
    pad XOR the secret. Pages are gzip-compressed beside text a reader typed, so a fixed token
    could be guessed byte by byte from response sizes (BREACH); a masked one never repeats."""
    raw = secret.encode("utf-8")
    pad = secrets.token_bytes(len(raw))
    masked = pad + bytes(p ^ r for p, r in zip(pad, raw, strict=True))
    return base64.urlsafe_b64encode(masked).decode("ascii").rstrip("=")


def unmask_csrf(token: str) -> str | None:
    """The secret inside a masked token, or None for anything that is not one."""
    try:
        data = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:  # binascii.Error: not base64
        return None
    half = len(data) // 2
    if not data or len(data) % 2:
        return None
    try:
        return bytes(p ^ m for p, m in zip(data[:half], data[half:], strict=True)).decode("utf-8")
    except UnicodeDecodeError:
        return None


def new_reader_id() -> str:
    """An anonymous reader: random, unrelated to anything about the person."""
    return secrets.token_urlsafe(16)


class Limiter(Protocol):
    """At most so many hits per key in a sliding window: `RateLimiter` in one process,
    `redis_limits.RedisLimiter` shared by several."""

    async def retry_after(self, key: str) -> int:
        """0 if a hit is allowed now (and records it), else seconds to wait."""


class RateLimiter:
    """At most `limit` hits per `window` seconds per key (a sliding window), in memory."""

    def __init__(self, limit: int, window: float = 60.0, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}

    async def retry_after(self, key: str) -> int:
        return self.hit(key)

    def hit(self, key: str, now: float | None = None) -> int:
        """0 if a hit is allowed now (and records it), else seconds to wait."""
        now = time.monotonic() if now is None else now
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return max(1, math.ceil(hits[0] + self.window - now))
        hits.append(now)
        if len(self._hits) > self.max_keys:  # bound memory under a flood of new keys
            self._forget_idle(now)
        return 0

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
            del self._hits[key]
