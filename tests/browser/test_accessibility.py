"""Accessibility: axe-core on every page type (WCAG 2.1 A and AA), keyboard-only use, live
announcements, 320 px wide screens and 200% zoom."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import DemoSite, Hygiene, LiveEvent
from tests.browser.helpers import assert_accessible
from tests.browser.pages import ConsolePage, DeskPage, ReaderPage, tab_to
from tests.browser.tour import PAGE_TYPES, visit
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


# Every page type at desktop width; the readers' page at phone width too (most readers).
@pytest.mark.parametrize(
    ("kind", "width"), [*((kind, 1280) for kind in PAGE_TYPES), ("event", 375)]
)
def test_no_wcag_violations(
    kind: str,
    width: int,
    demo_site: DemoSite,
    open_page: Callable[..., Page],
    hygiene: Hygiene,
    axe_source: str,
) -> None:
    page = visit(kind, demo_site, open_page, hygiene, width=width, axe=axe_source)
    assert_accessible(page, f"{kind} at {width}px")


@pytest.mark.parametrize("kind", list(PAGE_TYPES))
def test_usable_at_320_pixels_wide(
    kind: str, demo_site: DemoSite, open_page: Callable[..., Page], hygiene: Hygiene
) -> None:
    """WCAG reflow: nothing scrolls sideways on a 320 px screen."""
    page = visit(kind, demo_site, open_page, hygiene, width=320, height=640)
    assert_no_sideways_scroll(page, 320)


def assert_no_sideways_scroll(page: Page, width: int) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    if scroll_width > width:
        wide = page.evaluate(
            """(width) => [...document.querySelectorAll('body *')]
          .filter((el) => el.getBoundingClientRect().right > width + 1)
          .slice(0, 8).map((el) => `${el.tagName.toLowerCase()}#${el.id}.${el.className}`)""",
            width,
        )
        raise AssertionError(f"{page.url} is {scroll_width}px wide at {width}px; too wide: {wide}")


def test_event_page_at_200_percent_zoom(reader: Callable[..., ReaderPage]) -> None:
    """A 1280 px window zoomed to 200% lays out like a 640 px one with twice the pixels."""
    zoomed = reader(width=640, height=400, scale=2)
    assert_no_sideways_scroll(zoomed.page, 640)
    form = zoomed.page.locator("#question-form")
    form.scroll_into_view_if_needed()
    expect(form.get_by_role("button", name="Send question")).to_be_visible()
    zoomed.ask("Can I read this at 200%?")
    expect(zoomed.mine()).to_contain_text("Can I read this at 200%?")
    assert_no_sideways_scroll(zoomed.page, 640)


def test_keyboard_only_post_moderate_and_answer(
    live_event: LiveEvent,
    editor: DeskPage,
    panelist: Callable[..., ConsolePage],
    reader: Callable[..., ReaderPage],
) -> None:
    """Post, moderate and answer with the keyboard alone; the answer is announced."""
    asker = reader()
    page = asker.page
    tab_to(page, "#q-body")
    page.keyboard.type("Which qualities make a good probation officer?")
    tab_to(page, "#question-form button[type=submit]")
    page.keyboard.press("Space")
    # Asked in place (static/js/feedback.js): the status is announced, the page stays.
    expect(page.locator("#ask-status")).to_have_text("Thanks — an editor will read it.")

    question_id = editor.pending_id("good probation officer")
    tab_to(editor.page, f"#pending-{question_id} button.approve")
    editor.page.keyboard.press("Enter")
    expect(editor.published(question_id)).to_be_visible()
    expect(asker.question(question_id)).to_be_visible()

    console = panelist(live_event.core[0])
    expect(console.question(question_id)).to_be_visible()
    tab_to(console.page, f"#cq-{question_id} .answer-link")
    console.page.keyboard.press("Enter")
    expect(console.box()).to_be_focused()
    console.page.keyboard.type("Patience, curiosity and firm boundaries.")
    tab_to(console.page, f"#cq-{question_id} #composer button[type=submit]")
    console.page.keyboard.press("Enter")
    expect(console.question(question_id).locator(".answer")).to_have_count(1)

    expect(asker.answers(question_id)).to_contain_text("Patience, curiosity")
    announcer = page.locator("#announcer")
    expect(announcer).to_have_attribute("aria-live", "polite")
    expect(announcer).to_have_text(
        "New answer from Maria Ashdown to: Which qualities make a good probation officer?"
    )


def test_skip_link_moves_focus_to_the_content(
    server: LiveServer, reader: Callable[..., ReaderPage]
) -> None:
    page = reader().page
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
