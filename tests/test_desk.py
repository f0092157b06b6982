"""The editor desk over real HTTP: accounts, CSRF, each moderation action's effect on the
public stream, a concurrent race, set-up with uploads, the audit log and API tokens."""

from __future__ import annotations

import asyncio
import contextlib
import re
import struct
import zlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from panel.domain import Actor, QuestionStatus
from tests.conftest import EDITOR, LiveServer, seed_event

PASSWORD = "a long enough password"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page carries a CSRF token"
    return match.group(1)


@contextlib.asynccontextmanager
async def signed_in(
    server: LiveServer, username: str = "ed", role: str = "editor"
) -> AsyncIterator[httpx.AsyncClient]:
    """A client signed in to the desk as a fresh editor."""
    await server.acall(lambda: server.actions.create_editor(username, PASSWORD, role))
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        token = csrf_of((await client.get("/desk/login")).text)
        response = await client.post(
            "/desk/login", data={"csrf_token": token, "username": username, "password": PASSWORD}
        )
        assert response.status_code == 303 and response.headers["location"] == "/desk"
        yield client


async def form_post(
    client: httpx.AsyncClient,
    page: str,
    action: str,
    data: dict[str, Any] | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """Post a form the way a browser does: with the CSRF token of the page it is on."""
    token = csrf_of((await client.get(page)).text)
    return await client.post(action, data={"csrf_token": token, **(data or {})}, **kwargs)


async def frames_after(client: httpx.AsyncClient, slug: str, since: int) -> list[dict[str, Any]]:
    body = (await client.get(f"/api/v1/events/{slug}/stream", params={"since": since})).json()
    return body["frames"]


async def last_seq(client: httpx.AsyncClient, slug: str) -> int:
    return (await client.get(f"/api/v1/events/{slug}")).json()["last_seq"]


async def ask(server: LiveServer, event_id: int, body: str, reader: str = "r1") -> int:
    question, _ = await server.acall(lambda: server.actions.post_question(event_id, reader, body))
    return question.id


@pytest.fixture
async def event(server: LiveServer) -> dict[str, Any]:
    info = await server.acall(lambda: seed_event(server.actions))
    await server.acall(lambda: server.actions.run_due_transitions(info["id"]))
    return info


# -- accounts ------------------------------------------------------------------------------
async def test_login_logout_and_lockout(server: LiveServer) -> None:
    async with signed_in(server) as client:
        assert (await client.get("/desk")).status_code == 200
        await form_post(client, "/desk", "/desk/logout")
        after = await client.get("/desk")
        assert after.status_code == 303 and after.headers["location"] == "/desk/login"
        page = "/desk/login"
        for _ in range(5):
            wrong = await form_post(client, page, page, {"username": "ed", "password": "nope"})
            assert wrong.status_code == 401 and "Wrong username or password" in wrong.text
        locked = await form_post(client, page, page, {"username": "ed", "password": PASSWORD})
        assert locked.status_code == 429 and "Too many failed attempts" in locked.text
        assert (await client.get("/desk")).status_code == 303


async def test_session_cookie_is_httponly_and_lax(server: LiveServer) -> None:
    await server.acall(lambda: server.actions.create_editor("cookie", PASSWORD))
    async with httpx.AsyncClient(base_url=server.url) as client:
        token = csrf_of((await client.get("/desk/login")).text)
        response = await client.post(
            "/desk/login", data={"csrf_token": token, "username": "cookie", "password": PASSWORD}
        )
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        assert "secure" not in cookie  # plain http here; Secure comes with an https public URL


async def test_forms_without_or_with_wrong_csrf_are_refused(
    server: LiveServer, event: dict[str, Any]
) -> None:
    qid = await ask(server, event["id"], "Refused without a token?")
    async with signed_in(server) as client:
        for data in ({"action": "approve"}, {"action": "approve", "csrf_token": "forged"}):
            response = await client.post(f"/desk/questions/{qid}/moderate", data=data)
            assert response.status_code == 403
        question = await server.acall(lambda: _question(server, qid))
        assert question.status == QuestionStatus.PENDING


async def _question(server: LiveServer, qid: int) -> Any:
    async with server.services.store.read() as repo:
        return await repo.question(qid)


# -- moderation and the public stream -----------------------------------------------------
async def test_each_moderation_action_has_its_exact_public_effect(
    server: LiveServer, event: dict[str, Any]
) -> None:
    slug = event["slug"]
    queue = f"/desk/events/{slug}"
    async with signed_in(server) as client:

        async def act(qid: int, data: dict[str, Any]) -> list[dict[str, Any]]:
            before = await last_seq(client, slug)
            response = await form_post(client, queue, f"/desk/questions/{qid}/moderate", data)
            assert response.status_code == 303
            return await frames_after(client, slug, before)

        kept = await ask(server, event["id"], "Kept question", "r1")
        frames = await act(kept, {"action": "approve"})
        assert [f["type"] for f in frames] == ["question.published"]
        assert frames[0]["data"]["question"]["body"] == "Kept question"
        assert "reader" not in str(frames[0]["data"])  # reader ids never leave the server

        rejected = await ask(server, event["id"], "Spam question", "r2")
        assert await act(rejected, {"action": "reject", "reason": "spam"}) == []

        frames = await act(kept, {"action": "pin"})
        assert [f["type"] for f in frames] == ["question.updated"]
        assert frames[0]["data"]["question"]["pinned"] is True

        frames = await act(kept, {"action": "edit", "body": "Kept question, typo fixed"})
        assert frames[0]["data"]["question"]["body"] == "Kept question, typo fixed"

        frames = await act(kept, {"action": "direct", "to": str(event["core"][0])})
        assert frames[0]["data"]["question"]["to"]["id"] == event["core"][0]

        frames = await act(kept, {"action": "answered"})
        assert frames[0]["data"]["question"]["answered"] is True

        await server.acall(lambda: server.actions.upvote(kept, "voter-1"))
        duplicate = await ask(server, event["id"], "Same question again", "r3")
        await server.acall(lambda: server.actions.moderate(duplicate, "approve", EDITOR))
        await server.acall(lambda: server.actions.upvote(duplicate, "voter-2"))
        await server.acall(lambda: server.actions.upvote(duplicate, "voter-3"))
        frames = await act(duplicate, {"action": "merge", "into": str(kept)})
        assert [f["type"] for f in frames] == ["question.updated", "question.updated"]
        assert frames[0]["data"]["question"]["merged_into"] == kept
        assert frames[1]["data"]["question"]["upvotes"] == 3  # 1 + 2 combined

        frames = await act(kept, {"action": "withdraw", "confirm": "yes"})
        assert frames == [f | {"data": {"id": kept}} for f in frames]
        assert [f["type"] for f in frames] == ["question.withdrawn"]


async def test_withdrawing_an_answer_is_public(server: LiveServer, event: dict[str, Any]) -> None:
    slug = event["slug"]
    qid = await ask(server, event["id"], "Answer me")
    await server.acall(lambda: server.actions.moderate(qid, "approve", EDITOR))
    panelist = Actor("panelist", event["core"][0], "Maria Ashdown")
    answer_id = await server.acall(lambda: server.actions.answer(qid, "An answer", panelist))
    async with signed_in(server) as client:
        before = await last_seq(client, slug)
        response = await form_post(
            client,
            f"/desk/events/{slug}",
            f"/desk/events/{slug}/answers/{answer_id}/withdraw",
            {"confirm": "yes"},
        )
        assert response.status_code == 303
        frames = await frames_after(client, slug, before)
        assert [(f["type"], f["data"]["id"]) for f in frames] == [("answer.withdrawn", answer_id)]
        page = (await client.get(f"/events/{slug}")).text
        assert "An answer" not in page


async def test_two_editors_race_and_the_first_wins(
    server: LiveServer, event: dict[str, Any]
) -> None:
    qid = await ask(server, event["id"], "Who gets it?")
    async with signed_in(server, "one") as first, signed_in(server, "two") as second:

        async def approve(client: httpx.AsyncClient) -> httpx.Response:
            return await client.post(
                f"/api/v1/questions/{qid}/moderate", json={"action": "approve"}
            )

        results = await asyncio.gather(approve(first), approve(second))
        codes = sorted(r.status_code for r in results)
        assert codes == [200, 409]
        loser = next(r for r in results if r.status_code == 409).json()
        assert loser["error"]["code"] == "already_moderated"
        frames = await frames_after(first, event["slug"], 0)
        assert [f["type"] for f in frames].count("question.published") == 1


async def test_bulk_approve(server: LiveServer, event: dict[str, Any]) -> None:
    ids = [await ask(server, event["id"], f"Bulk question {n}", f"r{n}") for n in range(3)]
    async with signed_in(server) as client:
        queue = f"/desk/events/{event['slug']}"
        token = csrf_of((await client.get(queue)).text)
        response = await client.post(
            f"{queue}/bulk",
            data={"csrf_token": token, "action": "approve", "ids": [str(i) for i in ids[:2]]},
        )
        assert response.status_code == 303
        statuses = [(await server.acall(lambda q=q: _question(server, q))).status for q in ids]
        assert statuses == ["approved", "approved", "pending"]


async def test_blocked_terms_hold_even_in_post_moderation_and_bans_stop_a_flooder(
    server: LiveServer,
) -> None:
    info = await server.acall(lambda: seed_event(server.actions, slug="post", moderation="post"))
    await server.acall(lambda: server.actions.run_due_transitions(info["id"]))
    async with signed_in(server) as client:
        setup = "/desk/events/post/setup"
        response = await form_post(
            client,
            setup,
            "/desk/events/post/rules",
            {"moderation": "post", "slow_mode_seconds": "0", "blocked_terms": "casino\n"},
        )
        assert response.status_code == 303
        held = await ask(server, info["id"], "Best CASINO bonus here")
        fine = await ask(server, info["id"], "An ordinary question")
        assert (await server.acall(lambda: _question(server, held))).status == "pending"
        assert (await server.acall(lambda: _question(server, fine))).status == "approved"
        queue = (await client.get("/desk/events/post")).text
        assert "Held for review" in queue and "casino" in queue

        response = await form_post(
            client,
            "/desk/events/post",
            f"/desk/questions/{held}/moderate",
            {"action": "ban", "confirm": "yes"},
        )
        assert response.status_code == 303
        with pytest.raises(Exception, match="no longer post"):
            await ask(server, info["id"], "Another one")


async def test_slow_mode_refuses_a_second_question_too_soon(
    server: LiveServer, event: dict[str, Any]
) -> None:
    await server.acall(
        lambda: server.actions.set_event_rules(
            event["id"], EDITOR, moderation="pre", slow_mode_seconds=120, blocked_terms=""
        )
    )
    await ask(server, event["id"], "First", "slow-reader")
    with pytest.raises(Exception, match="Slow mode"):
        await ask(server, event["id"], "Second", "slow-reader")
    server.clock.advance(seconds=121)
    assert await ask(server, event["id"], "Third, later", "slow-reader")


# -- set-up ---------------------------------------------------------------------------------
def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


async def test_an_event_is_set_up_entirely_in_the_desk(server: LiveServer) -> None:
    async with signed_in(server, "admin", "admin") as client:
        response = await form_post(
            client,
            "/desk/new-event",
            "/desk/new-event",
            {
                "slug": "nursing",
                "title": "Careers in nursing",
                "summary": "Ask nurses.",
                "intro_md": "Nurses **answer**.",
                "related": "Guide | https://example.org/g | A guide",
                "date": "2026-10-25",
                "start": "13:00",
                "end": "15:00",
                "timezone": "Europe/London",
                "moderation": "pre",
            },
        )
        assert response.status_code == 303
        setup = "/desk/events/nursing/setup"
        api = (await client.get("/api/v1/events")).json()["events"]
        assert "nursing" not in [e["slug"] for e in api]  # drafts are not public
        # 25 October 2026: clocks went back that morning, so 13:00 local is 13:00 UTC.
        async with server.services.store.read() as repo:
            created = await repo.event_by_slug("nursing")
        assert created is not None and created.starts_at.hour == 13

        outside = await form_post(
            client,
            setup,
            "/desk/events/nursing/slots",
            {"label": "Too late", "start": "15:00", "end": "16:00"},
        )
        assert outside.status_code == 303
        assert "must lie inside the event" in (await client.get(setup)).text
        for label, start, end in (("First hour", "13:00", "14:00"), ("Second", "14:00", "15:00")):
            await form_post(
                client,
                setup,
                "/desk/events/nursing/slots",
                {"label": label, "start": start, "end": end},
            )
        async with server.services.store.read() as repo:
            slots = await repo.slots(created.id)
        assert [s.label for s in slots] == ["First hour", "Second"]

        response = await form_post(
            client,
            setup,
            "/desk/events/nursing/panelists",
            {"name": "Ada Nurse", "role": "Ward sister", "bio": "Twenty years.", "slot_id": ""},
            files={"photo": ("ada.png", tiny_png(), "image/png")},
        )
        assert response.status_code == 303
        page = (await client.get(setup)).text
        assert "Panelist added." in page and "Ada Nurse: Core panel" in page
        async with server.services.store.read() as repo:
            lineup = await repo.lineup(created.id)
        photo = lineup.core[0].photo
        assert photo and photo.endswith(".png")
        served = await client.get(photo)
        assert served.status_code == 200 and served.headers["content-type"] == "image/png"
        assert served.headers["x-content-type-options"] == "nosniff"

        invite = await form_post(
            client, setup, "/desk/events/nursing/invites", {"panelist_id": str(lineup.core[0].id)}
        )
        assert invite.status_code == 303
        shown = re.search(r'id="new-invite">([^<]+)<', (await client.get(setup)).text)
        assert shown and "/invite/" in shown.group(1)
        assert "new-invite" not in (await client.get(setup)).text  # shown once only

        copy = await form_post(
            client,
            setup,
            "/desk/events/nursing/duplicate",
            {"slug": "nursing-2", "date": "2026-11-01"},
        )
        assert copy.status_code == 303
        async with server.services.store.read() as repo:
            twin = await repo.event_by_slug("nursing-2")
            assert twin is not None
            assert len(await repo.slots(twin.id)) == 2
            assert [p.name for p in (await repo.lineup(twin.id)).core] == ["Ada Nurse"]
        assert twin.status == "draft" and twin.starts_at.day == 1

        await server.acall(lambda: server.actions.set_status(created.id, "scheduled", EDITOR))
        refused = await form_post(client, setup, "/desk/events/nursing/delete")
        assert refused.status_code == 303
        assert "Only a draft can be deleted" in (await client.get(setup)).text
        deleted = await form_post(
            client, "/desk/events/nursing-2/setup", "/desk/events/nursing-2/delete"
        )
        assert deleted.status_code == 303
        assert (await client.get("/desk/events/nursing-2/setup")).status_code == 404


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("photo.jpg", b"this is only text, named like a photo", "must be JPEG, PNG or WebP"),
        (
            "evil.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "must be JPEG, PNG or WebP",
        ),
        ("huge.png", b"\x89PNG\r\n\x1a\n" + b"\0" * (3 * 1024 * 1024), "at most 2 MB"),
    ],
)
async def test_bad_uploads_are_refused_with_a_clear_message(
    server: LiveServer, event: dict[str, Any], name: str, content: bytes, message: str
) -> None:
    async with signed_in(server) as client:
        setup = f"/desk/events/{event['slug']}/setup"
        response = await form_post(
            client,
            setup,
            f"/desk/events/{event['slug']}/panelists",
            {"name": "Mallory", "role": "", "bio": ""},
            files={"photo": (name, content)},
        )
        text = response.text if response.status_code != 303 else (await client.get(setup)).text
        assert message in text
        async with server.services.store.read() as repo:
            names = [p.name for p in (await repo.lineup(event["id"])).everyone()]
        assert "Mallory" not in names
        assert list(server.services.settings.uploads_dir.glob("*")) == []


# -- audit and tokens ----------------------------------------------------------------------
async def test_audit_log_records_who_what_and_before_after(
    server: LiveServer, event: dict[str, Any]
) -> None:
    qid = await ask(server, event["id"], "Original wording")
    async with signed_in(server) as client:
        queue = f"/desk/events/{event['slug']}"
        await form_post(
            client,
            queue,
            f"/desk/questions/{qid}/moderate",
            {"action": "edit", "body": "Corrected wording"},
        )
        await form_post(client, queue, f"/desk/questions/{qid}/moderate", {"action": "approve"})
        async with server.services.store.read() as repo:
            entries = await repo.audit_entries(event["id"])
        mine = [e for e in entries if e["target"] == f"question:{qid}"]
        assert [e["action"] for e in reversed(mine)] == ["question.edit", "question.approve"]
        edit = mine[-1]
        assert edit["actor"].endswith(":ed") and "Original wording" in edit["before_json"]
        assert "Corrected wording" in edit["after_json"]
        page = (await client.get(f"{queue}/audit")).text
        assert f"ed edited #{qid} at" in page and "<del>Original</del>" in page


async def test_an_api_token_works_until_revoked(server: LiveServer, event: dict[str, Any]) -> None:
    async with signed_in(server) as client:
        await form_post(client, "/desk/tokens", "/desk/tokens", {"name": "CMS"})
        page = (await client.get("/desk/tokens")).text
        token = re.search(r'id="new-token">([^<]+)<', page)
        assert token
        qid = await ask(server, event["id"], "Via the API")
        bearer = {"Authorization": f"Bearer {token.group(1)}"}
        async with httpx.AsyncClient(base_url=server.url, headers=bearer) as api:
            ok = await api.post(f"/api/v1/questions/{qid}/moderate", json={"action": "approve"})
            assert ok.status_code == 200 and ok.json()["status"] == "approved"
            pending = await api.get(
                f"/api/v1/events/{event['slug']}/questions", params={"status": "pending"}
            )
            assert pending.status_code == 200
            # The token is for the API only: the desk refuses it as it refuses a stranger.
            async with httpx.AsyncClient(base_url=server.url) as stranger:
                for page_path in ("/desk", f"/desk/events/{event['slug']}/audit", "/desk/tokens"):
                    html = {"Accept": "text/html"}
                    refused_page = await api.get(page_path, headers=html)
                    stranger_page = await stranger.get(page_path, headers=html)
                    assert refused_page.status_code in (303, 401), page_path
                    assert refused_page.status_code == stranger_page.status_code, page_path
                    assert refused_page.headers.get("location") == stranger_page.headers.get(
                        "location"
                    )
            preview = await api.post("/desk/preview", json={"body": "**hi**"})
            assert preview.status_code == 401 and "<strong>" not in preview.text
            token_id = re.search(r"/desk/tokens/(\d+)/revoke", page)
            assert token_id
            await form_post(client, "/desk/tokens", f"/desk/tokens/{token_id.group(1)}/revoke")
            refused = await api.post(f"/api/v1/questions/{qid}/moderate", json={"action": "pin"})
            assert refused.status_code == 401
            assert refused.json()["error"]["code"] == "unauthorized"


async def test_only_admins_manage_editors(server: LiveServer) -> None:
    async with signed_in(server, "plain") as editor:
        assert (await editor.get("/desk/editors")).status_code == 403
    async with signed_in(server, "boss", "admin") as admin:
        response = await form_post(
            admin,
            "/desk/editors",
            "/desk/editors",
            {"username": "newbie", "password": "password123", "role": "editor"},
        )
        assert response.status_code == 303
        assert "newbie" in (await admin.get("/desk/editors")).text


async def test_a_ban_can_be_lifted_from_the_set_up_page(
    server: LiveServer, event: dict[str, Any]
) -> None:
    flooder = await ask(server, event["id"], "Spam, spam, spam", "flooder")
    async with signed_in(server) as client:
        queue = f"/desk/events/{event['slug']}"
        await form_post(
            client,
            queue,
            f"/desk/questions/{flooder}/moderate",
            {"action": "ban", "confirm": "yes"},
        )
        with pytest.raises(Exception, match="no longer post"):
            await ask(server, event["id"], "More spam", "flooder")
        setup = f"{queue}/setup"
        page = (await client.get(setup)).text
        assert "Lift ban" in page
        reader = re.search(r'name="reader" value="([^"]+)"', page)
        assert reader and reader.group(1) == "flooder"
        lifted = await form_post(client, setup, f"{queue}/bans/lift", {"reader": "flooder"})
        assert lifted.status_code == 303
        assert "Nobody is banned" in (await client.get(setup)).text
        assert await ask(server, event["id"], "A fair question now", "flooder")


async def test_editors_revoke_only_their_own_tokens_admins_any(server: LiveServer) -> None:
    async with signed_in(server, "owner") as owner:
        await form_post(owner, "/desk/tokens", "/desk/tokens", {"name": "Owner's CMS"})
        page = (await owner.get("/desk/tokens")).text
        token_id = re.search(r"/desk/tokens/(\d+)/revoke", page)
        assert token_id
    revoke = f"/desk/tokens/{token_id.group(1)}/revoke"
    async with signed_in(server, "other") as other:
        await form_post(other, "/desk/tokens", revoke)
        assert "You can revoke your own tokens" in (await other.get("/desk/tokens")).text
    async with signed_in(server, "chief", "admin") as admin:
        await form_post(admin, "/desk/tokens", revoke)
        assert "Token revoked." in (await admin.get("/desk/tokens")).text


async def test_reopening_after_the_end_time_is_refused_until_the_end_moves(
    server: LiveServer, event: dict[str, Any]
) -> None:
    await server.acall(lambda: server.actions.set_status(event["id"], "closed", EDITOR))
    server.clock.advance(hours=4)  # past the end of the three-hour event
    with pytest.raises(Exception, match="end time has passed"):
        await server.acall(lambda: server.actions.set_status(event["id"], "live", EDITOR))


async def test_the_api_edits_and_directs_and_slow_mode_sends_retry_after(
    server: LiveServer, event: dict[str, Any]
) -> None:
    qid = await ask(server, event["id"], "Teh typo")
    async with signed_in(server) as client:
        url = f"/api/v1/questions/{qid}/moderate"
        edited = await client.post(url, json={"action": "edit", "body": "The typo"})
        assert edited.status_code == 200, edited.text
        to = event["core"][1]
        directed = await client.post(url, json={"action": "direct", "to": to})
        assert directed.status_code == 200, directed.text
        question = await server.acall(lambda: _question(server, qid))
        assert (question.body, question.directed_to) == ("The typo", to)
    await server.acall(
        lambda: server.actions.set_event_rules(
            event["id"], EDITOR, moderation="pre", slow_mode_seconds=90, blocked_terms=""
        )
    )
    async with httpx.AsyncClient(base_url=server.url) as reader:
        url = f"/api/v1/events/{event['slug']}/questions"
        assert (await reader.post(url, json={"body": "One"})).status_code == 201
        slowed = await reader.post(url, json={"body": "Two"})
        assert slowed.status_code == 429
        assert 0 < int(slowed.headers["retry-after"]) <= 90


async def test_set_up_links_cannot_reach_another_events_slots_panel_or_invites(
    server: LiveServer, event: dict[str, Any]
) -> None:
    other = await server.acall(lambda: seed_event(server.actions, slug="other"))
    token = await server.acall(lambda: server.actions.create_invite(other["id"], other["core"][0]))
    async with server.services.store.read() as repo:
        invite_id = (await repo.invites(other["id"]))[0]["id"]
        assignment_id = (await repo.assignments(other["id"]))[0]["id"]
    slot_id = other["slots"][0]
    mine = f"/desk/events/{event['slug']}"
    async with signed_in(server) as client:
        setup = f"{mine}/setup"
        for action, data in (
            (f"{mine}/slots/{slot_id}", {"delete": "1"}),
            (
                f"{mine}/slots/{slot_id}",
                {"label": "Hijack", "date": "2026-09-15", "start": "13:00", "end": "14:00"},
            ),
            (f"{mine}/assignments/{assignment_id}/delete", {}),
            (f"{mine}/invites/{invite_id}/revoke", {}),
        ):
            response = await form_post(client, setup, action, data)
            assert response.status_code == 303
            assert "No such" in (await client.get(setup)).text, action
    async with server.services.store.read() as repo:
        assert [s.label for s in await repo.slots(other["id"])][0] == "Slot 1"
        assert len(await repo.assignments(other["id"])) == 5
        assert (await repo.invites(other["id"]))[0]["revoked_at"] is None
    async with httpx.AsyncClient(base_url=server.url) as panelist:
        assert (await panelist.get(f"/invite/{token}")).status_code == 303


async def test_a_panelist_signed_in_for_one_event_cannot_answer_on_another(
    server: LiveServer, event: dict[str, Any]
) -> None:
    """The rule lives in the actions, so every adapter (console, API) gets it."""
    other = await server.acall(lambda: seed_event(server.actions, slug="second"))
    shared = event["core"][0]
    await server.acall(lambda: server.actions.assign_panelist(other["id"], shared, None, EDITOR))
    qid = await ask(server, other["id"], "On the second panel?")
    await server.acall(lambda: server.actions.moderate(qid, "approve", EDITOR))
    via_first = Actor("panelist", shared, "Maria Ashdown", event_id=event["id"])
    with pytest.raises(Exception, match="Only this event's panelists"):
        await server.acall(lambda: server.actions.answer(qid, "Crossed over", via_first))
    via_second = Actor("panelist", shared, "Maria Ashdown", event_id=other["id"])
    answer_id = await server.acall(lambda: server.actions.answer(qid, "Yes", via_second))
    with pytest.raises(Exception, match="your own answers"):
        await server.acall(lambda: server.actions.edit_answer(answer_id, "Edited", via_first))
