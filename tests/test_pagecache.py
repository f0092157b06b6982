"""The event page's public Q&A list, rendered once per version of the event, on a real uvicorn."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from panel.domain import Actor
from panel.web.pagecache import PageCache
from tests.conftest import EDITOR, LiveServer, seed_event
from tests.test_pages import parse

TOKEN = re.compile(r'name="csrf_token" value="([^"]*)"')


@pytest.fixture
async def event(server: LiveServer) -> dict[str, Any]:
    """A live event with three answered questions and one question awaiting moderation."""

    async def seed() -> dict[str, Any]:
        actions = server.actions
        info = await seed_event(actions, status="live")
        maria = Actor("panelist", info["core"][0], "Maria Ashdown")
        for i in range(3):
            q, _ = await actions.post_question(info["id"], f"reader-{i}", f"Question {i}?")
            await actions.moderate(q.id, "approve", EDITOR)
            await actions.answer(q.id, f"Answer **{i}**.", maria)
        await actions.post_question(info["id"], "someone", "Still pending?")
        return info

    return await server.acall(seed)


@pytest.fixture
async def make_client(server: LiveServer) -> AsyncIterator[Any]:
    clients: list[httpx.AsyncClient] = []

    def make() -> httpx.AsyncClient:
        clients.append(httpx.AsyncClient(base_url=server.url, timeout=10))
        return clients[-1]

    yield make
    for c in clients:
        await c.aclose()


def cache(server: LiveServer) -> PageCache:
    return server.app.state.page_cache  # type: ignore[no-any-return]


async def get_page(client: httpx.AsyncClient, slug: str) -> str:
    response = await client.get(f"/events/{slug}")
    assert response.status_code == 200, response.text[:300]
    return response.text


def tokens(html: str) -> set[str]:
    return set(TOKEN.findall(html))


def without_tokens(html: str) -> str:
    return TOKEN.sub('name="csrf_token" value="T"', html)


async def test_cached_page_equals_a_fresh_render(
    server: LiveServer, event: dict[str, Any], make_client: Any
) -> None:
    """Same seq: the page from the kept list is the page rendered from the database. Without
    a session it is byte for byte the same (no token at all); with one, only the CSRF token
    differs, new on every page and the same in all of a page's forms."""
    client = make_client()
    fresh = await get_page(client, event["slug"])
    assert cache(server).get(event["id"], None) is None  # a wrong key never matches
    kept = await get_page(client, event["slug"])
    cache(server).clear()
    fresh_again = await get_page(client, event["slug"])
    assert kept == fresh == fresh_again
    assert len(parse(kept).find_all("article", cls="question")) == 3
    # The question form, 3 upvotes, and a report form per question and answer (and its template).
    reports = kept.count('class="report-form"')
    assert tokens(kept) == {""} and len(TOKEN.findall(kept)) == 4 + reports and reports >= 4
    first, second = (
        a.attrs["data-question-id"] for a in parse(kept).find_all("article", cls="question")[:2]
    )
    # The first upvote needs no token, only this site as its origin; it starts the session.
    response = await client.post(
        f"/questions/{first}/upvote", data={"csrf_token": ""}, headers={"Origin": server.url}
    )
    assert response.status_code == 303 and client.cookies.get("livepanel")
    rendered, kept = await get_page(client, event["slug"]), await get_page(client, event["slug"])
    assert without_tokens(rendered) == without_tokens(kept)
    assert len(tokens(rendered)) == len(tokens(kept)) == 1 and "" not in tokens(kept)
    assert tokens(rendered) != tokens(kept)
    assert len(TOKEN.findall(kept)) == 4 + kept.count('class="report-form"')
    # The token written into the kept list is a working one (no Origin: the token is the proof).
    response = await client.post(
        f"/questions/{second}/upvote", data={"csrf_token": tokens(kept).pop()}
    )
    assert response.status_code == 303


async def test_a_public_change_shows_at_once(
    server: LiveServer, event: dict[str, Any], make_client: Any
) -> None:
    """An approval, an upvote and a panelist's new name each show on the next page."""
    client = make_client()
    before = parse(await get_page(client, event["slug"]))
    await get_page(client, event["slug"])  # now kept
    seq = int(before.by_id("event").attrs["data-last-seq"] or 0)

    async def approve() -> int:
        q, _ = await server.actions.post_question(event["id"], "late", "A late question?")
        await server.actions.moderate(q.id, "approve", EDITOR)
        return q.id

    qid = await server.acall(approve)
    after = parse(await get_page(client, event["slug"]))
    assert int(after.by_id("event").attrs["data-last-seq"] or 0) > seq
    assert after.by_id(f"q-{qid}").find_all(cls="question-body")[0].text() == "A late question?"

    await server.acall(lambda: server.actions.upvote(qid, "fan"))
    upvoted = parse(await get_page(client, event["slug"]))
    assert upvoted.by_id(f"q-{qid}").find_all(cls="upvotes")[0].text() == "1 upvote"

    # A new name is not in the event's log, so it is part of the list's key.
    await server.acall(
        lambda: server.actions.save_panelist(
            EDITOR, name="Maria Ashdown-Reyes", role="Probation officer", bio="Bio.",
            panelist_id=event["core"][0],
        )
    )  # fmt: skip
    renamed = parse(await get_page(client, event["slug"]))
    bylines = {h.text() for h in renamed.find_all(cls="answer-by")}
    assert bylines == {"Maria Ashdown-Reyes, Probation officer"}


async def test_readers_own_questions_are_never_shared(
    server: LiveServer, event: dict[str, Any], make_client: Any
) -> None:
    """Reader A's pending question shows in A's page only, the list kept or not."""
    a, b = make_client(), make_client()
    page_a = await get_page(a, event["slug"])
    response = await a.post(
        f"/events/{event['slug']}/questions",
        data={"csrf_token": tokens(page_a).pop(), "body": "A's own question?", "name": ""},
        headers={"Origin": server.url},
    )
    assert response.status_code == 303
    for _ in range(2):  # the second time from the kept list
        mine_a = parse(await get_page(a, event["slug"])).find_all(cls="mine")
        html_b = await get_page(b, event["slug"])
        assert "A's own question?" in mine_a[0].text()
        assert "own question" not in html_b
        assert not parse(html_b).find_all(cls="mine")
    assert tokens(html_b) == {""}  # B has no session: no token, nothing of A's
    assert "" not in tokens(await get_page(a, event["slug"]))
