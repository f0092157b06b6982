"""No slip is final: without JavaScript the desk asks before a destructive action; with it,
the action happens at once and the notice offers Undo for a few seconds, and readers see
the restoring frames live."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from panel.config import Settings
from panel.domain import Actor
from tests.browser.conftest import EDITOR_NAME, EDITOR_PASSWORD, LiveEvent, event_status
from tests.browser.helpers import assert_accessible, sign_in
from tests.browser.pages import DeskPage, ReaderPage
from tests.conftest import EDITOR, LiveServer

pytestmark = pytest.mark.browser

BUTTON_SECONDS = 8  # the Undo button's countdown here (10 by default)
NOTICE_TEXT, UNDO_BUTTON = ".undo-notice .notice-text", ".undo-notice button"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A shorter Undo button, so that its disappearing can be watched without a long wait."""
    return dataclasses.replace(settings, undo_button_seconds=BUTTON_SECONDS)


def test_close_without_javascript_asks_first_then_undo_reopens(
    server: LiveServer, live_event: LiveEvent, open_page: Callable[..., Page]
) -> None:
    server.call(lambda: server.actions.create_editor(EDITOR_NAME, EDITOR_PASSWORD))
    desk = sign_in(open_page, server, EDITOR_NAME, EDITOR_PASSWORD, js=False)
    desk.goto(f"/desk/events/{live_event.slug}")
    expect(desk.locator("#desk-status")).to_have_text("Live now")

    desk.get_by_role("button", name="Close the event").click()
    expect(desk.locator(".confirm-question")).to_have_text(
        "Close the event now? Readers will no longer be able to ask questions."
        " The clock would otherwise close it at 16:00."
    )
    assert event_status(server, live_event.id) == "live"  # nothing happened yet
    desk.get_by_role("link", name="Cancel").click()
    expect(desk.locator("#desk-status")).to_have_text("Live now")
    assert event_status(server, live_event.id) == "live"

    desk.get_by_role("button", name="Close the event").click()
    desk.get_by_role("button", name="Close the event").click()  # the confirmation's button
    expect(desk.locator("#desk-status")).to_have_text("Ended")
    expect(desk.locator(NOTICE_TEXT)).to_have_text("Event closed.")
    desk.locator(UNDO_BUTTON).click()  # without JavaScript the Undo form stays until used
    expect(desk.locator("p.notice")).to_have_text("Undone: the event is live again.")
    expect(desk.locator("#desk-status")).to_have_text("Live now")
    assert event_status(server, live_event.id) == "live"


def test_close_with_javascript_then_undo_reopens_it_for_readers(
    server: LiveServer, editor: DeskPage, reader: Callable[..., ReaderPage]
) -> None:
    audience = reader()
    badge = audience.page.locator("#event-status")
    expect(badge).to_have_text("Live now")
    url = editor.page.url

    editor.page.get_by_role("button", name="Close the event").click()
    expect(editor.page.locator("#desk-status")).to_have_text("Ended")  # no confirmation step
    assert editor.page.url == url
    expect(badge).to_have_text("Ended")  # the reader's stream: event.status closed
    expect(editor.page.locator(NOTICE_TEXT)).to_have_text("Event closed.")
    expect(editor.page.locator(".undo-countdown")).to_have_text(re.compile(r"^\d+ s$"))

    editor.page.locator(UNDO_BUTTON).click()
    expect(editor.page.locator("p.notice")).to_have_text("Undone: the event is live again.")
    expect(editor.page.locator("#desk-status")).to_have_text("Live now")
    expect(badge).to_have_text("Live now")  # the restoring event.status frame, live


def test_withdraw_then_undo_brings_the_question_and_answers_back_live(
    server: LiveServer,
    live_event: LiveEvent,
    editor: DeskPage,
    reader: Callable[..., ReaderPage],
) -> None:
    maria = Actor("panelist", live_event.core[0], "Maria Ashdown")
    jenna = Actor("panelist", live_event.core[1], "Jenna Holt")

    async def answered() -> tuple[int, list[int]]:
        a = server.actions
        question, _ = await a.post_question(live_event.id, "r1", "How long is the training?")
        await a.moderate(question.id, "approve", EDITOR)
        first = await a.answer(question.id, "Fifteen months.", maria)
        second = await a.answer(question.id, "Longer part time.", jenna)
        return question.id, [first, second]

    qid, answers = server.call(answered)
    audience = reader()
    expect(audience.answers(qid)).to_have_count(2)
    before = audience.snapshot()

    editor.withdraw(qid)  # with JavaScript: no confirmation page
    expect(audience.question(qid)).to_have_count(0)
    expect(editor.page.locator(NOTICE_TEXT)).to_have_text(f"Question #{qid} withdrawn.")
    editor.page.locator(UNDO_BUTTON).click()
    expect(editor.page.locator("p.notice")).to_have_text(f"Undone: #{qid} is published again.")
    expect(editor.published(qid)).to_be_visible()

    expect(audience.question(qid)).to_be_visible()
    expect(audience.answers(qid)).to_have_count(2)
    item = next(q for q in audience.snapshot() if q["id"] == qid)
    assert item["answers"] == answers
    assert audience.snapshot() == before  # in its place, as before the slip

    # Another slip: the Undo button counts down and goes; the action stays done.
    editor.withdraw(qid)
    expect(editor.page.locator(UNDO_BUTTON)).to_be_visible()
    expect(editor.page.locator(UNDO_BUTTON)).to_have_count(0, timeout=(BUTTON_SECONDS + 5) * 1000)
    expect(editor.page.locator(NOTICE_TEXT)).to_have_text(f"Question #{qid} withdrawn.")
    expect(audience.question(qid)).to_have_count(0)


def test_undo_after_another_editor_acted_is_refused(
    server: LiveServer, live_event: LiveEvent, editor: DeskPage, reader: Callable[..., ReaderPage]
) -> None:
    asker = reader()
    asker.ask("Buy my course at example.com")
    qid = editor.pending_id("Buy my course")
    editor.more(qid).get_by_role("button", name="Reject and ban author").click()
    expect(editor.page.locator(f"#pending-{qid}")).to_have_count(0)
    expect(editor.page.locator(NOTICE_TEXT)).to_have_text(
        f"Question #{qid} rejected and its author banned."
    )

    bea = Actor("editor", 99, "Bea")
    server.call(lambda: server.actions.moderate(qid, "direct", bea, to=live_event.core[0]))
    editor.page.locator(UNDO_BUTTON).click()
    expect(editor.page.locator("p.notice")).to_have_text(
        f"Cannot undo: Bea directed #{qid} to Maria Ashdown after you."
    )
    expect(editor.page.locator(f"#pending-{qid}")).to_have_count(0)  # still rejected


def test_bulk_withdraw_of_several_asks_first_even_with_javascript(
    server: LiveServer,
    live_event: LiveEvent,
    open_page: Callable[..., Page],
    axe_source: str,
) -> None:
    """A bulk withdrawal cannot be undone, so the desk's script lets the server ask; the
    confirmation page passes axe and fits a 375 px phone."""

    async def two_published() -> list[int]:
        ids = []
        for n in (1, 2):
            question, _ = await server.actions.post_question(live_event.id, f"r{n}", f"Q {n}?")
            await server.actions.moderate(question.id, "approve", EDITOR)
            ids.append(question.id)
        return ids

    ids = server.call(two_published)
    server.call(lambda: server.actions.create_editor(EDITOR_NAME, EDITOR_PASSWORD))
    page = sign_in(
        open_page, server, EDITOR_NAME, EDITOR_PASSWORD, width=375, height=800, axe=axe_source
    )
    desk = DeskPage(page, live_event.slug).open()
    for qid in ids:
        desk.published(qid).locator(".select").check()
    page.locator("#bulk-action").select_option("withdraw")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.locator(".confirm-question")).to_have_text(
        f"Withdraw 2 questions (#{ids[0]}, #{ids[1]}) from the reader page?"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert_accessible(page, "the desk's confirmation page")
    page.get_by_role("button", name="Withdraw 2 questions").click()
    expect(page.locator("p.notice")).to_have_text("2 questions done.")
    for qid in ids:
        expect(desk.published(qid)).to_have_count(0)
