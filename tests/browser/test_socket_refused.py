"""A reader refused a live socket (over the per-address cap) backs off and follows the event
through the polling twin instead; the page keeps working."""

from __future__ import annotations

import dataclasses

import pytest
from playwright.sync_api import expect

from panel.config import Settings
from tests.browser.conftest import Hygiene, LiveEvent, OpenPage, wait_until
from tests.conftest import EDITOR, LiveServer


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, max_sockets_per_ip=1)  # a second page is refused


def test_a_refused_reader_follows_the_event_by_polling(
    server: LiveServer, live_event: LiveEvent, open_page: OpenPage, hygiene: Hygiene
) -> None:
    hygiene.allow_console(r"WebSocket connection to .* failed")  # Chromium logs the 429
    first = open_page(server.url, f"/events/{live_event.slug}")
    expect(first.locator("#connection")).to_have_attribute("data-state", "live")

    second = open_page(server.url, f"/events/{live_event.slug}")
    # Polling starts after the second refusal.
    wait_until(lambda: server.services.socket_caps.refused >= 2, what="two refusals")
    expect(second.locator("#connection")).not_to_have_attribute("data-state", "live")
    question, _ = server.call(
        lambda: server.actions.post_question(live_event.id, "reader-x", "Is it shift work?")
    )
    server.call(lambda: server.actions.moderate(question.id, "approve", EDITOR))
    # The first page hears it on its socket, the refused one by polling (every ~15 s).
    expect(first.locator(f"#q-{question.id}")).to_be_visible()
    expect(second.locator(f"#q-{question.id}")).to_be_visible(timeout=40_000)
    assert server.services.socket_caps.open == 1, "the refused page holds no socket"
