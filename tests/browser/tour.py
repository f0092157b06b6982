"""Every page type, opened as its audience would: the list the axe, small-screen and screenshot
tests walk. Add a page type here (e.g. the archive's) and all three cover it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from panel.demo import ARCHIVE_SLUG, UPCOMING_SLUG
from tests.browser.conftest import DemoSite, Hygiene
from tests.browser.pages import wait_live


def _front(site: DemoSite, open_page: Callable[..., Page], **options: Any) -> Page:
    return open_page(site.url, "/", **options)


def _event(site: DemoSite, open_page: Callable[..., Page], **options: Any) -> Page:
    page = open_page(site.url, f"/events/{site.slug}", **options)
    wait_live(page)
    return page


def _event_form_error(site: DemoSite, open_page: Callable[..., Page], **options: Any) -> Page:
    page = _event(site, open_page, **options)
    page.locator("#q-body").fill("   ")  # passes `required`, refused by the server: empty
    page.get_by_role("button", name="Send question").click()
    expect(page.locator("#form-error")).to_be_visible()
    wait_live(page)
    return page


def _desk_login(site: DemoSite, open_page: Callable[..., Page], **options: Any) -> Page:
    return open_page(site.url, "/desk/login", **options)


def _desk_index(site: DemoSite, open_page: Callable[..., Page], **options: Any) -> Page:
    return open_page(site.url, "/desk", storage_state=site.editor_state, **options)


def _desk_event(site: DemoSite, open_page: Callable[..., Page], **options: Any) -> Page:
    page = open_page(
        site.url, f"/desk/events/{site.slug}", storage_state=site.editor_state, **options
    )
    wait_live(page)
    return page


def _desk_page(path: str) -> Callable[..., Page]:
    """A signed-in desk page without a live connection (set-up, audit log, accounts…)."""

    def visit_desk(site: DemoSite, open_page: Callable[..., Page], **options: Any) -> Page:
        return open_page(
            site.url, path.format(slug=site.slug), storage_state=site.editor_state, **options
        )

    return visit_desk


def _console(site: DemoSite, open_page: Callable[..., Page], **options: Any) -> Page:
    page = open_page(
        site.url, f"/console/{site.slug}", storage_state=site.panelist_state, **options
    )
    wait_live(page)
    return page


def _console_answering(site: DemoSite, open_page: Callable[..., Page], **options: Any) -> Page:
    """Maria picks up her draft: the one answer box open, next to the backstage."""
    page = _console(site, open_page, **options)
    card = page.locator(".console-question", has_text="how much of the job is paperwork")
    card.get_by_role("link", name="Continue your draft").click()
    expect(page.locator("#composer-body")).to_be_focused()
    return page


def _not_found(site: DemoSite, open_page: Callable[..., Page], **options: Any) -> Page:
    return open_page(site.url, "/events/no-such-event", **options)


PAGE_TYPES: dict[str, Callable[..., Page]] = {
    "front": _front,
    "event": _event,
    "event-form-error": _event_form_error,
    "desk-login": _desk_login,
    "desk-index": _desk_index,
    "desk-event": _desk_event,
    "desk-setup": _desk_page("/desk/events/{slug}/setup"),
    "desk-audit": _desk_page("/desk/events/{slug}/audit"),
    "desk-audit-all": _desk_page("/desk/audit"),
    "desk-transcript": _desk_page(f"/desk/events/{ARCHIVE_SLUG}/transcript"),
    "desk-digest": _desk_page(f"/desk/events/{UPCOMING_SLUG}/digest?pending=1"),
    "desk-report": _desk_page(f"/desk/events/{ARCHIVE_SLUG}/report"),
    "desk-mail": _desk_page("/desk/mail"),
    "desk-event-mail": _desk_page(f"/desk/events/{UPCOMING_SLUG}/mail"),
    "desk-new-event": _desk_page("/desk/new-event"),
    "desk-account": _desk_page("/desk/account"),
    "desk-editors": _desk_page("/desk/editors"),
    "desk-tokens": _desk_page("/desk/tokens"),
    "console": _console,
    "console-answering": _console_answering,
    "not-found": _not_found,
}


def visit(
    kind: str, site: DemoSite, open_page: Callable[..., Page], hygiene: Hygiene, **options: Any
) -> Page:
    """Open one page type on the demo site, ready (live pages connected)."""
    if kind == "not-found":
        hygiene.allow_status(404, r"/events/no-such-event$")
    if kind == "event-form-error":  # a refused question answers 422 with the page itself
        hygiene.allow_status(422, r"/events/[^/]+/questions$")
    return PAGE_TYPES[kind](site, open_page, **options)
