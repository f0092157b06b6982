"""Merging keeps everything (panel/merging.py), in a real browser: an editor merges an answered,
published question from the desk; a reader's page moves its answer and credits its asker under
the kept question live and after a reload; "Separate" undoes it live; the published transcript
keeps the answer and credits every asker. axe-core on the desk with merged duplicates."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from panel.domain import Actor
from tests.browser.conftest import EDITOR_NAME, EDITOR_PASSWORD, LiveEvent
from tests.browser.helpers import assert_accessible, sign_in
from tests.browser.pages import DeskPage, ReaderPage, wait_live
from tests.conftest import EDITOR, LiveServer

pytestmark = pytest.mark.browser

ANSWER = "You train **on the job** while you study."


def seed(server: LiveServer, event: LiveEvent) -> tuple[int, int, int, int]:
    """Kept (published, by Ana), an answered duplicate (anonymous), a waiting one (Lee)."""

    async def ask() -> tuple[int, int, int, int]:
        actions = server.actions
        kept, _ = await actions.post_question(event.id, "reader-ana", "Do I need a degree?", "Ana")
        dup, _ = await actions.post_question(event.id, "reader-anon", "Is a degree required?")
        waiting, _ = await actions.post_question(event.id, "reader-lee", "Degree first?", "Lee")
        for question in (kept, dup):
            await actions.moderate(question.id, "approve", EDITOR)
        maria = Actor("panelist", event.core[0], "Maria Ashdown")
        answer = await actions.answer(dup.id, ANSWER, maria)
        return kept.id, dup.id, waiting.id, answer

    return server.call(ask)


def expect_merged(reader: ReaderPage, kept: int, dup: int, answer: int) -> None:
    """The duplicate is a credit line under the kept question, its answer under it too."""
    page = reader.page
    expect(page.locator(f"article#q-{dup}")).to_have_count(0)
    expect(page.locator(f"#q-{kept}-merged #q-{dup}")).to_have_text(
        "Similar question from an anonymous reader: Is a degree required?"
    )
    expect(page.locator(f"#q-{kept}-answers #a-{answer}")).to_contain_text("on the job")
    reader.expect_once(f"a-{answer}")
    reader.expect_once(f"q-{dup}")


def merge_from_desk(desk: DeskPage, dup: int, kept: int) -> None:
    """The merge form on a published question (action=merge, into=kept)."""
    item = desk.more(dup)  # the published item's folded "Edit, direct or merge"
    item.locator(f"#into-{dup}").select_option(str(kept))
    item.get_by_role("button", name="Merge as duplicate", exact=True).click()
    expect(desk.published(dup)).to_have_count(0)
    expect(desk.published(kept).locator(f"#duplicate-{dup}")).to_be_visible()


def test_merging_an_answered_question_keeps_its_answer_and_credits_every_asker(
    server: LiveServer,
    live_event: LiveEvent,
    open_page: Callable[..., Page],
    axe_source: str,
) -> None:
    kept, dup, waiting, answer = seed(server, live_event)
    server.call(lambda: server.actions.create_editor(EDITOR_NAME, EDITOR_PASSWORD))
    desk = DeskPage(
        sign_in(open_page, server, EDITOR_NAME, EDITOR_PASSWORD, axe=axe_source), live_event.slug
    ).open()
    reader = ReaderPage(open_page(server.url), live_event.slug).open()
    expect(reader.answers(dup)).to_have_count(1)

    # Merge the answered question: the reader's page follows live, without a reload.
    merge_from_desk(desk, dup, kept)
    expect_merged(reader, kept, dup, answer)
    # The desk's existing merge form on a waiting question still works.
    desk.merge(waiting, into=kept)
    expect(reader.page.locator(f"#q-{kept}-merged #q-{waiting}")).to_have_text(
        "Similar question from Lee: Degree first?"
    )
    duplicates = desk.published(kept).locator(".duplicate")
    expect(duplicates).to_have_count(2)
    assert_accessible(desk.page, "the desk with merged duplicates under their kept question")

    # After a reload, the server renders the same.
    reader.page.reload()
    wait_live(reader.page)
    expect_merged(reader, kept, dup, answer)

    # Separate: the duplicate comes back with its answer, live; merge it again.
    desk.published(kept).locator(f"#duplicate-{dup}").get_by_role("button").click()
    expect(desk.published(dup)).to_be_visible()
    expect(reader.page.locator(f"article#q-{dup} #a-{answer}")).to_contain_text("on the job")
    expect(reader.answers(kept)).to_have_count(0)
    reader.expect_once(f"a-{answer}")
    merge_from_desk(desk, dup, kept)
    expect_merged(reader, kept, dup, answer)

    # The published transcript: the answer under the kept question, every asker credited.
    desk.set_status("Close the event", "Ended")
    server.call(lambda: server.actions.transcripts.publish(live_event.id, EDITOR))
    archive = open_page(server.url, f"/archive/{live_event.slug}")
    item = archive.locator(f"article#q-{kept}")
    expect(item.locator(".asker").first).to_have_text("Ana")
    expect(item.locator(".answer-body")).to_contain_text("on the job")
    expect(item.locator(".also-asked")).to_have_text(
        [
            "Similar question from an anonymous reader: Is a degree required?",
            "Similar question from Lee: Degree first?",
        ]
    )
    expect(archive.locator(f"article#q-{dup}")).to_have_count(0)
