"""A reader's own question: its status follows moderation and answers live, without a reload."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import expect

from panel.domain import Actor
from tests.browser.pages import ReaderPage
from tests.conftest import EDITOR, LiveServer


def test_own_question_status_follows_approval_and_answer_live(
    server: LiveServer,
    live_event,
    reader: Callable[..., ReaderPage],  # noqa: ANN001
) -> None:
    ana = reader()
    ana.ask("Do probation officers work weekends?")
    mine = ana.mine()
    expect(mine).to_have_text([re.compile(r"^Awaiting moderation: Do probation officers")])
    question_id = int(mine.first.get_attribute("data-mine-id") or 0)
    ana.page.evaluate("window.__sameDocument = true")  # a reload would forget this

    server.call(lambda: server.actions.moderate(question_id, "approve", EDITOR))
    expect(mine).to_have_text([re.compile(r"^Published: ")])
    panelist = Actor("panelist", live_event.core[0], "Maria Ashdown")
    server.call(lambda: server.actions.answer(question_id, "Sometimes, on a rota.", panelist))
    expect(mine).to_have_text([re.compile(r"^Answered: ")])
    assert ana.page.evaluate("window.__sameDocument === true"), "the page was reloaded"
