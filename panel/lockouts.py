"""Sign-in throttling by account *and* address, so that someone who knows a username cannot
lock its owner out: failures from one address lock only that address's attempts.

Three counts, kept alike for every username whether or not it has an account (so a lock
reveals nothing about which exist):
- per (username, address): the MAX_FAILED_LOGINS-th failure locks that pair for LOCKOUT;
- per address, across usernames: the MAX_FAILED_PER_ADDRESS-th locks the address for LOCKOUT
  (on top of the per-minute limit on attempts, panel/web/desk.py);
- per username, across addresses: past ACCOUNT_CEILING the name is *slowed*, not locked:
  an address that has failed on it since is refused, so a distributed attack gets one guess
  per address instead of MAX_FAILED_LOGINS, while the owner's first try from anywhere counts.
Counts are forgotten LOCKOUT after their last failure.

`MemoryLockouts` serves one process; `redis_limits.RedisLockouts` is shared by several.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from panel.clock import Clock

MAX_FAILED_LOGINS = 5  # per (username, address)
MAX_FAILED_PER_ADDRESS = 20  # per address, across usernames
ACCOUNT_CEILING = 100  # per username, across addresses: past it, one guess per address
LOCKOUT = timedelta(minutes=15)
MAX_ENTRIES = 10_000  # usernames and addresses counted in memory (the oldest are forgotten)


@dataclass(frozen=True)
class Standing:
    """What the counts say about one attempt from `address` to sign in as a username."""

    pair_failures: int = 0
    pair_locked: bool = False
    address_locked: bool = False
    name_slowed: bool = False

    @property
    def refused(self) -> bool:
        """Refused before the password is even checked (the "locked" answer)."""
        slowed_here = self.name_slowed and self.pair_failures > 0
        return self.pair_locked or self.address_locked or slowed_here


class Lockouts(Protocol):
    async def standing(self, username: str, address: str) -> Standing:
        """The counts for an attempt as `username` from `address`, now."""

    async def failed(self, username: str, address: str) -> None:
        """Count one failed sign-in in all three counts; lock when one reaches its limit."""

    async def succeeded(self, username: str, address: str) -> None:
        """The right password from `address`: its count for this username starts again."""

    async def locked_until(self, username: str) -> datetime | None:
        """Until when some lock on `username` holds (any address, or its slow-down); None
        when none does. For the desk's editors page."""

    async def forget(self, username: str) -> None:
        """An admin's Unlock: every count and lock of `username` goes."""


@dataclass
class _Count:
    failures: int = 0
    last_failure: datetime | None = None
    locked_until: datetime | None = None

    def fail(self, now: datetime, limit: int) -> None:
        self.failures += 1
        self.last_failure = now
        if self.failures >= limit:
            self.failures, self.locked_until = 0, now + LOCKOUT

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

    def stale(self, now: datetime) -> bool:
        """Nothing left to remember: no failure within LOCKOUT and no lock holding."""
        recent = self.last_failure is not None and self.last_failure > now - LOCKOUT
        return not recent and not self.locked(now)


@dataclass
class _Name:
    """A username's count across addresses, and each address's count for it."""

    total: _Count = field(default_factory=_Count)
    pairs: dict[str, _Count] = field(default_factory=dict)


class MemoryLockouts:
    """The three counts in this process, bounded."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._names: dict[str, _Name] = {}
        self._addresses: dict[str, _Count] = {}

    def _name(self, username: str) -> _Name:
        name = self._names.get(username)
        if name is None or name.total.stale(self.clock.now()):
            return _Name()  # never failed, or a quiet spell: start again
        return name

    async def standing(self, username: str, address: str) -> Standing:
        now = self.clock.now()
        name = self._name(username)
        pair = name.pairs.get(address, _Count())
        if pair.stale(now):
            pair = _Count()
        return Standing(
            pair_failures=pair.failures,
            pair_locked=pair.locked(now),
            address_locked=self._addresses.get(address, _Count()).locked(now),
            name_slowed=name.total.failures >= ACCOUNT_CEILING,
        )

    async def failed(self, username: str, address: str) -> None:
        now = self.clock.now()
        name = self._name(username)
        self._names.pop(username, None)
        self._names[username] = name  # newest last, so the bound forgets the oldest
        name.total.failures += 1
        name.total.last_failure = now
        pair = name.pairs.get(address)
        if pair is None or pair.stale(now):
            pair = name.pairs[address] = _Count()
        pair.fail(now, MAX_FAILED_LOGINS)
        count = self._addresses.pop(address, None)
        if count is None or count.stale(now):
            count = _Count()
        count.fail(now, MAX_FAILED_PER_ADDRESS)
        self._addresses[address] = count
        for entries in (self._names, self._addresses):
            while len(entries) > MAX_ENTRIES:
                del entries[next(iter(entries))]

    async def succeeded(self, username: str, address: str) -> None:
        name = self._names.get(username)
        if name is not None:
            name.pairs.pop(address, None)

    async def locked_until(self, username: str) -> datetime | None:
        now = self.clock.now()
        name = self._names.get(username)
        if name is None or name.total.stale(now):
            return None
        ends = [p.locked_until for p in name.pairs.values() if p.locked(now) and p.locked_until]
        if name.total.failures >= ACCOUNT_CEILING and name.total.last_failure is not None:
            ends.append(name.total.last_failure + LOCKOUT)
        return max(ends, default=None)

    async def forget(self, username: str) -> None:
        self._names.pop(username, None)
