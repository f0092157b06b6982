"""The reader page's order (`?order=top|newest`, panel/web/eventview.py): rendered by the
server, each order its own publicly cacheable URL, and the rendered lists never mixed up."""

from __future__ import annotations

import re

from panel.web.caching import LIVE
from tests.conftest import EDITOR, LiveServer, seed_event
from tests.livehelpers import client_for


async def _questions_with_votes(server: LiveServer) -> tuple[str, dict[int, int]]:
    info = await seed_event(server.actions, status="live")
    votes: dict[int, int] = {}
    for n, count in enumerate((1, 3, 0, 2)):
        question, _ = await server.actions.post_question(info["id"], f"r{n}", f"Q{n}?", "")
        await server.actions.moderate(question.id, "approve", EDITOR)
        for voter in range(count):
            await server.services.votes.cast(question.id, f"voter-{voter}")
        votes[question.id] = count
    return info["slug"], votes


def shown(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'<article class="question[^"]*" id="q-(\d+)"', page)]


def test_each_order_is_rendered_by_the_server_and_publicly_cacheable(server: LiveServer) -> None:
    slug, votes = server.call(lambda: _questions_with_votes(server))
    newest = sorted(votes, reverse=True)
    top = sorted(votes, key=lambda q: (-votes[q], -q))
    assert newest != top

    async def fetch() -> dict[str, tuple[list[int], str, str]]:
        async with client_for(server) as reader:
            pages = {}
            for query in ("", "?order=newest", "?order=top", "?order=nonsense", "?order=top"):
                response = await reader.get(f"/events/{slug}{query}")
                assert response.status_code == 200
                pages[query] = (
                    shown(response.text),
                    response.headers["cache-control"],
                    "set-cookie" in response.headers,
                )
            return pages

    pages = server.call(fetch)
    assert pages[""][0] == newest  # the default: the newest first
    assert pages["?order=newest"][0] == newest
    assert pages["?order=nonsense"][0] == newest  # unknown: the default, never an error
    assert pages["?order=top"][0] == top  # kept lists of both orders are not mixed up
    assert {cache for _, cache, _ in pages.values()} == {LIVE}
    assert not any(cookie for _, _, cookie in pages.values())
