"""Readers get public pages (no cookie, cacheable by a CDN) until they ask or upvote, in Chromium,
with and without JavaScript; a form posted from another site is refused, its text kept."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, Response, expect

from panel.domain import Actor
from panel.web.caching import LIVE, PRIVATE
from tests.browser.conftest import Hygiene, LiveEvent, OpenPage
from tests.browser.pages import ReaderPage, wait_live
from tests.conftest import EDITOR, LiveServer

pytestmark = pytest.mark.browser


def answered_question(server: LiveServer, live_event: LiveEvent) -> int:
    async def make() -> int:
        question, _ = await server.actions.post_question(
            live_event.id, "someone-else", "What does a typical week look like?", "Kim"
        )
        await server.actions.moderate(question.id, "approve", EDITOR)
        maria = Actor("panelist", live_event.core[0], "Maria Ashdown")
        await server.actions.answer(question.id, "Court in the morning.", maria)
        return question.id

    return server.call(make)


def assert_public(response: Response | None) -> None:
    assert response is not None and response.status == 200
    assert response.header_value("set-cookie") is None
    assert "cookie" not in (response.header_value("vary") or "").lower()
    assert response.header_value("cache-control") == LIVE


def has_reader_cookie(page: Page) -> bool:
    return any(c["name"] == "livepanel" for c in page.context.cookies())


def test_a_reader_without_javascript_is_public_until_they_upvote_and_ask(
    server: LiveServer, live_event: LiveEvent, open_page: OpenPage
) -> None:
    answered = answered_question(server, live_event)
    plain = ReaderPage(open_page(server.url, js=False), live_event.slug, js=False)
    page = plain.page
    assert_public(page.goto(f"/events/{live_event.slug}"))
    assert not has_reader_cookie(page)

    # The first upvote: a page without a token, taken because it came from this site.
    upvote = plain.question(answered).get_by_role("button", name="Upvote this question")
    with page.expect_navigation():
        upvote.click()
    expect(plain.question(answered).locator(".upvotes").first).to_have_text("1 upvote")
    assert has_reader_cookie(page)
    # Now the page carries the session's token; a second upvote from this reader doesn't count.
    with page.expect_navigation() as second:
        upvote.click()
    assert second.value is not None
    expect(plain.question(answered).locator(".upvotes").first).to_have_text("1 upvote")

    plain.ask("Is the training paid?", name="Robin")
    expect(plain.mine()).to_have_text([re.compile(r"^Awaiting moderation: Is the training paid\?")])
    private = page.reload()
    assert private is not None and private.header_value("cache-control") == PRIVATE
    assert "cookie" in (private.header_value("vary") or "").lower()


def test_a_reader_with_javascript_follows_live_and_acts_without_a_cookie_first(
    server: LiveServer, live_event: LiveEvent, open_page: OpenPage
) -> None:
    answered = answered_question(server, live_event)
    reader = ReaderPage(open_page(server.url), live_event.slug)
    page = reader.page
    assert_public(page.goto(f"/events/{live_event.slug}"))
    wait_live(page)  # the live stream needs no cookie
    assert not has_reader_cookie(page)

    async def approve_another() -> int:
        question, _ = await server.actions.post_question(live_event.id, "x", "Weekends too?")
        await server.actions.moderate(question.id, "approve", EDITOR)
        return question.id

    late = server.call(approve_another)
    expect(reader.question(late)).to_contain_text("Weekends too?")
    assert not has_reader_cookie(page)

    # The script's upvote (the JSON API) starts the session...
    # Found by its form, not its name: once counted, the button is named "Upvoted".
    button = reader.question(answered).locator(".upvote-form button")
    expect(button).to_have_accessible_name("Upvote this question")
    button.click()
    expect(button).to_be_disabled()
    expect(button).to_have_text("Upvoted")
    expect(reader.question(answered).locator(".upvotes").first).to_have_text("1 upvote")
    assert has_reader_cookie(page)
    # ...while the page's question form still has no token: it is taken from this site.
    reader.ask("Do you work shifts?")
    expect(reader.mine()).to_have_text([re.compile(r"^Awaiting moderation: Do you work shifts")])


def test_a_question_posted_from_another_site_is_refused_and_kept(
    server: LiveServer,
    live_event: LiveEvent,
    open_page: OpenPage,
    hygiene: Hygiene,
) -> None:
    hygiene.allow_status(403, r"/events/[^/]+/questions$")
    # Another site's page (localhost is not 127.0.0.1), served by the browser itself.
    other = f"http://localhost:{server.port}/elsewhere"
    form = (
        f'<form method="post" action="{server.url}/events/{live_event.slug}/questions">'
        '<input name="body" value="Planted question?"><button>Go</button></form>'
    )
    page = open_page(server.url, js=False)
    page.route(other, lambda route: route.fulfill(content_type="text/html", body=form))
    page.goto(other)
    with page.expect_response(re.compile(r"/questions$")) as posted:
        page.get_by_role("button", name="Go").click()
    refused = posted.value
    assert refused.status == 403 and refused.header_value("set-cookie") is None
    expect(page.locator("#form-error")).to_contain_text("did not come from this site")
    expect(page.get_by_label("Your question", exact=True)).to_have_value("Planted question?")
    assert not has_reader_cookie(page)
    # Nothing lost: sent again from this site's page (the refusal), it goes through.
    ours = ReaderPage(page, live_event.slug, js=False)
    page.get_by_role("button", name="Send question").click()
    ours.expect_notice("awaits moderation")
    assert has_reader_cookie(page)
