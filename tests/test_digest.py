"""The pre-event digest: its content and order, its themes, pending questions only when asked
for, escaping in every format, and the desk's page and Markdown (editors only)."""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from markdown_it import MarkdownIt

from bench.themes import figures
from panel.actions import Actions
from panel.clock import FakeClock
from panel.config import Settings
from panel.demo import UPCOMING_SLUG, load_demo
from panel.digest import (
    Digest,
    build_digest,
    digest_html,
    digest_markdown,
    digest_subject,
    digest_text,
)
from panel.domain import RuleError
from panel.store import Store
from panel.themes import MAX_THEMES, OTHER, keywords, stem, themes
from tests.conftest import EDITOR, EVENT_START, LiveServer, seed_event
from tests.livehelpers import assert_error_shape, editor_client
from tests.pgdb import BOTH_STORES

DATA = Path(__file__).parent / "data" / "paraphrases.csv"
NEXT_WEEK = EVENT_START + timedelta(days=7)
HOSTILE = '<script>alert("x")</script> **bold** [click](javascript:alert(1)) <img src=x>'
HOSTILE_NAME = "<img src=x onerror=alert(1)>"


async def ask(
    actions: Actions,
    event: dict[str, Any],
    body: str,
    *,
    name: str = "",
    to: int | None = None,
    votes: int = 0,
    approve: bool = True,
    reader: str | None = None,
) -> int:
    """A reader's question through the real actions, approved and upvoted `votes` times."""
    question, _ = await actions.post_question(
        event["id"], reader or f"reader-{body[:12]}", body, name, to
    )
    if approve:
        await actions.moderate(question.id, "approve", EDITOR)
    for n in range(votes):
        await actions.upvote(question.id, f"voter-{n}")
    return question.id


async def digest_of(actions: Actions, event: dict[str, Any], pending: bool = False) -> Digest:
    async with actions.store.read() as repo:
        found = await repo.event_by_id(event["id"])
        assert found is not None
        return await build_digest(repo, found, include_pending=pending, now=actions.clock.now())


@pytest.fixture
async def upcoming(actions: Actions) -> dict[str, Any]:
    """The standard test event, a week ahead and taking advance questions."""
    return await seed_event(actions, slug="upcoming", start=NEXT_WEEK)


# -- content and order ---------------------------------------------------------


@BOTH_STORES
async def test_questions_put_to_a_panelist_are_grouped_in_panel_order_most_votes_first(
    actions: Actions, upcoming: dict[str, Any]
) -> None:
    maria, jenna = upcoming["core"]
    sandra = upcoming["slotted"][0]
    few = await ask(actions, upcoming, "How long is the training?", to=jenna, votes=1)
    many = await ask(actions, upcoming, "Is the pay enough?", to=jenna, votes=3)
    older_tie = await ask(actions, upcoming, "Do you work weekends?", to=jenna, votes=1)
    to_sandra = await ask(actions, upcoming, "What is a risk assessment?", to=sandra)
    to_maria = await ask(actions, upcoming, "Who trains new officers?", to=maria, votes=2)

    digest = await digest_of(actions, upcoming)

    assert [g.panelist.id for g in digest.groups] == [maria, jenna, sandra]
    assert [q.id for q in digest.groups[0].questions] == [to_maria]
    # Most votes first; equal votes: the older question first.
    assert [q.id for q in digest.groups[1].questions] == [many, few, older_tie]
    assert [q.upvotes for q in digest.groups[1].questions] == [3, 1, 1]
    assert [q.id for q in digest.groups[2].questions] == [to_sandra]
    assert digest.themes == ()  # nothing put to the whole panel
    assert [p.id for p in digest.panelists] == [maria, jenna, *upcoming["slotted"]]
    assert digest.generated_at == actions.clock.now()


async def test_questions_to_the_whole_panel_are_grouped_by_a_shared_keyword(
    actions: Actions, upcoming: dict[str, Any]
) -> None:
    degree_1 = await ask(actions, upcoming, "Is a degree essential?", votes=1)
    degree_2 = await ask(actions, upcoming, "Which degree subjects help most?", votes=4)
    shifts_1 = await ask(actions, upcoming, "Are night shifts compulsory?", votes=2)
    shifts_2 = await ask(actions, upcoming, "How are shifts arranged around childcare?")
    loner = await ask(actions, upcoming, "Is the canteen any good?")
    # "probation" and "officer" are in the event's title: they sort nothing.
    title_1 = await ask(actions, upcoming, "Why probation rather than prisons?")
    title_2 = await ask(actions, upcoming, "Which probation officer inspired you?")
    await ask(actions, upcoming, "Who do I ask?", to=upcoming["core"][0])

    digest = await digest_of(actions, upcoming)

    by_label = {t.label: [q.id for q in t.questions] for t in digest.themes}
    assert by_label == {
        "Degree": [degree_2, degree_1],
        "Shifts": [shifts_1, shifts_2],
        OTHER: [loner, title_1, title_2],
    }
    assert [t.label for t in digest.themes][-1] == OTHER


@BOTH_STORES
async def test_pending_questions_appear_only_when_asked_for_and_marked(
    actions: Actions, upcoming: dict[str, Any]
) -> None:
    await actions.set_event_rules(
        upcoming["id"], EDITOR, moderation="pre", slow_mode_seconds=0, blocked_terms="rubbish"
    )
    published = await ask(actions, upcoming, "What is the first week like?", votes=1)
    waiting = await ask(actions, upcoming, "Do you get paid while training?", approve=False)
    held = await ask(actions, upcoming, "Is the training rubbish?", approve=False)
    rejected = await ask(actions, upcoming, "Buy followers now", approve=False)
    await actions.moderate(rejected, "reject", EDITOR, reason="Spam")

    public_only = await digest_of(actions, upcoming)
    with_pending = await digest_of(actions, upcoming, pending=True)

    assert [q.id for q in public_only.questions] == [published]
    assert public_only.pending_count == 0 and not public_only.include_pending
    assert {q.id: q.pending for q in with_pending.questions} == {published: False, waiting: True}
    assert with_pending.include_pending and with_pending.pending_count == 1
    assert held not in {q.id for q in with_pending.questions}  # blocked term: editors' eyes only
    for text in (digest_markdown(with_pending), digest_text(with_pending)):
        line = next(x for x in text.splitlines() if "paid while training" in x)
        assert "PENDING" in line
        assert "PENDING" not in next(x for x in text.splitlines() if "first week" in x)
    assert "PENDING" not in digest_markdown(public_only) + digest_text(public_only)
    assert "1 pending" in digest_subject(with_pending)


async def test_names_as_readers_chose_them_and_never_a_reader_id(
    actions: Actions, upcoming: dict[str, Any]
) -> None:
    await ask(actions, upcoming, "Named question?", name="Sam", reader="reader-id-named-7f3a")
    await ask(actions, upcoming, "Anonymous question?", reader="reader-id-anon-91bc")

    digest = await digest_of(actions, upcoming)
    outputs = [digest_markdown(digest), digest_text(digest), digest_html(digest)]

    for text in outputs:
        assert "reader-id-" not in text
        assert "Sam" in text and "Anonymous" in text
    assert {q.body: q.shown_asker for q in digest.questions} == {
        "Named question?": "Sam",
        "Anonymous question?": "Anonymous",
    }


async def test_a_panelists_own_questions_come_first_in_their_email(
    actions: Actions, upcoming: dict[str, Any]
) -> None:
    maria, jenna = upcoming["core"]
    await ask(actions, upcoming, "For Maria: how do you recruit?", to=maria, votes=5)
    await ask(actions, upcoming, "For Jenna: what was your first case?", to=jenna)
    await ask(actions, upcoming, "For everyone: is it stressful?")

    digest = await digest_of(actions, upcoming)

    for render in (digest_text, digest_html, digest_markdown):
        for_jenna = render(digest, jenna)
        order = [for_jenna.index(s) for s in ("For Jenna", "For Maria", "For everyone")]
        assert order == sorted(order), render.__name__
        assert for_jenna.lower().index("put to you") < for_jenna.index("For Jenna")
        everyone = render(digest)
        assert everyone.index("For Maria") < everyone.index("For Jenna")
    alone = digest_text(digest, upcoming["slotted"][2])  # Chloe: nothing put to her
    assert "No reader has put a question to you by name yet." in alone


async def test_a_closed_event_has_no_digest(actions: Actions, upcoming: dict[str, Any]) -> None:
    await actions.set_status(upcoming["id"], "closed", EDITOR)
    with pytest.raises(RuleError) as refused:
        await digest_of(actions, upcoming)
    assert refused.value.code == "conflict" and "closed" in refused.value.message


# -- escaping ------------------------------------------------------------------


async def test_hostile_text_is_escaped_in_html_markdown_and_text(
    actions: Actions, upcoming: dict[str, Any]
) -> None:
    await ask(actions, upcoming, HOSTILE, name=HOSTILE_NAME, votes=1)
    await ask(actions, upcoming, "# Not a heading\n- not a list", approve=False)
    digest = await digest_of(actions, upcoming, pending=True)

    fragment = digest_html(digest)
    assert "<script" not in fragment and "<img" not in fragment
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in fragment
    assert "&lt;img src=x onerror=alert(1)&gt;" in fragment

    # Rendered by a Markdown renderer that allows raw HTML, as a CMS might: nothing active.
    rendered = MarkdownIt("commonmark").render(digest_markdown(digest))
    assert "<script" not in rendered and "<img" not in rendered
    assert "javascript:" not in rendered.replace("(javascript:alert(1))", "")
    assert "<strong>bold</strong>" not in rendered and "**bold**" in rendered
    assert "<h1>Not a heading" not in rendered and "# Not a heading - not a list" in rendered

    text = digest_text(digest)
    assert HOSTILE in text  # plain text stays as typed: nothing there interprets it


# -- themes ----------------------------------------------------------------------


@dataclass(frozen=True)
class Asked:
    body: str
    upvotes: int = 0


def paraphrase_questions() -> list[Asked]:
    with DATA.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [Asked(t) for t in sorted({r["first"] for r in rows} | {r["second"] for r in rows})]


def test_stems_put_plurals_and_ing_forms_together() -> None:
    assert stem("nurse") == stem("nurses") == stem("nursing") == stem("Nursing")
    assert stem("shift") == stem("shifts")
    assert stem("duties") == stem("duty")
    assert stem("bring") == "bring" and stem("class") == "class"  # too short, or not a plural
    assert keywords("How do I become a nurse?") == {stem("nurse"): "nurse"}


def test_themes_of_the_paraphrase_set_each_share_their_keyword() -> None:
    questions = paraphrase_questions()
    found = themes(questions)

    members = [i for t in found for i in t.members]
    assert sorted(members) == list(range(len(questions))), "each question in exactly one theme"
    assert len(found) <= MAX_THEMES + 1 and found[-1].label == OTHER
    for theme in found[:-1]:
        assert len(theme.members) >= 2
        assert all(theme.stem in keywords(questions[i].body) for i in theme.members)
    sizes = [len(t.members) for t in found[:-1]]
    assert sizes == sorted(sizes, reverse=True)
    # The set is about careers: the big ones name themes.
    labels = {t.label for t in found}
    assert {"Nursing", "Police", "Paramedic"} <= labels, labels


def test_a_word_in_most_questions_names_no_theme() -> None:
    asked: Sequence[Asked] = [
        Asked("Is nursing pay fair?"),
        Asked("Is nursing stressful?"),
        Asked("Is nursing shift work hard?"),
        Asked("Do nursing shift patterns change?"),
    ]
    found = themes(asked)
    assert [(t.label, t.members) for t in found] == [("Shift", (2, 3)), (OTHER, (0, 1))]


# -- the desk's page and Markdown ------------------------------------------------


async def seed_on(server: LiveServer) -> dict[str, Any]:
    """An upcoming event on the live server: one published question (hostile), one pending."""
    a = server.actions
    event = await server.acall(lambda: seed_event(a, slug="upcoming", start=NEXT_WEEK))
    await server.acall(lambda: ask(a, event, HOSTILE, name=HOSTILE_NAME, votes=2))
    await server.acall(lambda: ask(a, event, "Is the waiting list long?", approve=False))
    return event


async def test_editors_get_the_page_and_the_markdown_with_pending_only_when_asked(
    server: LiveServer,
) -> None:
    await seed_on(server)
    async with contextlib.aclosing(await editor_client(server)) as editor:
        page = await editor.get("/desk/events/upcoming/digest")
        with_pending = await editor.get("/desk/events/upcoming/digest?pending=1")
        markdown = await editor.get("/desk/events/upcoming/digest.md")
        markdown_pending = await editor.get("/desk/events/upcoming/digest.md?pending=1")
        desk = await editor.get("/desk/events/upcoming")

    assert page.status_code == 200 and with_pending.status_code == 200
    assert page.headers["cache-control"] == "private, no-store"
    assert "&lt;script&gt;alert(" in page.text and "<script>alert(" not in page.text
    assert "&lt;img src=x onerror" in page.text and "<img src=x" not in page.text
    assert "2 upvotes" in page.text
    assert "waiting list" not in page.text
    assert 'href="/desk/events/upcoming/digest.md"' in page.text
    pending_item = with_pending.text.split("waiting list")[0].rsplit("<li", 1)[1]
    assert "is-pending" in pending_item and ">Pending</span>" in pending_item
    assert 'href="/desk/events/upcoming/digest.md?pending=1"' in with_pending.text
    assert "1 of them pending" in with_pending.text

    assert markdown.status_code == 200 and markdown_pending.status_code == 200
    assert markdown.headers["content-type"] == "text/markdown; charset=utf-8"
    assert markdown.headers["cache-control"] == "private, no-store"
    assert "waiting list" not in markdown.text
    assert "**PENDING** · Is the waiting list long?" in markdown_pending.text
    assert "<script>" not in markdown.text and "\\<script\\>" in markdown.text

    assert 'href="/desk/events/upcoming/digest"' in desk.text  # the desk links to it


async def test_no_one_but_editors_sees_the_digest_or_its_pending_questions(
    server: LiveServer,
) -> None:
    event = await seed_on(server)
    invite = await server.acall(lambda: server.actions.create_invite(event["id"], event["core"][0]))
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=15) as reader,
        httpx.AsyncClient(base_url=server.url, timeout=15) as panelist,
    ):
        assert (await panelist.get(f"/invite/{invite}")).status_code == 303
        for client in (reader, panelist):
            page = await client.get("/desk/events/upcoming/digest?pending=1")
            assert page.status_code == 303 and page.headers["location"].endswith("/desk/login")
            markdown = await client.get(
                "/desk/events/upcoming/digest.md?pending=1", headers={"Accept": "application/json"}
            )
            assert_error_shape(markdown, 401, "unauthorized")
            assert "waiting list" not in page.text + markdown.text


async def test_a_bad_pending_flag_is_refused_with_a_message(server: LiveServer) -> None:
    await seed_on(server)
    async with contextlib.aclosing(await editor_client(server)) as editor:
        for path in ("/desk/events/upcoming/digest", "/desk/events/upcoming/digest.md"):
            refused = await editor.get(
                f"{path}?pending=yes", headers={"Accept": "application/json"}
            )
            assert_error_shape(refused, 400, "bad_request")
            assert "pending must be 1" in refused.json()["error"]["message"]
        page = await editor.get("/desk/events/upcoming/digest?pending=2")
        assert page.status_code == 400 and "pending must be 1" in page.text


async def test_a_closed_event_says_why_it_has_no_digest(server: LiveServer) -> None:
    event = await seed_on(server)
    await server.acall(lambda: server.actions.set_status(event["id"], "closed", EDITOR))
    async with contextlib.aclosing(await editor_client(server)) as editor:
        page = await editor.get("/desk/events/upcoming/digest")
        markdown = await editor.get(
            "/desk/events/upcoming/digest.md", headers={"Accept": "application/json"}
        )
    assert page.status_code == 200
    assert "A digest is made before an event and while it is live" in page.text
    assert "<ol" not in page.text.split('id="digest"')[1]
    assert 'href="/desk/events/upcoming/transcript">the transcript</a>' in page.text
    assert_error_shape(markdown, 409, "conflict")


def test_a_theme_is_named_by_a_phrase_when_its_questions_share_one() -> None:
    found = themes([Asked("Are Night shifts long?"), Asked("Do night shifts pay more?")])
    assert [t.label for t in found] == ["Night shifts"]
    found = themes([Asked("Are night shifts long?"), Asked("Is night work safe?")])
    assert [t.label for t in found] == ["Night"]


async def test_the_demos_upcoming_event_has_a_digest_worth_showing(
    store: Store, settings: Settings, clock: FakeClock
) -> None:
    await load_demo(store, settings, clock)
    async with store.read() as repo:
        event = await repo.event_by_slug(UPCOMING_SLUG)
        assert event is not None and event.status == "scheduled"
        public = await build_digest(repo, event, include_pending=False)
        everything = await build_digest(repo, event, include_pending=True)

    assert len(public.groups) >= 2, "questions put to more than one panelist"
    assert any(t.keyword for t in public.themes), "at least one real theme"
    assert everything.pending_count >= 2 and public.pending_count == 0
    assert any(g.questions[0].upvotes > 0 for g in public.groups)
    for theme in public.themes:
        votes = [q.upvotes for q in theme.questions]
        assert votes == sorted(votes, reverse=True)
    assert any(q.asker == "" for q in public.questions)  # an anonymous reader, kept anonymous


def test_the_desk_guide_quotes_the_themes_bench() -> None:
    found = figures()
    guide = (Path(__file__).parents[1] / "docs" / "desk.md").read_text(encoding="utf-8")
    assert found.sentence() in guide
    assert f"theme in {found.paraphrases_together:.0%} of the 72 pairs" in guide
    assert f"on the same topic in {found.others_together:.0%}" in guide
    labels = ", ".join(label for label, _ in found.groups if label != OTHER)
    assert f"({labels}) and Other" in guide
