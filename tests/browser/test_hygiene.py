"""The hygiene fixture itself: it sees console errors, uncaught exceptions and failed requests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import Hygiene
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


def test_hygiene_reports_what_goes_wrong(
    server: LiveServer, open_page: Callable[..., Page], hygiene: Hygiene
) -> None:
    page = open_page(server.url, "/")
    assert hygiene.problems == [], "the front page itself must be clean"
    with page.expect_console_message():
        page.evaluate("console.error('deliberate console error')")
    with page.expect_event("pageerror"):
        page.evaluate("setTimeout(() => { throw new Error('deliberate uncaught error'); })")
    with (
        page.expect_console_message(lambda m: "404" in m.text),
        page.expect_response("**/no-such-resource"),
    ):
        page.evaluate("fetch('/no-such-resource').catch(() => {})")
    page.route("**/cut-on-purpose", lambda route: route.abort())
    with page.expect_event("requestfailed"):
        page.evaluate("fetch('/cut-on-purpose').catch(() => {})")
    found = "\n".join(hygiene.take())
    assert "deliberate console error" in found
    assert "deliberate uncaught error" in found
    assert "HTTP 404 for GET" in found and "/no-such-resource" in found
    assert "request failed: GET " in found and "/cut-on-purpose" in found


def test_expected_statuses_are_not_problems(
    server: LiveServer, open_page: Callable[..., Page], hygiene: Hygiene
) -> None:
    hygiene.allow_status(404, r"/events/nowhere$")
    page = open_page(server.url, "/events/nowhere")
    assert page.get_by_role("heading", level=1).inner_text() == "Page not found"
