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
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from panel.clock import Clock
from panel.config import Settings
from panel.domain import SYSTEM, Actor, parse_iso
from panel.security import token_hash
from panel.store import Store
from panel.writes import Tx, Writer

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
