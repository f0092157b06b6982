"""Transcripts and the archive (issue 7) end to end in a real browser: an editor with
JavaScript off closes the event, curates, previews, publishes, republishes and unpublishes; a
reader reads the transcript, searches the archive, follows the embed and downloads an .ics;
axe-core on each public page and on the curation page."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from panel.domain import Actor
from panel.transcripts import Transcripts
from tests.browser.conftest import Hygiene, LiveEvent
from tests.browser.helpers import assert_accessible, sign_in
from tests.browser.pages import DeskPage, wait_live
from tests.conftest import EDITOR, EVENT_START, LiveServer, seed_event

pytestmark = pytest.mark.browser


def answered_questions(server: LiveServer, event: LiveEvent) -> list[int]:
    """Three published questions (asked in slot 1), answered by Maria, Jenna and Maria."""
    maria, jenna = event.core

    async def seed() -> list[int]:
        actions = server.actions
        asked = [
            (
                "Do I need a degree to start training?",
                "Sam",
                maria,
                "No: you train **on the job** while you study for the qualification.",
            ),
            (
                "Is the work streesful?",
                "Kim",
                jenna,
                "It can be, but supervision and training help you manage it.",
            ),
            (
                "What is the oddest thing a client has told you?",
                "",
                maria,
                "I could not possibly repeat it in a transcript about marmalade.",
            ),
        ]
        ids = []
        for body, name, panelist, answer in asked:
            question, _ = await actions.post_question(event.id, f"reader-{len(ids)}", body, name)
            await actions.moderate(question.id, "approve", EDITOR)
            who = Actor(
                "panelist", panelist, "Maria Ashdown" if panelist == maria else "Jenna Holt"
            )
            await actions.answer(question.id, answer, who)
            ids.append(question.id)
        return ids

    return server.call(seed)


def transcript_order(page: Page) -> list[int]:
    return [
        int(x.removeprefix("q-"))
        for x in page.locator("article.transcript-item").evaluate_all(
            "(els) => els.map((e) => e.id)"
        )
    ]


def test_curate_publish_republish_and_unpublish_without_javascript(
    server: LiveServer,
    live_event: LiveEvent,
    open_page: Callable[..., Page],
    hygiene: Hygiene,
    axe_source: str,
) -> None:
    degree, stress, odd = answered_questions(server, live_event)
    slug = live_event.slug
    server.call(lambda: server.actions.create_editor("ed", "password123"))
    desk = sign_in(open_page, server, "ed", "password123", js=False, axe=axe_source)

    # Close the event from the moderation page (a plain form without JavaScript).
    desk.goto(f"/desk/events/{slug}")
    expect(desk.locator("#desk-status")).to_have_text("Live now")
    desk.get_by_role("button", name="Close the event").click()
    # Without JavaScript the desk asks first; the confirmation's button closes it.
    expect(desk.locator(".confirm-question")).to_contain_text("Close the event now?")
    desk.get_by_role("button", name="Close the event").click()
    expect(desk.locator("#desk-status")).to_have_text("Ended")

    # The Transcript tab lists the three answered questions, not yet published.
    desk.get_by_role("link", name="Transcript", exact=True).click()
    desk.wait_for_url(re.compile(rf"/desk/events/{slug}/transcript$"))
    expect(desk.locator("#transcript-state")).to_have_text("Not published.")
    items = desk.locator("li.curation-item")
    expect(items).to_have_count(3)
    # axe needs JavaScript (its timers), so it checks the same page in a second context.
    checker = open_page(
        server.url,
        f"/desk/events/{slug}/transcript",
        axe=axe_source,
        storage_state=desk.context.storage_state(),
    )
    expect(checker.locator("li.curation-item")).to_have_count(3)
    assert_accessible(checker, "the curation page")

    def curated() -> list[int]:
        return [int(x) for x in items.evaluate_all("(els) => els.map((e) => e.dataset.questionId)")]

    assert curated() == [degree, stress, odd]

    # Move the first item down; hide the third; fix the typo in the second.
    desk.locator(f"#item-{degree}").get_by_role("button", name=re.compile("^Move down")).click()
    expect(desk).to_have_url(re.compile(rf"/transcript#item-{degree}$"))
    expect(desk.locator("p.notice")).to_have_text("Moved down.")
    assert curated() == [stress, degree, odd]
    desk.locator(f"#item-{odd}").get_by_role("button", name=re.compile("^Hide")).click()
    expect(desk.locator(f"#item-{odd}")).to_have_class(re.compile(r"\bis-hidden\b"))
    item = desk.locator(f"#item-{stress}")
    item.get_by_text("Correct the question").click()
    item.get_by_label("Question text").fill("Is the work stressful?")
    item.get_by_role("button", name="Save the correction").click()
    expect(desk.locator("p.notice")).to_have_text("Correction saved.")
    expect(desk.locator(f"#item-{stress} .question-body")).to_have_text("Is the work stressful?")

    # Preview: what publishing would produce, hidden item left out.
    desk.get_by_role("link", name="Preview").click()
    expect(desk.locator(".preview-banner")).to_contain_text("Preview.")
    assert transcript_order(desk) == [stress, degree]
    expect(desk.locator(f"#q-{stress}-title")).to_have_text("Is the work stressful?")
    desk.get_by_role("link", name="Back to curation").click()

    # Publish.
    desk.get_by_role("button", name=f"Publish to /archive/{slug}").click()
    expect(desk.locator("#transcript-state")).to_contain_text("Published on")

    # A reader follows a deep link to one question.
    reader = open_page(server.url, f"/archive/{slug}#q-{degree}", axe=axe_source)
    expect(reader.locator(f"#q-{degree}")).to_be_in_viewport()
    expect(reader.locator(f"#q-{degree} .answer-body strong")).to_have_text("on the job")
    expect(reader.locator(f"#q-{odd}")).to_have_count(0)
    expect(reader.get_by_text("marmalade")).to_have_count(0)
    expect(reader.locator(f"#q-{stress}-title")).to_have_text("Is the work stressful?")
    assert transcript_order(reader) == [stress, degree]
    expect(reader.locator(".transcript-dates .updated")).to_have_count(0)
    assert_accessible(reader, "the published transcript")

    # A later correction stays private until the transcript is republished, marked Updated.
    server.clock.advance(minutes=30)
    answer = desk.locator(f"#item-{degree} .desk-answer").first
    answer.get_by_text("Correct this answer").click()
    answer.get_by_label("Answer text (Markdown)").fill(
        "No: you train **on the job** while you study for the diploma."
    )
    answer.get_by_role("button", name="Save the correction").click()
    expect(desk.locator("p.notice")).to_have_text("Correction saved.")
    expect(desk.locator("#transcript-state")).to_contain_text("changes that readers do not see")
    reader.reload()
    expect(reader.locator(f"#q-{degree} .answer-body")).to_contain_text("qualification")
    desk.get_by_role("button", name="Republish with changes").click()
    expect(desk.locator("p.notice")).to_contain_text("Republished")
    expect(desk.locator("#transcript-state")).to_contain_text("Last updated")
    reader.reload()
    expect(reader.locator(f"#q-{degree} .answer-body")).to_contain_text("diploma")
    expect(reader.locator(".transcript-dates .updated")).to_contain_text("Updated")

    # Unpublish: the transcript is gone from its address.
    desk.get_by_role("button", name="Unpublish").click()
    expect(desk.locator("#transcript-state")).to_have_text("Not published.")
    hygiene.allow_status(404, rf"/archive/{slug}$")
    response = reader.goto(f"/archive/{slug}")
    assert response is not None and response.status == 404
    expect(reader.locator("h1")).to_have_text("Page not found")


def test_archive_search_highlights_and_filters_by_panelist(
    server: LiveServer, live_event: LiveEvent, open_page: Callable[..., Page], axe_source: str
) -> None:
    degree, stress, odd = answered_questions(server, live_event)

    async def close_hide_and_publish() -> None:
        await server.actions.set_status(live_event.id, "closed", EDITOR)
        transcripts = Transcripts(server.services.store, server.clock, server.services.settings)
        await transcripts.set_hidden(live_event.id, odd, True, EDITOR)
        await transcripts.publish(live_event.id, EDITOR)

    server.call(close_hide_and_publish)
    page = open_page(server.url, "/archive", axe=axe_source)
    page.get_by_label("Search the transcripts").fill("training")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"/archive\?q=training"))
    hits = page.locator("li.search-hit")
    expect(page.locator("#results-heading")).to_have_text("2 results for “training”")
    expect(hits).to_have_count(2)
    expect(hits.locator("mark").first).to_have_text(re.compile("^training$", re.IGNORECASE))
    in_answer = hits.filter(has=page.locator(f'a[href$="#q-{stress}"]'))
    expect(in_answer.locator(".snippet mark")).to_have_text(["training"])  # matched an answer
    assert_accessible(page, "archive search results")

    # "Answered by" keeps only what that panelist answered.
    page.get_by_label("Answered by").select_option("Jenna Holt")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results-heading")).to_have_text(
        "1 result for “training”, answered by Jenna Holt"
    )
    expect(hits).to_have_count(1)
    expect(hits.first.get_by_role("link").first).to_have_attribute(
        "href", f"/archive/{live_event.slug}#q-{stress}"
    )
    hits.first.get_by_role("link").first.click()
    expect(page.locator(f"#q-{stress}")).to_be_in_viewport()

    # A hidden item is not searchable.
    page.goto("/archive?q=marmalade")
    expect(page.locator("#results-heading")).to_have_text("0 results for “marmalade”")
    expect(hits).to_have_count(0)
    page.goto("/archive?q=degree")
    expect(hits).to_have_count(1)
    expect(hits.locator(".search-question mark")).to_have_text(["degree"])


def test_embed_follows_the_desk_live_and_upcoming_events_offer_a_calendar(
    server: LiveServer,
    live_event: LiveEvent,
    editor: DeskPage,
    open_page: Callable[..., Page],
    axe_source: str,
    tmp_path: Path,
) -> None:
    embed = open_page(server.url, f"/events/{live_event.slug}/embed", axe=axe_source)
    wait_live(embed)
    expect(embed.locator("#no-questions")).to_be_visible()

    question, _ = server.call(
        lambda: server.actions.post_question(
            live_event.id, "reader-embed", "Can I see this in the article?", "Ali"
        )
    )
    expect(editor.pending("in the article")).to_have_count(1)
    editor.approve(question.id)
    expect(embed.locator(f"#q-{question.id}")).to_contain_text("Can I see this in the article?")
    expect(embed.locator("#no-questions")).to_be_hidden()
    expect(embed.locator("#on-now li")).to_have_text(["Maria Ashdown", "Jenna Holt", "Sandra Kemp"])
    assert_accessible(embed, "the embed")

    # An upcoming event's page links an .ics file with the right UTC instant.
    start = EVENT_START + timedelta(days=7)
    server.call(lambda: seed_event(server.actions, slug="next-week", start=start))
    page = open_page(server.url, "/events/next-week")
    link = page.get_by_role("link", name=re.compile("^Add to your calendar"))
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == "next-week.ics"
    target = tmp_path / "next-week.ics"
    download.save_as(target)
    ics = target.read_bytes().decode("utf-8")
    assert ics.startswith("BEGIN:VCALENDAR\r\n")
    assert "\r\nDTSTART:20260922T120000Z\r\n" in ics
    assert "\r\nDTEND:20260922T150000Z\r\n" in ics
    assert "SUMMARY:Live Q&A: Working and training as a probation officer" in ics
    assert f"URL:{server.url}/events/next-week\r\n" in ics
