"""The moderation desk as a workspace (issue 14): three columns that fit a laptop screen, one
column on a phone, search and filters in the query string (with and without JavaScript), a
visible keyboard focus, and which other editors have the desk open and what they are on."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import EDITOR_NAME, EDITOR_PASSWORD, LiveEvent
from tests.browser.pages import DeskPage, sign_in_editor, wait_live
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

# Eight realistic questions (~150 characters each), from eight readers.
QUESTIONS = [
    (
        "Priya",
        "How long does the training take from the day you start, and can you keep working "
        "part time while you study for the professional qualification in probation?",
    ),
    (
        "Tom",
        "What does a normal day look like for a probation officer in a busy city office, "
        "and how much of the week is spent in court rather than seeing people?",
    ),
    (
        "",
        "Is the pension scheme the same as the rest of the civil service, and what happens to "
        "it if I move across from a local authority job after ten years of service?",
    ),
    (
        "Ruth",
        "How do you look after your own mental health when the cases are hard, and is "
        "there proper supervision or counselling available for new officers here?",
    ),
    (
        "Dev",
        "Can someone with a criminal record from many years ago still apply, or does "
        "vetting rule you out completely no matter how long ago the offence was?",
    ),
    (
        "Chloe",
        "Do you get to choose which area you work in after qualifying, or are new "
        "officers sent wherever the service is short of staff at that moment?",
    ),
    (
        "Sam",
        "What are the chances of promotion to senior probation officer within five years, "
        "and what do you need to show to be considered for that kind of role?",
    ),
    (
        "Lee",
        "Is there a difference between working with young adults and older offenders, and "
        "can you specialise in one group once you have a few years of experience?",
    ),
]


def post_questions(server: LiveServer, event_id: int, count: int = len(QUESTIONS)) -> list[int]:
    ids = []
    for n, (name, body) in enumerate(QUESTIONS[:count]):
        question, _ = server.call(
            lambda n=n, name=name, body=body: server.actions.post_question(
                event_id, f"reader-{n}", body, name
            )
        )
        ids.append(question.id)
    return ids


def sign_in_second_editor(
    server: LiveServer, open_page: Callable[..., Page], username: str, **options: Any
) -> Page:
    server.call(lambda: server.actions.create_editor(username, EDITOR_PASSWORD))
    page = open_page(server.url, **options)
    sign_in_editor(page, username, EDITOR_PASSWORD)
    return page


FULLY_VISIBLE_JS = """(id) => {
  const box = document.getElementById(id).getBoundingClientRect();
  const list = document.getElementById('pending').getBoundingClientRect();
  return box.top >= Math.max(0, list.top) && box.bottom <= Math.min(innerHeight, list.bottom)
    && box.left >= 0 && box.right <= innerWidth;
}"""


COLUMNS_JS = """() => [...document.querySelectorAll('.workspace-column')].map((c) => {
  const r = c.getBoundingClientRect();
  return {heading: c.querySelector('h2').textContent.split(' (')[0], left: r.left, right: r.right,
          top: r.top, bottom: r.bottom};
})"""


def test_five_pending_questions_fit_a_laptop_screen(
    server: LiveServer, live_event: LiveEvent, editor: DeskPage
) -> None:
    ids = post_questions(server, live_event.id)
    page = editor.page
    expect(editor.pending()).to_have_count(len(QUESTIONS))
    expect(page.locator("#pending-count")).to_have_text(str(len(QUESTIONS)))
    assert page.viewport_size == {"width": 1280, "height": 800}
    visible = [i for i in ids if page.evaluate(FULLY_VISIBLE_JS, f"pending-{i}")]
    assert len(visible) >= 5, f"only {visible} of {ids} are fully on screen"
    assert visible == ids[: len(visible)]  # oldest first, from the top


def test_three_columns_side_by_side_at_1024_and_one_column_on_a_phone(
    server: LiveServer, live_event: LiveEvent, editor: DeskPage
) -> None:
    ids = post_questions(server, live_event.id)
    editor.approve(ids[0])
    editor.approve(ids[1])
    editor.page.locator(f"#published-{ids[1]}").get_by_role("button", name="Mark answered").click()
    expect(editor.page.locator(f"#answered #published-{ids[1]}")).to_be_visible()
    expect(editor.page.locator("#published-count")).to_have_text("1")
    expect(editor.page.locator("#answered-count")).to_have_text("1")
    expect(editor.page.locator("#pending-count")).to_have_text(str(len(ids) - 2))

    page = editor.page
    page.set_viewport_size({"width": 1024, "height": 800})
    columns = page.evaluate(COLUMNS_JS)
    assert [c["heading"] for c in columns] == ["Incoming", "Published", "Answered"]
    for left, right in zip(columns, columns[1:], strict=False):
        assert left["right"] <= right["left"], "columns overlap"
        assert abs(left["top"] - right["top"]) < 1, "columns do not share a top"

    page.set_viewport_size({"width": 375, "height": 800})
    expect(page.locator("#pending")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    columns = page.evaluate(COLUMNS_JS)
    assert [c["heading"] for c in columns] == ["Incoming", "Published", "Answered"]
    for above, below in zip(columns, columns[1:], strict=False):
        assert above["bottom"] <= below["top"], "one column, in reading order"


def test_search_and_filters_work_without_javascript(
    server: LiveServer, live_event: LiveEvent, open_page: Callable[..., Page]
) -> None:
    ids = post_questions(server, live_event.id)
    server.call(lambda: server.actions.create_editor(EDITOR_NAME, EDITOR_PASSWORD))
    page = open_page(server.url, js=False)
    sign_in_editor(page, EDITOR_NAME, EDITOR_PASSWORD)
    page.goto(f"/desk/events/{live_event.slug}")
    approve = page.locator(f"#pending-{ids[2]}").get_by_role("button", name="Approve", exact=True)
    approve.click()
    expect(page.locator(f"#published-{ids[2]}")).to_be_visible()

    # Words of a question, in another case: only that question, in whichever column.
    page.get_by_label("Search", exact=True).fill("PENSION")
    page.get_by_role("button", name="Apply", exact=True).click()
    expect(page).to_have_url(
        f"{server.url}/desk/events/{live_event.slug}?q=PENSION&status=all&sort=time&to="
    )
    expect(page.locator(".queue-item")).to_have_count(1)
    expect(page.locator(f"#published-{ids[2]}")).to_be_visible()

    # The asker's name; and the status filter shows one column only. A reload keeps both.
    page.get_by_label("Search", exact=True).fill("chloe")
    page.get_by_label("Show").select_option("pending")
    page.get_by_role("button", name="Apply", exact=True).click()
    page.wait_for_url(re.compile(r"q=chloe.*status=pending"))  # the form's navigation is over
    page.reload()
    expect(page.get_by_label("Search", exact=True)).to_have_value("chloe")
    expect(page.locator(".workspace-column")).to_have_count(1)
    expect(page.locator(".queue-item")).to_have_count(1)
    expect(page.locator(f"#pending-{ids[5]}")).to_be_visible()
    expect(page.locator("#pending-count")).to_have_text("1")

    page.get_by_role("link", name="Show everything").click()
    expect(page.locator(".queue-item")).to_have_count(len(ids))


def test_search_as_you_type_and_live_refresh_keep_the_filter(
    server: LiveServer, live_event: LiveEvent, editor: DeskPage
) -> None:
    ids = post_questions(server, live_event.id)
    page = editor.page
    page.get_by_label("Search", exact=True).press_sequentially("mental health")
    expect(page.locator(".queue-item")).to_have_count(1)
    expect(page.locator(f"#pending-{ids[3]}")).to_be_visible()
    assert "q=mental+health" in page.url
    # A new matching question arrives live; a non-matching one does not show.
    server.call(lambda: server.actions.post_question(live_event.id, "r-x", "Mental health days?"))
    server.call(lambda: server.actions.post_question(live_event.id, "r-y", "Salary bands?"))
    expect(page.locator(".queue-item")).to_have_count(2)
    expect(page.get_by_label("Search", exact=True)).to_have_value("mental health")


def test_the_focused_question_has_a_visible_outline_and_j_k_cross_columns(
    server: LiveServer, live_event: LiveEvent, editor: DeskPage
) -> None:
    ids = post_questions(server, live_event.id, 3)
    editor.approve(ids[2])
    page = editor.page
    expect(page.locator("#shortcuts")).to_be_visible()
    page.evaluate("document.activeElement.blur()")  # approving focused the next question
    page.keyboard.press("j")
    expect(page.locator(f"#pending-{ids[0]}")).to_be_focused()
    style = page.locator(f"#pending-{ids[0]}").evaluate(
        "(el) => { const s = getComputedStyle(el); return [s.outlineStyle, s.outlineWidth]; }"
    )
    assert style[0] != "none" and style[1] != "0px"
    page.keyboard.press("j")
    page.keyboard.press("j")  # past the last pending question, into the Published column
    expect(page.locator(f"#published-{ids[2]}")).to_be_focused()
    page.keyboard.press("k")
    expect(page.locator(f"#pending-{ids[1]}")).to_be_focused()


def test_editors_see_who_else_is_here_and_what_they_are_on(
    server: LiveServer,
    live_event: LiveEvent,
    editor: DeskPage,
    open_page: Callable[..., Page],
) -> None:
    ids = post_questions(server, live_event.id, 3)
    anna = editor.page
    expect(anna.locator("#also-here")).not_to_contain_text("Also here")

    ben = sign_in_second_editor(server, open_page, "ben")
    ben.goto(f"/desk/events/{live_event.slug}")
    wait_live(ben)
    expect(anna.locator("#also-here")).to_contain_text("Also here: ben", timeout=1000)
    expect(ben.locator("#also-here")).to_contain_text(f"Also here: {EDITOR_NAME}")

    ben.locator("body").press("j")
    expect(ben.locator(f"#pending-{ids[0]}")).to_be_focused()
    on_it = anna.locator(f"#pending-{ids[0]} .editor-on")
    expect(on_it).to_have_text("ben is on this", timeout=1000)
    ben.locator(f"#pending-{ids[1]}").click()
    expect(anna.locator(f"#pending-{ids[1]} .editor-on")).to_have_text("ben is on this")
    expect(on_it).to_have_count(0)
    expect(ben.locator(".editor-on")).to_have_count(0)  # never yourself

    # Ben's desk goes silent (no more reports reach the server, no goodbye); 31 s later on the
    # server's clock, anna's next report drops him and every desk refreshes.
    ben.route("**/presence", lambda route: route.fulfill(status=204))
    server.clock.advance(seconds=31)
    anna.locator("body").press("j")
    expect(anna.locator("#also-here")).not_to_contain_text("ben")
    expect(anna.locator(".editor-on")).to_have_count(0)


def test_closing_the_desk_says_goodbye_at_once(
    server: LiveServer,
    live_event: LiveEvent,
    editor: DeskPage,
    open_page: Callable[..., Page],
) -> None:
    ben = sign_in_second_editor(server, open_page, "ben")
    ben.goto(f"/desk/events/{live_event.slug}")
    wait_live(ben)
    expect(editor.page.locator("#also-here")).to_contain_text("ben")
    ben.goto("/desk")  # pagehide: navigator.sendBeacon(leaving=1)
    expect(editor.page.locator("#also-here")).not_to_contain_text("ben")


def test_without_javascript_the_desk_shows_others_but_does_not_report(
    server: LiveServer,
    live_event: LiveEvent,
    editor: DeskPage,
    open_page: Callable[..., Page],
) -> None:
    plain = sign_in_second_editor(server, open_page, "ben", js=False)
    plain.goto(f"/desk/events/{live_event.slug}")
    expect(plain.locator("#also-here")).to_contain_text(f"Also here: {EDITOR_NAME}")
    editor.page.reload()
    wait_live(editor.page)
    expect(editor.page.locator("#also-here")).not_to_contain_text("ben")
