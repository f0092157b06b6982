"""Staff sessions that can be revoked, end to end: a real uvicorn, real HTTP and WebSockets.

Editors' and panelists' sessions live in the database (panel/sessions.py); the tests marked
BOTH_STORES run on SQLite and on PostgreSQL. Signing out, a
password change, an admin disabling or removing an editor, and a revoked invite end them at
once, copies of the cookie included, and close their open staff sockets (1008 "signed out").
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from panel.live.broker import LocalBroker
from panel.live.signouts import Signouts
from tests.conftest import EDITOR, LiveServer, seed_event, wait_for
from tests.livehelpers import (
    PASSWORD,
    Reader,
    client_for,
    cookie_header,
    csrf_from,
    desk_login,
    post_as,
)
from tests.pgdb import BOTH_STORES

NEW_PASSWORD = "another long enough password"
STAFF = "/staff/events/{slug}/live"


@pytest.fixture
async def event(server: LiveServer) -> dict[str, Any]:
    return await server.acall(lambda: seed_event(server.actions))


@contextlib.asynccontextmanager
async def desk(
    server: LiveServer, username: str, password: str = PASSWORD, *, new: bool = True
) -> AsyncIterator[httpx.AsyncClient]:
    """A browser signed in to the desk (as a `new` editor, or an existing one)."""
    if new:
        await server.acall(lambda: server.actions.create_editor(username, password))
    async with client_for(server) as client:
        response = await desk_login(client, username, password)
        assert response.status_code == 303, response.text
        yield client


def session_of(client: httpx.AsyncClient) -> dict[str, Any]:
    """The signed (not encrypted) cookie's content, as the browser holds it."""
    payload = (client.cookies.get("livepanel") or "").split(".")[0]
    return json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


def copy_of(server: LiveServer, client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Someone else holding a copy of `client`'s cookie."""
    thief = client_for(server)
    thief.cookies.set("livepanel", client.cookies.get("livepanel") or "")
    return thief


async def staff_socket(server: LiveServer, slug: str, client: httpx.AsyncClient) -> Reader:
    """A staff socket with `client`'s cookie, once the server has let it in."""
    before = server.services.signouts.watched()
    socket = await Reader.open(
        server, slug, path=STAFF, additional_headers={"Cookie": cookie_header(client)}
    )
    await wait_for(
        lambda: server.services.signouts.watched() > before, message="the socket to be let in"
    )
    return socket


async def signed_out(socket: Reader) -> bool:
    """The server closed the socket because its session ended."""
    return await socket.close_code() == 1008 and socket.close_reason == "signed out"


async def notified(server: LiveServer, event: dict[str, Any], socket: Reader) -> None:
    """The socket still receives staff notices: a new question reaches it."""
    question = await post_as(server, event["id"], "asker", "Still live?")
    await socket.until(
        lambda frames: any(f["data"].get("question_id") == question.id for f in frames),
        what="the new question's notice",
    )


async def audit_actions(server: LiveServer) -> list[str]:
    async def read() -> list[str]:
        async with server.services.store.read() as repo:
            return [str(row["action"]) for row in await repo.audit_entries()]

    return await server.acall(read)


@pytest.fixture
async def admin(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    await server.acall(lambda: server.actions.create_editor("boss", PASSWORD, role="admin"))
    async with desk(server, "boss", new=False) as client:
        yield client


async def editor_id(server: LiveServer, username: str) -> int:
    async def read() -> int:
        async with server.services.store.read() as repo:
            row = await repo.editor_by_username(username)
        assert row is not None
        return int(row["id"])

    return await server.acall(read)


async def admin_post(admin: httpx.AsyncClient, path: str) -> str:
    """Post an editors-page form; the notice it leaves."""
    csrf = csrf_from((await admin.get("/desk/editors")).text)
    response = await admin.post(path, data={"csrf_token": csrf}, follow_redirects=True)
    assert response.status_code == 200, response.text
    return response.text


async def invite_link(server: LiveServer, event_id: int, panelist_id: int) -> str:
    return await server.acall(lambda: server.actions.create_invite(event_id, panelist_id))


# -- signing out -------------------------------------------------------------------------
@BOTH_STORES
async def test_a_copied_editor_cookie_stops_working_after_sign_out(
    server: LiveServer, event: dict[str, Any]
) -> None:
    question = await post_as(server, event["id"], "asker", "Pin me?")
    await server.acall(lambda: server.actions.moderate(question.id, "approve", EDITOR))
    async with desk(server, "eve") as eve, copy_of(server, eve) as thief:
        moderate = f"/api/v1/questions/{question.id}/moderate"
        assert (await thief.get("/desk")).status_code == 200  # the copy works while signed in
        assert (await thief.post(moderate, json={"action": "pin"})).status_code == 200
        socket = await staff_socket(server, event["slug"], thief)

        home = await eve.get("/desk")
        out = await eve.post("/desk/logout", data={"csrf_token": csrf_from(home.text)})
        assert out.status_code == 303

        assert await signed_out(socket)  # the open socket closed at once
        refused = await thief.get("/desk")
        assert refused.status_code == 303 and refused.headers["location"] == "/desk/login"
        api = await thief.post(moderate, json={"action": "unpin"})
        assert api.status_code == 401 and api.json()["error"]["code"] == "unauthorized"
        again = await Reader.open(
            server, event["slug"], path=STAFF, additional_headers={"Cookie": cookie_header(thief)}
        )
        assert await again.close_code() == 1008 and again.close_reason == "sign in first"
    assert "session.end" in await audit_actions(server)


@BOTH_STORES
async def test_signing_in_again_rotates_the_session(server: LiveServer) -> None:
    """Session fixation: the token changes at every sign-in, and the one before it ends."""
    async with client_for(server) as browser:
        await browser.get("/desk/login")
        planted = copy_of(server, browser)  # a pre-login cookie, planted by someone else
        await server.acall(lambda: server.actions.create_editor("fay", PASSWORD))
        assert (await desk_login(browser, "fay", PASSWORD)).status_code == 303
        first = session_of(browser)["sid"]
        assert "sid" not in session_of(planted)
        assert (await planted.get("/desk")).status_code == 303  # the planted cookie got nothing
        earlier = copy_of(server, browser)
        again = await browser.post(  # signed in, the login page redirects: post its form anyway
            "/desk/login",
            data={
                "csrf_token": csrf_from((await browser.get("/desk")).text),
                "username": "fay",
                "password": PASSWORD,
            },
        )
        assert again.status_code == 303
        assert session_of(browser)["sid"] != first
        assert (await earlier.get("/desk")).status_code == 303  # the old session ended
        assert (await browser.get("/desk")).status_code == 200
        await planted.aclose()
        await earlier.aclose()


# -- passwords -----------------------------------------------------------------------------
@BOTH_STORES
async def test_a_password_change_ends_the_other_sessions_and_not_this_one(
    server: LiveServer, event: dict[str, Any]
) -> None:
    async with (
        desk(server, "gus") as laptop,
        desk(server, "gus", new=False) as phone,
    ):
        on_laptop = await staff_socket(server, event["slug"], laptop)
        on_phone = await staff_socket(server, event["slug"], phone)
        form = {
            "csrf_token": csrf_from((await phone.get("/desk/account")).text),
            "current_password": "not the password",
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        }
        wrong = await phone.post("/desk/account", data=form, follow_redirects=True)
        assert "That is not your current password." in wrong.text
        assert (await laptop.get("/desk")).status_code == 200  # nothing ended

        form["current_password"] = PASSWORD
        changed = await phone.post("/desk/account", data=form, follow_redirects=True)
        assert "Password changed." in changed.text

        assert await signed_out(on_laptop)
        assert (await laptop.get("/desk")).status_code == 303
        assert (await phone.get("/desk")).status_code == 200
        await notified(server, event, on_phone)  # this session's socket stays open
        await on_phone.close()
    async with client_for(server) as browser:
        assert (await desk_login(browser, "gus", PASSWORD)).status_code == 401  # the old password
    async with desk(server, "gus", NEW_PASSWORD, new=False):
        pass
    assert "editor.password" in await audit_actions(server)


async def test_guessing_the_current_password_is_rate_limited(server: LiveServer) -> None:
    """A borrowed session cannot try passwords faster than a sign-in page allows."""
    async with desk(server, "pat") as pat:
        form = {
            "csrf_token": csrf_from((await pat.get("/desk/account")).text),
            "current_password": "a guess",
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        }
        notices = []
        for _ in range(11):
            page = await pat.post("/desk/account", data=form, follow_redirects=True)
            notices.append("Too many attempts" in page.text)
        assert notices == [False] * 10 + [True]


# -- an admin disables, removes and unlocks editors ---------------------------------------
@BOTH_STORES
async def test_disabling_an_editor_ends_their_sessions_and_closes_their_socket(
    server: LiveServer, event: dict[str, Any], admin: httpx.AsyncClient
) -> None:
    async with desk(server, "hal") as hal:
        hal_id = await editor_id(server, "hal")
        token = await server.acall(lambda: server.actions.create_api_token(hal_id, "cms", EDITOR))
        bearer = {"Authorization": f"Bearer {token}"}
        assert (
            await hal.get("/api/v1/events/probation/questions", headers=bearer)
        ).status_code == 200
        socket = await staff_socket(server, event["slug"], hal)

        assert "Account disabled." in await admin_post(admin, f"/desk/editors/{hal_id}/disable")

        assert await signed_out(socket)
        assert (await hal.get("/desk")).status_code == 303
        api = await hal.get("/api/v1/events/probation/questions?status=pending", headers=bearer)
        assert api.status_code == 401
    async with client_for(server) as browser:
        refused = await desk_login(browser, "hal", PASSWORD)
        assert refused.status_code == 403 and "disabled" in refused.text
    assert "Account enabled." in await admin_post(admin, f"/desk/editors/{hal_id}/enable")
    async with desk(server, "hal", new=False) as hal:
        queue = await hal.get("/api/v1/events/probation/questions?status=pending", headers=bearer)
        assert queue.status_code == 200
    assert {"editor.disable", "editor.enable"} <= set(await audit_actions(server))


@BOTH_STORES
async def test_removing_an_editor_ends_their_sessions_at_once(
    server: LiveServer, event: dict[str, Any], admin: httpx.AsyncClient
) -> None:
    async with desk(server, "ivy") as ivy, copy_of(server, ivy) as thief:
        ivy_id = await editor_id(server, "ivy")
        sockets = [await staff_socket(server, event["slug"], c) for c in (ivy, thief)]

        assert "Account removed." in await admin_post(admin, f"/desk/editors/{ivy_id}/remove")

        for socket in sockets:
            assert await signed_out(socket)
        assert (await ivy.get("/desk")).status_code == 303
    async with client_for(server) as browser:
        assert (await desk_login(browser, "ivy", PASSWORD)).status_code == 401
    # An admin cannot remove or disable themselves (the last admin could lock everyone out).
    boss = await editor_id(server, "boss")
    assert "You cannot remove your own account." in await admin_post(
        admin, f"/desk/editors/{boss}/remove"
    )
    assert (await admin.get("/desk")).status_code == 200
    assert "editor.remove" in await audit_actions(server)


async def test_only_an_admin_manages_accounts(server: LiveServer, admin: httpx.AsyncClient) -> None:
    async with desk(server, "jay") as jay:
        boss = await editor_id(server, "boss")
        csrf = csrf_from((await jay.get("/desk")).text)
        for action in ("disable", "remove", "unlock"):
            response = await jay.post(f"/desk/editors/{boss}/{action}", data={"csrf_token": csrf})
            assert response.status_code == 403, action
        assert (await admin.get("/desk")).status_code == 200


@BOTH_STORES
async def test_an_admin_unlocks_a_locked_account(
    server: LiveServer, admin: httpx.AsyncClient
) -> None:
    await server.acall(lambda: server.actions.create_editor("kim", PASSWORD))
    kim_id = await editor_id(server, "kim")
    for _ in range(5):
        await server.acall(
            lambda: _fails(server.actions.sign_in("kim", "wrong password", "127.0.0.1"))
        )
    async with client_for(server) as browser:
        assert (await desk_login(browser, "kim", PASSWORD)).status_code == 429  # locked
        assert "Sign-in locked until" in (await admin.get("/desk/editors")).text
        assert "Account unlocked." in await admin_post(admin, f"/desk/editors/{kim_id}/unlock")
        assert (await desk_login(browser, "kim", PASSWORD)).status_code == 303
    assert "editor.unlock" in await audit_actions(server)


async def _fails(attempt: Any) -> None:
    with pytest.raises(Exception, match="Wrong username or password"):
        await attempt


# -- panelists -----------------------------------------------------------------------------
@BOTH_STORES
async def test_revoking_an_invite_closes_the_panelists_open_socket(
    server: LiveServer, event: dict[str, Any], admin: httpx.AsyncClient
) -> None:
    slug = event["slug"]
    maria, jenna = event["core"]
    links = [await invite_link(server, event["id"], p) for p in (maria, jenna)]
    async with client_for(server) as first, client_for(server) as second:
        for client, link in zip((first, second), links, strict=True):
            assert (await client.get(f"/invite/{link}")).status_code == 303
        sockets = [await staff_socket(server, slug, c) for c in (first, second)]

        async def invite_of(panelist: int) -> int:
            async with server.services.store.read() as repo:
                rows = await repo.invites(event["id"])
            return next(int(r["id"]) for r in rows if r["panelist_id"] == panelist)

        invite = await server.acall(lambda: invite_of(maria))
        setup = await admin.get(f"/desk/events/{slug}/setup")
        revoked = await admin.post(
            f"/desk/events/{slug}/invites/{invite}/revoke",
            data={"csrf_token": csrf_from(setup.text)},
        )
        assert revoked.status_code == 303

        assert await signed_out(sockets[0])
        assert (await first.get(f"/console/{slug}")).status_code == 403
        assert (await first.get(f"/console/{slug}/questions")).status_code == 403
        # The other panelist's invite, session and socket are untouched.
        assert (await second.get(f"/console/{slug}")).status_code == 200
        await notified(server, event, sockets[1])
        await sockets[1].close()


@BOTH_STORES
async def test_opening_an_invite_again_replaces_the_session(
    server: LiveServer, event: dict[str, Any]
) -> None:
    link = await server.acall(lambda: server.actions.create_invite(event["id"], event["core"][0]))
    async with client_for(server) as console:
        await console.get(f"/invite/{link}")
        earlier = copy_of(server, console)
        await console.get(f"/invite/{link}")
        assert (await earlier.get(f"/console/{event['slug']}")).status_code == 403
        assert (await console.get(f"/console/{event['slug']}")).status_code == 200
        await earlier.aclose()


# -- expiry --------------------------------------------------------------------------------
@BOTH_STORES
async def test_an_idle_session_is_refused(server: LiveServer, event: dict[str, Any]) -> None:
    idle = server.services.settings.session_idle_seconds
    async with desk(server, "lou") as lou:
        server.clock.advance(seconds=idle - 60)
        assert (await lou.get("/desk")).status_code == 200  # used: seen again
        server.clock.advance(seconds=idle - 60)
        assert (await lou.get("/desk")).status_code == 200
        server.clock.advance(seconds=idle + 1)
        assert (await lou.get("/desk")).status_code == 303
        socket = await Reader.open(
            server, event["slug"], path=STAFF, additional_headers={"Cookie": cookie_header(lou)}
        )
        assert await socket.close_code() == 1008


async def test_a_session_ends_at_its_maximum_age_even_when_used(server: LiveServer) -> None:
    settings = server.services.settings
    step = settings.session_idle_seconds // 2
    async with desk(server, "max") as client:
        for _ in range(settings.session_max_seconds // step - 1):
            server.clock.advance(seconds=step)
            assert (await client.get("/desk")).status_code == 200
        server.clock.advance(seconds=step)
        assert (await client.get("/desk")).status_code == 303


@BOTH_STORES
async def test_an_open_staff_socket_closes_when_its_session_idles_out(
    server: LiveServer, event: dict[str, Any]
) -> None:
    """Expiry needs no request to notice it: the fake clock passes the idle limit and the
    open socket closes, with no wait in real time."""
    async with desk(server, "ned") as ned:
        socket = await staff_socket(server, event["slug"], ned)
        server.clock.advance(seconds=server.services.settings.session_idle_seconds + 1)
        assert await signed_out(socket)


async def test_an_open_staff_socket_closes_at_its_sessions_maximum_age(
    server: LiveServer, event: dict[str, Any]
) -> None:
    settings = server.services.settings
    step = settings.session_idle_seconds // 2
    async with desk(server, "ora") as ora:
        socket = await staff_socket(server, event["slug"], ora)
        for _ in range(settings.session_max_seconds // step - 1):
            server.clock.advance(seconds=step)
            assert (await ora.get("/desk")).status_code == 200  # used, so never idle
        server.clock.advance(seconds=step)
        assert await signed_out(socket)


@BOTH_STORES
async def test_a_lost_sign_out_announcement_still_closes_the_socket_within_the_recheck(
    server: LiveServer, event: dict[str, Any]
) -> None:
    """The session ends in the database with no message on the broker (as when Redis drops
    it); the socket re-reads its session every `session_recheck_seconds` and closes."""
    async with desk(server, "pia") as pia:
        socket = await staff_socket(server, event["slug"], pia)
        pia_id = await editor_id(server, "pia")

        async def end_unannounced(repo: Any) -> list[str]:
            return await repo.end_sessions(editor_id=pia_id)  # type: ignore[no-any-return]

        ended = await server.acall(lambda: server.services.store.write(end_unannounced))
        assert len(ended) == 1
        await notified(server, event, socket)  # nothing told the socket yet
        server.clock.advance(seconds=server.services.settings.session_recheck_seconds)
        assert await signed_out(socket)


# -- cookies -------------------------------------------------------------------------------
async def test_cookies_carry_no_personal_data(server: LiveServer, event: dict[str, Any]) -> None:
    """A reader's cookie holds an anonymous id and a CSRF secret; staff cookies only
    random session tokens: never a name, an id of ours or what someone wrote."""
    async with client_for(server) as reader:
        posted = await reader.post(
            f"/api/v1/events/{event['slug']}/questions",
            json={"name": "Ruth Example", "body": "Can I train part time?"},
        )
        assert posted.status_code == 201, posted.text
        cookie = session_of(reader)
        assert set(cookie) <= {"reader", "csrf", "notice"} and "reader" in cookie
        assert "Ruth" not in json.dumps(cookie) and "part time" not in json.dumps(cookie)
    link = await server.acall(lambda: server.actions.create_invite(event["id"], event["core"][0]))
    async with client_for(server) as console, desk(server, "nia") as nia:
        await console.get(f"/invite/{link}")
        tokens = session_of(console)["panelist"]
        assert list(tokens) == [str(event["id"])] and len(tokens[str(event["id"])]) == 43
        assert "Maria" not in json.dumps(session_of(console))
        assert set(session_of(nia)) == {"sid", "csrf"} and "nia" not in json.dumps(session_of(nia))


# -- every process ---------------------------------------------------------------------------
async def test_a_sign_out_reaches_every_process_through_the_broker() -> None:
    """Two processes' Signouts on one broker (as on one Redis): a session ended in one
    closes the sockets that watch it in the other, and nothing else."""
    broker = LocalBroker()
    here, there = Signouts(broker), Signouts(broker)
    async with broker.subscribe("sessions") as messages:
        follower = asyncio.create_task(there.follow(messages))
        try:
            with there.watch("a") as ended_a, there.watch("b") as ended_b:
                await here.announce(["a"])
                await asyncio.wait_for(asyncio.shield(ended_a), 5)
                assert not ended_b.done()
        finally:
            follower.cancel()
    assert there.watched() == 0
