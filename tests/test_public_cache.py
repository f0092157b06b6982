"""Public pages a CDN may keep: no cookie and no `Vary: Cookie` until a reader acts, on a real
uvicorn. The first action (ask, upvote) is taken from this site's own page only, and starts
the reader's session; from then on their pages are private."""

from __future__ import annotations

import base64
import html
import json
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest

from panel.domain import Actor
from panel.transcripts import Transcripts
from panel.web.caching import ARCHIVE, LIVE, PRIVATE
from tests.conftest import EDITOR, EVENT_START, LiveServer
from tests.livehelpers import (
    Reader,
    client_for,
    csrf_from,
    from_site,
    question_in_store,
    questions_in_store,
    seed_live,
)
from tests.test_archive import build_event, standard_items

EVIL = "https://evil.example"


@pytest.fixture
async def site(server: LiveServer) -> dict[str, Any]:
    """A published transcript, and a live event with one answered question."""

    async def publish() -> dict[str, Any]:
        archived = await build_event(server.actions, server.clock, standard_items())
        await Transcripts(server.services.store, server.clock, server.services.settings).publish(
            archived["id"], EDITOR
        )
        server.clock.set(EVENT_START + timedelta(minutes=30))  # build_event moved it on
        return archived

    archived = await server.acall(publish)
    live = await seed_live(server, slug="probation")

    async def answered() -> int:
        question, _ = await server.actions.post_question(live["id"], "someone", "Is it paid?")
        await server.actions.moderate(question.id, "approve", EDITOR)
        maria = Actor("panelist", live["core"][0], "Maria Ashdown")
        await server.actions.answer(question.id, "Yes, from **day one**.", maria)
        return question.id

    return {"live": live, "archived": archived, "question": await server.acall(answered)}


def public_pages(site: dict[str, Any]) -> dict[str, str]:
    """Each public page and the Cache-Control it should carry for a reader without a cookie."""
    live, archived = site["live"]["slug"], site["archived"]["slug"]
    return {
        "/": LIVE,
        f"/events/{live}": LIVE,
        f"/events/{live}/embed": LIVE,
        f"/events/{live}/calendar.ics": LIVE,
        "/archive": ARCHIVE,
        "/archive?q=training": ARCHIVE,
        f"/archive/{archived}": ARCHIVE,
        f"/archive/{archived}.md": ARCHIVE,
        f"/archive/{archived}.json": ARCHIVE,
        "/archive/feed.atom": ARCHIVE,
    }


def varies_by_cookie(response: httpx.Response) -> bool:
    return "cookie" in ",".join(response.headers.get_list("vary")).lower()


def session_of(client: httpx.AsyncClient) -> dict[str, Any]:
    """The (signed, not encrypted) session cookie's content, as the browser holds it."""
    payload = (client.cookies.get("livepanel") or "").split(".")[0]
    assert payload, "no session cookie"
    return json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


async def test_a_first_view_sets_no_cookie_and_may_be_kept_by_a_cdn(
    server: LiveServer, site: dict[str, Any]
) -> None:
    async with client_for(server) as reader:
        for path, cache in public_pages(site).items():
            response = await reader.get(path, headers={"Accept-Encoding": "gzip"})
            assert response.status_code == 200, (path, response.status_code)
            assert "set-cookie" not in response.headers, path
            assert not varies_by_cookie(response), (path, response.headers.get("vary"))
            assert response.headers["cache-control"] == cache, path
        # No token either: one copy serves every reader, and no session's secret is shared.
        page = (await reader.get(f"/events/{site['live']['slug']}")).text
        assert set(re.findall(r'name="csrf_token" value="([^"]*)"', page)) == {""}
        assert not reader.cookies
        # An error page starts no session, and is not declared cacheable.
        missing = await reader.get("/events/no-such-event")
        assert missing.status_code == 404 and "set-cookie" not in missing.headers
        assert "public" not in missing.headers.get("cache-control", "")


async def test_staff_pages_still_start_a_session_and_are_private(server: LiveServer) -> None:
    async with client_for(server) as visitor:
        login = await visitor.get("/desk/login")
        assert login.status_code == 200 and "set-cookie" in login.headers
        assert varies_by_cookie(login) and login.headers["cache-control"] == PRIVATE
        assert csrf_from(login.text)
        desk = await visitor.get("/desk")  # sent to sign in: depends on the cookie
        assert desk.status_code == 303 and desk.headers["cache-control"] == PRIVATE


async def test_a_first_question_from_this_site_starts_an_anonymous_session(
    server: LiveServer, site: dict[str, Any]
) -> None:
    slug = site["live"]["slug"]
    async with client_for(server) as reader, client_for(server) as other:
        posted = await reader.post(
            f"/events/{slug}/questions",
            data={"body": "Do I need a degree?", "name": "Robin"},
            headers=from_site(server),
        )
        assert posted.status_code == 303, posted.text[:500]
        assert "livepanel=" in posted.headers["set-cookie"]
        assert posted.headers["cache-control"] == PRIVATE and varies_by_cookie(posted)
        # The cookie says nothing about the reader: a random id, a CSRF secret, the notice.
        session = session_of(reader)
        assert set(session) <= {"reader", "csrf", "notice"} and session["reader"]
        assert "Robin" not in json.dumps(session) and "degree" not in json.dumps(session)
        # From now on the reader's pages are theirs: private, varying by cookie, with a token.
        page = await reader.get(f"/events/{slug}")
        assert "awaits moderation" in page.text and "Do I need a degree?" in page.text
        assert page.headers["cache-control"] == PRIVATE and varies_by_cookie(page)
        assert csrf_from(page.text)
        for path in public_pages(site):
            response = await reader.get(path)
            if path.endswith((".md", ".json", ".atom", ".ics")):
                continue  # the same for everyone, whoever asks: nothing personal to keep apart
            assert response.headers["cache-control"] == PRIVATE, path
            assert varies_by_cookie(response), path
        # Nobody else sees it, and their page is still the public one.
        theirs = await other.get(f"/events/{slug}")
        assert "Do I need a degree?" not in theirs.text
        assert theirs.headers["cache-control"] == LIVE and "set-cookie" not in theirs.headers
    stored = await questions_in_store(server, site["live"]["id"])
    [mine] = [q for q in stored if q.body == "Do I need a degree?"]
    assert mine.status == "pending" and mine.reader_id == session["reader"]


@pytest.mark.parametrize(
    "headers",
    [
        {},  # a browser always says where a form came from; saying nothing proves nothing
        {"Origin": EVIL},
        {"Origin": "null"},  # a sandboxed frame
        {"Referer": f"{EVIL}/page"},
        {"Origin": EVIL, "Referer": "SITE/events/x"},
        {"Sec-Fetch-Site": "cross-site", "Referer": "SITE/events/x"},
        {"Sec-Fetch-Site": "same-site", "Origin": "SITE"},  # a sibling subdomain is not us
    ],
)
async def test_a_cross_site_first_question_is_refused_with_the_text_kept(
    server: LiveServer, site: dict[str, Any], headers: dict[str, str]
) -> None:
    slug = site["live"]["slug"]
    text = "Can I <b>train</b> part-time? " + "ж" * 50
    sent = {name: value.replace("SITE", server.url) for name, value in headers.items()}
    async with client_for(server) as reader:
        response = await reader.post(
            f"/events/{slug}/questions", data={"body": text, "name": "Kim"}, headers=sent
        )
    assert response.status_code == 403
    assert "did not come from this site" in response.text
    assert text in html.unescape(response.text), "the typed question is shown back"
    assert "<b>train</b>" not in response.text  # shown as text, escaped
    assert "set-cookie" not in response.headers
    assert response.headers["cache-control"] == PRIVATE
    bodies = [q.body for q in await questions_in_store(server, site["live"]["id"])]
    assert text not in bodies


async def test_a_referer_from_this_site_will_do_when_there_is_no_origin(
    server: LiveServer, site: dict[str, Any]
) -> None:
    slug = site["live"]["slug"]
    async with client_for(server) as reader:
        response = await reader.post(
            f"/events/{slug}/questions",
            data={"body": "From an older browser?"},
            headers={"Referer": f"{server.url}/events/{slug}"},
        )
        assert response.status_code == 303 and reader.cookies.get("livepanel")


async def test_upvotes_start_the_session_and_count_once_per_reader(
    server: LiveServer, site: dict[str, Any]
) -> None:
    qid = site["question"]
    async with client_for(server) as reader, client_for(server) as neighbour:
        # The no-JavaScript form: refused from elsewhere, taken from this site's page.
        refused = await reader.post(f"/questions/{qid}/upvote", headers={"Origin": EVIL})
        assert refused.status_code == 403 and "set-cookie" not in refused.headers
        first = await reader.post(f"/questions/{qid}/upvote", headers=from_site(server))
        assert first.status_code == 303 and first.headers["cache-control"] == PRIVATE
        assert session_of(reader)["reader"]
        token = csrf_from((await reader.get(f"/events/{site['live']['slug']}")).text)
        again = await reader.post(f"/questions/{qid}/upvote", data={"csrf_token": token})
        assert again.status_code == 303
        # The page's script uses the JSON API: its first upvote starts a session too.
        api = await neighbour.post(f"/api/v1/questions/{qid}/upvote", headers=from_site(server))
        assert api.status_code == 200 and api.json()["upvotes"] == 2
        assert "livepanel=" in api.headers["set-cookie"]
        assert api.headers["cache-control"] == PRIVATE and varies_by_cookie(api)
        repeat = await neighbour.post(f"/api/v1/questions/{qid}/upvote")
        assert repeat.json()["upvotes"] == 2
        cross = await neighbour.post(f"/api/v1/questions/{qid}/upvote", headers={"Origin": EVIL})
        assert cross.status_code == 403
    stored = await question_in_store(server, qid)
    assert stored is not None and stored.upvotes == 2


async def test_a_page_without_a_token_still_posts_once_the_reader_has_a_session(
    server: LiveServer, site: dict[str, Any]
) -> None:
    """The live page's script upvotes through the API and so starts a session while the
    page's forms still carry no token: the question form is then taken from this site."""
    slug = site["live"]["slug"]
    async with client_for(server) as reader:
        page = await reader.get(f"/events/{slug}")
        assert 'name="csrf_token" value=""' in page.text
        await reader.post(f"/api/v1/questions/{site['question']}/upvote", headers=from_site(server))
        assert reader.cookies.get("livepanel")
        forged = await reader.post(f"/events/{slug}/questions", data={"body": "Forged?"})
        assert forged.status_code == 403
        posted = await reader.post(
            f"/events/{slug}/questions",
            data={"body": "Asked after an upvote?", "csrf_token": ""},
            headers=from_site(server),
        )
        assert posted.status_code == 303
        assert "Asked after an upvote?" in (await reader.get(f"/events/{slug}")).text


async def test_a_cached_page_resumes_from_its_own_seq(
    server: LiveServer, site: dict[str, Any]
) -> None:
    """A copy a CDN kept is one snapshot: its data-last-seq matches its list, and the live
    stream (which needs no cookie) sends exactly what happened since."""
    slug = site["live"]["slug"]
    async with client_for(server) as reader:
        kept = await reader.get(f"/events/{slug}")
        seq = int(kept.text.split('data-last-seq="')[1].split('"')[0])

        async def change() -> int:
            q, _ = await server.actions.post_question(site["live"]["id"], "late", "Late one?")
            await server.actions.moderate(q.id, "approve", EDITOR)
            return q.id

        late = await server.acall(change)
        assert "Late one?" not in kept.text
        stream = await Reader.open(server, slug, since=seq)
        try:
            frames = await stream.until_seq(seq + 1)
        finally:
            await stream.close()
        assert frames[0]["seq"] == seq + 1 and frames[0]["data"]["question"]["id"] == late
        assert not reader.cookies
