"""Duplicate suggestions on the desk: a waiting paraphrase shows the question it repeats with a
score, one click merges it, and the chooser for any other question preselects nothing."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, expect

from panel import similar
from tests.browser.conftest import EDITOR_NAME, EDITOR_PASSWORD, LiveEvent, OpenPage
from tests.browser.helpers import sign_in
from tests.browser.pages import DeskPage, ReaderPage
from tests.conftest import EDITOR, LiveServer

pytestmark = pytest.mark.browser

ORIGINAL = "Do I need a degree to become a probation officer?"
PARAPHRASE = "do you need a degree to be a probation officer"
UNRELATED = "What do social workers earn?"


def publish(server: LiveServer, event_id: int, body: str, reader_id: str) -> int:
    async def work() -> int:
        question, _ = await server.actions.post_question(event_id, reader_id, body)
        await server.actions.moderate(question.id, "approve", EDITOR)
        return question.id

    return server.call(work)


def suggestion(item: Locator, into: int) -> Locator:
    return item.locator(f'.suggestion[data-suggested-id="{into}"]')


def expect_scored(item: Locator, into: int) -> None:
    """The suggestion reads "#17 (score NN): text…", with NN at or above the threshold."""
    line = suggestion(item, into)
    expect(line).to_contain_text(re.compile(rf"#{into} \(score \d+\): {re.escape(ORIGINAL)}"))
    score = re.search(r"\(score (\d+)\)", line.inner_text())
    assert score and similar.THRESHOLD <= int(score.group(1)) <= 100


def expect_nothing_preselected(item: Locator, question_id: int) -> None:
    chooser = item.locator(f"#into-{question_id}")
    expect(chooser).to_have_value("")
    expect(chooser.locator("option").first).to_have_text("Choose a question…")
    expect(chooser).to_have_attribute("required", "")
    expect(chooser.locator("option[selected]")).to_have_count(0)


def test_a_paraphrase_is_suggested_and_merged_in_one_click(
    server: LiveServer,
    live_event: LiveEvent,
    editor: DeskPage,
    reader: Callable[..., ReaderPage],
) -> None:
    kept = publish(server, live_event.id, ORIGINAL, "first-reader")
    other = publish(server, live_event.id, UNRELATED, "second-reader")
    sam = reader()
    sam.ask(PARAPHRASE)
    duplicate = editor.pending_id(PARAPHRASE)  # arrived live
    item = editor.page.locator(f"#pending-{duplicate}")

    expect(item.locator(".merge-heading")).to_have_text("Possible duplicates")
    expect_scored(item, kept)
    expect(suggestion(item, other)).to_have_count(0)
    expect_nothing_preselected(item, duplicate)
    # A target chosen by hand (in the folded "More") survives the queue's live refresh when
    # another question arrives.
    chooser = editor.more(duplicate).locator(f"#into-{duplicate}")
    chooser.select_option(str(other))
    sam.ask("Is there a dress code in court?")
    expect(editor.pending("dress code")).to_have_count(1)
    expect(chooser).to_have_value(str(other))

    item.get_by_role("button", name=f"Merge into #{kept}", exact=True).click()
    expect(editor.page.locator(f"#pending-{duplicate}")).to_have_count(0)
    expect(sam.page.locator(f"#q-{kept}-merged #q-{duplicate}")).to_contain_text(PARAPHRASE)


def test_one_click_merge_works_without_javascript(
    server: LiveServer, live_event: LiveEvent, open_page: OpenPage
) -> None:
    kept = publish(server, live_event.id, ORIGINAL, "first-reader")

    async def ask() -> int:
        question, _ = await server.actions.post_question(live_event.id, "third-reader", PARAPHRASE)
        return question.id

    duplicate = server.call(ask)
    server.call(lambda: server.actions.create_editor(EDITOR_NAME, EDITOR_PASSWORD))
    page = sign_in(open_page, server, EDITOR_NAME, EDITOR_PASSWORD, js=False)
    page.goto(f"/desk/events/{live_event.slug}")
    item = page.locator(f"#pending-{duplicate}")
    expect_scored(item, kept)
    expect_nothing_preselected(item, duplicate)

    item.get_by_role("button", name=f"Merge into #{kept}", exact=True).click()
    page.wait_for_url(re.compile(rf"/desk/events/{live_event.slug}"))
    expect(page.locator(f"#pending-{duplicate}")).to_have_count(0)
    readers = open_page(server.url, f"/events/{live_event.slug}", js=False)
    expect(readers.locator(f"#q-{kept}-merged #q-{duplicate}")).to_contain_text(PARAPHRASE)
