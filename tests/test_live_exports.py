"""Live exports (issue 17 item 4): the Q&A as it stands, as Markdown, JSON and CSV, over a real
server and store. Public files hold only what readers may see, whoever asks; the editors'
files add unpublished items, labelled."""

from __future__ import annotations

import csv
import io
import json
import secrets
from dataclasses import dataclass

from panel.domain import Actor
from tests.conftest import EDITOR, LiveServer, seed_event
from tests.livehelpers import client_for, editor_client, from_site, last_seq
from tests.test_security import open_invite

KINDS = ("md", "json", "csv")


@dataclass
class Live:
    slug: str
    event_id: int
    panelist: int
    published: int
    answer_text: str
    # Unique words that only unpublished questions (or their answers) contain.
    secrets: dict[str, str]


async def seed_live_qa(server: LiveServer, slug: str = "live-qa") -> Live:
    """A live event: one published question with an answer, and one question in each state
    readers must never see (pending, rejected, withdrawn with an answer, a duplicate waiting
    with the pending one it was merged into); and a duplicate published under the published
    question."""
    words = {s: f"{s}word{secrets.token_hex(4)}" for s in ("pending", "rejected", "withdrawn")}
    words["waiting"] = f"waitingword{secrets.token_hex(4)}"
    answer_text = f"The published answer {secrets.token_hex(4)}."

    async def make() -> Live:
        a = server.actions
        info = await seed_event(a, slug=slug)
        await a.run_due_transitions(info["id"])
        maria = Actor("panelist", info["core"][0], "Maria")
        shown, _ = await a.post_question(info["id"], "reader-1", "What is public?", "Pat")
        await a.moderate(shown.id, "approve", EDITOR)
        await a.answer(shown.id, answer_text, maria)
        waiting, _ = await a.post_question(info["id"], "reader-2", f"Is {words['pending']} hid?")
        twin, _ = await a.post_question(info["id"], "reader-6", f"{words['waiting']} too?", "Jo")
        await a.moderate(twin.id, "merge", EDITOR, into=waiting.id)
        rejected, _ = await a.post_question(info["id"], "reader-3", f"{words['rejected']} spam")
        await a.moderate(rejected.id, "reject", EDITOR)
        gone, _ = await a.post_question(info["id"], "reader-4", f"{words['withdrawn']} then?")
        await a.moderate(gone.id, "approve", EDITOR)
        await a.answer(gone.id, f"Answer to {words['withdrawn']}.", maria)
        await a.moderate(gone.id, "withdraw", EDITOR)
        dupe, _ = await a.post_question(info["id"], "reader-5", "Same as what is public?", "Al")
        await a.moderate(dupe.id, "merge", EDITOR, into=shown.id)  # published with it
        return Live(slug, info["id"], info["core"][0], shown.id, answer_text, words)

    return await server.acall(make)


def public_urls(slug: str) -> list[str]:
    desk = f"/desk/events/{slug}/export"
    return [
        f"/events/{slug}.md",
        f"/events/{slug}.json",
        *(f"{desk}.{kind}" for kind in KINDS),
        *(f"{desk}.{kind}?all=1" for kind in KINDS),
    ]


async def test_live_exports_never_show_unpublished_text_to_non_editors(
    server: LiveServer,
) -> None:
    live = await seed_live_qa(server)
    anon, reader, panelist = (client_for(server) for _ in range(3))
    async with anon, reader, panelist:
        # A reader with a session and a pending question of their own.
        own = f"ownword{secrets.token_hex(4)}"
        posted = await reader.post(
            f"/api/v1/events/{live.slug}/questions",
            json={"body": f"My own {own} question?"},
            headers=from_site(server),
        )
        assert posted.status_code == 201 and posted.json()["status"] == "pending"
        await open_invite(server, panelist, live.event_id, live.panelist)
        hidden = [*live.secrets.values(), own]
        for who, client in (("anon", anon), ("reader", reader), ("panelist", panelist)):
            for url in public_urls(live.slug):
                response = await client.get(url)
                for word in hidden:
                    assert word not in response.text, (who, url, word)
                if url.startswith("/desk/"):
                    assert response.status_code == 401, (who, url, response.status_code)
                else:
                    assert response.status_code == 200, (who, url)
                    assert "What is public?" in response.text
                    assert live.answer_text in response.text


async def test_editors_get_everything_labelled_with_all_1_and_public_items_without(
    server: LiveServer,
) -> None:
    live = await seed_live_qa(server)
    editor = await editor_client(server)
    try:
        desk = f"/desk/events/{live.slug}/export"
        # Without all=1, and on the public addresses, an editor gets the public view too.
        for url in (f"{desk}.md", f"{desk}.json", f"{desk}.csv", f"/events/{live.slug}.md"):
            response = await editor.get(url)
            assert response.status_code == 200, url
            assert not [w for w in live.secrets.values() if w in response.text], url
            assert "not for publication" not in response.text, url

        md = await editor.get(f"{desk}.md?all=1")
        assert md.status_code == 200
        assert md.headers["cache-control"] == "private, no-store"
        assert "NOT-FOR-PUBLICATION" in md.headers["content-disposition"]
        assert "> **Includes unpublished items: not for publication.**" in md.text
        for state in ("pending", "rejected", "withdrawn"):
            heading = next(line for line in md.text.splitlines() if live.secrets[state] in line)
            assert heading.startswith(f"### [{state.upper()}] "), heading
        waiting = next(line for line in md.text.splitlines() if live.secrets["waiting"] in line)
        assert waiting.startswith("Similar question from Jo \\[PENDING\\]: "), waiting

        data = (await editor.get(f"{desk}.json?all=1")).json()
        assert data["includes_unpublished"] is True
        assert data["notice"] == "Includes unpublished items: not for publication."
        by_word = {
            word: item
            for item in data["items"]
            for word in live.secrets.values()
            if word in item["body"]
        }
        assert {by_word[live.secrets[s]]["status"] for s in ("pending", "rejected")} == {
            "pending",
            "rejected",
        }
        assert by_word[live.secrets["withdrawn"]]["status"] == "withdrawn"
        published = next(i for i in data["items"] if i["id"] == live.published)
        assert published["status"] == "published"
        assert [m["status"] for m in published["also_asked"]] == ["published"]
        pending = by_word[live.secrets["pending"]]
        assert [(m["status"], m["name"]) for m in pending["also_asked"]] == [("pending", "Jo")]
        assert "reader_id" not in json.dumps(data)

        rows = list(csv.DictReader(io.StringIO((await editor.get(f"{desk}.csv?all=1")).text)))
        statuses = {row["id"]: (row["status"], row["public"]) for row in rows}
        assert statuses[str(live.published)] == ("published", "yes")
        assert list(statuses.values()).count(("pending", "NO")) == 2  # one merged, waiting
        assert list(statuses.values()).count(("published", "yes")) == 2  # one merged
        assert ("rejected", "NO") in statuses.values()
        assert ("withdrawn", "NO") in statuses.values()
    finally:
        await editor.aclose()


async def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(server: LiveServer) -> None:
    live = await seed_live_qa(server)
    formulas = ['=HYPERLINK("http://evil.example","click")', "+1+1", "-2+3", "@SUM(A1)"]

    async def ask() -> None:
        for text in formulas:
            q, _ = await server.actions.post_question(live.event_id, "r", text, name="=cmd|x")
            await server.actions.moderate(q.id, "approve", EDITOR)

    await server.acall(ask)
    editor = await editor_client(server)
    try:
        text = (await editor.get(f"/desk/events/{live.slug}/export.csv")).text
    finally:
        await editor.aclose()
    rows = list(csv.DictReader(io.StringIO(text)))
    cells = {row["question"] for row in rows}
    for formula in formulas:
        assert "'" + formula in cells, formula
        assert formula not in cells
    assert {row["asked_by"] for row in rows if row["question"].startswith("'")} == {"'=cmd|x"}
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), row


async def test_public_files_of_a_live_event_hold_what_is_public_now(server: LiveServer) -> None:
    live = await seed_live_qa(server)
    async with client_for(server) as client:
        data_response = await client.get(f"/events/{live.slug}.json")
        assert data_response.status_code == 200
        assert data_response.headers["cache-control"] == "public, max-age=0, s-maxage=5"
        assert "set-cookie" not in data_response.headers
        data = data_response.json()
        assert data["event"]["status"] == "live" and data["includes_unpublished"] is False
        assert data["last_seq"] == await last_seq(client, live.slug)
        assert [i["id"] for i in data["items"]] == [live.published]
        assert [a["body_md"] for a in data["items"][0]["answers"]] == [live.answer_text]
        also = data["items"][0]["also_asked"]  # the duplicate published under it
        assert [(m["name"], m["body"]) for m in also] == [("Al", "Same as what is public?")]

        # A question published a moment later is in the next file.
        async def publish() -> int:
            q, _ = await server.actions.post_question(live.event_id, "r9", "Later <b>one</b>?")
            await server.actions.moderate(q.id, "approve", EDITOR)
            return q.id

        later = await server.acall(publish)
        again = (await client.get(f"/events/{live.slug}.json")).json()
        assert [i["id"] for i in again["items"]] == [live.published, later]
        md = await client.get(f"/events/{live.slug}.md")
        assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
        assert "### Later \\<b\\>one\\</b\\>?" in md.text  # a reader's text stays text
        assert f"(http://127.0.0.1:{server.port}/events/{live.slug}#q-{later})" in md.text


async def test_draft_is_not_found_and_published_event_sends_to_its_transcript(
    server: LiveServer,
) -> None:
    await server.acall(lambda: seed_event(server.actions, slug="drafty", status="draft"))
    live = await seed_live_qa(server, slug="done")
    editor = await editor_client(server)
    try:
        async with client_for(server) as anon:
            for client in (anon, editor):  # a draft's public files: not even for an editor
                for kind in ("md", "json"):
                    assert (await client.get(f"/events/drafty.{kind}")).status_code == 404
            await server.acall(lambda: server.actions.set_status(live.event_id, "closed", EDITOR))
            assert (await anon.get("/events/done.json")).status_code == 200  # ended: still here
            await server.acall(lambda: server.actions.publish_transcript(live.event_id, EDITOR))
            for kind in ("md", "json"):
                moved = await anon.get(f"/events/done.{kind}")
                assert moved.status_code == 302
                assert moved.headers["location"] == f"/archive/done.{kind}"
        # The desk may still export a draft.
        assert (await editor.get("/desk/events/drafty/export.json")).status_code == 200
    finally:
        await editor.aclose()


async def test_a_bad_all_value_is_refused_clearly(server: LiveServer) -> None:
    live = await seed_live_qa(server)
    editor = await editor_client(server)
    try:
        response = await editor.get(
            f"/desk/events/{live.slug}/export.csv?all=yes", headers={"Accept": "application/json"}
        )
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid"
        missing = await editor.get("/desk/events/nope/export.md")
        assert missing.status_code == 404
    finally:
        await editor.aclose()
