"""The access matrix: every route and both streams × every role, with the expected outcome of
each cell written down here (not computed from the code under test).

The test enumerates the app's route table and fails for a route without a row, so a new route
cannot be added without deciding who may use it. Writes are sent with the role's valid CSRF
token (and a same-site Origin) and an empty form or JSON object: the matrix checks
authorisation, so an allowed write is refused later for its empty fields, and nothing is
destroyed. Outcomes:

- ok:   served (2xx or 3xx that is not a redirect to the sign-in page; a socket stays open)
- in:   past authorisation: anything below 500 but 401, 403 and the sign-in redirect
- out:  turned away: 401, 403 or the redirect to /desk/login; a socket closes with 1008
- gone: 404 for this role
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.routing import Mount, Route, WebSocketRoute
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from panel.domain import Actor
from tests.conftest import LiveServer
from tests.test_security import PARAM, PASSWORD, World, build_world, csrf_of

ROLES = ("anon", "reader", "panelist", "other", "editor", "admin", "token", "revoked")

# Rows shared by many routes: one outcome per role, in the order of ROLES.
#           anon  reader panel other editor admin token revoked
PUBLIC = "   ok    ok    ok    ok    ok     ok    ok    ok"
WRITE = "    in    in    in    in    in     in    in    in"  # anyone may try (readers' forms)
# Editors' pages and forms: a signed-in session only. An API token is for /api/v1 and opens
# none of them, not even the desk's JSON helpers (require_editor ignores a bearer).
DESK = "     out   out   out   out   ok     ok    out   out"
DESK_W = "   out   out   out   out   in     in    out   out"  # editors' forms and desk JSON
OWN = "      out   out   out   out   ok     ok    out   out"  # the signed-in editor's account
ADMIN = "    out   out   out   out   out    ok    out   out"  # admins' pages
ADMIN_W = "  out   out   out   out   out    in    out   out"
CONSOLE = "  out   out   ok    out   out    out   out   out"  # this event's panelists only
CONSOLE_W = "out   out   in    out   out    out   out   out"
API_EDIT = " out   out   out   out   ok     ok    ok    out"  # editors: session or token
API_EDIT_W = "out  out   out   out   in     in    in    out"
ANSWER_W = " out   out   in    out   in     in    in    out"  # panelists of the event, editors
GONE = "     gone  gone  gone  gone  gone   gone  gone  gone"
NOBODY = "   out   out   out   out   out    out   out   out"  # only a real invite token opens

MATRIX: dict[tuple[str, str], str] = {
    ("GET", "/"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/events/{slug}"): PUBLIC,
    ("GET", "/events/{slug}.md"): PUBLIC,  # live exports: what is public now
    ("GET", "/events/{slug}.json"): PUBLIC,
    ("GET", "/events/{slug}/card.png"): PUBLIC,
    ("GET", "/card.png"): PUBLIC,
    ("GET", "/brand.css"): PUBLIC,
    ("GET", "/events/{slug}/mine"): PUBLIC,
    ("POST", "/events/{slug}/questions"): WRITE,
    ("POST", "/questions/{question_id:int}/upvote"): WRITE,
    ("POST", "/events/{slug}/reports"): WRITE,
    ("GET", "/api/v1/events/{slug}/reports"): API_EDIT,
    ("WS", "/events/{slug}/live"): PUBLIC,
    ("WS", "/staff/events/{slug}/live"): " out out ok out ok ok out out",
    ("GET", "/api/v1/openapi.json"): PUBLIC,
    ("GET", "/api/v1/me"): "ok ok ok ok ok ok ok out",  # a revoked token is told so
    ("GET", "/api/v1/events"): PUBLIC,
    ("GET", "/api/v1/events/{slug}"): PUBLIC,
    ("GET", "/api/v1/events/{slug}/questions"): PUBLIC,
    ("GET", "/api/v1/events/{slug}/questions?status=pending"): API_EDIT,
    ("POST", "/api/v1/events/{slug}/questions"): WRITE,
    ("GET", "/api/v1/events/{slug}/stream"): PUBLIC,
    ("POST", "/api/v1/questions/{question_id:int}/upvote"): WRITE,
    ("POST", "/api/v1/questions/{question_id:int}/moderate"): API_EDIT_W,
    ("POST", "/api/v1/questions/{question_id:int}/answers"): ANSWER_W,
    ("POST", "/api/v1/answers/{answer_id:int}"): ANSWER_W,
    ("GET", "/invite/{token}"): NOBODY,
    ("GET", "/console/{slug}"): CONSOLE,
    ("GET", "/console/{slug}/questions"): CONSOLE,
    ("POST", "/console/{slug}/answers"): CONSOLE_W,
    ("POST", "/console/{slug}/answers/{answer_id:int}"): CONSOLE_W,
    ("POST", "/console/{slug}/preview"): CONSOLE_W,
    ("GET", "/console/{slug}/compose"): CONSOLE_W,  # no ?answer=: a 404 once let in
    ("GET", "/console/{slug}/backstage"): CONSOLE,
    ("POST", "/console/{slug}/notes"): CONSOLE_W,
    ("GET", "/console/{slug}/questions/{question_id:int}/draft"): CONSOLE,
    ("POST", "/console/{slug}/questions/{question_id:int}/draft"): CONSOLE_W,
    ("POST", "/console/{slug}/questions/{question_id:int}/claim"): CONSOLE_W,
    ("POST", "/console/{slug}/questions/{question_id:int}/release"): CONSOLE_W,
    ("POST", "/console/{slug}/questions/{question_id:int}/discard"): CONSOLE_W,
    ("GET", "/desk/login"): PUBLIC,
    ("POST", "/desk/login"): NOBODY,  # the empty form's unknown user is refused (401)
    ("GET", "/desk"): DESK,
    ("GET", "/desk/events/{slug}"): DESK,
    ("GET", "/desk/events/{slug}/queue"): DESK,
    ("POST", "/desk/events/{slug}/presence"): DESK_W,
    ("POST", "/desk/events/{slug}/status"): DESK_W,
    ("POST", "/desk/questions/{question_id:int}/moderate"): DESK_W,
    ("POST", "/desk/events/{slug}/bulk"): DESK_W,
    ("POST", "/desk/undo/{audit_id:int}"): DESK_W,
    ("POST", "/desk/events/{slug}/answers/{answer_id:int}/withdraw"): DESK_W,
    ("GET", "/desk/events/{slug}/audit"): DESK,
    ("GET", "/desk/events/{slug}/digest"): DESK,
    ("GET", "/desk/events/{slug}/digest.md"): DESK,
    ("GET", "/desk/events/{slug}/export.md"): DESK,
    ("GET", "/desk/events/{slug}/export.json"): DESK,
    ("GET", "/desk/events/{slug}/export.csv"): DESK,
    ("GET", "/desk/events/{slug}/backstage"): DESK,
    ("GET", "/desk/events/{slug}/report"): DESK,
    ("GET", "/desk/events/{slug}/report.csv"): DESK,
    ("GET", "/desk/events/{slug}/report.json"): DESK,
    # A chart the report does not draw (alpha has no audience yet) is a 404 once let in.
    ("GET", "/desk/events/{slug}/report/{chart}.svg"): DESK_W,
    ("POST", "/desk/events/{slug}/notes"): DESK_W,
    ("GET", "/desk/audit"): DESK,
    ("GET", "/desk/mail"): DESK,
    ("POST", "/desk/mail/{mail_id:int}/retry"): DESK_W,
    ("GET", "/desk/events/{slug}/mail"): DESK,
    ("POST", "/desk/events/{slug}/digest/send"): DESK_W,
    ("POST", "/desk/events/{slug}/digest/schedule"): DESK_W,
    ("GET", "/desk/new-event"): DESK,
    ("POST", "/desk/new-event"): DESK_W,
    ("GET", "/desk/events/{slug}/setup"): DESK,
    ("POST", "/desk/events/{slug}/edit"): DESK_W,
    ("POST", "/desk/events/{slug}/rules"): DESK_W,
    ("POST", "/desk/events/{slug}/duplicate"): DESK_W,
    ("POST", "/desk/events/{slug}/delete"): DESK_W,  # without confirm=yes: asks first
    ("POST", "/desk/events/{slug}/slots"): DESK_W,
    ("POST", "/desk/events/{slug}/slots/{slot_id:int}"): DESK_W,
    ("POST", "/desk/events/{slug}/panelists"): DESK_W,
    ("POST", "/desk/events/{slug}/panelists/{panelist_id:int}"): DESK_W,
    ("POST", "/desk/events/{slug}/assign"): DESK_W,
    ("POST", "/desk/events/{slug}/assignments/{assignment_id:int}/delete"): DESK_W,
    ("POST", "/desk/events/{slug}/invites"): DESK_W,
    ("POST", "/desk/events/{slug}/bans/lift"): DESK_W,
    ("POST", "/desk/events/{slug}/invites/{invite_id:int}/revoke"): DESK_W,
    ("GET", "/desk/editors"): ADMIN,
    ("POST", "/desk/editors"): ADMIN_W,
    ("POST", "/desk/editors/{editor_id:int}/role"): ADMIN_W,
    ("POST", "/desk/editors/{editor_id:int}/{action}"): ADMIN_W,
    ("GET", "/desk/account"): OWN,
    ("POST", "/desk/account"): DESK_W,
    ("GET", "/desk/tokens"): DESK,
    ("POST", "/desk/tokens"): DESK_W,
    ("POST", "/desk/tokens/{token_id:int}/revoke"): DESK_W,
    ("POST", "/desk/preview"): DESK_W,
    ("GET", "/archive"): PUBLIC,
    ("GET", "/archive/feed.atom"): PUBLIC,
    ("GET", "/archive/{slug}.md"): GONE,  # alpha is live: no transcript yet
    ("GET", "/archive/{slug}.safe.md"): GONE,
    ("GET", "/archive/{slug}.json"): GONE,
    ("GET", "/archive/{slug}"): GONE,
    ("GET", "/events/{slug}/calendar.ics"): PUBLIC,
    ("GET", "/events/{slug}/embed"): PUBLIC,
    ("GET", "/desk/events/{slug}/transcript"): DESK,
    ("GET", "/desk/events/{slug}/transcript/preview"): DESK_W,  # alpha is live: nothing yet
    ("POST", "/desk/events/{slug}/transcript/items/{question_id:int}"): DESK_W,
    ("POST", "/desk/events/{slug}/transcript/correct"): DESK_W,
    ("POST", "/desk/events/{slug}/transcript/notes"): DESK_W,
    ("POST", "/desk/events/{slug}/transcript/publish"): DESK_W,
    ("POST", "/desk/events/{slug}/transcript/republish"): DESK_W,
    ("POST", "/desk/events/{slug}/transcript/unpublish"): DESK_W,
    ("GET", "/static/{path}"): PUBLIC,
    ("GET", "/uploads/{path}"): GONE,  # nothing uploaded: no file to serve
    # Last: it ends the session the rows above used. Everyone is sent to the sign-in page
    # (or refused without a CSRF token), which this table reads as "out".
    ("POST", "/desk/logout"): NOBODY,
}
# Routes whose JSON body is read by a script (no form, so no CSRF token: the Origin decides).
JSON_BODY = ("/api/", "/preview", "/draft", "/claim", "/release", "/discard")


def cells(row: str) -> dict[str, str]:
    outcomes = row.split()
    assert len(outcomes) == len(ROLES), row
    assert set(outcomes) <= {"ok", "in", "out", "gone"}, row
    return dict(zip(ROLES, outcomes, strict=True))


def served_routes(app: Any) -> set[tuple[str, str]]:
    """Every (method, path) the app serves: routes, sockets and mounts."""
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        if isinstance(route, WebSocketRoute):
            found.add(("WS", route.path))
        elif isinstance(route, Route):
            found |= {(m, route.path) for m in route.methods or () if m != "HEAD"}
        elif isinstance(route, Mount):
            found.add(("GET", f"{route.path}/{{path}}"))
    return found


def test_every_route_has_a_row(server: LiveServer) -> None:
    """A new route fails here until its access is decided in MATRIX."""
    rows = {(method, path.split("?")[0]) for method, path in MATRIX}
    served = served_routes(server.app)
    assert served - rows == set(), "routes without a row in the access matrix"
    assert rows - served == set(), "rows for routes the app does not serve"
    for row in MATRIX.values():
        cells(row)


@contextlib.asynccontextmanager
async def people(server: LiveServer, world: World) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """One client (cookie jar) per role, signed in as that role."""
    a = server.actions
    editor_id = await server.acall(lambda: a.create_editor("eddie", PASSWORD))
    await server.acall(lambda: a.create_editor("ada", PASSWORD, "admin"))
    token = await server.acall(lambda: a.create_api_token(editor_id, "cms", Actor("editor", 1)))
    revoked = await server.acall(lambda: a.create_api_token(editor_id, "old", Actor("editor", 1)))
    await server.acall(lambda: a.revoke_api_token(2, Actor("editor", editor_id)))
    clients = {
        role: httpx.AsyncClient(base_url=server.url, timeout=20, headers={"Origin": server.url})
        for role in ROLES
    }
    try:
        clients["token"].headers["Authorization"] = f"Bearer {token}"
        clients["revoked"].headers["Authorization"] = f"Bearer {revoked}"
        for role, name in (("editor", "eddie"), ("admin", "ada")):
            page = await clients[role].get("/desk/login")
            form = {"csrf_token": csrf_of(page.text), "username": name, "password": PASSWORD}
            assert (await clients[role].post("/desk/login", data=form)).status_code == 303
        for role, event in (("panelist", world.alpha), ("other", world.bravo)):
            invite = await server.acall(lambda e=event: a.create_invite(e["id"], e["core"][0]))
            assert (await clients[role].get(f"/invite/{invite}")).status_code == 303
        yield clients
    finally:
        for client in clients.values():
            await client.aclose()


async def path_values(server: LiveServer, world: World) -> dict[str, Any]:
    """Real ids where an id names something that must stay (the matrix's writes are empty
    forms), harmless ones where acting would remove it."""
    a = server.actions
    spare_editor = await server.acall(lambda: a.create_editor("spare", PASSWORD))
    spare_invite = await server.acall(
        lambda: a.create_invite(world.alpha["id"], world.alpha["slotted"][0])
    )
    assert spare_invite
    return {
        **world.values,
        "token": "not-a-real-invite-token",
        "slot_id": world.alpha["slots"][0],
        "panelist_id": world.alpha["slotted"][0],
        "assignment_id": 999_999,
        "invite_id": 999_999,
        "audit_id": 999_999,
        "mail_id": 999_999,
        "editor_id": spare_editor,
        "action": "unlock",
        "token_id": 999_999,
        "path": "css/site.css",
        "chart": "questions",
    }


# Where each role finds its CSRF token: a page its own session renders. The anonymous reader
# and the API clients keep no cookie, so they have none (a reader's form needs none).
TOKEN_PAGES = {
    "reader": "/desk/login",
    "panelist": "/console/alpha",
    "other": "/console/bravo",
    "editor": "/desk",
    "admin": "/desk",
}


async def csrf_tokens(clients: dict[str, httpx.AsyncClient]) -> dict[str, str]:
    tokens = dict.fromkeys(ROLES, "")
    for role, page in TOKEN_PAGES.items():
        response = await clients[role].get(page)
        assert response.status_code == 200, (role, page, response.status_code)
        tokens[role] = csrf_of(response.text)
    return tokens


def outcome(response: httpx.Response) -> str:
    location = response.headers.get("location", "")
    if response.status_code in (401, 403) or location.endswith("/desk/login"):
        return "out"
    if response.status_code == 404:
        return "gone"
    assert response.status_code < 500, (response.status_code, response.text[:300])
    return "ok" if response.status_code < 400 else "in"


def matches(expected: str, got: str) -> bool:
    """ "in" is any outcome past authorisation: served, refused for its fields, or not found."""
    return got == expected or (expected == "in" and got in ("ok", "gone"))


async def socket_outcome(server: LiveServer, path: str, client: httpx.AsyncClient) -> str:
    headers = {"Origin": server.url}
    if client.cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    if "authorization" in client.headers:
        headers["Authorization"] = client.headers["authorization"]
    options = {"open_timeout": 10, "close_timeout": 3, "ping_interval": None}
    async with connect(server.ws_url + path, additional_headers=headers, **options) as ws:
        try:
            await asyncio.wait_for(ws.recv(), 10)
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
            return "out" if code == 1008 else f"closed {code}"
        except TimeoutError:
            return "ok"  # open and quiet (the staff stream sends only notices)
        return "ok"


async def test_every_cell_of_the_access_matrix(server: LiveServer) -> None:
    world = await build_world(server)
    values = await path_values(server, world)
    wrong = []
    async with people(server, world) as clients:
        tokens = await csrf_tokens(clients)
        for (method, path), row in MATRIX.items():
            url = PARAM.sub(lambda m: str(values[m.group(1)]), path)
            for role, expected in cells(row).items():
                client = clients[role]
                if method == "WS":
                    got = await socket_outcome(server, url, client)
                elif method == "GET":
                    got = outcome(await client.get(url))
                elif url.startswith(JSON_BODY) or any(p in url for p in JSON_BODY[1:]):
                    got = outcome(await client.post(url, json={}))
                else:
                    got = outcome(await client.post(url, data={"csrf_token": tokens[role]}))
                if not matches(expected, got):
                    wrong.append(f"{method} {url} as {role}: expected {expected}, got {got}")
    assert wrong == [], "\n".join(wrong)
