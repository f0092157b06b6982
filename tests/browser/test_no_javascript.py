"""A reader with JavaScript off reads the event and takes part through plain forms."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from panel.domain import Actor
from tests.browser.conftest import Hygiene, LiveEvent
from tests.browser.pages import ReaderPage
from tests.conftest import EDITOR, LiveServer

pytestmark = pytest.mark.browser


def test_reader_without_javascript_reads_asks_and_upvotes(
    server: LiveServer, live_event: LiveEvent, reader: Callable[..., ReaderPage], hygiene: Hygiene
) -> None:
    hygiene.allow_status(422, r"/events/[^/]+/questions$")  # the refused post: page + error
    maria = live_event.core[0]

    async def published_answer() -> int:
        question, _ = await server.actions.post_question(
            live_event.id, "someone-else", "What does a typical week look like?", "Kim"
        )
        await server.actions.moderate(question.id, "approve", EDITOR)
        await server.actions.answer(
            question.id,
            "Court in the morning, **visits** after.",
            Actor("panelist", maria, "Maria Ashdown"),
        )
        return question.id

    answered = server.call(published_answer)
    plain = reader(js=False)
    page = plain.page
    expect(page.locator("h1")).to_have_text("Working and training as a probation officer")
    expect(plain.question(answered)).to_contain_text("What does a typical week look like?")
    expect(plain.answers(answered).locator("strong")).to_have_text("visits")
    expect(plain.on_now()).to_have_text(["Maria Ashdown", "Jenna Holt", "Sandra Kemp"])
    expect(page.locator("#connection")).to_be_hidden()  # no live stream without JavaScript

    # An empty question comes back with the error, next to the form.
    page.get_by_label("Your question", exact=True).fill("   ")
    page.get_by_role("button", name="Send question").click()
    expect(page.locator("#form-error")).to_contain_text("must not be empty")

    plain.ask("Is the training paid?", name="Robin")
    expect(plain.mine()).to_have_text([re.compile(r"^Awaiting moderation: Is the training paid\?")])

    plain.question(answered).get_by_role("button", name="Upvote this question").click()
    page.wait_for_url(re.compile(rf"#q-{answered}$"))
    expect(plain.question(answered).locator(".upvotes").first).to_have_text("1 upvote")
