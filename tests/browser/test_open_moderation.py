"""Transparent moderation in the browser: the asker sees the reason an editor shared, live and
without a reload; a second reader (another browser context) never sees it, in the page, the
socket, polling or the API; the public question counts update live."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from playwright.sync_api import expect

from tests.browser.conftest import LiveEvent, OpenPage, wait_until
from tests.browser.pages import DeskPage, ReaderPage
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
    ana.ask("Is my neighbour Jo Bloggs on probation?")
    mine = ana.mine()
    expect(mine).to_have_text([re.compile(r"^Awaiting moderation: Is my neighbour")])
    question_id = int(mine.first.get_attribute("data-mine-id") or 0)
    ana.page.evaluate("window.__sameDocument = true")  # a reload would forget this

    # The editor rejects it in the desk, privately noting why and telling the asker.
    more = editor.more(question_id)
    more.locator(f"#reason-{question_id}").fill("private note: names a person")
    more.get_by_label("Tell the asker").select_option("identifies_person")
    more.locator(f"#asker-note-{question_id}").fill("Ask again without the name.")
    more.get_by_role("button", name="Reject with reason").click()
    expect(editor.page.locator(f"#pending-{question_id}")).to_have_count(0)

    expect(mine).to_have_text(
        [
            re.compile(
                r"^Not published: Is my neighbour Jo Bloggs on probation\? \(the editors said: "
                r"Identifies a person: Ask again without the name\.\)$"
            )
        ]
    )
    assert ana.page.evaluate("window.__sameDocument === true"), "the page was reloaded"

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
