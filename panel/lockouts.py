"""Sign-in lockouts for usernames that have no account, so that a made-up name locks after
as many failures as a real one (whose lock is in the database) and the lock reveals nothing.

`MemoryLockouts` serves one process; `redis_limits.RedisLockouts` is shared by several."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from panel.clock import Clock

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MAX_UNKNOWN_LOGINS = 10_000  # usernames without an account whose failures are counted


class Lockouts(Protocol):
    async def locked(self, username: str) -> bool:
        """Whether `username` is locked now."""

    async def failed(self, username: str) -> None:
        """Count one failed sign-in; the MAX_FAILED_LOGINS-th locks it for LOCKOUT."""


class MemoryLockouts:
    """In this process: (failures, locked until) per username, bounded."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._entries: dict[str, tuple[int, datetime | None]] = {}

    async def locked(self, username: str) -> bool:
        _, until = self._entries.get(username, (0, None))
        return until is not None and until > self.clock.now()

    async def failed(self, username: str) -> None:
        failures, _ = self._entries.pop(username, (0, None))
        failures += 1
        if failures >= MAX_FAILED_LOGINS:
            self._entries[username] = (0, self.clock.now() + LOCKOUT)
        else:
            self._entries[username] = (failures, None)
        while len(self._entries) > MAX_UNKNOWN_LOGINS:  # bounded: forget the oldest
            del self._entries[next(iter(self._entries))]
