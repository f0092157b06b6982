"""Security properties end to end, over real HTTP and WebSockets against a real uvicorn.

Who may do what on every route (enumerated from panel.app.routes(), so new routes are
covered), CSRF and Origin checks, hostile text on every surface that shows it, reader
anonymity, security headers on every kind of response (errors included), sessions and
cookies, redirects, path traversal, uploads, login enumeration, and bounds on hostile input.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import hashlib
import io
import json
import re
import sqlite3
import struct
import time
import xml.etree.ElementTree as ET
import zlib
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from markdown_it import MarkdownIt
from PIL import Image
from starlette.routing import Route, WebSocketRoute
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from panel import exports
from panel.app import routes
from panel.clock import FakeClock
from panel.config import ROOT, Settings
from panel.domain import Actor
from panel.security import unmask_csrf
from panel.transcripts import Transcripts
from panel.uploads import save_photo
from tests.conftest import EDITOR, EVENT_START, LiveServer, seed_event

PASSWORD = "a long enough password"
HOUR = timedelta(hours=1)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")
CSRF_REFUSAL = "did not come from this site"
PENDING_TEXT = "Pendingsecret question nobody outside the desk may read"
# Form-less POST routes that read JSON (previews): they are covered by the Origin checks.
CONSOLE_QUESTION = "/console/{slug}/questions/{question_id:int}"
JSON_PAGE_ROUTES = {
    "/desk/preview",
    "/console/{slug}/preview",
    *(f"{CONSOLE_QUESTION}/{verb}" for verb in ("draft", "claim", "release", "discard")),
}
WS_OPTIONS: dict[str, Any] = {"open_timeout": 10, "close_timeout": 3, "ping_interval": None}


# -- helpers -------------------------------------------------------------------------------
def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page carries a CSRF token"
    return match.group(1)


@contextlib.asynccontextmanager
async def browser(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """One person: one cookie jar."""
    async with httpx.AsyncClient(base_url=server.url, timeout=15) as client:
        yield client


async def sign_in(
    server: LiveServer, client: httpx.AsyncClient, username: str, role: str = "editor"
) -> int:
    editor_id = await server.acall(lambda: server.actions.create_editor(username, PASSWORD, role))
    token = csrf_of((await client.get("/desk/login")).text)
    response = await client.post(
        "/desk/login", data={"csrf_token": token, "username": username, "password": PASSWORD}
    )
    assert response.status_code == 303 and response.headers["location"] == "/desk", response.text
    return editor_id


async def open_invite(
    server: LiveServer, client: httpx.AsyncClient, event_id: int, panelist_id: int
) -> str:
    token = await server.acall(lambda: server.actions.create_invite(event_id, panelist_id))
    response = await client.get(f"/invite/{token}")
    assert response.status_code == 303, response.text
    return token


def turned_away(response: httpx.Response) -> bool:
    """Refused (401, 403) or sent to the sign-in page."""
    return response.status_code in (401, 403) or (
        response.status_code == 303 and response.headers["location"] == "/desk/login"
    )


def db_path(settings: Settings) -> Path:
    return Path(settings.db_url.removeprefix("sqlite:///"))


# Tables the server's timers write while a test runs, whatever the requests: the report's
# audience samples (once a minute of a live event). No request may change the others.
CLOCK_WRITTEN = {"audience_samples"}


def fingerprint(settings: Settings) -> str:
    """Every row of every table, hashed: any change to stored state changes it."""
    con = sqlite3.connect(f"file:{db_path(settings)}?mode=ro", uri=True, timeout=10)
    try:
        digest = hashlib.sha256()
        tables = con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        for (name,) in tables.fetchall():
            if name in CLOCK_WRITTEN:
                continue
            rows = con.execute(f'SELECT * FROM "{name}"').fetchall()
            digest.update(name.encode() + repr(sorted(repr(r) for r in rows)).encode())
        return digest.hexdigest()
    finally:
        con.close()


def http_routes(method: str) -> list[str]:
    return [r.path for r in routes() if isinstance(r, Route) and method in (r.methods or ())]


def fill(path: str, values: dict[str, Any]) -> str:
    """A route's path with real ids; a new kind of parameter fails here until added."""
    return PARAM.sub(lambda m: str(values[m.group(1)]), path)


def session_of(client: httpx.AsyncClient) -> dict[str, Any]:
    """The (signed, not encrypted) session cookie's content, as the browser holds it."""
    cookie = client.cookies.get("livepanel")
    assert cookie, "no session cookie"
    payload = cookie.split(".")[0]
    return json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


@dataclasses.dataclass
class World:
    """Two live events; on alpha a published question with an answer and a pending one."""

    alpha: dict[str, Any]
    bravo: dict[str, Any]
    approved: int
    pending: int
    answer: int
    bravo_question: int

    @property
    def values(self) -> dict[str, Any]:
        return {
            "slug": self.alpha["slug"],
            "question_id": self.approved,
            "answer_id": self.answer,
            "chart": "questions",  # /desk/events/{slug}/report/{chart}.svg
        }


async def build_world(server: LiveServer) -> World:
    async def make() -> World:
        a = server.actions
        alpha = await seed_event(a, slug="alpha")
        bravo = await seed_event(a, slug="bravo")
        for info in (alpha, bravo):
            await a.run_due_transitions(info["id"])
        approved, _ = await a.post_question(alpha["id"], "reader-one", "Published question?")
        await a.moderate(approved.id, "approve", EDITOR)
        pending, _ = await a.post_question(alpha["id"], "reader-two", PENDING_TEXT)
        maria = Actor("panelist", alpha["core"][0], "Maria")
        answer = await a.answer(approved.id, "A published answer.", maria)
        other, _ = await a.post_question(bravo["id"], "reader-three", "Bravo question?")
        await a.moderate(other.id, "approve", EDITOR)
        return World(alpha, bravo, approved.id, pending.id, answer, other.id)

    return await server.acall(make)


@pytest.fixture
async def world(server: LiveServer) -> World:
    return await build_world(server)


class Page(HTMLParser):
    """Just enough of a DOM to prove that nothing from user text became markup."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[tuple[dict[str, str], str]] = []
        self.texts: list[str] = []
        self._script: tuple[dict[str, str], list[str]] | None = None
        self.feed(html)
        self.close()

    @property
    def text(self) -> str:
        return "".join(self.texts)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.elements.append((tag, values))
        if tag == "script":
            self._script = (values, [])

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script[0], "".join(self._script[1])))
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script[1].append(data)
        else:
            self.texts.append(data)


URL_ATTRS = {"href", "src", "action", "formaction", "srcset", "poster", "xlink:href", "data"}
BANNED_TAGS = {"iframe", "object", "embed", "svg", "math", "base", "frame", "frameset"}


def assert_inert(html: str, where: str) -> Page:
    """No script but our own files, no event handlers, no script URLs, no embedding tags."""
    page = Page(html)
    for tag, attrs in page.elements:
        assert tag not in BANNED_TAGS, (where, tag, attrs)
        if tag == "meta":
            assert attrs.get("http-equiv", "").lower() != "refresh", (where, attrs)
        for name, value in attrs.items():
            assert not name.startswith("on"), (where, tag, attrs)
            assert name not in ("style", "srcdoc"), (where, tag, attrs)
            if name in URL_ATTRS:
                url = re.sub(r"[\s\x00-\x1f]", "", value).lower()
                assert not url.startswith(("javascript:", "vbscript:", "data:")), (where, attrs)
        if tag == "img":
            assert attrs.get("src", "").startswith(("/uploads/", "/static/")), (where, attrs)
    for attrs, body in page.scripts:
        if attrs.get("type") == "application/ld+json":
            json.loads(body)  # a data block that parses, and so was not cut short
        else:
            assert attrs.get("src", "").startswith("/static/js/"), (where, attrs)
            assert body.strip() == "", (where, "inline script", body[:200])
    return page


def csp_directives(response: httpx.Response) -> dict[str, list[str]]:
    csp = response.headers.get("content-security-policy", "")
    return {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}


def assert_security_headers(response: httpx.Response, where: str, framable: bool = False) -> None:
    directives = csp_directives(response)
    assert directives.get("script-src") == ["'self'"], (where, directives)
    assert directives.get("default-src") == ["'self'"], (where, directives)
    assert directives.get("object-src") == ["'none'"], (where, directives)
    assert directives.get("base-uri") == ["'none'"], (where, directives)
    assert "'unsafe-inline'" not in str(directives), (where, directives)
    assert response.headers.get("x-content-type-options") == "nosniff", where
    assert response.headers.get("referrer-policy") == "same-origin", where
    if framable:
        assert directives.get("frame-ancestors") != ["'none'"], where
        assert "x-frame-options" not in response.headers, where
    else:
        assert directives.get("frame-ancestors") == ["'none'"], (where, directives)
        assert response.headers.get("x-frame-options") == "DENY", where


async def raw_http(
    server: LiveServer, request: bytes, head_only: bool = False, timeout: float = 10.0
) -> tuple[int, bytes]:
    """Send bytes as they are (no client-side normalisation of `..`); status and body (read
    to the end, so send `Connection: close`), or only the status line and headers."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(request)
        with contextlib.suppress(ConnectionError):  # a server may answer before reading all
            await writer.drain()
        read = reader.readuntil(b"\r\n\r\n") if head_only else reader.read()
        data = await asyncio.wait_for(read, timeout)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def polyglot_jpeg() -> bytes:
    """A real JPEG carrying an HTML page in a comment and after its end: a sniffing polyglot."""
    image, out = Image.new("RGB", (4, 4), (200, 30, 30)), io.BytesIO()
    image.save(out, "JPEG", comment=POLYGLOT_PAGE)
    return out.getvalue() + POLYGLOT_PAGE


POLYGLOT_PAGE = b"<html><body><script>alert('polyglot')</script></body></html>"


# -- (1) authorisation ---------------------------------------------------------------------
async def test_staff_routes_refuse_strangers_and_public_ones_show_no_private_text(
    server: LiveServer, world: World
) -> None:
    """Every GET route, enumerated: staff pages refuse an anonymous reader; none shows
    pending text; the staff socket and the private API views refuse too."""
    values = {**world.values, "token": "not-a-real-invite-token"}
    staff = 0
    async with browser(server) as reader:
        for path in http_routes("GET"):
            url = fill(path, values)
            response = await reader.get(url)
            assert response.status_code < 500, (url, response.status_code)
            assert PENDING_TEXT not in response.text, url
            if path.startswith(("/desk", "/console")) and path != "/desk/login":
                staff += 1
                assert turned_away(response), (url, response.status_code)
            if path == "/invite/{token}":
                assert response.status_code == 403
        assert staff >= 10  # the enumeration found the desk and the console
        for status in ("pending", "rejected"):
            response = await reader.get(f"/api/v1/events/alpha/questions?status={status}")
            assert response.status_code == 401
    sockets = [r.path for r in routes() if isinstance(r, WebSocketRoute)]
    staff_sockets = [path for path in sockets if path.startswith("/staff/")]
    assert staff_sockets and len(sockets) == 2  # a new socket: decide here who may open it
    for path in staff_sockets:
        async with connect(server.ws_url + fill(path, values), **WS_OPTIONS) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_a_panelist_reaches_only_their_own_event(server: LiveServer, world: World) -> None:
    async with browser(server) as theirs, browser(server) as ours:
        await open_invite(server, theirs, world.bravo["id"], world.bravo["core"][0])
        await open_invite(server, ours, world.alpha["id"], world.alpha["core"][0])
        before = fingerprint(server.services.settings)

        # Bravo's panelist: no console, fragment, answer, edit or staff stream on alpha.
        for url in ("/console/alpha", "/console/alpha/questions"):
            assert (await theirs.get(url)).status_code == 403, url
        token = csrf_of((await theirs.get("/console/bravo")).text)
        answer = await theirs.post(
            "/console/alpha/answers",
            data={"csrf_token": token, "question_id": world.approved, "body": "Intruder"},
        )
        assert answer.status_code == 403
        edit = await theirs.post(
            f"/console/alpha/answers/{world.answer}", data={"csrf_token": token, "body": "Hijack"}
        )
        assert edit.status_code == 403
        api = await theirs.post(
            f"/api/v1/questions/{world.approved}/answers", json={"body": "Intruder"}
        )
        assert api.status_code == 401
        api = await theirs.post(f"/api/v1/answers/{world.answer}", json={"body": "Hijack"})
        assert api.status_code == 401
        moderate = await theirs.post(
            f"/api/v1/questions/{world.pending}/moderate", json={"action": "approve"}
        )
        assert moderate.status_code == 401
        for url in ("/desk", "/desk/events/alpha", "/desk/events/alpha/setup"):
            assert turned_away(await theirs.get(url)), url
        cookie = "; ".join(f"{k}={v}" for k, v in theirs.cookies.items())
        async with connect(
            f"{server.ws_url}/staff/events/alpha/live",
            additional_headers={"Cookie": cookie},
            **WS_OPTIONS,
        ) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        assert fingerprint(server.services.settings) == before

        # Alpha's own panelist: the console, with published questions only; no desk.
        console = await ours.get("/console/alpha")
        assert console.status_code == 200 and "Published question?" in console.text
        assert PENDING_TEXT not in console.text
        assert (await ours.get("/desk/events/alpha/queue")).status_code == 401
        pending = await ours.get("/api/v1/events/alpha/questions?status=pending")
        assert pending.status_code == 401


async def test_a_console_cannot_answer_or_edit_another_events_questions(
    server: LiveServer, world: World
) -> None:
    """An invite is valid for its event only, even for a panelist who also sits on another
    event's panel: the alpha console must not answer or edit bravo's questions (for example
    after the bravo invite was revoked, or was never given)."""
    shared = world.alpha["core"][0]

    async def also_on_bravo() -> int:
        a = server.actions
        await a.assign_panelist(world.bravo["id"], shared, None, EDITOR)
        return await a.answer(world.bravo_question, "Bravo answer.", Actor("panelist", shared, ""))

    bravo_answer = await server.acall(also_on_bravo)
    async with browser(server) as panelist:
        await open_invite(server, panelist, world.alpha["id"], shared)
        token = csrf_of((await panelist.get("/console/alpha")).text)
        await panelist.post(
            "/console/alpha/answers",
            data={"csrf_token": token, "question_id": world.bravo_question, "body": "Crossed"},
        )
        await panelist.post(
            f"/console/alpha/answers/{bravo_answer}", data={"csrf_token": token, "body": "Edited"}
        )
        # The bravo console itself stays closed to this session.
        assert (await panelist.get("/console/bravo")).status_code == 403

    async def bravo_answers() -> list[str]:
        async with server.services.store.read() as repo:
            return [a.body_md for a in await repo.answers_for_event(world.bravo["id"])]

    assert await server.acall(bravo_answers) == ["Bravo answer."]


async def test_editors_admins_and_api_tokens(server: LiveServer, world: World) -> None:
    async with browser(server) as editor, browser(server) as admin:
        editor_id = await sign_in(server, editor, "eddie")
        await sign_in(server, admin, "ada", "admin")
        before = fingerprint(server.services.settings)
        token = csrf_of((await editor.get("/desk")).text)
        assert (await editor.get("/desk/editors")).status_code == 403
        made = await editor.post(
            "/desk/editors",
            data={"csrf_token": token, "username": "sneaky", "password": PASSWORD, "role": "admin"},
        )
        assert made.status_code == 403
        promoted = await editor.post(
            f"/desk/editors/{editor_id}/role", data={"csrf_token": token, "role": "admin"}
        )
        assert promoted.status_code == 403
        assert fingerprint(server.services.settings) == before
        page = await admin.get("/desk/editors")
        assert page.status_code == 200 and "eddie" in page.text

        # Promotion and demotion take effect at once, not at the next sign-in.
        admin_token = csrf_of(page.text)
        for role, status in (("admin", 200), ("editor", 403)):
            done = await admin.post(
                f"/desk/editors/{editor_id}/role", data={"csrf_token": admin_token, "role": role}
            )
            assert done.status_code == 303
            assert (await editor.get("/desk/editors")).status_code == status

        # API tokens: valid until revoked, for the API only; the desk refuses a bearer as it
        # refuses a stranger (its pages and forms want a signed-in session).
        secret = await server.acall(
            lambda: server.actions.create_api_token(editor_id, "cms", Actor("editor", editor_id))
        )
        async with browser(server) as cms:
            bearer = {"Authorization": f"Bearer {secret}"}
            me = await cms.get("/api/v1/me", headers=bearer)
            assert me.json() == {"editor": "eddie"}
            form = await cms.post(
                f"/desk/questions/{world.pending}/moderate",
                data={"action": "approve", "csrf_token": "guess"},
                headers=bearer,
            )
            assert form.status_code == 401
            desk_page = await cms.get("/desk", headers=bearer)
            assert desk_page.status_code == 303
            assert desk_page.headers["location"].endswith("/desk/login")

            async def token_id() -> int:
                async with server.services.store.read() as repo:
                    return int((await repo.api_tokens())[0]["id"])

            tid = await server.acall(token_id)
            await server.acall(
                lambda: server.actions.revoke_api_token(tid, Actor("editor", editor_id))
            )
            before = fingerprint(server.services.settings)
            for method, url, body in (
                ("GET", "/api/v1/me", None),
                ("GET", "/api/v1/events/alpha/questions?status=pending", None),
                ("POST", f"/api/v1/questions/{world.pending}/moderate", {"action": "approve"}),
                ("POST", f"/api/v1/questions/{world.approved}/answers", {"body": "Revoked"}),
            ):
                response = await cms.request(method, url, json=body, headers=bearer)
                assert response.status_code == 401, (url, response.text)
                assert response.json()["error"]["code"] == "unauthorized"
            assert fingerprint(server.services.settings) == before


# -- (2) CSRF and Origin ---------------------------------------------------------------------
async def test_the_csrf_token_is_masked_anew_on_every_page(server: LiveServer) -> None:
    """Pages are gzip-compressed next to reader text, so the token must never repeat (BREACH):
    each page carries a fresh disguise of the session's secret, and every one of them works."""
    async with browser(server) as reader:
        first = csrf_of((await reader.get("/desk/login")).text)
        second = csrf_of((await reader.get("/desk/login")).text)
        secret = session_of(reader)["csrf"]
        assert first != second and secret not in (first, second)
        assert unmask_csrf(first) == unmask_csrf(second) == secret
        page = await reader.get("/desk/login", headers={"Accept-Encoding": "gzip"})
        assert page.headers.get("content-encoding") == "gzip" and secret not in page.text
        for token, accepted in ((first, True), (second, True), (secret, False)):
            response = await reader.post(
                "/desk/login", data={"csrf_token": token, "username": "x", "password": "y"}
            )
            assert (CSRF_REFUSAL not in response.text) is accepted, token
        flipped = first[:-2] + ("A" if first[-2] != "A" else "B") + first[-1]
        refused = await reader.post("/desk/login", data={"csrf_token": flipped, "username": "x"})
        assert refused.status_code == 403 and CSRF_REFUSAL in refused.text


async def test_every_form_post_refuses_a_missing_or_wrong_csrf_token(
    server: LiveServer, world: World
) -> None:
    """Each POST form route (from the route table) refuses, changing nothing, a request from
    a signed-in admin who is also this event's panelist, unless it carries the session's
    token; then the same session with its token gets through."""
    settings = server.services.settings
    slot = world.alpha["slots"][0]

    async def ids() -> dict[str, Any]:
        async with server.services.store.read() as repo:
            assignment = (await repo.assignments(world.alpha["id"]))[0]["id"]
            invite = (await repo.invites(world.alpha["id"]))[0]["id"]
            token = (await repo.api_tokens())[0]["id"]
        return {"assignment_id": assignment, "invite_id": invite, "token_id": token}

    async with browser(server) as staff, browser(server) as other:
        admin_id = await sign_in(server, staff, "root", "admin")
        await open_invite(server, staff, world.alpha["id"], world.alpha["core"][0])
        await server.acall(
            lambda: server.actions.create_api_token(admin_id, "t", Actor("editor", admin_id))
        )
        values = {
            **world.values,
            **await server.acall(ids),
            "slot_id": slot,
            "panelist_id": world.alpha["core"][1],
            "editor_id": admin_id,
            "action": "disable",
            "audit_id": 1,  # /desk/undo/{audit_id}
            "mail_id": 1,  # /desk/mail/{mail_id}/retry
        }
        foreign = csrf_of((await other.get("/desk/login")).text)  # another session's token
        data = {
            "action": "pin",
            "status": "closed",
            "body": "Changed by a forged form",
            "role": "editor",
            "ids": str(world.pending),
            "question_id": str(world.approved),
            "panelist_id": str(world.alpha["core"][1]),
            "username": "root",
            "password": PASSWORD,
        }
        before = fingerprint(settings)
        checked = []
        for path in http_routes("POST"):
            if path.startswith("/api/"):
                continue
            url = fill(path, values)
            for bad in ({}, {"csrf_token": ""}, {"csrf_token": "forged"}, {"csrf_token": foreign}):
                response = await staff.post(url, data={**data, **bad})
                if path in JSON_PAGE_ROUTES:
                    assert response.status_code in (400, 403), (url, response.status_code)
                else:
                    assert response.status_code == 403, (url, bad, response.status_code)
                    assert CSRF_REFUSAL in response.text, url
            checked.append(path)
        assert fingerprint(settings) == before
        assert len(checked) >= 35  # the whole table, not a hand-picked few
        # Still signed in (the logout form was refused too), and the real token works.
        desk = await staff.get("/desk/events/alpha")
        assert desk.status_code == 200
        done = await staff.post(
            f"/desk/questions/{world.approved}/moderate",
            data={"action": "pin", "csrf_token": csrf_of(desk.text)},
        )
        assert done.status_code == 303
        assert fingerprint(settings) != before


async def test_json_writes_refuse_a_foreign_origin(server: LiveServer, world: World) -> None:
    """Cookie-authenticated JSON writes from another site's page: refused, nothing stored.
    Bodies that a cross-site form could send (no JSON content type) are refused too."""
    settings = server.services.settings
    bodies: dict[str, Any] = {
        "/api/v1/events/{slug}/questions": {"body": "Cross-site question?"},
        "/api/v1/questions/{question_id:int}/upvote": None,
        "/api/v1/questions/{question_id:int}/moderate": {"action": "pin"},
        "/api/v1/questions/{question_id:int}/answers": {"body": "Cross-site answer"},
        "/api/v1/answers/{answer_id:int}": {"body": "Cross-site edit"},
        "/desk/preview": {"body": "x"},
        "/console/{slug}/preview": {"body": "x"},
        f"{CONSOLE_QUESTION}/draft": {"body": "Cross-site draft"},
        f"{CONSOLE_QUESTION}/claim": {},
        f"{CONSOLE_QUESTION}/release": {"body": "Cross-site draft"},
        f"{CONSOLE_QUESTION}/discard": {},
    }
    paths = [p for p in http_routes("POST") if p.startswith("/api/")] + sorted(JSON_PAGE_ROUTES)
    assert set(paths) == set(bodies), "a new JSON route: add it to this test"
    async with browser(server) as staff:
        await sign_in(server, staff, "jo", "admin")
        await open_invite(server, staff, world.alpha["id"], world.alpha["core"][0])
        before = fingerprint(settings)
        for path in paths:
            url = fill(path, world.values)
            for origin in ("https://evil.example", "null", f"http://127.0.0.1:{server.port + 1}"):
                response = await staff.post(url, json=bodies[path], headers={"Origin": origin})
                assert response.status_code == 403, (url, origin, response.text)
            if bodies[path] is not None:
                plain = await staff.post(
                    url,
                    content=json.dumps(bodies[path]),
                    headers={"Content-Type": "text/plain"},
                )
                assert plain.status_code == 400, (url, plain.text)
        assert fingerprint(settings) == before
        same_site = await staff.post(
            f"/api/v1/questions/{world.approved}/moderate",
            json={"action": "pin"},
            headers={"Origin": server.url},
        )
        assert same_site.status_code == 200 and same_site.json()["pinned"]


# -- (3) hostile text on every surface --------------------------------------------------------
QUESTION = '<script>alert("q")</script>"><img src=x onerror=alert(1)></script><!--'
ASKER = '"><svg onload=alert(2)>'
ANSWER = (
    "[click](javascript:alert(3)) <img src=x onerror=alert(4)> <script>alert(5)</script>\n\n"
    '<a href="javascript:alert(6)">raw</a> [fine](https://example.org/ok) **bold**'
)
TITLE = 'Hostile </title><script>alert("t")</script>\r\nATTENDEE:mailto:evil@example.org'
SUMMARY = "Standfirst\r\nBEGIN:VALARM\r\nTRIGGER:-PT5M\r\nEND:VALARM; with, ICS \\ specials"
INTRO = '<script>alert("i")</script> [x](javascript:alert(7)) <iframe src="https://evil.example">'
LINK = {
    "title": "<script>alert(8)</script>",
    "url": 'https://example.org/?a="><script>alert(9)</script>',
    "summary": "<img src=x onerror=alert(10)>",
}
PERSON = ("<b onmouseover=alert(11)>Pat</b>", '"><script>alert(12)</script>', "<svg/onload=1>")
SLOT = '<iframe src="javascript:alert(13)">'


async def test_hostile_text_is_inert_on_every_surface(
    server: LiveServer, clock: FakeClock, settings: Settings
) -> None:
    async def make() -> dict[str, Any]:
        a = server.actions
        event_id = await a.create_event(
            slug="hostile",
            title=TITLE,
            summary=SUMMARY,
            intro_md=INTRO,
            related=[LINK],
            starts_at=EVENT_START,
            ends_at=EVENT_START + 3 * HOUR,
            status="scheduled",
            slots=[(SLOT, EVENT_START, EVENT_START + 3 * HOUR)],
        )
        async with a.store.read() as repo:
            slot_id = (await repo.slots(event_id))[0].id
        panelist = await a.add_panelist(event_id, *PERSON, slot_id=slot_id)
        await a.run_due_transitions(event_id)
        question, _ = await a.post_question(event_id, "hostile-reader", QUESTION, ASKER)
        await a.moderate(question.id, "approve", EDITOR)
        await a.answer(question.id, ANSWER, Actor("panelist", panelist, PERSON[0]))
        held, _ = await a.post_question(event_id, "hostile-two", "Held " + QUESTION, ASKER)
        return {"id": event_id, "panelist": panelist, "question": question.id, "held": held.id}

    info = await server.acall(make)
    async with browser(server) as reader, browser(server) as editor, browser(server) as panel:
        await sign_in(server, editor, "xss-editor")
        await open_invite(server, panel, info["id"], info["panelist"])
        surfaces = {
            "event page": (reader, "/events/hostile", True),
            "embed": (reader, "/events/hostile/embed", True),
            "front page": (reader, "/", False),
            "desk queue": (editor, "/desk/events/hostile", True),
            "desk fragment": (editor, "/desk/events/hostile/queue", True),
            "desk set-up": (editor, "/desk/events/hostile/setup", False),
            "desk audit": (editor, "/desk/events/hostile/audit", False),
            "console": (panel, "/console/hostile", True),
            "console fragment": (panel, "/console/hostile/questions", True),
        }
        for where, (client, url, shows_question) in surfaces.items():
            response = await client.get(url)
            assert response.status_code == 200, (where, response.status_code)
            page = assert_inert(response.text, where)
            if shows_question:
                assert QUESTION in page.text, where  # shown, as text
            assert "<script>alert" not in response.text, where
        desk = Page((await editor.get("/desk/events/hostile")).text).text
        assert "Held " + QUESTION in desk  # pending text, escaped, for the editor only
        for client, url in ((reader, "/events/hostile"), (reader, "/events/hostile/embed")):
            assert "Held " not in (await client.get(url)).text, url
        assert "Held " not in (await panel.get("/console/hostile")).text

        # Frames carry reader text as data and answers as sanitised HTML only.
        async with connect(f"{server.ws_url}/events/hostile/live?since=0", **WS_OPTIONS) as ws:
            frames: list[dict[str, Any]] = []
            for _ in range(50):
                message = json.loads(await asyncio.wait_for(ws.recv(), 10))
                frames += message if isinstance(message, list) else [message]
                if any(f["type"] == "answer.published" for f in frames):
                    break
        published = next(f for f in frames if f["type"] == "question.published")
        assert published["data"]["question"]["body"] == QUESTION
        answer = next(f for f in frames if f["type"] == "answer.published")["data"]["answer"]
        assert_inert(answer["body_html"], "answer frame")
        assert "<script" not in answer["body_html"]
        assert 'href="https://example.org/ok"' in answer["body_html"]

        # The calendar file: CRLF in the title or summary cannot add properties or components.
        ics = await reader.get("/events/hostile/calendar.ics")
        assert ics.status_code == 200
        lines = ics.text.replace("\r\n ", "").split("\r\n")
        assert lines[-1] == "" and "\n" not in "".join(lines) and "\r" not in "".join(lines)
        names = [line.split(":", 1)[0].split(";", 1)[0] for line in lines if line]
        assert names.count("BEGIN") == 2 and "ATTENDEE" not in names and "TRIGGER" not in names
        summary = next(line for line in lines if line.startswith("SUMMARY:"))
        assert "\\nATTENDEE:mailto:evil@example.org" in summary

        # Publish, then the archive surfaces.
        async def publish() -> None:
            clock.set(EVENT_START + 2 * HOUR)
            await server.actions.set_status(info["id"], "closed", EDITOR)
            transcripts = Transcripts(server.services.store, clock, settings)
            await transcripts.publish(info["id"], EDITOR)

        await server.acall(publish)
        archive = await reader.get("/archive/hostile")
        page = assert_inert(archive.text, "transcript")
        assert QUESTION in page.text and "<script>alert" not in archive.text
        ld = [body for attrs, body in page.scripts if attrs.get("type") == "application/ld+json"]
        assert len(ld) == 1 and "</" not in ld[0] and "<" not in ld[0]
        assert json.loads(ld[0])["mainEntity"][0]["name"] == QUESTION

        hits = await reader.get("/archive", params={"q": "alert script"})
        page = assert_inert(hits.text, "archive search")
        assert QUESTION in page.text
        assert {tag for tag, _ in page.elements} >= {"mark"}
        assert_inert((await reader.get("/archive")).text, "archive index")

        exported = (await reader.get("/archive/hostile.json")).json()
        item = exported["items"][0]
        assert item["question"] == QUESTION and item["name"] == ASKER  # data, not markup
        assert_inert(item["answers"][0]["body_html"], "json export")

        feed = await reader.get("/archive/feed.atom")
        assert b"<script" not in feed.content
        entry = ET.fromstring(feed.content).find("{http://www.w3.org/2005/Atom}entry")
        assert entry is not None
        assert entry.findtext("{http://www.w3.org/2005/Atom}title") == TITLE.replace("\r\n", "\n")

        # Markdown: readers' text stays literal even for a renderer that allows raw HTML.
        markdown = (await reader.get("/archive/hostile.md")).text
        rendered = MarkdownIt("commonmark", {"html": True}).render(markdown)
        reader_parts = Page(rendered)
        for tag, attrs in reader_parts.elements:
            assert not any("alert(1)" in v or "alert(2)" in v for v in attrs.values()), (tag, attrs)
        assert not any('alert("q")' in body for _, body in reader_parts.scripts)
        assert "<svg" not in rendered.replace("&lt;svg", "")

        async def document() -> dict[str, Any]:
            async with server.services.store.read() as repo:
                row = await repo.published_document("hostile")
            assert row is not None
            return json.loads(row["published_json"])  # type: ignore[no-any-return]

        document_ = await server.acall(document)
        html = exports.transcript_html(document_, server.url, settings.templates_dir)
        assert QUESTION in assert_inert(html, "html export").text


def test_live_js_inserts_reader_text_as_text_only() -> None:
    """The one HTML sink in each script is server-sanitised HTML; user fields use textContent."""
    sinks = {}
    for path in sorted((ROOT / "static" / "js").glob("*.js")):
        source = path.read_text()
        sinks[path.name] = re.findall(r"(\w[\w.]*)\.(?:innerHTML|outerHTML)\s*=\s*([^;]+);", source)
        assert "insertAdjacentHTML" not in source and "document.write" not in source, path
        assert not re.search(r"\beval\(|new Function\(", source), path
    assert sinks["live.js"] == [("body", "a.body_html")]
    allowed = {
        ("body", "a.body_html"),  # live.js: nh3-sanitised on the server
        ("region", "html"),  # staff.js: a server-rendered, escaped fragment
        ("element", "await response.text()"),  # staff.js: the same (backstage notes)
        ("template", "html"),  # console.js: the list fragment, parsed into an inert template
        ("view", "next.innerHTML"),  # console.js: one question's part of that fragment
        ("slot", "await response.text()"),  # console.js: the server-rendered answer box
        ("target", "html"),  # console.js: the server's sanitised preview
        ("target", "(await response.json()).html"),  # preview.js: the same
    }
    assert {s for found in sinks.values() for s in found} <= allowed, sinks
    live = (ROOT / "static" / "js" / "live.js").read_text()
    for field in ("q.body", "q.name", "a.by.name", "p.name"):
        assert field in live  # used, and (by the check above) never as HTML


# -- (4) reader anonymity -------------------------------------------------------------------
async def test_reader_ids_never_reach_any_public_output(
    server: LiveServer, clock: FakeClock, settings: Settings, world: World
) -> None:
    secret_reader = "rdr-Zq7Secret-Id-4242"
    async with browser(server) as asker, browser(server) as other, browser(server) as editor:
        await sign_in(server, editor, "anon-editor")
        asked = await asker.post(
            "/api/v1/events/alpha/questions", json={"body": "Anonymous asker's question?"}
        )
        assert asked.status_code == 201
        qid = asked.json()["id"]
        mine = session_of(asker)["reader"]
        assert len(mine) >= 16

        async def more() -> int:
            a = server.actions
            q, _ = await a.post_question(world.alpha["id"], secret_reader, "Secret reader asks?")
            await a.moderate(q.id, "approve", EDITOR)
            await a.moderate(qid, "approve", EDITOR)
            await a.upvote(qid, secret_reader)
            maria = Actor("panelist", world.alpha["core"][0], "M")
            await a.answer(q.id, "An answer.", maria)
            await a.answer(qid, "Another answer.", maria)
            return q.id

        secret_qid = await server.acall(more)
        assert (await asker.post(f"/api/v1/questions/{secret_qid}/upvote")).status_code == 200
        ids = (mine, mine[:8], secret_reader, secret_reader[:8])

        def clean(text: str, where: str) -> None:
            for value in ids:
                assert value not in text, (where, value)

        public = [
            "/",
            "/events/alpha",
            "/events/alpha/embed",
            "/events/alpha/calendar.ics",
            "/api/v1/events",
            "/api/v1/events/alpha",
            "/api/v1/events/alpha/questions",
            "/api/v1/events/alpha/questions?mine=1",
            "/api/v1/events/alpha/stream?since=0",
            "/metrics",
            "/healthz",
        ]
        for url in public:
            for client in (asker, other):
                response = await client.get(url)
                assert response.status_code == 200, url
                clean(response.text, url)
        own = await asker.get("/api/v1/events/alpha/questions?mine=1")
        assert [q["id"] for q in own.json()["questions"]] == [qid]
        async with connect(f"{server.ws_url}/events/alpha/live?since=0", **WS_OPTIONS) as ws:
            raw = [await asyncio.wait_for(ws.recv(), 10)]
            clean(str(raw), "live stream")
        async with browser(server) as panel:
            await open_invite(server, panel, world.alpha["id"], world.alpha["core"][0])
            clean((await panel.get("/console/alpha")).text, "console")
        for url in ("/desk/events/alpha", "/desk/events/alpha/queue", "/desk/events/alpha/audit"):
            clean((await editor.get(url)).text, url)

        # An editor bans the author: the desk's set-up page then shows that reader's id
        # prefix (deliberately, to lift the ban); no public output does.
        queue = await editor.get("/desk/events/alpha")
        banned = await editor.post(
            f"/desk/questions/{world.pending}/moderate",
            data={"action": "ban", "confirm": "yes", "csrf_token": csrf_of(queue.text)},
        )
        assert banned.status_code == 303
        assert "reader-tw" in (await editor.get("/desk/events/alpha/setup")).text

        async def publish() -> None:
            clock.set(EVENT_START + 2 * HOUR)
            await server.actions.set_status(world.alpha["id"], "closed", EDITOR)
            await Transcripts(server.services.store, clock, settings).publish(
                world.alpha["id"], EDITOR
            )

        await server.acall(publish)
        archived = [
            "/archive",
            "/archive/alpha",
            "/archive/alpha.md",
            "/archive/alpha.json",
            "/archive/feed.atom",
            "/archive?q=question",
            "/api/v1/events/alpha/stream?since=0",
        ]
        for url in archived:
            response = await other.get(url)
            assert response.status_code == 200, url
            clean(response.text, url)
            assert "reader-tw" not in response.text and "reader-on" not in response.text
        assert "Anonymous asker" in (await other.get("/archive/alpha")).text


# -- (5) security headers ---------------------------------------------------------------------
async def test_security_headers_on_every_kind_of_response(server: LiveServer, world: World) -> None:
    async def published() -> None:
        a = server.actions
        info = await seed_event(a, slug="done")
        q, _ = await a.post_question(info["id"], "r", "Archived question?")
        await a.moderate(q.id, "approve", EDITOR)
        await a.answer(q.id, "Yes.", Actor("panelist", info["core"][0], "M"))
        await a.set_status(info["id"], "closed", EDITOR)
        await Transcripts(a.store, a.clock, a.settings).publish(info["id"], EDITOR)

    await server.acall(published)
    photo = save_photo(tiny_png(), server.services.settings.uploads_dir)
    async with browser(server) as reader, browser(server) as editor:
        await sign_in(server, editor, "headers")
        cases: list[tuple[str, httpx.Response, bool]] = []
        for url in (
            "/",
            "/events/alpha",
            "/events/alpha/calendar.ics",
            "/archive",
            "/archive/done",
            "/archive/done.md",
            "/archive/done.json",
            "/archive/feed.atom",
            "/api/v1/events",
            "/api/v1/openapi.json",
            "/api/v1/events/nope",  # JSON 404
            "/events/nope",  # HTML 404
            "/static/css/site.css",
            "/static/js/live.js",
            "/static/nope.js",
            photo,
            "/healthz",
            "/metrics",
            "/desk/events/alpha/queue",  # 401 page
            "/desk",  # redirect to sign in
            "/invite/forged",  # 403 page
            "/events/done",  # redirect to the archive
        ):
            cases.append((url, await reader.get(url), False))
        cases.append(("embed", await reader.get("/events/alpha/embed"), True))
        cases.append(("405", await reader.request("DELETE", "/events/alpha"), False))
        cases.append(("API 405", await reader.delete("/api/v1/events"), False))
        cases.append(("CSRF 403", await reader.post("/questions/1/upvote", data={}), False))
        cases.append(
            ("413", await reader.post("/desk/login", content=b"a=" + b"x" * 70_000), False)
        )
        cases.append(
            (
                "bad multipart",
                await reader.post(
                    "/desk/login", content=b"x", headers={"content-type": "multipart/form-data"}
                ),
                False,
            )
        )
        cases.append(("API 400", await reader.post("/api/v1/events/alpha/questions"), False))
        cases.append(("desk page", await editor.get("/desk/events/alpha/setup"), False))
        cases.append(
            (
                "desk redirect",
                await editor.post(
                    "/desk/logout", data={"csrf_token": csrf_of((await editor.get("/desk")).text)}
                ),
                False,
            )
        )
        statuses = set()
        for where, response, framable in cases:
            statuses.add(response.status_code)
            assert_security_headers(response, where, framable)
        assert statuses >= {200, 302, 303, 400, 401, 403, 404, 405, 413}
        photo_response = await reader.get(photo)
        assert photo_response.headers["content-type"] == "image/png"


async def test_a_server_error_still_carries_the_security_headers(
    server: LiveServer, settings: Settings
) -> None:
    """A 500 is answered by Starlette's outermost error middleware, outside ours: it must get
    the headers all the same. A corrupt row (written behind the server's back) makes one."""
    await server.acall(lambda: seed_event(server.actions, slug="broken", status="draft"))
    con = sqlite3.connect(db_path(settings), timeout=10)
    try:
        with con:
            con.execute("UPDATE events SET related_json = 'not json' WHERE slug = 'broken'")
    finally:
        con.close()
    for url, kind in (
        ("/events/broken", "text/html"),
        ("/api/v1/events/broken", "application/json"),
    ):
        async with browser(server) as reader:
            response = await reader.get(url)
        assert response.status_code == 500, url
        assert response.headers["content-type"].startswith(kind)
        assert "Traceback" not in response.text and "JSONDecodeError" not in response.text
        assert_security_headers(response, f"500 on {url}")


async def test_only_the_embed_route_may_be_framed(server: LiveServer) -> None:
    """frame-ancestors is relaxed for /events/{slug}/embed, not for any path that happens to
    end in /embed (an event called "embed" has desk and console pages too)."""
    info = await server.acall(lambda: seed_event(server.actions, slug="embed"))
    async with browser(server) as editor, browser(server) as panel:
        await sign_in(server, editor, "framer")
        await open_invite(server, panel, info["id"], info["core"][0])
        framable = await editor.get("/events/embed/embed")
        assert framable.status_code == 200
        assert_security_headers(framable, "the embed", framable=True)
        for client, url in (
            (editor, "/desk/events/embed"),
            (editor, "/desk/events/embed/setup"),
            (panel, "/console/embed"),
            (editor, "/events/embed"),
            (editor, "/archive/embed"),
        ):
            response = await client.get(url)
            assert_security_headers(response, url)


# -- (6) sessions, cookies, redirects, traversal, uploads -------------------------------------
async def test_sign_in_starts_a_new_session_and_sign_out_ends_it(server: LiveServer) -> None:
    await server.acall(lambda: server.actions.create_editor("fix", PASSWORD))
    await server.acall(lambda: seed_event(server.actions))
    async with browser(server) as victim:
        # A reader's session, with a reader id: made by their first question.
        page = await victim.post("/api/v1/events/probation/questions", json={"body": "Mine?"})
        planted = victim.cookies.get("livepanel")
        assert session_of(victim).get("reader")
        token = csrf_of((await victim.get("/desk/login")).text)
        signed = await victim.post(
            "/desk/login", data={"csrf_token": token, "username": "fix", "password": PASSWORD}
        )
        assert signed.status_code == 303 and page.status_code == 201
        cookie = signed.headers["set-cookie"]
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
        assert {"httponly", "samesite", "path"} <= attributes and "samesite=lax" in cookie.lower()
        session = session_of(victim)
        assert victim.cookies.get("livepanel") != planted
        assert "reader" not in session  # the session was cleared, not extended
        assert set(session) == {"sid", "csrf"}  # a random token; who it is stays server-side
        # The pre-login cookie grants nothing.
        async with browser(server) as attacker:
            attacker.cookies.set("livepanel", planted or "")
            response = await attacker.get("/desk")
            assert response.status_code == 303 and response.headers["location"] == "/desk/login"
        # Signing out needs a POST with the token; a GET cannot sign anyone out.
        assert (await victim.get("/desk/logout")).status_code == 405
        assert (await victim.get("/desk")).status_code == 200
        out = await victim.post(
            "/desk/logout", data={"csrf_token": csrf_of((await victim.get("/desk")).text)}
        )
        assert out.status_code == 303
        assert (await victim.get("/desk")).status_code == 303
        assert "sid" not in session_of(victim)


async def test_cookies_are_secure_behind_an_https_public_url(
    settings: Settings, clock: FakeClock
) -> None:
    live = LiveServer(dataclasses.replace(settings, public_url="https://news.example"), clock)
    live.start()
    try:
        async with browser(live) as client:
            response = await client.get("/desk/login")
            cookie = response.headers["set-cookie"].lower()
            assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    finally:
        live.stop()


async def test_redirects_stay_on_this_site(server: LiveServer, world: World) -> None:
    """No redirect takes its target from the request; hostile values stay in the path."""
    locations: list[str] = []
    async with browser(server) as person:
        await sign_in(server, person, "redir")
        await open_invite(server, person, world.alpha["id"], world.alpha["core"][0])
        token = csrf_of((await person.get("/console/alpha")).text)
        for url, data in (
            ("/console/alpha/answers", {"question_id": "x", "show": "//evil.example/x"}),
            ("/console/alpha/answers", {"question_id": "1", "show": "\r\nSet-Cookie: a=b"}),
            (
                "/console/alpha/answers",
                {"question_id": str(world.approved), "intent": "discard", "show": "//evil.x"},
            ),
            ("/desk/login", {"next": "https://evil.example/"}),
            ("/desk/events/alpha/duplicate", {"slug": "//evil.example", "date": "2026-10-01"}),
            ("/desk/new-event", {"slug": "https://evil.example", "title": "x"}),
            (f"/questions/{world.approved}/upvote", {"next": "https://evil.example/"}),
            ("/events/alpha/questions", {"body": "Where next?", "next": "//evil.example"}),
            ("/desk/events/alpha/transcript/correct", {"item": "1#//evil.example", "id": "x"}),
        ):
            response = await person.post(url, data={"csrf_token": token, **data})
            if response.is_redirect:
                locations.append(response.headers["location"])
                assert "a=b" not in response.headers.get("set-cookie", ""), url
        for url in ("/desk/login", "/desk?next=//evil.example", f"/invite/{'x' * 43}"):
            response = await person.get(url)
            if response.is_redirect:
                locations.append(response.headers["location"])
    assert len(locations) >= 6
    for location in locations:
        assert location.startswith("/") and not location.startswith(("//", "/\\")), location
        assert "evil.example" not in location.split("?")[0].split("#")[0], location


async def test_no_path_traversal_out_of_static_or_uploads(
    server: LiveServer, settings: Settings
) -> None:
    (settings.uploads_dir).mkdir(parents=True, exist_ok=True)
    assert db_path(settings).parent == settings.uploads_dir.parent  # ../livepanel.db is real
    for target in (
        "/uploads/../livepanel.db",
        "/uploads/%2e%2e/livepanel.db",
        "/uploads/..%2flivepanel.db",
        "/uploads/%2e%2e%2flivepanel.db",
        "/uploads/..%5clivepanel.db",
        "/uploads//" + str(db_path(settings)),
        "/static/../panel/app.py",
        "/static/%2e%2e/pyproject.toml",
        "/static/..%2f..%2fpyproject.toml",
        "/static/%2e%2e%2f%2e%2e%2fetc/passwd",
    ):
        status, body = await raw_http(
            server, f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
        )
        assert status in (400, 404), (target, status)
        for leak in (b"SQLite format", b"create_app", b"[project]", b"root:"):
            assert leak not in body, target


async def test_uploads_are_kept_and_served_by_their_content_only(server: LiveServer) -> None:
    info = await server.acall(lambda: seed_event(server.actions, slug="photos"))
    async with browser(server) as editor:
        await sign_in(server, editor, "photo-ed")
        setup = "/desk/events/photos/setup"
        token = csrf_of((await editor.get(setup)).text)

        async def upload(name: str, data: bytes, kind: str) -> httpx.Response:
            return await editor.post(
                "/desk/events/photos/panelists",
                data={"csrf_token": token, "name": f"Person {name}", "role": "", "bio": ""},
                files={"photo": (name, data, kind)},
            )

        svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
        for name, data, kind in (
            ("face.svg", svg, "image/svg+xml"),
            ("face.png", svg, "image/png"),
            ("page.jpg", b"<html><script>alert(1)</script></html>", "image/jpeg"),
            ("face.gif", b"GIF89a" + b"\x00" * 20, "image/gif"),
        ):
            refused = await upload(name, data, kind)
            assert refused.status_code == 303
            notice = await editor.get(setup)
            assert "Photos must be JPEG, PNG or WebP images." in notice.text, name
            assert f"Person {name}" not in notice.text, name
        accepted = await upload("page.html", polyglot_jpeg(), "text/html")
        assert accepted.status_code == 303
        event_page = (await editor.get("/events/photos")).text
        urls = re.findall(r'<img src="(/uploads/[^"]+)"', event_page)
        assert len(urls) == 1 and re.fullmatch(r"/uploads/[0-9a-f]{32}\.jpg", urls[0]), urls
        served = await editor.get(urls[0])
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/jpeg"
        assert served.headers["x-content-type-options"] == "nosniff"
        assert b"<script" not in served.content  # re-encoded: only the picture was kept
        assert csp_directives(served).get("script-src") == ["'self'"]
        assert len(list(server.services.settings.uploads_dir.iterdir())) == 1
        assert info["id"]


# -- (7) sign-in does not tell which accounts exist -----------------------------------------
LOGIN_ERROR = re.compile(r'id="login-error">([^<]*)<')


@pytest.fixture
def loopback_proxy_server(settings: Settings, clock: FakeClock) -> Iterator[LiveServer]:
    """A server that believes X-Forwarded-For from 127.0.0.1, as behind a local proxy."""
    live = LiveServer(dataclasses.replace(settings, trusted_proxies=("127.0.0.1",)), clock)
    live.start()
    try:
        yield live
    finally:
        live.stop()


async def test_unknown_users_and_wrong_passwords_look_the_same(
    loopback_proxy_server: LiveServer,
) -> None:
    """Same status and message for an unknown username and a wrong password, also once the
    real account locks: the lock must not tell an attacker that the account exists."""
    server = loopback_proxy_server
    await server.acall(lambda: server.actions.create_editor("kim", PASSWORD))

    async def attempts(username: str, address: str, password: str = "wrong password") -> list:
        results = []
        async with browser(server) as client:
            token = csrf_of((await client.get("/desk/login")).text)
            for _ in range(6):
                response = await client.post(
                    "/desk/login",
                    data={"csrf_token": token, "username": username, "password": password},
                    headers={"X-Forwarded-For": address},  # one address each: below its limit
                )
                match = LOGIN_ERROR.search(response.text)
                results.append((response.status_code, match.group(1) if match else None))
        return results

    known = await attempts("kim", "10.0.0.1")
    unknown = await attempts("nobody-here", "10.0.0.2")
    assert not any("wait" in (message or "") for _, message in known + unknown), (
        "the per-address limit was hit: the app should trust X-Forwarded-For from loopback"
    )
    assert known[0] == (401, "Wrong username or password.")
    assert known == unknown
    # Locked from those addresses: even the right password is refused, for the real account
    # and a made-up one alike (other addresses are not locked: tests/test_login_throttle.py).
    assert (await attempts("kim", "10.0.0.1", PASSWORD))[0] == (
        await attempts("nobody-here", "10.0.0.2", PASSWORD)
    )[0]


# -- (8) bounds on hostile input ------------------------------------------------------------
async def test_hostile_sizes_and_shapes_get_a_quick_4xx_never_a_500(
    server: LiveServer, world: World
) -> None:
    ask = "/api/v1/events/alpha/questions"
    moderate = "/api/v1/questions/{}/moderate"
    deep = "[" * 30_000 + "]" * 30_000  # under 64 KiB, far deeper than any parser recurses
    long_slug = "a" * 60_000
    async with browser(server) as reader, browser(server) as editor:
        await sign_in(server, editor, "bounds", "admin")
        token = csrf_of((await editor.get("/desk")).text)
        clients = {"reader": reader, "editor": editor}
        # (what, who, method, url, request options, acceptable statuses)
        cases: list[tuple[str, str, str, str, dict[str, Any], set[int]]] = [
            ("long slug page", "reader", "GET", f"/events/{long_slug}", {}, {404}),
            ("long slug API", "reader", "GET", f"/api/v1/events/{long_slug}", {}, {404}),
            ("long slug export", "reader", "GET", f"/archive/{long_slug}.md", {}, {404}),
            ("long query", "reader", "GET", "/archive?q=" + "word " * 4000, {}, {200}),
            ("long filter", "reader", "GET", "/archive?panelist=" + "x" * 50_000, {}, {200}),
            ("huge page", "reader", "GET", "/archive?page=" + "9" * 5000, {}, {200}),
            ("huge since", "reader", "GET", f"{ask[:-10]}/stream?since={'9' * 5000}", {}, {422}),
            ("huge filter id", "editor", "GET", "/desk/events/alpha?to=" + "9" * 5000, {}, {422}),
            (
                "huge path id",
                "editor",
                "POST",
                "/api/v1/questions/" + "9" * 30 + "/upvote",
                {},
                {404},
            ),
            (
                "many fields",
                "editor",
                "POST",
                "/desk/new-event",
                {
                    "content": "&".join(f"f{i}=1" for i in range(5000)) + f"&csrf_token={token}",
                    "headers": {"content-type": "application/x-www-form-urlencoded"},
                },
                {400},
            ),
            (
                "big form",
                "reader",
                "POST",
                "/desk/login",
                {"content": b"a=" + b"x" * 100_000},
                {413},
            ),
            (
                "big upload",
                "editor",
                "POST",
                "/desk/events/alpha/panelists",
                {
                    "data": {"csrf_token": token, "name": "Big"},
                    "files": {"photo": ("big.png", b"\x89PNG" + b"\0" * 3_000_000, "image/png")},
                },
                {413},
            ),
            (
                "desk huge id",
                "editor",
                "POST",
                "/desk/questions/" + "9" * 30 + "/moderate",
                {"data": {"csrf_token": token, "action": "approve"}},
                {404},
            ),
        ]
        json_cases: list[tuple[str, str, str, str, set[int]]] = [
            ("deep JSON", "reader", ask, deep, {400}),
            ("deep JSON field", "reader", ask, '{"body": ' + deep + "}", {400}),
            ("lone surrogate", "reader", ask, '{"body": "Is \\ud800 ok?"}', {400}),
            ("surrogate name", "reader", ask, '{"body": "Fine?", "name": "\\udfff"}', {400}),
            ("surrogate key", "reader", ask, '{"body": "Fine?", "client_key": "\\ud800"}', {400}),
            ("surrogate preview", "editor", "/desk/preview", '{"body": "\\ud800"}', {400}),
            ("infinite to", "reader", ask, '{"body": "Fine?", "to": 1e999}', {422}),
            (
                "infinite into",
                "editor",
                moderate.format(world.pending),
                '{"action": "merge", "into": 1e999}',
                {422},
            ),
            (
                "NaN to",
                "editor",
                moderate.format(world.approved),
                '{"action": "direct", "to": NaN}',
                {422},
            ),
            (
                "huge into",
                "editor",
                moderate.format(world.pending),
                '{"action": "merge", "into": 1000000000000000000000000000000}',
                {404, 422},
            ),
        ]
        for where, who, url, body, expected in json_cases:
            options: dict[str, Any] = {
                "content": body,
                "headers": {"Content-Type": "application/json"},
            }
            cases.append((where, who, "POST", url, options, expected))
        for where, who, method, url, options, expected in cases:
            started = time.monotonic()
            response = await clients[who].request(method, url, **options)
            assert response.status_code in expected, (where, response.status_code)
            assert time.monotonic() - started < 10, where

        async with connect(f"{server.ws_url}/events/{long_slug[:5000]}/live", **WS_OPTIONS) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008

        status, _ = await raw_http(
            server, b"GET /?" + b"a=b&" * 40_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", True
        )
        assert 400 <= status < 500
        # The site still answers afterwards, and none of it was stored.
        assert (await reader.get("/events/alpha")).status_code == 200

    async def bodies() -> list[str]:
        async with server.services.store.read() as repo:
            return [q.body for q in await repo.questions(world.alpha["id"], ["pending"])]

    assert await server.acall(bodies) == [PENDING_TEXT]


async def test_a_chunked_form_over_the_limit_is_refused_before_it_ends(
    server: LiveServer,
) -> None:
    """Without a Content-Length, a form's size is only known while reading it: the server
    must stop at the limit instead of reading (and parsing) whatever it is sent."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)

    async def exchange() -> bytes:
        writer.write(
            b"POST /desk/login HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"&" * 32_768
        for _ in range(4):  # 128 KiB of empty fields, and the body is never finished
            writer.write(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        await writer.drain()
        return await reader.readuntil(b"\r\n\r\n")

    try:
        head = await asyncio.wait_for(exchange(), 10)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    assert head.split(b" ", 2)[1] == b"413", head


async def test_an_event_address_must_be_exactly_the_allowed_characters(
    server: LiveServer,
) -> None:
    """A web address with a trailing newline once passed the `$`-anchored check; its
    calendar file then broke the Content-Disposition header and the response died."""
    async with browser(server) as editor:
        await sign_in(server, editor, "slugs")
        for slug in ("evil\n", "evil\r\n", " evil", "EVIL", "a/b", "..", "e" * 81):
            token = csrf_of((await editor.get("/desk/new-event")).text)
            response = await editor.post(
                "/desk/new-event",
                data={
                    "csrf_token": token,
                    "slug": slug,
                    "title": "Slug test",
                    "date": "2026-09-20",
                    "start": "13:00",
                    "end": "14:00",
                },
            )
            assert response.status_code == 422, (slug, response.status_code)
        info = await server.acall(lambda: seed_event(server.actions, slug="source"))
        setup = await editor.get("/desk/events/source/setup")
        copied = await editor.post(
            "/desk/events/source/duplicate",
            data={"csrf_token": csrf_of(setup.text), "slug": "copy\n", "date": "2026-10-01"},
        )
        assert copied.status_code == 303 and copied.headers["location"].endswith("/source/setup")

    async def slugs() -> list[str]:
        async with server.services.store.read() as repo:
            return [e.slug for e in await repo.list_events()]

    assert await server.acall(slugs) == ["source"]
    assert info["slug"] == "source"
