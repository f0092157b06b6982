"""Who is asking: editors (session or bearer token) and panelists (invite session)."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from panel.domain import Actor, RuleError
from panel.security import token_hash
from panel.web.base import services


async def editor_actor(conn: HTTPConnection) -> Actor | None:
    editor_id = conn.session.get("editor_id")
    if editor_id:
        return Actor("editor", int(editor_id), str(conn.session.get("editor_name", "")))
    header = conn.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        async with services(conn).store.read() as repo:
            row = await repo.api_token_by_hash(token_hash(header[7:].strip()))
        if row is not None:
            return Actor("editor", int(row["editor_id"]), str(row["username"]))
        raise RuleError("unauthorized", "That API token is not valid or was revoked.")
    return None


async def require_editor(conn: HTTPConnection) -> Actor:
    actor = await editor_actor(conn)
    if actor is None:
        raise RuleError("unauthorized", "Sign in as an editor first.")
    return actor


def panelist_actor(conn: HTTPConnection, event_id: int) -> Actor | None:
    """The grant as the session holds it; blind to revocation (see signed_in_panelist)."""
    grants = conn.session.get("panelist", {})
    grant = grants.get(str(event_id))
    if not grant:
        return None
    return Actor("panelist", int(grant["id"]), str(grant.get("name", "")), event_id=event_id)


async def signed_in_panelist(conn: HTTPConnection, event_id: int) -> Actor | None:
    """This event's panelist by invite session, unless that invite has been revoked since."""
    actor = panelist_actor(conn, event_id)
    invite_id = (conn.session.get("panelist", {}).get(str(event_id)) or {}).get("invite")
    if actor is None or not isinstance(invite_id, int):
        return None
    async with services(conn).store.read() as repo:
        invite = await repo.invite(invite_id)
    if (
        invite is None
        or invite["revoked_at"] is not None
        or invite["event_id"] != event_id
        or invite["panelist_id"] != actor.id
    ):
        return None
    return actor


async def answerer(conn: HTTPConnection, event_id: int) -> Actor:
    """A panelist of this event, or else an editor."""
    actor = await signed_in_panelist(conn, event_id) or await editor_actor(conn)
    if actor is None:
        raise RuleError("unauthorized", "Only this event's panelists and editors can answer.")
    return actor
