"""Staff sessions: editors and panelists are signed in by a row in the database, not by what
their cookie says. The cookie holds a random token; the row is keyed by its SHA-256, so a
stolen database yields no usable cookie. Deleting the row ends the session at once in every
process, because every staff request looks it up (one read by primary key).

A session ends after `session_idle_seconds` without a request (12 hours) and in any case
`session_max_seconds` after sign-in (7 days). `last_seen_at` is written at most every
`TOUCH_EVERY`, not per request, so the idle limit is that much approximate.

Whoever ends sessions (sign-out, a password change, an admin disabling or removing an editor,
a revoked invite) calls `on_sessions_ended` with their ids after the commit; the running app
sets it to `Signouts.announce` (panel/live/signouts.py), which closes their open sockets.
An open staff socket also waits on `until_lapsed`, which closes it when its session merely
expires, and within `session_recheck_seconds` when an announcement was lost between processes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from panel.clock import Clock
from panel.config import Settings
from panel.domain import SYSTEM, Actor, parse_iso
from panel.security import token_hash
from panel.store import Store
from panel.writes import Tx, Writer

log = logging.getLogger(__name__)
TOUCH_EVERY = timedelta(minutes=5)
MAX_TOKEN_CHARS = 100  # ours are 43; anything longer in a cookie is not one of ours

SessionsEnded = Callable[[Sequence[str]], Awaitable[None]]


async def nobody_to_tell(session_ids: Sequence[str]) -> None:
    """The default before the app wires sockets in (the CLI, tests of actions alone)."""


@dataclass(frozen=True)
class StaffSession:
    """A live session: its id (the token's hash, also what its sockets watch) and who it is."""

    id: str
    actor: Actor
    invite_id: int | None = None


def session_id(token: object) -> str | None:
    """The id a cookie's token stands for; None for anything that cannot be a token."""
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_CHARS:
        return None
    return token_hash(token)


async def open_session(
    tx: Tx, token: str, settings: Settings, kind: str, **owner: int | None
) -> None:
    """Record a new session for `token`, made before the transaction (a retried job keeps it)."""
    expires = tx.now + timedelta(seconds=settings.session_max_seconds)
    await tx.repo.insert_session(token_hash(token), kind, tx.now, expires, **owner)


def idle_since(settings: Settings, now: datetime) -> datetime:
    """Sessions last seen at or before this instant have idled out."""
    return now - timedelta(seconds=settings.session_idle_seconds)


class StaffSessions:
    """Finding a cookie's session, and signing out."""

    def __init__(self, store: Store, clock: Clock, settings: Settings) -> None:
        self.write = Writer(store, clock)
        self.clock = clock
        self.settings = settings
        self.on_sessions_ended: SessionsEnded = nobody_to_tell

    async def find(self, token: object) -> StaffSession | None:
        """The live session for a cookie's token, or None (unknown, ended, expired, idle)."""
        sid = session_id(token)
        if sid is None:
            return None
        now = self.clock.now()
        async with self.write.store.read() as repo:
            row = await repo.live_session(sid, now, idle_since(self.settings, now))
        if row is None:
            return None
        if now - parse_iso(row["last_seen_at"]) >= TOUCH_EVERY:

            async def touch(tx: Tx) -> None:
                await tx.repo.touch_session(sid, tx.now)

            await self.write(SYSTEM, touch)
        if row["kind"] == "editor":
            return StaffSession(sid, Actor("editor", row["editor_id"], str(row["username"])))
        actor = Actor(
            "panelist", row["panelist_id"], str(row["panelist_name"]), event_id=row["event_id"]
        )
        return StaffSession(sid, actor, invite_id=row["invite_id"])

    async def lasts_until(self, sid: str) -> datetime | None:
        """When session `sid` ends if nobody uses it again (its maximum age, or idling out);
        None once it has ended. Reading it does not count as use (no touch)."""
        now = self.clock.now()
        async with self.write.store.read() as repo:
            row = await repo.live_session(sid, now, idle_since(self.settings, now))
        if row is None:
            return None
        idle = timedelta(seconds=self.settings.session_idle_seconds)
        return min(parse_iso(row["expires_at"]), parse_iso(row["last_seen_at"]) + idle)

    async def until_lapsed(self, sid: str) -> None:
        """Return once session `sid` has ended by any path: at its expiry, and at the latest
        `session_recheck_seconds` after an end whose announcement never arrived (a broker
        message lost between processes)."""
        recheck = timedelta(seconds=self.settings.session_recheck_seconds)
        while True:
            try:
                until = await self.lasts_until(sid)
            except Exception as exc:  # the database briefly away: keep the socket, look again
                log.warning("could not re-check a staff session: %s", exc)
                until = self.clock.now() + recheck
            if until is None:
                return
            await self.clock.sleep_until(min(until, self.clock.now() + recheck))

    async def sign_out(self, token: object, actor: Actor) -> None:
        """End this one session (the desk's Sign out); other browsers stay signed in."""
        sid = session_id(token)
        if sid is None:
            return

        async def job(tx: Tx) -> list[str]:
            ended = await tx.repo.end_sessions(session_id=sid)
            if ended:
                await tx.audit("session.end", f"{actor.kind}:{actor.name}", event_id=None)
            return ended

        await self.on_sessions_ended(await self.write(actor, job))
