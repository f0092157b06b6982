"""Transcripts and the archive: curation, publication, every public surface, search, the
feed, exports (HTTP and CLI), calendar files and the embed. Real SQLite, real uvicorn."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from panel import exports, render
from panel.actions import Actions
from panel.clock import FakeClock
from panel.config import Settings
from panel.curation import ADVANCE_HEADING, reconcile
from panel.demo import ARCHIVE_MORE_ANSWERS, ARCHIVE_QA, ARCHIVE_SLUG, load_demo
from panel.domain import Actor, RuleError, utc
from panel.render import markdown_to_html
from panel.store import Store, search
from panel.transcripts import Transcripts
from tests.conftest import EDITOR, EVENT_START, LiveServer, seed_event
from tests.pgdb import BOTH_STORES

HOUR = timedelta(hours=1)
PASSWORD = "a long enough password"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ATOM = "{http://www.w3.org/2005/Atom}"
WHO = ("maria", "jenna", "sandra", "kerry", "chloe")


@dataclasses.dataclass
class Item:
    key: str
    slot: int | None  # 0, 1, 2 or None for a question sent in before the event
    body: str
    answers: tuple[tuple[str, str], ...] = ()
    # answered, pending, rejected, unanswered, withdrawn, answer_withdrawn or merged:KEY
    state: str = "answered"
    name: str = ""


async def build_event(
    actions: Actions,
    clock: FakeClock,
    items: list[Item],
    *,
    slug: str = "careers",
    start: datetime = EVENT_START,
    close: bool = True,
) -> dict[str, Any]:
    """seed_event's three-slot event, with each item asked in its slot, moderated, answered.

    Closed by an editor a minute before its end, so a server's scheduler never races it.
    """
    info = await seed_event(actions, slug=slug, start=start)
    people = dict(zip(WHO, info["core"] + info["slotted"], strict=True))
    qids: dict[str, int] = {}
    answers: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        base = (
            start - timedelta(days=1)
            if item.slot is None
            else (start + item.slot * HOUR + timedelta(minutes=5))
        )
        clock.set(base + timedelta(minutes=index))
        question, _ = await actions.post_question(
            info["id"], f"reader-{index}", item.body, item.name
        )
        qids[item.key] = qid = question.id
        if item.state == "pending":
            continue
        if item.state == "rejected":
            await actions.moderate(qid, "reject", EDITOR)
            continue
        if item.state.startswith("merged:"):
            await actions.moderate(qid, "merge", EDITOR, into=qids[item.state[7:]])
            continue
        await actions.moderate(qid, "approve", EDITOR)
        for who, text in item.answers:
            answer_id = await actions.answer(qid, text, Actor("panelist", people[who], who))
            answers.setdefault(item.key, []).append(answer_id)
        if item.state == "withdrawn":
            await actions.moderate(qid, "withdraw", EDITOR)
        if item.state == "answer_withdrawn":  # still marked answered, with no answer left
            for answer_id in answers[item.key]:
                await actions.withdraw_answer(answer_id, EDITOR)
    if close:
        clock.set(start + 3 * HOUR - timedelta(minutes=1))
        await actions.set_status(info["id"], "closed", EDITOR)
    return {**info, "qids": qids, "answers": answers, "people": people}


def standard_items() -> list[Item]:
    """Answered questions in two slots, plus one of every kind that must never be public."""
    return [
        Item("advance", None, "Sent early: do I need a degree?", (("maria", "No, you don't."),)),
        Item(
            "a",
            0,
            "How do I get in?",
            (("maria", "Apply as a trainee."), ("sandra", "And volunteer first.")),
        ),
        Item("b", 0, "Is the trainning paid?", (("jenna", "Yes, a salary."),), name="Sam"),
        Item("c", 0, "What is a caseload like?", (("sandra", "About forty cases."),)),
        Item("d", 1, "How do you handle risk?", (("kerry", "With a **plan**."),)),
        Item("e", 1, "Zanzibarish hidden question?", (("kerry", "Quokkafied answer."),)),
        Item("pending", 1, "Pendingword question never approved"),
        Item("rejected", 1, "Rejectword spam", state="rejected"),
        Item("unanswered", 1, "Unansweredword question", state="unanswered"),
        Item("dupe", 1, "Creditedword duplicate of how to get in", state="merged:a"),
        Item(
            "withdrawn", 1, "Withdrawnword question", (("kerry", "An answer."),), state="withdrawn"
        ),
        Item(
            "answer_withdrawn",
            1,
            "Answerwithdrawnword question",
            (("kerry", "Answerwithdrawnword reply."),),
            state="answer_withdrawn",
        ),
    ]


SECRET_WORDS = (
    "Zanzibarish",
    "Quokkafied",
    "Pendingword",
    "Rejectword",
    "Unansweredword",
    "Withdrawnword",
    "Answerwithdrawnword",
)


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page carries a CSRF token"
    return match.group(1)


@dataclasses.dataclass
class Desk:
    """A client signed in as an editor, posting forms with its session's CSRF token."""

    client: httpx.AsyncClient
    token: str

    async def get(self, path: str) -> httpx.Response:
        return await self.client.get(path)

    async def post(self, path: str, **data: Any) -> httpx.Response:
        """Post a form as a browser does, then follow the redirect back."""
        response = await self.client.post(path, data={"csrf_token": self.token, **data})
        assert response.status_code == 303, response.text
        return await self.client.get(response.headers["location"])


@contextlib.asynccontextmanager
async def editor_desk(server: LiveServer) -> AsyncIterator[Desk]:
    await server.acall(lambda: server.actions.create_editor("curator", PASSWORD))
    async with httpx.AsyncClient(base_url=server.url, timeout=15) as client:
        token = csrf_of((await client.get("/desk/login")).text)
        response = await client.post(
            "/desk/login", data={"csrf_token": token, "username": "curator", "password": PASSWORD}
        )
        assert response.status_code == 303
        yield Desk(client, token)


def item_ids(html: str) -> list[int]:
    """Question ids in page order, from the transcript's deep-link anchors."""
    return [int(m) for m in re.findall(r'<article class="transcript-item" id="q-(\d+)"', html)]


# -- curation through the actions ---------------------------------------------------------
async def test_curation_holds_answered_questions_grouped_by_slot(
    actions: Actions, clock: FakeClock, store: Store, settings: Settings
) -> None:
    """Every answered, unmerged question, answers in order, grouped under its slot."""
    built = await build_event(actions, clock, standard_items())
    cur = await Transcripts(store, clock, settings).curation(built["id"])
    q = built["qids"]
    assert [i.question.id for i in cur.items] == [
        q["advance"],
        q["a"],
        q["b"],
        q["c"],
        q["d"],
        q["e"],
    ]
    sections = cur.sections()
    assert [s.heading for s in sections] == [ADVANCE_HEADING, "Slot 1", "Slot 2"]
    assert [len(s.items) for s in sections] == [1, 3, 2]
    first = cur.items[1]
    assert [a.id for a in first.answers] == built["answers"]["a"]
    assert [a.body_md for a in first.answers] == ["Apply as a trainee.", "And volunteer first."]


def test_reconcile_keeps_saved_order_drops_ineligible_and_appends_new() -> None:
    """The saved order survives; a question no longer eligible drops; new ones join its slot."""
    from panel.domain import Question, QuestionStatus, Slot

    def question(qid: int, minutes: int, **kw: Any) -> Question:
        return Question(
            id=qid,
            event_id=1,
            body=f"q{qid}",
            display_name="",
            reader_id="r",
            status=kw.pop("status", QuestionStatus.APPROVED),
            created_at=EVENT_START + timedelta(minutes=minutes),
            answered=kw.pop("answered", True),
            **kw,
        )

    slots = [
        Slot(1, 1, "One", EVENT_START, EVENT_START + HOUR),
        Slot(2, 1, "Two", EVENT_START + HOUR, EVENT_START + 2 * HOUR, position=1),
    ]
    questions = [
        question(1, 5),
        question(2, 10),
        question(3, 70),
        question(4, 20, status=QuestionStatus.WITHDRAWN),
        question(5, 30),
        question(6, 40, answered=False),
        question(7, 75, merged_into=3),
    ]
    stored = [
        {"question_id": 3, "hidden": False},
        {"question_id": 2, "hidden": True},
        {"question_id": 4, "hidden": False},
        {"question_id": 1, "hidden": False},
        {"question_id": "junk"},
    ]
    order = reconcile(stored, questions, slots)
    assert [(q.id, hidden, slot.id if slot else None) for q, hidden, slot in order] == [
        (2, True, 1),
        (1, False, 1),
        (5, False, 1),
        (3, False, 2),
    ]


async def test_reorder_moves_within_a_slot_only(
    actions: Actions, clock: FakeClock, store: Store, settings: Settings
) -> None:
    built = await build_event(actions, clock, standard_items())
    t = Transcripts(store, clock, settings)
    q = built["qids"]
    await t.move(built["id"], q["c"], "up", EDITOR)
    await t.move(built["id"], q["c"], "up", EDITOR)
    cur = await t.curation(built["id"])
    assert [i.question.id for i in cur.items][1:4] == [q["c"], q["a"], q["b"]]
    with pytest.raises(RuleError, match="already first"):
        await t.move(built["id"], q["c"], "up", EDITOR)  # the next one up is in another slot
    with pytest.raises(RuleError, match="already last"):
        await t.move(built["id"], q["b"], "down", EDITOR)
    with pytest.raises(RuleError):
        await t.move(built["id"], q["pending"], "down", EDITOR)  # not in the transcript
    async with store.read() as repo:
        moves = [
            r for r in await repo.audit_entries(built["id"]) if r["action"] == "transcript.move"
        ]
    assert len(moves) == 2 and moves[0]["actor"] == str(EDITOR)


async def test_curation_and_publishing_wait_until_the_event_closes(
    actions: Actions, clock: FakeClock, store: Store, settings: Settings
) -> None:
    built = await build_event(actions, clock, standard_items()[:3], close=False)
    t = Transcripts(store, clock, settings)
    with pytest.raises(RuleError, match="closed"):
        await t.set_hidden(built["id"], built["qids"]["a"], True, EDITOR)
    with pytest.raises(RuleError):
        await t.publish(built["id"], EDITOR)
    # The generic status control cannot publish around the curation either.
    await actions.set_status(built["id"], "closed", EDITOR)
    with pytest.raises(RuleError, match="Transcript page"):
        await actions.set_status(built["id"], "published", EDITOR)


async def test_typo_fixes_are_audited_with_before_and_after(
    actions: Actions, clock: FakeClock, store: Store, settings: Settings
) -> None:
    built = await build_event(actions, clock, standard_items())
    t = Transcripts(store, clock, settings)
    q, answer_id = built["qids"]["b"], built["answers"]["d"][0]
    assert await t.correct(built["id"], "question", q, "Is the training paid?", EDITOR)
    assert await t.correct(built["id"], "answer", answer_id, "With a **risk plan**.", EDITOR)
    assert not await t.correct(built["id"], "question", q, "Is the training paid?", EDITOR)
    with pytest.raises(RuleError):
        await t.correct(built["id"], "question", built["qids"]["pending"], "x", EDITOR)
    async with store.read() as repo:
        fixes = sorted(
            (
                r
                for r in await repo.audit_entries(built["id"])
                if r["action"] == "transcript.correct"
            ),
            key=lambda r: r["id"],
        )
        question = await repo.question(q)
        corrected = await repo.answer(answer_id)
        frames = await repo.frames_since(built["id"], 0)
    assert [
        (r["target"], json.loads(r["before_json"]), json.loads(r["after_json"])) for r in fixes
    ] == [
        (f"question:{q}", {"body": "Is the trainning paid?"}, {"body": "Is the training paid?"}),
        (f"answer:{answer_id}", {"body": "With a **plan**."}, {"body": "With a **risk plan**."}),
    ]
    assert question is not None and question.body == "Is the training paid?"
    # The stored HTML follows the corrected Markdown.
    assert corrected is not None
    assert corrected.body_html == markdown_to_html("With a **risk plan**.")
    # The live event page hears about the correction too.
    assert frames[-2].type == "question.updated" and frames[-1].type == "answer.updated"


# -- publishing over HTTP -------------------------------------------------------------------
async def test_publish_flow_end_to_end(server: LiveServer) -> None:
    """Close, curate (reorder, hide, fix a typo, notes), preview, publish, read it."""
    built = await server.acall(lambda: build_event(server.actions, server.clock, standard_items()))
    q, slug = built["qids"], built["slug"]
    desk = f"/desk/events/{slug}/transcript"
    async with editor_desk(server) as desk_client:
        page = await desk_client.get(desk)
        assert page.status_code == 200 and "Not published." in page.text
        assert "Zanzibarish" in page.text and "Pendingword" not in page.text
        page = await desk_client.post(f"{desk}/items/{q['c']}", action="up")
        assert "Moved up." in page.text
        page = await desk_client.post(f"{desk}/items/{q['e']}", action="hide")
        assert "Hidden: it will not be published." in page.text
        page = await desk_client.post(
            f"{desk}/correct", kind="question", id=q["b"], item=q["b"], body="Is the training paid?"
        )
        assert "Correction saved." in page.text
        await desk_client.post(
            f"{desk}/notes", intro_md="Our *edited* highlights.", outro_md="Thanks to the panel."
        )
        # Nothing is public before publishing; the preview shows what will be.
        assert (await desk_client.get(f"/archive/{slug}")).status_code == 404
        preview = await desk_client.get(f"{desk}/preview")
        assert preview.status_code == 200 and 'name="robots" content="noindex"' in preview.text
        assert item_ids(preview.text) == [q["advance"], q["a"], q["c"], q["b"], q["d"]]
        page = await desk_client.post(f"{desk}/publish")
        assert "Published on" in page.text
    async with httpx.AsyncClient(base_url=server.url) as reader:
        public = await reader.get(f"/archive/{slug}")
    assert public.status_code == 200
    html = public.text
    assert item_ids(html) == [q["advance"], q["a"], q["c"], q["b"], q["d"]]
    assert "Is the training paid?" in html and "trainning" not in html
    assert "Zanzibarish" not in html
    assert "<em>edited</em> highlights" in html and "Thanks to the panel." in html
    assert re.search(r'<h2 id="section-\d+">Slot 1 <span class="section-times">1pm–2pm', html)
    assert ADVANCE_HEADING in html and "Slot 2" in html
    assert html.index("Apply as a trainee.") < html.index("And volunteer first.")
    assert f'<span class="deep-link"> · <a href="#q-{q["a"]}">' in html
    assert '<p class="panelist-name">Kerry Dale</p>' in html  # the panel with profiles
    assert '<meta property="og:type" content="article">' in html
    assert f'<meta property="og:url" content="{server.url}/archive/{slug}">' in html
    ld = json.loads(
        re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    )  # type: ignore[union-attr]
    assert ld["@type"] == "FAQPage" and len(ld["mainEntity"]) == 5
    assert ld["mainEntity"][1]["acceptedAnswer"]["text"].startswith("Maria Ashdown: Apply")
    assert await server.acall(lambda: _event_status(server, built["id"])) == "published"


async def _event_status(server: LiveServer, event_id: int) -> str:
    async with server.services.store.read() as repo:
        event = await repo.event_by_id(event_id)
    assert event is not None
    return str(event.status)


@BOTH_STORES
async def test_hidden_pending_and_unpublished_never_reach_a_public_surface(
    server: LiveServer,
) -> None:
    built = await server.acall(lambda: build_event(server.actions, server.clock, standard_items()))
    slug, event_id = built["slug"], built["id"]
    t = Transcripts(server.services.store, server.clock, server.services.settings)
    await server.acall(lambda: t.set_hidden(event_id, built["qids"]["e"], True, EDITOR))
    await server.acall(lambda: t.publish(event_id, EDITOR))
    surfaces = [
        f"/archive/{slug}",
        f"/archive/{slug}.md",
        f"/archive/{slug}.json",
        "/archive/feed.atom",
        "/archive",
    ]
    async with httpx.AsyncClient(base_url=server.url) as reader:
        for path in surfaces:
            response = await reader.get(path)
            assert response.status_code == 200, path
            for word in SECRET_WORDS:
                assert word not in response.text, (path, word)
            # A merged duplicate is credited under the question kept, where its answers are.
            if path in surfaces[:3]:
                assert "Creditedword duplicate" in response.text, path
        for word in SECRET_WORDS:
            hits = await reader.get("/archive", params={"q": word})
            assert 'class="search-hit"' not in hits.text, word
        assert 'class="search-hit"' in (await reader.get("/archive?q=caseload")).text

        # Unpublished: gone from every public surface at once.
        await server.acall(lambda: t.unpublish(event_id, EDITOR))
        for path in surfaces[:3]:
            assert (await reader.get(path)).status_code == 404, path
        assert slug not in (await reader.get("/archive/feed.atom")).text
        assert slug not in (await reader.get("/archive")).text
        assert 'class="search-hit"' not in (await reader.get("/archive?q=caseload")).text


async def test_later_edits_stay_private_until_republished_with_an_updated_time(
    server: LiveServer,
) -> None:
    built = await server.acall(lambda: build_event(server.actions, server.clock, standard_items()))
    slug, event_id, q = built["slug"], built["id"], built["qids"]
    t = Transcripts(server.services.store, server.clock, server.services.settings)
    await server.acall(lambda: t.publish(event_id, EDITOR))
    server.clock.advance(days=2)
    await server.acall(lambda: t.correct(event_id, "question", q["b"], "Is training paid?", EDITOR))
    await server.acall(lambda: t.set_hidden(event_id, q["a"], True, EDITOR))
    async with httpx.AsyncClient(base_url=server.url) as reader:
        before = await reader.get(f"/archive/{slug}")
        assert "Is the trainning paid?" in before.text and "How do I get in?" in before.text
        assert "Updated" not in before.text
        assert (await reader.get(f"/archive/{slug}.json")).json()["updated_at"] is None
        async with editor_desk(server) as desk_client:
            desk = await desk_client.get(f"/desk/events/{slug}/transcript")
            assert "changes that readers do not see yet" in desk.text
            page = await desk_client.post(f"/desk/events/{slug}/transcript/republish")
            assert "Republished" in page.text
        after = await reader.get(f"/archive/{slug}")
        exported = (await reader.get(f"/archive/{slug}.json")).json()
        feed = ET.fromstring((await reader.get("/archive/feed.atom")).content)
    assert "Is training paid?" in after.text and "How do I get in?" not in after.text
    assert '<span class="updated">Updated' in after.text
    assert exported["updated_at"] > exported["published_at"]
    entry = feed.find(f"{ATOM}entry")
    assert entry is not None
    assert entry.findtext(f"{ATOM}updated") != entry.findtext(f"{ATOM}published")


async def test_feed_is_valid_atom(server: LiveServer) -> None:
    t = Transcripts(server.services.store, server.clock, server.services.settings)
    for day, slug in enumerate(("first-qa", "second-qa", "never-published")):
        built = await server.acall(
            lambda s=slug, d=day: build_event(
                server.actions,
                server.clock,
                standard_items()[:3],
                slug=s,
                start=EVENT_START + timedelta(days=d),
            )
        )
        if slug == "never-published":
            break
        server.clock.advance(hours=1)
        await server.acall(lambda b=built: t.publish(b["id"], EDITOR))
    async with httpx.AsyncClient(base_url=server.url) as reader:
        response = await reader.get("/archive/feed.atom")
    assert response.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    for tag in ("id", "title", "updated"):
        assert root.findtext(f"{ATOM}{tag}"), tag
    assert root.find(f"{ATOM}author/{ATOM}name") is not None
    self_link = root.find(f"{ATOM}link[@rel='self']")
    assert self_link is not None and self_link.get("href", "").endswith("/archive/feed.atom")
    entries = root.findall(f"{ATOM}entry")
    links = [e.find(f"{ATOM}link").get("href") for e in entries]  # type: ignore[union-attr]
    assert links == [f"{server.url}/archive/second-qa", f"{server.url}/archive/first-qa"]
    for entry in entries:
        for tag in ("id", "title", "updated", "summary"):
            assert entry.findtext(f"{ATOM}{tag}"), tag
        stamp = entry.findtext(f"{ATOM}updated") or ""
        assert datetime.fromisoformat(stamp.replace("Z", "+00:00")).tzinfo is not None
    assert root.findtext(f"{ATOM}updated") == entries[0].findtext(f"{ATOM}updated")


async def test_json_and_markdown_exports_hold_every_published_item(server: LiveServer) -> None:
    built = await server.acall(lambda: build_event(server.actions, server.clock, standard_items()))
    q = built["qids"]
    t = Transcripts(server.services.store, server.clock, server.services.settings)
    await server.acall(lambda: t.set_hidden(built["id"], q["e"], True, EDITOR))
    await server.acall(lambda: t.publish(built["id"], EDITOR))
    async with httpx.AsyncClient(base_url=server.url) as reader:
        data = (await reader.get(f"/archive/{built['slug']}.json")).json()
        md = await reader.get(f"/archive/{built['slug']}.md")
    expected = [q[k] for k in ("advance", "a", "b", "c", "d")]
    assert [item["id"] for item in data["items"]] == expected
    assert [item["section"] for item in data["items"]] == [
        ADVANCE_HEADING,
        "Slot 1",
        "Slot 1",
        "Slot 1",
        "Slot 2",
    ]
    first = data["items"][1]
    assert [a["body_md"] for a in first["answers"]] == [
        "Apply as a trainee.",
        "And volunteer first.",
    ]
    assert first["answers"][1]["by"]["name"] == "Sandra Kemp"
    assert first["url"] == f"{server.url}/archive/{built['slug']}#q-{q['a']}"
    assert data["items"][4]["answers"][0]["body_html"] == "<p>With a <strong>plan</strong>.</p>\n"
    assert data["event"]["slug"] == built["slug"] and len(data["panel"]) == 5
    assert "reader_id" not in json.dumps(data)
    assert md.headers["content-type"].startswith("text/markdown")
    for item in (
        "### How do I get in?",
        "**Sandra Kemp**, Officer:",
        "With a **plan**.",
        "## Slot 2 (2pm–3pm)",
    ):
        assert item in md.text


# -- search ---------------------------------------------------------------------------------
@BOTH_STORES
async def test_search_ranks_question_matches_first_and_escapes_snippets(server: LiveServer) -> None:
    items = [
        Item(
            "in_answer",
            0,
            "How long is the course?",
            (("maria", "Two years, and an apprenticeship route exists too."),),
        ),
        Item("in_question", 0, "Is an apprenticeship a good route?", (("jenna", "Often."),)),
        Item(
            "hostile",
            0,
            '<script>alert("x")</script> Any bursaries?',
            (("maria", "Yes: <img src=x onerror=alert(1)> bursaries exist."),),
        ),
        Item("f1", 1, "What about pay?", (("kerry", "It is fair."),)),
        Item("f2", 1, "What about hours?", (("kerry", "Regular."),)),
        Item("f3", 1, "What about leave?", (("kerry", "Generous."),)),
        Item("f4", 1, "What about pensions?", (("kerry", "Good."),)),
    ]
    built = await server.acall(lambda: build_event(server.actions, server.clock, items))
    t = Transcripts(server.services.store, server.clock, server.services.settings)
    await server.acall(lambda: t.publish(built["id"], EDITOR))
    q = built["qids"]
    async with httpx.AsyncClient(base_url=server.url) as reader:
        ranked = await reader.get("/archive", params={"q": "apprenticeship"})
        hostile = await reader.get("/archive", params={"q": "bursaries"})
        weird = await reader.get("/archive", params={"q": '"unbalanced AND ( NEAR*'})
        page = await reader.get(f"/archive/{built['slug']}")
    hits = re.findall(
        r'<h3 class="search-question"><a href="/archive/careers#q-(\d+)">', ranked.text
    )
    assert [int(h) for h in hits] == [q["in_question"], q["in_answer"]]
    assert "<mark>apprenticeship</mark>" in ranked.text
    assert "2 results" in ranked.text
    # Reader text comes back escaped; only the <mark> tags are real HTML.
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in hostile.text or (
        '&lt;script&gt;alert("x")&lt;/script&gt;' in hostile.text
    )
    assert "<mark>bursaries</mark>" in hostile.text
    assert "<script>alert" not in hostile.text and "<img src=x" not in hostile.text
    assert weird.status_code == 200
    # The JSON-LD data block cannot be closed early by a question's text.
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', page.text, re.S)
    assert block is not None and "<" not in block.group(1)
    assert "\\u003cscript\\u003e" in block.group(1)


def test_snippet_markup_is_built_from_markers_only() -> None:
    """User text cannot forge a highlight: markers are stripped before indexing."""
    forged = search.indexable(f"a{search.MARK_START}b{search.MARK_STOP}<i>")
    assert search.MARK_START not in forged and search.MARK_STOP not in forged
    html = render.marked_html(f"x {search.MARK_START}<b>&{search.MARK_STOP} y {search.MARK_START}z")
    assert str(html) == "x <mark>&lt;b&gt;&amp;</mark> y <mark>z</mark>"
    assert search.match_query('teach" OR 1) NEAR(x*') == '"teach" "OR" "1" "NEAR" "x"'
    assert search.match_query("¿?!") == ""


@BOTH_STORES
async def test_search_filters_by_panelist_and_paginates(server: LiveServer) -> None:
    items = [
        Item(
            f"q{i}",
            i % 2,
            f"Question {i} about shifts?",
            ((("maria" if i % 3 else "jenna"), f"Shifts answer {i}."),),
        )
        for i in range(13)
    ]
    built = await server.acall(lambda: build_event(server.actions, server.clock, items))
    t = Transcripts(server.services.store, server.clock, server.services.settings)
    await server.acall(lambda: t.publish(built["id"], EDITOR))
    async with httpx.AsyncClient(base_url=server.url) as reader:
        first = await reader.get("/archive", params={"q": "shifts"})
        second = await reader.get("/archive", params={"q": "shifts", "page": 2})
        jenna = await reader.get("/archive", params={"q": "shifts", "panelist": "Jenna Holt"})
        listing = await reader.get("/archive", params={"panelist": "Jenna Holt"})
        nobody = await reader.get("/archive", params={"panelist": "Nobody Atall"})
    assert first.text.count('class="search-hit"') == 10 and "13 results" in first.text
    assert "Page 1 of 2" in first.text and 'rel="next"' in first.text
    assert "page=2" in first.text and "q=shifts" in first.text
    assert second.text.count('class="search-hit"') == 3 and 'rel="prev"' in second.text
    assert '<ol class="search-results" start="11">' in second.text
    assert jenna.text.count('class="search-hit"') == 5  # i = 0, 3, 6, 9, 12
    assert '<option value="Jenna Holt" selected>' in jenna.text
    assert "Working and training as a probation officer" in listing.text
    assert "No transcripts with answers from Nobody Atall." in nobody.text


@BOTH_STORES
async def test_demo_archive_reads_as_an_article_and_is_everywhere(
    server: LiveServer, settings: Settings
) -> None:
    await server.acall(lambda: load_demo(server.services.store, settings, server.clock))
    async with httpx.AsyncClient(base_url=server.url) as reader:
        page = await reader.get(f"/archive/{ARCHIVE_SLUG}")
        found = await reader.get("/archive", params={"q": "marking"})
        feed = await reader.get("/archive/feed.atom")
        data = await reader.get(f"/archive/{ARCHIVE_SLUG}.json")
        front = await reader.get("/")
    # Every question answered in the demo's afternoon (panel/demo.py) is in its transcript.
    answered = len(ARCHIVE_QA) + len(ARCHIVE_MORE_ANSWERS)
    assert answered == 16 and len(item_ids(page.text)) == answered
    assert "Getting in" in page.text and "The first years" in page.text
    assert "Edited highlights of the live Q&amp;A." in page.text
    assert f"/archive/{ARCHIVE_SLUG}#q-" in found.text and "<mark>marking</mark>" in found.text
    assert f"/archive/{ARCHIVE_SLUG}" in feed.text
    assert len(data.json()["items"]) == answered
    assert f'href="/archive/{ARCHIVE_SLUG}"' in front.text and 'href="/archive"' in front.text


# -- access control -------------------------------------------------------------------------
async def test_curation_needs_an_editor_and_a_csrf_token(server: LiveServer) -> None:
    built = await server.acall(
        lambda: build_event(server.actions, server.clock, standard_items()[:3])
    )
    desk = f"/desk/events/{built['slug']}/transcript"
    async with httpx.AsyncClient(base_url=server.url) as stranger:
        page = await stranger.get(desk)
        assert page.status_code == 303 and page.headers["location"] == "/desk/login"
        assert (await stranger.get(f"{desk}/preview")).status_code == 303
        refused = await stranger.post(f"{desk}/publish", data={"csrf_token": "x"})
        assert refused.status_code in (401, 403)
    async with editor_desk(server) as desk_client:
        forged = await desk_client.client.post(
            f"{desk}/publish", data={"csrf_token": "not-the-token"}
        )
        assert forged.status_code == 403
    assert await server.acall(lambda: _event_status(server, built["id"])) == "closed"


# -- calendar -------------------------------------------------------------------------------
async def test_ics_gives_the_right_utc_instant_across_the_clock_change(server: LiveServer) -> None:
    london = ZoneInfo("Europe/London")
    # British Summer Time ends on Sunday 25 October 2026.
    for slug, day in (("friday-qa", 23), ("monday-qa", 26)):
        start = utc(datetime(2026, 10, day, 13, 0, tzinfo=london))
        await server.acall(
            lambda s=slug, st=start: server.actions.create_event(
                slug=s,
                title="Careers; nursing, midwifery and more",
                starts_at=st,
                ends_at=st + HOUR,
                status="scheduled",
                summary="Ask, follow, read.",
            )
        )
    await server.acall(
        lambda: server.actions.create_event(
            slug="draft-qa", title="Draft", starts_at=EVENT_START, ends_at=EVENT_START + HOUR
        )
    )
    async with httpx.AsyncClient(base_url=server.url) as reader:
        friday = await reader.get("/events/friday-qa/calendar.ics")
        monday = await reader.get("/events/monday-qa/calendar.ics")
        draft = await reader.get("/events/draft-qa/calendar.ics")
        event_page = await reader.get("/events/monday-qa")
    assert "DTSTART:20261023T120000Z\r\n" in friday.text
    assert "DTEND:20261023T130000Z\r\n" in friday.text
    assert "DTSTART:20261026T130000Z\r\n" in monday.text
    assert monday.headers["content-type"].startswith("text/calendar")
    assert draft.status_code == 404
    assert 'href="/events/monday-qa/calendar.ics"' in event_page.text
    body = monday.content
    assert body.endswith(b"END:VCALENDAR\r\n") and b"\n" not in body.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))
    unfolded = body.decode().replace("\r\n ", "")
    assert "SUMMARY:Live Q&A: Careers\\; nursing\\, midwifery and more\r\n" in unfolded
    assert "1pm–2pm (Europe/London time)" in unfolded


def test_ics_folding_never_splits_a_character() -> None:
    line = "SUMMARY:" + "Café ☕ and a long title for folding " * 6
    folded = exports.ics_fold(line)
    parts = folded.encode().split(b"\r\n")
    assert len(parts) > 2 and all(len(p) <= 75 for p in parts)
    assert all(p.startswith(b" ") for p in parts[1:])
    assert folded.replace("\r\n ", "") == line  # every part decodes: no split character
    assert exports.ics_text("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"


# -- embed ------------------------------------------------------------------------------------
@pytest.fixture
def embed_server(settings: Settings, clock: FakeClock) -> Any:
    live = LiveServer(
        dataclasses.replace(
            settings, embed_ancestors=("https://news.example.org", "https://*.example.net")
        ),
        clock,
    )
    live.start()
    try:
        yield live
    finally:
        live.stop()


async def test_embed_is_framable_only_by_the_configured_sites(embed_server: LiveServer) -> None:
    server = embed_server
    built = await server.acall(
        lambda: build_event(server.actions, server.clock, standard_items()[:3], close=False)
    )
    slug = built["slug"]
    async with httpx.AsyncClient(base_url=server.url) as reader:
        embed = await reader.get(f"/events/{slug}/embed")
        page = await reader.get(f"/events/{slug}")
    assert embed.status_code == 200
    csp = embed.headers["content-security-policy"]
    assert "frame-ancestors https://news.example.org https://*.example.net" in csp
    assert "x-frame-options" not in embed.headers
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    html = embed.text
    assert f'id="event" data-slug="{slug}"' in html and "/static/js/live.js" in html
    assert 'id="questions"' in html and "How do I get in?" in html
    assert '<header class="masthead"' not in html and 'target="_blank"' in html


async def test_embed_defaults_to_self_and_points_an_archived_event_to_its_transcript(
    server: LiveServer,
) -> None:
    built = await server.acall(
        lambda: build_event(server.actions, server.clock, standard_items()[:3])
    )
    t = Transcripts(server.services.store, server.clock, server.services.settings)
    await server.acall(lambda: t.publish(built["id"], EDITOR))
    async with httpx.AsyncClient(base_url=server.url) as reader:
        embed = await reader.get(f"/events/{built['slug']}/embed")
    assert "frame-ancestors 'self'" in embed.headers["content-security-policy"]
    assert f"/archive/{built['slug']}" in embed.text and "live.js" not in embed.text


# -- the CLI ----------------------------------------------------------------------------------
async def test_livepanel_export_writes_each_format(
    actions: Actions, clock: FakeClock, store: Store, settings: Settings
) -> None:
    built = await build_event(actions, clock, standard_items())
    await actions.publish_transcript(built["id"], EDITOR, intro_md="From the CLI.")

    def export(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "panel.cli",
                "export",
                *args,
                "--db",
                settings.db_url,
                "--public-url",
                "https://qa.example.org",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    as_json = export("careers", "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert len(data["items"]) == 6 and data["intro_md"] == "From the CLI."
    assert data["event"]["url"] == "https://qa.example.org/archive/careers"
    as_md = export("careers", "--format", "md")
    assert as_md.returncode == 0 and as_md.stdout.startswith(
        "# Working and training as a probation officer\n"
    )
    as_html = export("careers", "--format", "html")
    assert as_html.returncode == 0 and '<article class="transcript"' in as_html.stdout
    assert 'id="q-' in as_html.stdout and "<script>" not in as_html.stdout
    missing = export("no-such-event")
    assert missing.returncode == 2
    assert "no published transcript for 'no-such-event'" in missing.stderr
