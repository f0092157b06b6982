"""Invites, the panelist console, the reader's form and the desk, over real HTTP."""

from __future__ import annotations

import html
import uuid
from typing import Any

import pytest

from tests.conftest import EDITOR, LiveServer, seed_event
from tests.livehelpers import (
    PASSWORD,
    Reader,
    assert_error_shape,
    client_for,
    cookie_header,
    csrf_from,
    editor_client,
    from_site,
    last_seq,
    post_as,
    question_in_store,
    questions_in_store,
    seed_live,
)


@pytest.fixture
async def event(server: LiveServer) -> dict[str, Any]:
    return await seed_live(server)


async def invite_id_for(server: LiveServer, event_id: int, panelist_id: int) -> int:
    async def read() -> int:
        async with server.services.store.read() as repo:
            rows = await repo.invites(event_id)
        return max(int(r["id"]) for r in rows if r["panelist_id"] == panelist_id)

    return await server.acall(read)


# -- invites and the console ------------------------------------------------------------------
async def test_an_invite_signs_the_panelist_in_until_it_is_revoked(
    server: LiveServer, event: dict[str, Any]
) -> None:
    slug, panelist_id = event["slug"], event["core"][0]
    token = await server.acall(lambda: server.actions.create_invite(event["id"], panelist_id))
    assert len(token) >= 22, "at least 128 bits of randomness"
    async with client_for(server) as stranger:
        assert (await stranger.get(f"/console/{slug}")).status_code == 403
        assert (await stranger.get("/invite/not-a-real-token")).status_code == 403
        assert (await stranger.get(f"/console/{slug}")).status_code == 403

    async with client_for(server) as console:
        redeemed = await console.get(f"/invite/{token}")
        assert redeemed.status_code == 303
        assert redeemed.headers["location"] == f"/console/{slug}"
        cookie = redeemed.headers["set-cookie"].lower()
        assert "livepanel=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
        page = await console.get(f"/console/{slug}")
        assert page.status_code == 200
        assert "Maria Ashdown" in page.text
        fragment = await console.get(f"/console/{slug}/questions")
        assert fragment.status_code == 200
        # The grant is for this event only.
        other = await server.acall(lambda: seed_event(server.actions, slug="another"))
        assert (await console.get(f"/console/{other['slug']}")).status_code == 403

    invite_id = await invite_id_for(server, event["id"], panelist_id)
    await server.acall(lambda: server.actions.revoke_invite(invite_id, EDITOR))
    async with client_for(server) as late:
        refused = await late.get(f"/invite/{token}")
        assert refused.status_code == 403
        assert (await late.get(f"/console/{slug}")).status_code == 403
    # A new invite for the same panelist works again.
    fresh = await server.acall(lambda: server.actions.create_invite(event["id"], panelist_id))
    assert fresh != token
    async with client_for(server) as console:
        assert (await console.get(f"/invite/{fresh}")).status_code == 303
        assert (await console.get(f"/console/{slug}")).status_code == 200


async def test_revoking_an_invite_also_ends_the_sessions_it_opened(
    server: LiveServer, event: dict[str, Any]
) -> None:
    """A leaked link, once revoked, must not keep working for whoever already opened it."""
    slug, panelist_id = event["slug"], event["core"][0]
    q = await post_as(server, event["id"], "asker", "Still there?")
    await server.acall(lambda: server.actions.moderate(q.id, "approve", EDITOR))
    token = await server.acall(lambda: server.actions.create_invite(event["id"], panelist_id))
    async with client_for(server) as console:
        assert (await console.get(f"/invite/{token}")).status_code == 303
        assert (await console.get(f"/console/{slug}")).status_code == 200
        invite_id = await invite_id_for(server, event["id"], panelist_id)
        await server.acall(lambda: server.actions.revoke_invite(invite_id, EDITOR))
        assert (await console.get(f"/console/{slug}")).status_code == 403
        assert (await console.get(f"/console/{slug}/questions")).status_code == 403
        assert_error_shape(
            await console.post(f"/api/v1/questions/{q.id}/answers", json={"body": "Sneaking in"}),
            401,
        )
        staff = await Reader.open(
            server,
            slug,
            path="/staff/events/{slug}/live",
            additional_headers={"Cookie": cookie_header(console)},
        )
        assert await staff.close_code() == 1008
    question = await question_in_store(server, q.id)
    assert question is not None and not question.answered


async def test_a_console_answer_reaches_readers_live_and_needs_the_csrf_token(
    server: LiveServer, event: dict[str, Any]
) -> None:
    slug = event["slug"]
    q = await post_as(server, event["id"], "asker", "What surprised you most?")
    await server.acall(lambda: server.actions.moderate(q.id, "approve", EDITOR))
    token = await server.acall(lambda: server.actions.create_invite(event["id"], event["core"][1]))
    async with client_for(server) as console, client_for(server) as api:
        start = await last_seq(api, slug)
        reader = await Reader.open(server, slug, since=start)
        try:
            await console.get(f"/invite/{token}")
            page = await console.get(f"/console/{slug}")
            assert "What surprised you most?" in page.text
            csrf = csrf_from(page.text)
            form = {"question_id": str(q.id), "body": "The *paperwork*.", "show": "all"}
            for bad in ({}, {"csrf_token": "forged"}):
                refused = await console.post(f"/console/{slug}/answers", data={**form, **bad})
                assert refused.status_code == 403
            assert await last_seq(api, slug) == start, "a refused form changes nothing"
            sent = await console.post(f"/console/{slug}/answers", data={**form, "csrf_token": csrf})
            assert sent.status_code == 303
            frames = await reader.until_seq(start + 1)
            assert frames[0]["type"] == "answer.published"
            assert frames[0]["data"]["answer"]["body_md"] == "The *paperwork*."
            assert frames[0]["data"]["answer"]["by"]["name"] == "Jenna Holt"
            assert "<em>paperwork</em>" in frames[0]["data"]["answer"]["body_html"]
        finally:
            await reader.close()


# -- the reader's form ------------------------------------------------------------------------
async def test_the_question_form_refuses_a_missing_or_wrong_csrf_token(
    server: LiveServer, event: dict[str, Any]
) -> None:
    """A reader with a session must send its token; the first question (no session yet) is
    taken from this site's own page only, and a refused one stores nothing."""
    slug = event["slug"]
    url = f"/events/{slug}/questions"
    async with client_for(server) as reader, client_for(server) as other:
        for who in (reader, other):  # each reader's first question starts their session
            first = await who.post(url, data={"body": "First question"}, headers=from_site(server))
            assert first.status_code == 303 and who.cookies.get("livepanel")
        token = csrf_from((await reader.get(f"/events/{slug}")).text)
        their_token = csrf_from((await other.get(f"/events/{slug}")).text)
        assert their_token != token
        for bad in ({}, {"csrf_token": ""}, {"csrf_token": "x" * 43}, {"csrf_token": their_token}):
            response = await reader.post(url, data={"body": "Forged question", **bad})
            assert response.status_code == 403, bad
        # A wrong token is refused even from this site's own page.
        response = await reader.post(
            url,
            data={"body": "Forged question", "csrf_token": their_token},
            headers=from_site(server),
        )
        assert response.status_code == 403
        # Without the session cookie the page's token is worth nothing either.
        async with client_for(server) as cookieless:
            response = await cookieless.post(
                url, data={"body": "Forged question", "csrf_token": token}
            )
            assert response.status_code == 403
    assert [q.body for q in await questions_in_store(server, event["id"])] == ["First question"] * 2


async def test_the_upvote_form_needs_the_csrf_token_and_counts_once(
    server: LiveServer, event: dict[str, Any]
) -> None:
    q = await post_as(server, event["id"], "asker", "Vote by form")
    await server.acall(lambda: server.actions.moderate(q.id, "approve", EDITOR))
    async with client_for(server) as reader:
        for bad in ({}, {"csrf_token": "forged"}):
            assert (await reader.post(f"/questions/{q.id}/upvote", data=bad)).status_code == 403
        stored = await question_in_store(server, q.id)
        assert stored is not None and stored.upvotes == 0
        # The first upvote (no session: no token) comes from this site's page and starts one.
        first = await reader.post(f"/questions/{q.id}/upvote", headers=from_site(server))
        assert first.status_code == 303 and reader.cookies.get("livepanel")
        token = csrf_from((await reader.get(f"/events/{event['slug']}")).text)
        for _ in range(2):
            done = await reader.post(f"/questions/{q.id}/upvote", data={"csrf_token": token})
            assert done.status_code == 303
        again = await reader.post(f"/api/v1/questions/{q.id}/upvote")
        assert again.json()["upvotes"] == 1
    stored = await question_in_store(server, q.id)
    assert stored is not None and stored.upvotes == 1


async def test_a_reader_sees_the_status_of_their_own_question_and_nobody_else_does(
    server: LiveServer, event: dict[str, Any]
) -> None:
    slug = event["slug"]
    text = f"My private worry {uuid.uuid4().hex[:8]}"
    async with client_for(server) as reader, client_for(server) as other:
        posted = await reader.post(
            f"/events/{slug}/questions",
            data={"body": text, "name": "Sam"},
            headers=from_site(server),
        )
        assert posted.status_code == 303
        assert posted.headers["location"].startswith(f"/events/{slug}")
        mine = await reader.get(f"/events/{slug}")
        assert "awaits moderation" in mine.text
        assert "Awaiting moderation" in mine.text
        assert text in mine.text
        theirs = await other.get(f"/events/{slug}")
        assert theirs.status_code == 200
        assert text not in theirs.text
        assert "Awaiting moderation" not in theirs.text
        # Once published, the asker sees that status, and everyone sees the question.
        [q] = await questions_in_store(server, event["id"])
        assert q.body == text and q.status == "pending"
        await server.acall(lambda: server.actions.moderate(q.id, "approve", EDITOR))
        assert "Awaiting moderation" not in (await reader.get(f"/events/{slug}")).text
        assert text in (await other.get(f"/events/{slug}")).text


async def test_the_form_keeps_the_text_when_a_question_is_refused(
    server: LiveServer, event: dict[str, Any]
) -> None:
    slug = event["slug"]
    # Long, and not Latin: carried in a cookie it would pass browsers' 4 KB limit and vanish.
    text = "Why? " + "ж" * 2100
    async with client_for(server) as reader:
        response = await reader.post(
            f"/events/{slug}/questions", data={"body": text}, headers=from_site(server)
        )
        # The refusal answers with the page itself: the error, and the text kept in the form.
        assert response.status_code == 422
        assert "the limit is 2,000 characters after normalisation" in response.text
        assert text in html.unescape(response.text), "the reader's text is kept in the form"
        assert "set-cookie" not in response.headers  # a refused first question starts nothing
        # Nothing of it lingers: the next visit shows a clean form.
        assert text not in html.unescape((await reader.get(f"/events/{slug}")).text)
    assert await questions_in_store(server, event["id"]) == []


# -- the desk ---------------------------------------------------------------------------------
async def test_desk_login_needs_the_csrf_token_and_the_right_password(server: LiveServer) -> None:
    await server.acall(lambda: server.actions.create_editor("kim", PASSWORD))
    async with client_for(server) as client:
        page = await client.get("/desk/login")
        token = csrf_from(page.text)
        for bad in ({}, {"csrf_token": "forged"}):
            refused = await client.post(
                "/desk/login", data={"username": "kim", "password": PASSWORD, **bad}
            )
            assert refused.status_code == 403
        assert (await client.get("/desk")).status_code == 303, "still signed out"
        assert (await client.get("/api/v1/me")).json() == {"editor": None}
        wrong = await client.post(
            "/desk/login", data={"username": "kim", "password": "nope", "csrf_token": token}
        )
        assert wrong.status_code == 401
        assert (await client.get("/api/v1/me")).json() == {"editor": None}
        right = await client.post(
            "/desk/login", data={"username": "kim", "password": PASSWORD, "csrf_token": token}
        )
        assert right.status_code == 303
        assert (await client.get("/api/v1/me")).json() == {"editor": "kim"}
        assert (await client.get("/desk")).status_code == 200


async def test_the_desk_queue_and_moderation_by_form_and_by_api(
    server: LiveServer, event: dict[str, Any]
) -> None:
    slug = event["slug"]
    tag = uuid.uuid4().hex[:8]
    async with client_for(server) as reader:
        ids = []
        for i in range(3):
            response = await reader.post(
                f"/api/v1/events/{slug}/questions", json={"body": f"Queue {tag} {i}"}
            )
            ids.append(response.json()["id"])
    editor = await editor_client(server)
    try:
        queue = await editor.get(f"/desk/events/{slug}/queue")
        assert queue.status_code == 200
        for i in range(3):
            assert f"Queue {tag} {i}" in queue.text
        token = csrf_from(queue.text)
        async with client_for(server) as api:
            start = await last_seq(api, slug)
        live = await Reader.open(server, slug, since=start)
        try:
            # The form without its token changes nothing.
            for bad in ({}, {"csrf_token": "forged"}):
                refused = await editor.post(
                    f"/desk/questions/{ids[0]}/moderate", data={"action": "approve", **bad}
                )
                assert refused.status_code == 403
            question = await question_in_store(server, ids[0])
            assert question is not None and question.status == "pending"

            # By form.
            done = await editor.post(
                f"/desk/questions/{ids[0]}/moderate",
                data={"action": "approve", "csrf_token": token},
            )
            assert done.status_code == 303
            question = await question_in_store(server, ids[0])
            assert question is not None and question.status == "approved"
            frames = await live.until_seq(start + 1)
            assert frames[0]["data"]["question"]["id"] == ids[0]

            # By the JSON API with the session cookie.
            url = f"/api/v1/questions/{ids[1]}/moderate"
            approved = await editor.post(url, json={"action": "approve"})
            assert approved.status_code == 200, approved.text
            assert approved.json()["status"] == "approved"
            twice = await editor.post(url, json={"action": "approve"})
            assert_error_shape(twice, 409, "already_moderated")
            rejected = await editor.post(
                f"/api/v1/questions/{ids[2]}/moderate",
                json={"action": "reject", "reason": "Off topic"},
            )
            assert rejected.json()["status"] == "rejected"
            assert_error_shape(
                await editor.post(
                    f"/api/v1/questions/{ids[2]}/moderate", json={"action": "approve"}
                ),
                409,
                "already_moderated",
            )
            assert_error_shape(await editor.post(url, json={"action": "explode"}), 422)
            assert_error_shape(
                await editor.post("/api/v1/questions/999999/moderate", json={"action": "approve"}),
                404,
            )
            # The session cookie alone cannot be ridden from another site.
            assert_error_shape(
                await editor.post(
                    url, json={"action": "pin"}, headers={"Origin": "http://evil.example"}
                ),
                403,
            )
            assert_error_shape(await editor.post(url, data={"action": "pin"}), 400)

            await live.until_seq(start + 2)
            assert [f["data"]["question"]["id"] for f in live.logged] == ids[:2]
            assert f"Queue {tag} 2" not in "".join(live.raw), "rejected text stays private"
            after = await editor.get(f"/desk/events/{slug}/queue")
            assert "The queue is empty." in after.text
        finally:
            await live.close()
    finally:
        await editor.aclose()


async def test_non_editors_cannot_moderate(server: LiveServer, event: dict[str, Any]) -> None:
    slug = event["slug"]
    q = await post_as(server, event["id"], "asker", "Let me in")
    token = await server.acall(lambda: server.actions.create_invite(event["id"], event["core"][0]))
    async with client_for(server) as reader, client_for(server) as console:
        await console.get(f"/invite/{token}")
        # A reader with a session (their first question), so their page carries a token.
        await reader.post(f"/api/v1/events/{slug}/questions", json={"body": "Mine"})
        for who in (reader, console):  # a reader, and a panelist: neither is an editor
            assert_error_shape(
                await who.post(f"/api/v1/questions/{q.id}/moderate", json={"action": "approve"}),
                401,
                "unauthorized",
            )
            assert (await who.get(f"/desk/events/{slug}/queue")).status_code == 401
            page = await who.get(f"/events/{slug}")
            response = await who.post(
                f"/desk/questions/{q.id}/moderate",
                data={"action": "approve", "csrf_token": csrf_from(page.text)},
            )
            assert response.status_code in (303, 401)
            if response.status_code == 303:
                assert response.headers["location"].startswith("/desk/login")
            bearer = await who.post(
                f"/api/v1/questions/{q.id}/moderate",
                json={"action": "approve"},
                headers={"Authorization": "Bearer not-a-token"},
            )
            assert_error_shape(bearer, 401)
    question = await question_in_store(server, q.id)
    assert question is not None and question.status == "pending"


async def test_post_moderation_event_publishes_form_questions_at_once(server: LiveServer) -> None:
    info = await seed_live(server, slug="open-floor", moderation="post")
    async with client_for(server) as reader, client_for(server) as other:
        posted = await reader.post(
            "/events/open-floor/questions",
            data={"body": "Straight to the page"},
            headers=from_site(server),
        )
        assert posted.status_code == 303
        assert "your question is published" in (await reader.get("/events/open-floor")).text
        assert "Straight to the page" in (await other.get("/events/open-floor")).text
    [q] = await questions_in_store(server, info["id"])
    assert q.status == "approved"
