"""The post-event report in Chromium, under the site's real CSP: every chart loads as an
image and is drawn with its own styles (not the unstyled black a blocked <style> leaves), and
the print stylesheet leaves black-on-white charts and tables without the site's chrome.
(axe, 320 px and the screenshots cover the page through tests/browser/tour.py.)"""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.browser.conftest import DemoSite, Hygiene
from tests.browser.tour import visit

pytestmark = pytest.mark.browser

BAR_BLUE = (0x1D, 0x4F, 0x91)  # panel/charts.py STYLE's first colour


def near(pixel: tuple[int, ...], colour: tuple[int, int, int], slack: int = 12) -> bool:
    return all(abs(a - b) <= slack for a, b in zip(pixel[:3], colour, strict=True))


def test_charts_render_under_the_csp(
    demo_site: DemoSite, open_page: Callable[..., Page], hygiene: Hygiene
) -> None:
    page = visit("desk-report", demo_site, open_page, hygiene)
    charts = page.locator(".report-chart img")
    expect(charts).to_have_count(7)
    csp = page.evaluate(
        "async () => (await fetch(location.href)).headers.get('content-security-policy')"
    )
    assert "style-src 'self'" in csp and "script-src 'self'" in csp
    for index in range(charts.count()):
        chart = charts.nth(index)
        chart.scroll_into_view_if_needed()
        page.wait_for_function(
            "(img) => img.complete && img.naturalWidth > 0", arg=chart.element_handle()
        )
        assert chart.get_attribute("alt"), "a chart without its text alternative"
    # The first chart's bars carry its style's blue: the SVG's own <style> applied.
    image = Image.open(io.BytesIO(charts.first.screenshot())).convert("RGB")
    colours = image.getcolors(maxcolors=image.width * image.height) or []
    assert any(near(rgb, BAR_BLUE) for _, rgb in colours), "the chart was drawn unstyled"
    # Each chart has its table of the same figures right under it.
    for key in ("questions", "moderation", "panelists", "slots", "audience", "top", "directed"):
        expect(page.locator(f"#{key}-table")).to_be_attached()


def test_print_stylesheet(
    demo_site: DemoSite, open_page: Callable[..., Page], hygiene: Hygiene
) -> None:
    page = visit("desk-report", demo_site, open_page, hygiene)
    page.emulate_media(media="print")
    expect(page.locator(".masthead")).to_be_hidden()
    expect(page.locator(".desk-nav")).to_be_hidden()
    expect(page.locator(".report-downloads")).to_be_hidden()
    expect(page.locator(".report-chart img").first).to_be_visible()
    body = page.evaluate(
        "() => { const s = getComputedStyle(document.body); return [s.color, s.backgroundColor]; }"
    )
    assert body == ["rgb(0, 0, 0)", "rgb(255, 255, 255)"]
    # The long audience table prints whole, not in its scrolling box.
    overflow = page.evaluate(
        "() => getComputedStyle(document.querySelector('.report-table-long')).maxHeight"
    )
    assert overflow == "none"
