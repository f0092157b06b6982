"""Answers' HTML is rendered once, when written, and every surface reads the stored copy."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from panel.actions import Actions
from panel.domain import Actor
from panel.render import markdown_to_html
from panel.store import Repo
from tests.conftest import EDITOR, LiveServer, seed_event

HOSTILE = (
    "See [x](javascript:alert(1)) and <img src=x onerror=alert(3)> <script>alert(4)</script>"
    " but **this** is [fine](https://example.org/ok)."
)


@pytest.fixture
async def client(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as c:
        yield c


async def answered(actions: Actions, body: str) -> tuple[int, int, str]:
    """A live event with one published question answered by a core panelist: ids and slug."""
    event = await seed_event(actions, status="live")
    question, _ = await actions.post_question(event["id"], "reader-1", "Is the pay fair?", "")
    await actions.moderate(question.id, "approve", EDITOR)
    maria = Actor("panelist", event["core"][0], "Maria Ashdown")
    answer_id = await actions.answer(question.id, body, maria)
    return event["id"], answer_id, event["slug"]


async def stored_html(actions: Actions, answer_id: int) -> str | None:
    async with actions.store.read() as repo:
        rows = await repo.conn.fetchall(
            "SELECT body_html FROM answers WHERE id = :id", {"id": answer_id}
        )
    return rows[0]["body_html"]


async def test_answer_html_is_stored_when_written_and_edited(actions: Actions) -> None:
    _, answer_id, _ = await answered(actions, HOSTILE)
    html = await stored_html(actions, answer_id)
    assert html == markdown_to_html(HOSTILE)
    assert html is not None and "<script" not in html and "<img" not in html
    assert 'href="javascript' not in html and 'href="https://example.org/ok"' in html

    await actions.edit_answer(answer_id, "Now *edited*.", EDITOR)
    assert await stored_html(actions, answer_id) == markdown_to_html("Now *edited*.")


async def test_render_missing_fills_rows_from_before_the_column(actions: Actions) -> None:
    """Rows written before migration 0005 are rendered once, without looking edited."""
    _, answer_id, _ = await answered(actions, "Old **answer**.")

    async def forget(repo: Repo) -> None:
        await repo.conn.execute(
            "UPDATE answers SET body_html = NULL WHERE id = :id", {"id": answer_id}
        )

    await actions.store.write(forget)
    async with actions.store.read() as repo:
        before = await repo.answer(answer_id)
    assert before is not None and before.body_html is None

    assert await actions.answers.render_missing() == 1
    assert await actions.answers.render_missing() == 0
    async with actions.store.read() as repo:
        after = await repo.answer(answer_id)
    assert after is not None
    assert after.body_html == markdown_to_html("Old **answer**.")
    assert after.updated_at == before.updated_at  # not marked as edited


async def test_pages_frames_and_api_use_the_stored_html(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    """What a view shows is the stored column, not a fresh rendering of the Markdown."""
    _, answer_id, slug = await server.acall(lambda: answered(server.actions, "Plain answer."))
    marker = "<p>stored-html-marker</p>\n"

    async def replace(repo: Repo) -> None:
        await repo.conn.execute(
            "UPDATE answers SET body_html = :h WHERE id = :id", {"h": marker, "id": answer_id}
        )

    await server.acall(lambda: server.services.store.write(replace))
    page = (await client.get(f"/events/{slug}")).text
    assert "stored-html-marker" in page and "Plain answer." not in page
    embed = (await client.get(f"/events/{slug}/embed")).text
    assert "stored-html-marker" in embed
    api = (await client.get(f"/api/v1/events/{slug}/questions")).json()
    assert "stored-html-marker" in str(api)
    frames = (await client.get(f"/api/v1/events/{slug}/stream?since=0")).json()
    bodies = [
        f["data"]["answer"]["body_html"]
        for f in frames["frames"]
        if f["type"] == "answer.published"
    ]
    # The frame in the log was rendered when the answer was written.
    assert bodies == [markdown_to_html("Plain answer.")]
