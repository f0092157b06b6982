"""The readable audit log and the styled set-up page, in Chromium: sentences and diffs after
real desk actions, filters without JavaScript, and the set-up page's field sizes, button
widths, reflow at 375 px and axe at 1280 and 375 px."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from panel.domain import Actor
from tests.browser.conftest import EDITOR_NAME, LiveEvent
from tests.browser.helpers import assert_accessible
from tests.browser.pages import DeskPage, ReaderPage
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

# Every visible text-like input and select of the page's forms, with its rendered height.
FIELD_HEIGHTS = """() => [...document.querySelectorAll(
    'main form input:not([type=hidden]):not([type=radio]):not([type=checkbox]):not([type=file]),'
    + ' main form select')]
  .filter((el) => el.offsetParent !== null)
  .map((el) => ({id: el.id || el.name, height: el.getBoundingClientRect().height}))"""

# Each visible submit button with the width of its form.
BUTTON_WIDTHS = """() => [...document.querySelectorAll('main form button[type=submit]')]
  .filter((el) => el.offsetParent !== null)
  .map((el) => ({
    name: el.textContent.trim().replace(/\\s+/g, ' '),
    width: el.getBoundingClientRect().width,
    form: el.form.getBoundingClientRect().width,
  }))"""

TINY_FORM = 240  # px: a form that is little more than its button (Revoke, Remove) may fill it


def test_audit_log_reads_as_sentences_with_diffs_and_filters_without_js(
    server: LiveServer,
    live_event: LiveEvent,
    editor: DeskPage,
    reader: Callable[..., ReaderPage],
    open_page: Callable[..., Page],
    axe_source: str,
) -> None:
    asker = reader()
    asker.ask("Is the trainng paid?")
    asker.ask("What is a <b>typical</b> day?")
    typo = editor.pending_id("trainng")
    day = editor.pending_id("typical")
    editor.approve(day)
    ed = Actor("editor", 1, EDITOR_NAME)  # the editor signed in above
    server.call(lambda: server.actions.moderate(typo, "edit", ed, body="Is the training paid?"))

    page = open_page(
        server.url,
        f"/desk/events/{live_event.slug}/audit",
        storage_state=editor.page.context.storage_state(),
        axe=axe_source,
    )
    approved = page.locator(
        ".audit-sentence", has_text=re.compile(rf"^{EDITOR_NAME} approved #{day} at \d\d:\d\d$")
    )
    expect(approved).to_have_count(1)
    expect(approved.locator("time")).to_have_attribute(
        "datetime", re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
    )
    edit = page.locator(".audit-entry").filter(
        has=page.locator(".audit-sentence", has_text=f"{EDITOR_NAME} edited #{typo} at")
    )
    expect(edit.locator("del")).to_have_text("trainng")
    expect(edit.locator("ins")).to_have_text("training")
    # Unchanged fields are not listed; the approval shows only its status change.
    approval = page.locator(".audit-entry").filter(has=approved)
    expect(approval.locator(".audit-changes li")).to_have_count(1)
    expect(approval.locator(".audit-changes")).to_contain_text("status: pending")
    assert_accessible(page, "the audit log")

    # Without JavaScript: the filter is a plain GET form.
    no_js = open_page(
        server.url,
        f"/desk/events/{live_event.slug}/audit",
        storage_state=editor.page.context.storage_state(),
        js=False,
    )
    no_js.get_by_label("Action").select_option("question.edit")
    no_js.get_by_role("button", name="Filter").click()
    expect(no_js).to_have_url(re.compile(r"[?&]action=question\.edit"))
    shown = no_js.locator(".audit-entry .audit-sentence")
    expect(shown).to_have_count(1)
    expect(shown).to_contain_text(f"{EDITOR_NAME} edited #{typo}")
    no_js.get_by_label("Who").select_option(label="The system")
    no_js.get_by_role("button", name="Filter").click()
    expect(no_js.get_by_text("No entries match these filters.")).to_be_visible()
    no_js.get_by_role("link", name="Show everything").click()
    expect(shown.filter(has_text=f"approved #{day}")).to_have_count(1)
    expect(shown.filter(has_text="The system created the event")).to_have_count(1)


def _measure(page: Page, where: str) -> list[dict[str, Any]]:
    """Field heights agree within 2 px; no submit button is wider than 60% of a form that is
    more than a button; nothing scrolls sideways."""
    fields = page.evaluate(FIELD_HEIGHTS)
    assert fields, f"no fields on {where}"
    heights = [f["height"] for f in fields]
    assert max(heights) - min(heights) <= 2, f"{where}: field heights differ: {fields}"
    for button in page.evaluate(BUTTON_WIDTHS):
        if button["form"] > TINY_FORM:
            assert button["width"] <= 0.6 * button["form"], f"{where}: stretched {button}"
    width = page.evaluate("window.innerWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{where} scrolls"
    return fields


@pytest.mark.parametrize("width", [1280, 375])
def test_setup_page_fields_buttons_and_reflow(
    width: int,
    server: LiveServer,
    live_event: LiveEvent,
    editor: DeskPage,
    open_page: Callable[..., Page],
    axe_source: str,
) -> None:
    server.call(lambda: server.actions.create_invite(live_event.id, live_event.core[0]))
    state = editor.page.context.storage_state()
    page = open_page(
        server.url,
        f"/desk/events/{live_event.slug}/setup",
        storage_state=state,
        width=width,
        axe=axe_source,
    )
    for group in (
        "The event",
        "Details",
        "Status",
        "Moderation rules",
        "Slots",
        "Panel",
        "Invites",
    ):
        expect(page.get_by_role("heading", name=group, exact=True)).to_be_visible()
    expect(page.locator("form.slot-form")).to_have_count(len(live_event.slots))
    fields = _measure(page, f"set-up at {width}px")
    assert {"title", "date", "start", "slow", "new-slot-start"} <= {f["id"] for f in fields}
    # Labels sit above their inputs, with a gap.
    label, field = page.locator("label[for=title]"), page.locator("#title")
    label_box, field_box = label.bounding_box(), field.bounding_box()
    assert label_box and field_box
    assert label_box["y"] + label_box["height"] + 2 <= field_box["y"]
    invites = page.get_by_role("table", name="Invite links")
    expect(invites.locator("tbody tr")).to_have_count(1)
    box = invites.bounding_box()
    assert box and box["x"] + box["width"] <= width
    assert_accessible(page, f"the set-up page at {width}px")

    # The desk's other forms share the field size.
    reference = fields[0]["height"]
    for path in (
        "/desk/new-event",
        "/desk/account",
        "/desk/tokens",
        f"/desk/events/{live_event.slug}/audit",
    ):
        other = open_page(server.url, path, storage_state=state, width=width)
        for f in _measure(other, f"{path} at {width}px"):
            assert abs(f["height"] - reference) <= 2, (path, f, reference)
        other.context.close()
    login = open_page(server.url, "/desk/login", width=width)
    for f in _measure(login, f"sign-in at {width}px"):
        assert abs(f["height"] - reference) <= 2, ("/desk/login", f, reference)
