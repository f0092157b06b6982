"""Screenshots of every page type at desktop and phone width, on the demo data.

Always written to artefacts/screenshots/ (git-ignored; CI keeps it). With UPDATE_SCREENSHOTS=1
they are also written to docs/screenshots/, the set the README shows:
    UPDATE_SCREENSHOTS=1 python -m pytest tests/browser/test_screenshots.py
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from tests.browser.conftest import ROOT, DemoSite, Hygiene
from tests.browser.tour import PAGE_TYPES, visit

pytestmark = pytest.mark.browser

ARTEFACTS = ROOT / "artefacts" / "screenshots"
DOCS = ROOT / "docs" / "screenshots"
WIDTHS = {"desktop": (1280, 800), "phone": (375, 812)}
FULL_PAGE = {"event"}  # the event page is the product: show all of it; the rest, one screen


def destinations() -> list[Path]:
    folders = [ARTEFACTS]
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        folders.append(DOCS)
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    return folders


def capture(page: Page, full_page: bool, attempts: int = 3) -> bytes:
    """A screenshot; Chromium now and then answers "Unable to capture screenshot" on a busy
    machine (seen once in CI on a page that had rendered), so that one error is tried again."""
    for attempt in range(attempts):
        try:
            return page.screenshot(full_page=full_page, animations="disabled", caret="hide")
        except PlaywrightError as exc:
            if "Unable to capture screenshot" not in str(exc) or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


@pytest.mark.parametrize("kind", list(PAGE_TYPES))
def test_screenshot(
    kind: str, demo_site: DemoSite, open_page: Callable[..., Page], hygiene: Hygiene
) -> None:
    folders = destinations()
    for label, (width, height) in WIDTHS.items():
        page = visit(kind, demo_site, open_page, hygiene, width=width, height=height)
        # The focus ring of a just-submitted button is not part of the picture.
        page.evaluate("document.activeElement && document.activeElement.blur()")
        image = capture(page, full_page=kind in FULL_PAGE and label == "desktop")
        for folder in folders:
            (folder / f"{kind}-{label}.png").write_bytes(image)
        page.context.close()
