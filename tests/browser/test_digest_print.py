"""The desk's digest in Chromium: printed, it keeps the questions and drops the desk's chrome;
the pending checkbox works without JavaScript. (axe, 320 px and screenshots: tour.py.)"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from panel.demo import UPCOMING_SLUG
from tests.browser.conftest import DemoSite

pytestmark = pytest.mark.browser


def test_the_printed_digest_has_no_desk_chrome(
    demo_site: DemoSite, open_page: Callable[..., Page]
) -> None:
    page = open_page(
        demo_site.url,
        f"/desk/events/{UPCOMING_SLUG}/digest",
        storage_state=demo_site.editor_state,
        js=False,
    )
    chrome = [".masthead", ".desk-nav", ".digest-controls", ".site-footer"]
    for selector in chrome:
        expect(page.locator(selector)).to_be_visible()
    expect(page.locator(".digest-question.is-pending")).to_have_count(0)

    # The checkbox is a plain GET form: ticking it adds the pending questions, marked.
    page.get_by_label("Include pending questions").check()
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(f"{demo_site.url}/desk/events/{UPCOMING_SLUG}/digest?pending=1")
    pending = page.locator(".digest-question.is-pending")
    expect(pending.first).to_contain_text("Pending")
    assert pending.count() >= 2

    page.emulate_media(media="print")
    for selector in chrome:
        expect(page.locator(selector)).to_be_hidden()
    expect(page.get_by_role("heading", name="Questions put to a panelist")).to_be_visible()
    expect(pending.first).to_be_visible()
    assert page.evaluate("getComputedStyle(document.body).color") == "rgb(0, 0, 0)"
