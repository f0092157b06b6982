"""The pre-event digest: its content and order, its themes, pending questions only when asked
for, escaping in every format, and the desk's page and Markdown (editors only)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from panel.actions import Actions
from panel.digest import (
    Digest,
    build_digest,
    digest_html,
    digest_markdown,
    digest_subject,
    digest_text,
)
from panel.domain import RuleError
from panel.themes import MAX_THEMES, OTHER, keywords, stem, themes
from tests.conftest import EDITOR, EVENT_START, seed_event

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
