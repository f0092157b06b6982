"""Reader feedback in real Chromium (issue 15, items 4, 7 and 8): told when answered (in-page
notice and a real browser Notification), asking and upvoting in place, "You already upvoted"
with and without JavaScript, the form closing live, and reports with and without JavaScript
reaching the desk's counts."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import expect

from panel.domain import Actor
from tests.browser.conftest import Hygiene, LiveEvent, OpenPage, wait_until
from tests.browser.pages import DeskPage, ReaderPage, wait_live
from tests.conftest import EDITOR, LiveServer

# Wraps the real constructor (nothing stubbed): records each Notification's title.
RECORD_NOTIFICATIONS = """
window.__notifications = [];
const RealNotification = window.Notification;
window.Notification = class extends RealNotification {
  constructor(title, options) { super(title, options); window.__notifications.push(title); }
};
"""
HIDE_TAB = """() => {
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
  Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def published_question(server: LiveServer, event: LiveEvent, body: str) -> int:
    async def post() -> int:
        question, _ = await server.actions.post_question(event.id, "someone", body)
        await server.actions.moderate(question.id, "approve", EDITOR)
        return question.id

    return server.call(post)


def test_the_asker_is_told_in_page_and_by_a_notification_when_the_tab_is_hidden(
    server: LiveServer,
    live_event: LiveEvent,
    open_page: OpenPage,
    reader: Callable[..., ReaderPage],
) -> None:
    ana = reader()
    page = ana.page
    page.context.grant_permissions(["notifications"], origin=server.url)
    page.context.add_init_script(script=RECORD_NOTIFICATIONS)
    ana.ask("Do probation officers work weekends?")
    mine = ana.mine()
    expect(mine).to_have_text([re.compile(r"^Awaiting moderation: Do probation officers")])
    question_id = int(mine.first.get_attribute("data-mine-id") or 0)
    page.reload()  # the init script wraps Notification from here on; the list is the server's
    wait_live(page)
    expect(ana.mine()).to_have_count(1)

    page.get_by_role("button", name="Notify me when my question is answered").click()
    expect(page.locator("#notify-state")).to_contain_text("You will get a notification")
    server.call(lambda: server.actions.moderate(question_id, "approve", EDITOR))
    expect(ana.question(question_id)).to_be_visible()
    page.evaluate(HIDE_TAB)
    maria = Actor("panelist", live_event.core[0], "Maria Ashdown")
    answer_id = server.call(lambda: server.actions.answer(question_id, "On a rota.", maria))

    notice = page.locator("#answered-notices .answered-notice")
    expect(notice).to_contain_text("Your question was answered by Maria Ashdown — read the answer")
    wait_until(
        lambda: (
            page.evaluate("window.__notifications")
            == ["Your question was answered by Maria Ashdown"]
        ),
        what="the browser Notification",
    )
    notice.get_by_role("link", name="read the answer").click()
    expect(page.locator(f"#a-{answer_id}")).to_be_focused()
    expect(page.locator(f"#a-{answer_id}")).to_be_in_viewport()

    # Without JavaScript, after a reload: "Your questions" links to the answer.
    plain = open_page(server.url, js=False, storage_state=page.context.storage_state())
    plain.goto(f"/events/{live_event.slug}")
    item = plain.locator(f'[data-mine-id="{question_id}"]')
    expect(item).to_contain_text("Answered")
    expect(item.get_by_role("link", name="read the answer")).to_have_attribute(
        "href", f"#a-{answer_id}"
    )
    expect(plain.locator("#notify-me-row")).to_be_hidden()  # "Notify me" needs JavaScript


def test_notify_me_is_offered_only_to_readers_who_asked(
    server: LiveServer, live_event: LiveEvent, reader: Callable[..., ReaderPage]
) -> None:
    question_id = published_question(server, live_event, "Who decides the caseload?")
    bob = reader()
    expect(bob.question(question_id)).to_be_visible()
    expect(bob.page.get_by_role("button", name=re.compile("Notify me"))).to_have_count(0)
    bob.ask("And who checks it?")  # asked in place: now offered, never prompted
    expect(bob.page.get_by_role("button", name=re.compile("Notify me"))).to_be_visible()
    assert bob.page.evaluate("Notification.permission") == "default"


def test_asking_in_place_keeps_the_text_on_an_error(
    server: LiveServer,
    live_event: LiveEvent,
    hygiene: Hygiene,
    reader: Callable[..., ReaderPage],
) -> None:
    hygiene.allow_status(422, "/questions")  # the refusal is the point
    hygiene.allow_console("422")
    ana = reader()
    ana.page.evaluate("window.__sameDocument = true")
    box = ana.page.get_by_label("Your question", exact=True)
    box.fill("   ")  # only spaces: the server refuses it
    ana.page.locator("#q-body").evaluate("b => b.removeAttribute('required')")
    ana.page.get_by_role("button", name="Send question").click()
    expect(ana.page.locator("#form-error")).to_contain_text("must not be empty")
    ana.ask("Is the training paid?")
    expect(box).to_have_value("")
    assert ana.page.evaluate("window.__sameDocument === true"), "the page was reloaded"


def test_upvoting_in_place_and_a_second_upvote_with_and_without_javascript(
    server: LiveServer,
    live_event: LiveEvent,
    open_page: OpenPage,
    reader: Callable[..., ReaderPage],
) -> None:
    question_id = published_question(server, live_event, "What does a typical day look like?")
    ana = reader()
    button = ana.question(question_id).locator(".upvote-form button")
    button.click()
    expect(button).to_have_text("Upvoted")
    expect(ana.question(question_id).locator(".upvotes")).to_have_text("1 upvote")
    ana.page.reload()
    wait_live(ana.page)
    button.click()
    expect(button).to_have_text("You already upvoted")
    expect(ana.question(question_id).locator(".upvotes")).to_have_text("1 upvote")

    plain = open_page(server.url, js=False, storage_state=ana.page.context.storage_state())
    plain.goto(f"/events/{live_event.slug}")
    plain.locator(f"#q-{question_id} .upvote-form button").click()
    expect(plain.locator("#ask .notice")).to_contain_text("You already upvoted that question")


def test_the_form_turns_into_questions_are_closed_when_an_editor_closes_the_event(
    server: LiveServer, live_event: LiveEvent, reader: Callable[..., ReaderPage]
) -> None:
    ana = reader()
    expect(ana.page.locator("#question-form")).to_be_visible()
    server.call(lambda: server.actions.set_status(live_event.id, "closed", EDITOR))
    expect(ana.page.locator("#questions-closed")).to_have_text("Questions are closed.")
    expect(ana.page.locator("#question-form")).to_have_count(0)


def test_reporting_with_and_without_javascript_reaches_the_desk_count(
    server: LiveServer,
    live_event: LiveEvent,
    open_page: OpenPage,
    editor: DeskPage,
    reader: Callable[..., ReaderPage],
) -> None:
    question_id = published_question(server, live_event, "Can I ask about pay?")
    item = editor.published(question_id)
    expect(item).to_be_visible()
    expect(item.locator(".report-mark")).to_have_count(0)

    ana = reader()
    ana.page.evaluate("window.__sameDocument = true")
    ana.question(question_id).locator(".question-head > .report summary").click()
    form = ana.question(question_id).locator(".question-head > .report form")
    form.get_by_label("Rude").check()
    form.get_by_label(re.compile("Anything to add")).fill("Names a colleague")
    form.get_by_role("button", name="Send report").click()
    expect(form.locator(".report-status")).to_have_text("Thanks, the editors will look at it.")
    assert ana.page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    expect(item.locator(".report-mark")).to_contain_text("Reported 1 time: Rude 1")  # live

    plain = open_page(server.url, f"/events/{live_event.slug}", js=False)
    plain.locator(f"#q-{question_id} .question-head > .report summary").click()
    no_js = plain.locator(f"#q-{question_id} .question-head > .report form")
    no_js.get_by_label("Wrong").check()
    no_js.get_by_role("button", name="Send report").click()
    expect(plain.locator("#ask .notice")).to_have_text("Thanks, the editors will look at it.")
    expect(item.locator(".report-mark")).to_contain_text("Reported 2 times: Rude 1, Wrong 1")
    # Never public: the readers' pages show no count and no words of a report.
    expect(plain.locator("body")).not_to_contain_text("Names a colleague")
    expect(ana.page.locator(".report-mark")).to_have_count(0)
