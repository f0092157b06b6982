"""The console in a busy hour (issue 10): a typed answer never loses a character, the caret or
its place on screen; claims show within a second; backstage notes reach staff, never readers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from panel.domain import Draft
from tests.browser.conftest import LiveEvent, OpenPage, wait_until
from tests.browser.helpers import assert_accessible
from tests.browser.pages import ConsolePage, DeskPage, ReaderPage, wait_live
from tests.conftest import EDITOR, LiveServer

# A real answer's length and shape: several paragraphs, Markdown, non-ASCII.
DRAFT = "\n\n".join(
    f"Paragraph {n}: probation work is about **people**, not paperwork — café hours, "
    "late reports and the odd court date. Trainees shadow a practice tutor first, then "
    "hold a small caseload of their own; the degree runs alongside."
    for n in range(1, 5)
)
BOX_STATE = """() => {
  const box = document.getElementById('composer-body');
  return {
    value: box.value,
    start: box.selectionStart,
    end: box.selectionEnd,
    focused: document.activeElement === box,
    top: Math.round(box.getBoundingClientRect().top),
  };
}"""


def publish(server: LiveServer, event_id: int, body: str) -> int:
    """A reader's question, approved by the desk (the way questions reach the console)."""

    async def run() -> int:
        question, _ = await server.actions.post_question(event_id, "reader-" + body[:8], body)
        await server.actions.moderate(question.id, "approve", EDITOR)
        return question.id

    return server.call(run)


def ask(server: LiveServer, event_id: int, body: str, reader: str) -> int:
    async def run() -> int:
        question, _ = await server.actions.post_question(event_id, reader, body)
        return question.id

    return server.call(run)


def test_a_typed_answer_survives_a_busy_hour(
    server: LiveServer,
    live_event: LiveEvent,
    panelist: Callable[..., ConsolePage],
    axe_source: str,
) -> None:
    """Maria types under "Unanswered", caret in the middle, while 10 questions arrive, 3 are
    approved and Jenna answers the same question: every character, the caret, the selection
    and the box's place on screen stay; she sees who answered; a reload brings the draft back."""
    maria, jenna = live_event.core
    earlier = [publish(server, live_event.id, f"Earlier question number {n}?") for n in range(8)]
    target = earlier[4]  # mid-list: questions above and below it
    typist = panelist(maria, axe=axe_source)
    typist.page.goto(f"/console/{live_event.slug}?show=unanswered")
    wait_live(typist.page)
    colleague = panelist(jenna)

    box = typist.open_answer(target)
    box.fill(DRAFT)
    # The caret in the middle of the text, with a few words selected, the box mid-screen.
    typist.page.evaluate(
        "() => { const b = document.getElementById('composer-body');"
        " b.setSelectionRange(300, 320); b.scrollIntoView({block: 'center'}); }"
    )
    before = typist.page.evaluate(BOX_STATE)
    assert before["focused"] and before["start"] == 300 and before["end"] == 320

    readers = [f"busy-reader-{n}" for n in range(10)]
    arrived = [
        ask(server, live_event.id, f"Arriving live, number {n}?", r) for n, r in enumerate(readers)
    ]
    for question_id in arrived[:3]:
        server.call(lambda q=question_id: server.actions.moderate(q, "approve", EDITOR))
    expect(typist.new_questions()).to_have_text("3 new questions — show")
    colleague.answer(target, "Jenna here: yes, and the pay rises once you qualify.")

    situation = typist.question(target).locator(".situation")
    expect(situation).to_have_text("Answered by Jenna Holt — publish yours too, or discard.")
    after = typist.page.evaluate(BOX_STATE)
    # Scroll offsets are whole device pixels while layout is not, so the compensation for
    # the height change above the box may leave up to a pixel of rounding; nothing more.
    assert abs(after.pop("top") - before.pop("top")) <= 1, "the box moved on screen"
    assert after == before, "the typist's text, caret, selection or focus moved"
    for question_id in arrived[:3]:  # announced, not pushed in above the text
        expect(typist.question(question_id)).to_be_hidden()
    assert_accessible(typist.page, "console: box open, colleague answered, new questions waiting")

    # Typing on after the refreshes goes exactly where the caret was.
    typist.page.keyboard.type("[typed on]")
    value = typist.box().input_value()
    assert value == DRAFT[:300] + "[typed on]" + DRAFT[320:]

    # The draft reaches the server as she types, and comes back after a reload.
    wait_until(
        lambda: draft_on_server(server, target, maria) == value, what="the draft on the server"
    )
    typist.page.reload()
    wait_live(typist.page)
    expect(typist.box()).to_have_value(value)
    expect(typist.question(target).locator(".situation")).to_contain_text("Answered by Jenna Holt")
    # Publishing hers too: both answers are shown; the draft is gone.
    typist.question(target).get_by_role("button", name="Publish answer").click()
    expect(typist.question(target).locator(".answer")).to_have_count(2)
    wait_until(lambda: draft_on_server(server, target, maria) is None, what="draft cleared")


def draft_on_server(server: LiveServer, question_id: int, panelist_id: int) -> str | None:
    draft = _draft(server, question_id, panelist_id)
    return draft.body if draft else None


def claimed_on_server(server: LiveServer, question_id: int, panelist_id: int) -> bool:
    draft = _draft(server, question_id, panelist_id)
    return draft is not None and draft.claimed_until is not None


def _draft(server: LiveServer, question_id: int, panelist_id: int) -> Draft | None:
    async def read() -> Draft | None:
        async with server.services.store.read() as repo:
            return await repo.draft(question_id, panelist_id)

    return server.call(read)


def test_a_draft_survives_a_filter_change_and_a_lost_connection(
    server: LiveServer,
    live_event: LiveEvent,
    panelist: Callable[..., ConsolePage],
    hygiene: Any,
) -> None:
    maria = live_event.core[0]
    question_id = publish(server, live_event.id, "What does a typical week look like?")
    console = panelist(maria)
    console.open_answer(question_id).fill("Mondays are for")

    # Offline: typing goes on, kept on this device; back online, it reaches the server.
    hygiene.allow_console("ERR_INTERNET_DISCONNECTED")
    console.page.context.set_offline(True)
    expect(console.page.locator("#connection")).to_have_attribute("data-state", "offline")
    console.box().press("End")
    console.page.keyboard.type(" supervision and reports.")
    console.page.context.set_offline(False)
    wait_live(console.page)
    # A filter the question does not match: it stays in view, with the text, while she writes.
    console.page.get_by_role("link", name="Directed to me").click()
    wait_live(console.page)
    expect(console.box()).to_have_value("Mondays are for supervision and reports.")
    expect(console.question(question_id).locator(".kept-label")).to_be_visible()
    wait_until(
        lambda: (
            draft_on_server(server, question_id, maria)
            == "Mondays are for supervision and reports."
        ),
        what="the offline typing on the server",
    )


def test_a_claim_shows_to_colleagues_and_editors_within_a_second(
    server: LiveServer,
    live_event: LiveEvent,
    editor: DeskPage,
    panelist: Callable[..., ConsolePage],
    axe_source: str,
) -> None:
    maria, jenna = live_event.core
    question_id = publish(server, live_event.id, "How do you handle a hostile interview?")
    claimer = panelist(maria)
    colleague = panelist(jenna, axe=axe_source)
    colleague.expect_new(question_id)
    editor.page.reload()
    wait_live(editor.page)

    claimer.open_answer(question_id)
    mark = colleague.question(question_id).locator(".claim")
    expect(mark).to_have_text("Being answered by Maria Ashdown", timeout=1_000)
    expect(editor.published(question_id).locator(".claim")).to_have_text(
        "Being answered by Maria Ashdown", timeout=1_000
    )
    expect(claimer.question(question_id).locator(".claim")).to_have_count(0)  # not her own
    assert_accessible(colleague.page, "console: a colleague's claim shown")

    # A soft claim: Jenna can still answer.
    colleague.answer(question_id, "Stay calm and keep it short.")
    # Closing the box ends the claim at once.
    claimer.question(question_id).get_by_role("link", name="Close").click()
    expect(mark).to_have_count(0)

    # An idle box lets the claim lapse after about two minutes.
    claimer.open_answer(question_id)
    expect(mark).to_have_count(1)
    server.clock.advance(seconds=server.services.settings.claim_idle_seconds + 1)
    publish(server, live_event.id, "Anything that refreshes the list?")  # any live change
    expect(mark).to_have_count(0)


def test_a_refused_publish_keeps_the_text_with_the_reason(
    server: LiveServer,
    live_event: LiveEvent,
    panelist: Callable[..., ConsolePage],
    axe_source: str,
    hygiene: Any,
) -> None:
    hygiene.allow_status(422, r"/console/[^/]+/answers$")  # the refusal under test
    maria = live_event.core[0]
    question_id = publish(server, live_event.id, "Can I apply with a criminal record?")
    console = panelist(maria, axe=axe_source)
    console.open_answer(question_id).fill("It depends on the offence and how long ago.")
    # The box claims the question as it opens; a withdrawal before that claim lands would
    # refuse it (409), which the hygiene check reports as a failed request.
    wait_until(lambda: claimed_on_server(server, question_id, maria), what="the box's claim")
    server.call(lambda: server.actions.moderate(question_id, "withdraw", EDITOR))
    expect(console.question(question_id).locator(".situation")).to_contain_text(
        "The editors withdrew this question"
    )
    console.question(question_id).get_by_role("button", name="Publish answer").click()
    expect(console.page.locator("#composer-status")).to_contain_text(
        "Not published: Only a published question can be answered."
    )
    expect(console.box()).to_have_value("It depends on the offence and how long ago.")
    # The refused text is saved as a draft, and saving does not wipe the reason.
    wait_until(
        lambda: (
            draft_on_server(server, question_id, maria)
            == "It depends on the offence and how long ago."
        ),
        what="the refused answer kept as a draft",
    )
    expect(console.page.locator("#composer-status")).to_contain_text("Not published")
    assert_accessible(console.page, "console: publish refused")

    # Over the limit: a clear message, and the text stays.
    limit = server.services.settings.answer_max_chars
    console.box().fill("x" * (limit + 5))
    expect(console.page.locator("#composer-status")).to_contain_text(f"the limit is {limit:,}")
    expect(console.box()).to_have_value("x" * (limit + 5))


def test_backstage_notes_reach_staff_live_and_never_readers(
    server: LiveServer,
    live_event: LiveEvent,
    editor: DeskPage,
    panelist: Callable[..., ConsolePage],
    reader: Callable[..., ReaderPage],
    axe_source: str,
    open_page: OpenPage,
) -> None:
    maria, jenna = live_event.core
    sandra = live_event.slotted[0]
    question_id = publish(server, live_event.id, "Is the training paid?")
    audience = reader()
    console_maria = panelist(maria, axe=axe_source)
    console_sandra = panelist(sandra)
    console_jenna = panelist(jenna)

    # The editor asks Sandra to take the question; only Sandra (and the desk) see it.
    desk = editor.page
    desk.locator("#note-to").select_option(label="Sandra Kemp")
    desk.locator("#note-body").fill(f"Sandra, can you take #{question_id}?")
    desk.get_by_role("button", name="Send note").click()
    expect(console_sandra.page.locator("#backstage-notes")).to_contain_text(
        f"Sandra, can you take #{question_id}?"
    )
    expect(desk.locator("#backstage-notes")).to_contain_text("Sandra, can you take")
    # A note to the whole panel.
    desk.locator("#note-to").select_option(label="The whole panel")
    desk.locator("#note-body").fill("5 minutes left")
    desk.get_by_role("button", name="Send note").click()
    for console in (console_maria, console_sandra, console_jenna):
        expect(console.page.locator("#backstage-notes")).to_contain_text("5 minutes left")
    expect(console_jenna.page.locator("#backstage-notes")).not_to_contain_text("Sandra, can you")

    # Maria flags the question to the editors from its card.
    console_maria.expect_new(question_id)
    console_maria.question(question_id).get_by_role("link", name=f"Flag #{question_id}").click()
    expect(console_maria.page.locator("#note-body")).to_be_focused()
    expect(console_maria.page.locator("#note-about")).to_have_value(str(question_id))
    console_maria.page.keyboard.type("Needs a legal check")
    console_maria.page.get_by_role("button", name="Send to the editors").click()
    expect(desk.locator("#backstage-notes")).to_contain_text("Needs a legal check")
    expect(editor.published(question_id).locator(".flag-mark")).to_have_text(
        "Flagged by Maria Ashdown: Needs a legal check"
    )
    expect(console_maria.page.locator("#note-body")).to_have_value("")
    assert_accessible(console_maria.page, "console: backstage notes")

    # Readers see none of it, on the live page or after a reload.
    audience.page.reload()
    wait_live(audience.page)
    for text in ("Sandra, can you take", "5 minutes left", "Needs a legal check"):
        expect(audience.page.locator("body")).not_to_contain_text(text)


def test_the_console_without_javascript_answers_and_keeps_drafts(
    server: LiveServer, live_event: LiveEvent, open_page: OpenPage
) -> None:
    maria = live_event.core[0]
    question_id = publish(server, live_event.id, "Do you work weekends?")
    token = server.call(lambda: server.actions.create_invite(live_event.id, maria))
    page: Page = open_page(server.url, f"/invite/{token}", js=False)
    page.locator(f"#cq-{question_id} .answer-link").click()
    page.locator("#composer-body").fill("Sometimes, on a rota.")
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator(".notice")).to_have_text("Draft saved.")
    page.goto(f"/console/{live_event.slug}")
    expect(page.locator(f"#cq-{question_id} .answer-link")).to_contain_text("Continue your draft")
    page.locator(f"#cq-{question_id} .answer-link").click()
    expect(page.locator("#composer-body")).to_have_value("Sometimes, on a rota.")
    page.get_by_role("button", name="Publish answer").click()
    expect(page.locator(f"#cq-{question_id} .answer")).to_contain_text("Sometimes, on a rota.")
    assert draft_on_server(server, question_id, maria) is None


def test_an_edit_or_merge_by_the_editors_is_said_beside_the_text(
    server: LiveServer, live_event: LiveEvent, panelist: Callable[..., ConsolePage]
) -> None:
    maria = live_event.core[0]
    kept = publish(server, live_event.id, "How long is the training?")
    duplicate = publish(server, live_event.id, "How long does training tkae?")
    console = panelist(maria)
    console.open_answer(duplicate).fill("About two years, part-time study included.")
    server.call(
        lambda: server.actions.moderate(
            duplicate, "edit", EDITOR, body="How long does training take?"
        )
    )
    expect(console.page.locator("#composer-status")).to_have_text(
        "The editors edited this question while you were writing. Your text is unchanged."
    )
    expect(console.question(duplicate).locator(".question-body")).to_contain_text("take?")
    server.call(lambda: server.actions.moderate(duplicate, "merge", EDITOR, into=kept))
    expect(console.question(duplicate).locator(".situation")).to_contain_text(
        f"The editors merged this question into #{kept}: answer it there."
    )
    expect(console.box()).to_have_value("About two years, part-time study included.")
    expect(console.box()).to_be_focused()
