"""Transparent moderation in the browser: the asker sees the reason an editor shared, live and
without a reload; a second reader (another browser context) never sees it, in the page, the
socket, polling or the API; the public question counts update live."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from playwright.sync_api import expect

from tests.browser.conftest import (
    EDITOR_NAME,
    EDITOR_PASSWORD,
    LiveEvent,
    OpenPage,
    wait_until,
)
from tests.browser.helpers import assert_accessible
from tests.browser.pages import DeskPage, ReaderPage, sign_in_editor
from tests.conftest import EDITOR, LiveServer

SECRETS = ("neighbour", "Jo Bloggs", "without the name", "Identifies a person", "private note")


def test_the_asker_sees_the_shared_reason_live_and_another_reader_never_does(
    server: LiveServer,
    live_event: LiveEvent,
    reader: Callable[..., ReaderPage],
    editor: DeskPage,
    open_page: OpenPage,
) -> None:
    # Bob is another reader, in his own browser context; every socket frame he gets is kept.
    bob_page = open_page(server.url)
    received: list[str] = []
    bob_page.on(
        "websocket",
        lambda ws: ws.on("framereceived", lambda payload: received.append(str(payload))),
    )
    ReaderPage(bob_page, live_event.slug).open()

    ana = reader()
    question_id = ana.ask_own("Is my neighbour Jo Bloggs on probation?")

    # The editor rejects it in the desk, privately noting why and telling the asker.
    more = editor.more(question_id)
    more.locator(f"#reason-{question_id}").fill("private note: names a person")
    more.get_by_label("Tell the asker").select_option("identifies_person")
    more.locator(f"#asker-note-{question_id}").fill("Ask again without the name.")
    more.get_by_role("button", name="Reject with reason").click()
    expect(editor.page.locator(f"#pending-{question_id}")).to_have_count(0)

    expect(ana.mine()).to_have_text(
        [
            re.compile(
                r"^Not published: Is my neighbour Jo Bloggs on probation\? \(the editors said: "
                r"Identifies a person: Ask again without the name\.\)$"
            )
        ]
    )
    assert ana.same_document(), "the page was reloaded"

    # Bob's socket got the notice (so the reject reached him), carrying the id alone.
    notices = wait_until(
        lambda: [f for f in received if '"asker.notice"' in f], what="the asker notice"
    )
    assert json.loads(notices[0])["data"] == {"question_id": question_id}
    slug = live_event.slug
    polled = bob_page.request.get(f"/api/v1/events/{slug}/stream?since=0").text()
    api = bob_page.request.get(f"/api/v1/events/{slug}/questions").text()
    his = bob_page.request.get(f"/events/{slug}/mine")
    assert his.headers["cache-control"] == "private, no-store"
    assert his.json() == {"questions": []}
    bob_page.reload()
    for text in (bob_page.content(), *received, polled, api):
        for secret in SECRETS:
            assert secret not in text, (secret, text[:200])


def test_counts_update_live_on_the_reader_page(
    server: LiveServer, live_event: LiveEvent, reader: Callable[..., ReaderPage]
) -> None:
    bob = reader(width=375, height=740)
    counts = bob.page.locator("#question-counts")
    expect(counts).to_be_visible()

    def count(name: str):  # noqa: ANN202 - a Locator
        return counts.locator(f'[data-count="{name}"]')

    expect(count("received")).to_have_text("0")
    first, _ = server.call(lambda: server.actions.post_question(live_event.id, "r1", "One?"))
    expect(count("received")).to_have_text("1")  # the first change goes out at once
    expect(count("waiting")).to_have_text("1")

    # Inside the window the changes are counted, and sent together when it ends.
    server.call(lambda: server.actions.post_question(live_event.id, "r2", "Two?"))
    server.call(lambda: server.actions.moderate(first.id, "approve", EDITOR))
    server.call(lambda: server.actions.moderate(first.id, "answered", EDITOR))
    server.clock.advance(seconds=1)
    expect(count("received")).to_have_text("2")
    expect(count("published")).to_have_text("1")
    expect(count("answered")).to_have_text("1")
    expect(count("waiting")).to_have_text("1")
    expect(count("rejected")).to_have_text("0")


def test_a_long_note_is_refused_with_the_text_kept_and_both_pages_stay_accessible(
    server: LiveServer,
    live_event: LiveEvent,
    reader: Callable[..., ReaderPage],
    open_page: OpenPage,
    axe_source: str,
) -> None:
    ana = reader(axe=axe_source)
    question_id = ana.ask_own("Why was my last question not answered?")
    server.call(lambda: server.actions.create_editor(EDITOR_NAME, EDITOR_PASSWORD))
    page = open_page(server.url, width=375, height=800, axe=axe_source)
    sign_in_editor(page, EDITOR_NAME, EDITOR_PASSWORD)
    desk = DeskPage(page, live_event.slug).open()

    more = desk.more(question_id)
    more.get_by_label("Tell the asker").select_option("not_reached")
    note = "We ran out of time. " + "z" * 300
    more.locator(f"#asker-note-{question_id}").fill(note)
    more.get_by_role("button", name="Reject with reason").click()
    error = page.locator(f"#asker-error-{question_id}")
    expect(error).to_contain_text("the limit is 300")
    expect(page.locator(f"#asker-note-{question_id}")).to_have_value(note)
    expect(page.locator(f"#asker-reason-{question_id}")).to_have_value("not_reached")
    assert_accessible(page, "the desk with a refused note, at 375 px")

    page.locator(f"#asker-note-{question_id}").fill("We ran out of time.")
    more = desk.more(question_id)
    more.get_by_role("button", name="Reject with reason").click()
    expect(page.locator(f"#pending-{question_id}")).to_have_count(0)
    expect(ana.mine()).to_contain_text(["We could not get to it: We ran out of time."])
    assert ana.same_document()
    assert_accessible(ana.page, "the asker's page with a shared reason")
