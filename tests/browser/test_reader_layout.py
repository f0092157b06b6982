"""The reader page's layout (issue 15): the Q&A first on desktop and phone, "Top" and "Newest"
with and without JavaScript, live items held back while the reader is down the list, the
panel's "on now" labels and the audience count live. Real server, real Chromium."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from panel.domain import Actor
from tests.browser.conftest import DemoSite, LiveEvent, OpenPage, wait_until
from tests.browser.pages import ReaderPage, wait_live
from tests.conftest import EDITOR, LiveServer

pytestmark = pytest.mark.browser

ANSWER = (
    "No. You apply for a trainee post as a **probation services officer** and study for the "
    "degree in community justice *while you work*. Relevant experience matters as much."
)
SIZES = {"desktop": (1280, 800), "phone": (375, 812)}


def publish(server: LiveServer, event: LiveEvent, body: str, answers: int = 0) -> int:
    """A published question (asked by its own reader), with `answers` answers by Maria."""
    maria = Actor("panelist", event.core[0], "Maria Ashdown")

    async def go() -> int:
        question, _ = await server.actions.post_question(event.id, f"asker-{body}", body, "Sam")
        await server.actions.moderate(question.id, "approve", EDITOR)
        for _ in range(answers):
            await server.actions.answer(question.id, ANSWER, maria)
        return question.id

    return server.call(go)


def answer(server: LiveServer, event: LiveEvent, question_id: int, body: str) -> None:
    maria = Actor("panelist", event.core[0], "Maria Ashdown")
    server.call(lambda: server.actions.answer(question_id, body, maria))


def upvote(server: LiveServer, question_id: int, voters: int) -> None:
    for n in range(voters):
        server.call(lambda n=n: server.services.votes.cast(question_id, f"voter-{n}"))


def order_of(page: Page) -> list[int]:
    return [
        int(x)
        for x in page.locator("#questions > article").evaluate_all(
            "(nodes) => nodes.map((n) => n.dataset.questionId)"
        )
    ]


@pytest.mark.parametrize("size", list(SIZES))
def test_first_question_and_answer_are_on_the_first_screen(
    size: str, server: LiveServer, live_event: LiveEvent, reader: Callable[..., ReaderPage]
) -> None:
    publish(server, live_event, "Is the training paid?", answers=1)
    newest = publish(server, live_event, "Do I need a degree before I can apply?", answers=1)
    width, height = SIZES[size]
    ana = reader(width=width, height=height)
    first = ana.page.locator("#questions > article").first
    expect(first).to_have_attribute("data-question-id", str(newest))
    for part in (first.locator(".question-body").first, ana.answers(newest).first):
        box = part.bounding_box()
        assert box is not None and box["y"] + box["height"] <= height, (part, box)
    # The ask box is one short box until it is used.
    expect(ana.page.locator("#q-name")).to_be_hidden()
    ana.page.locator("#q-body").focus()
    expect(ana.page.locator("#q-name")).to_be_visible()


def test_first_answered_question_fits_the_desktop_screen_on_the_demo(
    demo_site: DemoSite, open_page: OpenPage
) -> None:
    page = open_page(demo_site.url, f"/events/{demo_site.slug}")
    wait_live(page)
    box = page.locator("#questions .answer").first.bounding_box()
    assert box is not None and box["y"] + box["height"] <= SIZES["desktop"][1], box
    # The audience count, from the stream's presence frames.
    expect(page.locator("#audience")).to_be_visible()
    expect(page.locator("#audience-count")).to_have_text(re.compile(r"^\d+ readers? here$"))


def seed_votes(server: LiveServer, event: LiveEvent) -> dict[int, int]:
    """Four questions, asked in this order, with these votes: newest-first is not top-first."""
    ids = [publish(server, event, f"Question {n}?") for n in range(4)]
    votes = dict(zip(ids, (2, 0, 3, 1), strict=True))
    for question_id, count in votes.items():
        upvote(server, question_id, count)
    return votes


def top_first(votes: dict[int, int]) -> list[int]:
    # Ties (none here) would keep the newest first.
    return sorted(votes, key=lambda q: (-votes[q], -q))


def test_sort_by_votes_without_javascript(
    server: LiveServer, live_event: LiveEvent, reader: Callable[..., ReaderPage]
) -> None:
    votes = seed_votes(server, live_event)
    plain = reader(js=False)
    page = plain.page
    assert order_of(page) == sorted(votes, reverse=True)  # the default: the newest first
    expect(page.get_by_role("link", name="Newest")).to_have_attribute("aria-current", "true")

    page.get_by_role("link", name="Top").click()
    page.wait_for_url(re.compile(r"\?order=top"))

    def top_order_shown() -> bool:  # the last votes' frames may come after the window
        if order_of(page) == top_first(votes):
            return True
        page.reload()
        return False

    wait_until(top_order_shown, what="the list sorted by votes")
    expect(page.get_by_role("link", name="Top")).to_have_attribute("aria-current", "true")
    # Upvoting without JavaScript comes back to the same order.
    last = top_first(votes)[-1]
    plain.question(last).get_by_role("button", name="Upvote this question").click()
    page.wait_for_url(re.compile(rf"\?order=top#q-{last}$"))


def test_sort_by_votes_with_javascript_is_remembered(
    server: LiveServer,
    live_event: LiveEvent,
    reader: Callable[..., ReaderPage],
) -> None:
    votes = seed_votes(server, live_event)
    ana = reader()
    page = ana.page
    assert order_of(page) == sorted(votes, reverse=True)
    wait_until(
        lambda: (
            page.locator(f"#q-{top_first(votes)[0]} .upvotes").get_attribute("data-upvotes") == "3"
        ),
        what="the votes shown live",
    )
    page.get_by_role("link", name="Top").click()
    page.wait_for_url(re.compile(r"\?order=top"))
    wait_live(page)
    assert order_of(page) == top_first(votes)
    # Back to the plain address (a reload of the event page): the choice is remembered.
    page.goto(f"/events/{live_event.slug}")
    page.wait_for_url(re.compile(r"\?order=top"))
    wait_live(page)
    assert order_of(page) == top_first(votes)
    expect(page.get_by_role("link", name="Top")).to_have_attribute("aria-current", "true")

    # A new upvote while at the top of the list re-sorts it live.
    upvote(server, top_first(votes)[-1], 5)
    expect(page.locator("#questions > article").first).to_have_attribute(
        "data-question-id", str(top_first(votes)[-1])
    )


def scrolled_down(
    server: LiveServer, event: LiveEvent, reader: Callable[..., ReaderPage], at: int, **size: int
) -> tuple[ReaderPage, list[int], float]:
    """Eight answered questions (the newest first); the reader has scrolled question `at` (0:
    the oldest) to the top of the screen. Returns the page, the ids and window.scrollY."""
    ids = [publish(server, event, f"Long question number {n}?", answers=1) for n in range(8)]
    ana = reader(**size)
    ana.page.evaluate(f"document.getElementById('q-{ids[at]}').scrollIntoView({{block: 'start'}})")
    return ana, ids, ana.page.evaluate("window.scrollY")


def test_new_answers_while_scrolled_down_wait_behind_a_bar(
    server: LiveServer, live_event: LiveEvent, reader: Callable[..., ReaderPage]
) -> None:
    ana, ids, before = scrolled_down(server, live_event, reader, at=3)
    page = ana.page
    top_id = ids[-1]  # the newest leads
    reading = ana.question(ids[3])
    box_before = reading.bounding_box()
    first_box = ana.question(top_id).bounding_box()
    assert first_box is not None and first_box["y"] < 0, "the reader is down the list"

    for n in range(3):
        answer(server, live_event, top_id, f"Live answer {n}")
    bar = page.locator("#new-items button")
    expect(bar).to_have_text("3 new answers — show")
    expect(page.locator("#new-items")).to_have_attribute("aria-live", "polite")
    expect(ana.answers(top_id)).to_have_count(1)  # not inserted above the reader
    assert page.evaluate("window.scrollY") == before
    assert reading.bounding_box() == box_before
    assert ana.question(top_id).bounding_box() == first_box

    bar.click()
    expect(ana.answers(top_id)).to_have_count(4)
    expect(page.locator("#new-items")).to_be_empty()
    expect(page.locator("#qa-heading")).to_be_focused()


def test_show_takes_the_reader_to_a_new_answer_down_the_list(
    server: LiveServer, live_event: LiveEvent, reader: Callable[..., ReaderPage]
) -> None:
    """An answer to the question being read is shown where it is, not at the list's top."""
    ana, ids, before = scrolled_down(server, live_event, reader, at=4)
    page = ana.page
    answer(server, live_event, ids[4], "The answer to what you are reading")
    bar = page.locator("#new-items button")
    expect(bar).to_have_text("1 new answer — show")
    assert page.evaluate("window.scrollY") == before
    bar.click()
    expect(ana.answers(ids[4])).to_have_count(2)
    new = ana.answers(ids[4]).last
    expect(new).to_be_focused()
    expect(new).to_be_in_viewport()
    assert page.evaluate("window.scrollY") >= before  # not back to the top of the list


def test_an_answer_below_the_screen_goes_in_at_once(
    server: LiveServer, live_event: LiveEvent, reader: Callable[..., ReaderPage]
) -> None:
    """Nothing the reader sees moves, so nothing is held back and no bar appears."""
    ana, ids, before = scrolled_down(server, live_event, reader, at=5, height=600)
    page = ana.page
    oldest = ana.question(ids[0]).bounding_box()
    assert oldest is not None and oldest["y"] > 600, "the oldest question is below the screen"
    reading = ana.question(ids[5]).bounding_box()

    answer(server, live_event, ids[0], "A live answer further down")
    expect(ana.answers(ids[0])).to_have_count(2)
    expect(page.locator("#new-items")).to_be_empty()
    assert page.evaluate("window.scrollY") == before
    assert ana.question(ids[5]).bounding_box() == reading


def test_panel_on_now_labels_follow_a_slot_change(
    server: LiveServer, live_event: LiveEvent, reader: Callable[..., ReaderPage]
) -> None:
    ana = reader()
    page = ana.page
    labelled = page.locator(".panelists .panelist", has=page.locator(".now-label"))
    sandra, kerry = live_event.slotted[0], live_event.slotted[1]
    expect(page.locator(f"#panelist-{sandra} .now-label")).to_have_text("on now")
    expect(labelled).to_have_count(3)
    page.evaluate("window.__sameDocument = true")
    server.clock.advance(minutes=31)  # into slot 2: Kerry Dale replaces Sandra Kemp
    expect(page.locator(f"#panelist-{kerry} .now-label")).to_have_text("on now")
    expect(page.locator(f"#panelist-{sandra} .now-label")).to_have_count(0)
    expect(labelled).to_have_count(3)
    expect(ana.on_now()).to_have_text(["Maria Ashdown", "Jenna Holt", "Kerry Dale"])
    # The schedule's "now" label moves with the slot.
    first, second = live_event.slots[0], live_event.slots[1]
    expect(page.locator(f'.slot[data-slot-id="{second}"] .now-label')).to_have_text("now")
    expect(page.locator(f'.slot[data-slot-id="{first}"] .now-label')).to_have_count(0)
    expect(page.locator(".slots .now-label")).to_have_count(1)
    assert ana.same_document()


def test_a_remembered_order_never_costs_the_reader_a_notice(
    live_event: LiveEvent, reader: Callable[..., ReaderPage]
) -> None:
    """Following the remembered order reloads the page; a page carrying a one-time notice (here:
    a question posted the plain way, as without JavaScript) is left as it is."""
    ana = reader()
    page = ana.page
    page.get_by_role("link", name="Top").click()  # remembered
    page.wait_for_url(re.compile(r"\?order=top"))
    page.goto(f"/events/{live_event.slug}")
    page.wait_for_url(re.compile(r"\?order=top"))  # followed on a plain visit
    page.goto(f"/events/{live_event.slug}?order=newest")  # a shared link: Top stays remembered
    wait_live(page)
    page.locator("#q-body").fill("Is there an age limit for applying?")
    # Posted past feedback.js (a plain submit, no submit event): the server's redirect has no
    # ?order= and its page carries the one-time thank-you notice.
    page.evaluate("HTMLFormElement.prototype.submit.call(document.getElementById('question-form'))")
    expect(page.locator("#ask .notice")).to_contain_text("awaits moderation")
    wait_live(page)
    assert "order=" not in page.url
    expect(page.locator("#ask .notice")).to_contain_text("awaits moderation")


@pytest.mark.parametrize("width", [320, 375, 1280])
def test_no_sideways_scroll_with_the_ask_box_open(
    width: int, live_event: LiveEvent, reader: Callable[..., ReaderPage]
) -> None:
    ana = reader(width=width, height=700)
    ana.page.locator("#q-body").fill("A question long enough to open the whole form?")
    expect(ana.page.locator("#q-to")).to_be_visible()
    overflow = ana.page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    # On a phone the panel and schedule sit behind a disclosure; beside the Q&A on a desktop.
    details = ana.page.locator("#panel-details")
    if width < 900:
        expect(details.locator(".panelists")).to_be_hidden()
        details.locator("summary").click()
    expect(details.locator(".panelists")).to_be_visible()
