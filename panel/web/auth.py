"""Who is asking: editors (a staff session; for the API also a bearer token) and panelists
(a staff session opened by an invite). The cookie holds only the sessions' random tokens,
and every request looks them up (panel/sessions.py), so a session that has ended stops
working at once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.requests import HTTPConnection

from panel.domain import Actor, RuleError
from panel.security import token_hash
from panel.sessions import StaffSession, StaffSessions, session_id
from panel.web.base import editor_session, services


async def editor_actor(conn: HTTPConnection) -> Actor | None:
    """The editor behind a signed-in session or, for the API, a bearer token."""
    session = await editor_session(conn)
    if session is not None:
        return session.actor
    header = conn.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        async with services(conn).store.read() as repo:
            row = await repo.api_token_by_hash(token_hash(header[7:].strip()))
        if row is not None:
            return Actor("editor", int(row["editor_id"]), str(row["username"]))
        raise RuleError("unauthorized", "That API token is not valid or was revoked.")
    return None


async def require_editor(conn: HTTPConnection) -> Actor:
    """The desk: a signed-in editor's session only. An API token is for /api/v1, so a
    request that brings only a token is refused here as a stranger is (a leaked token must
    not open the desk, its forms or its audit log)."""
    session = await editor_session(conn)
    if session is None:
        raise RuleError("unauthorized", "Sign in as an editor first.")
    return session.actor


async def require_api_editor(conn: HTTPConnection) -> Actor:
    """The API: a signed-in editor's session or an editor's API token."""
    actor = await editor_actor(conn)
    if actor is None:
        raise RuleError("unauthorized", "Sign in as an editor first.")
    return actor


def panelist_token(conn: HTTPConnection, event_id: int) -> object:
    """The token of this event's panelist session in the cookie (one per event signed in to)."""
    tokens = conn.session.get("panelist")
    return tokens.get(str(event_id)) if isinstance(tokens, dict) else None


def _lets_in(session: StaffSession | None, kind: str, event_id: int) -> bool:
    """An editor's session opens every event; a panelist's only its invite's event."""
    return (
        session is not None
        and session.actor.kind == kind
        and (kind == "editor" or session.actor.event_id == event_id)
    )


async def signed_in_panelist(conn: HTTPConnection, event_id: int) -> Actor | None:
    """This event's panelist, while the session their invite opened lasts."""
    session = await services(conn).sessions.find(panelist_token(conn, event_id))
    return (
        session.actor if session is not None and _lets_in(session, "panelist", event_id) else None
    )


async def answerer(conn: HTTPConnection, event_id: int) -> Actor:
    """A panelist of this event, or else an editor."""
    actor = await signed_in_panelist(conn, event_id) or await editor_actor(conn)
    if actor is None:
        raise RuleError("unauthorized", "Only this event's panelists and editors can answer.")
    return actor


@contextlib.asynccontextmanager
async def staff_sign_out(
    conn: HTTPConnection, event_id: int
) -> AsyncIterator[asyncio.Future[None] | None]:
    """For a staff socket: a future that is done once the session letting it in ends (None
    when no session does). The editor's session is tried first, then this event's panelist
    session. Each is watched before it is looked up, so an end in between still counts."""
    svc = services(conn)
    for token, kind in (
        (conn.session.get("sid"), "editor"),
        (panelist_token(conn, event_id), "panelist"),
    ):
        sid = session_id(token)
        if sid is None:
            continue
        with svc.signouts.watch(sid) as signed_out:
            if _lets_in(await svc.sessions.find(token), kind, event_id):
                async with _ended_on_lapse(svc.sessions, sid, signed_out):
                    yield signed_out
                return
    yield None


@contextlib.asynccontextmanager
async def _ended_on_lapse(
    sessions: StaffSessions, sid: str, signed_out: asyncio.Future[None]
) -> AsyncIterator[None]:
    """Also end `signed_out` when the session expires, or ended with no announcement
    reaching this process: the announcement alone misses both."""

    async def watch() -> None:
        await sessions.until_lapsed(sid)
        if not signed_out.done():
            signed_out.set_result(None)

    watcher = asyncio.create_task(watch())
    try:
        yield
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
