"""The editor desk (issue 6) end to end in a real browser: set an event up from an empty
database, moderate it with the keyboard and the tools, two editors on one queue, the audit log,
API tokens, editors and the login lockout; axe-core on every desk page."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import EDITOR_NAME, Hygiene, LiveEvent
from tests.browser.helpers import assert_accessible, png, sign_in
from tests.browser.pages import ConsolePage, DeskPage, ReaderPage, wait_live
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

SLUG = "probation-careers"
TITLE = "Careers in the probation service"
# Ten panelists, as in the demo event: four on the core panel, two in each of three slots.
SLOTS = [
    ("Getting in", "13:00", "14:00"),
    ("The job", "14:00", "15:00"),
    ("Moving on", "15:00", "16:00"),
]
PANEL = [
    ("Maria Ashdown", None),
    ("Jenna Holt", None),
    ("Omar Reid", None),
    ("Priya Shah", None),
    ("Sandra Kemp", 0),
    ("Kerry Dale", 0),
    ("Chloe Lam", 1),
    ("Dev Patel", 1),
    ("Ruth Ellis", 2),
    ("Tom Okafor", 2),
]


def test_editor_sets_up_and_runs_an_event_from_an_empty_database(
    server: LiveServer, open_page: Callable[..., Page], axe_source: str, hygiene: Hygiene
) -> None:
    """One editor account, nothing else: event, slots, ten panelists with photos, an invite,
    open the event, moderation rules, and a reader's question approved from the keyboard."""
    hygiene.allow_status(429, r"/events/[^/]+/questions$")  # slow mode refuses a 2nd question
    server.call(lambda: server.actions.create_editor("chief", "correct horse"))
    desk = sign_in(open_page, server, "chief", "correct horse", axe=axe_source)
    expect(desk.locator("table tbody tr")).to_have_count(0)  # an empty database

    # The event, with a markdown intro previewed as readers will see it.
    desk.get_by_role("link", name="New event").click()
    desk.wait_for_url(re.compile(r"/desk/new-event$"))
    assert_accessible(desk, "the new-event form")
    desk.get_by_label("Web address").fill(SLUG)
    desk.get_by_label("Title", exact=True).fill(TITLE)
    desk.get_by_label("Standfirst").fill("Officers answer your questions about the job.")
    desk.get_by_label("Introduction (markdown)").fill("Ask our panel *anything* about the work.")
    desk.get_by_role("button", name="Preview").click()
    expect(desk.locator("#intro-preview em")).to_have_text("anything")
    desk.get_by_label("Date", exact=True).fill("2026-09-16")  # the day after the test clock's "now"
    desk.get_by_label("Starts", exact=True).fill("13:00")
    desk.get_by_label("Ends", exact=True).fill("16:00")
    desk.get_by_label("Time zone").select_option("Europe/London")
    desk.get_by_role("button", name="Create draft").click()
    desk.wait_for_url(re.compile(rf"/desk/events/{SLUG}/setup$"))
    expect(desk.locator("p.notice")).to_contain_text("Event created as a draft")

    # Three slots (each form posts and comes back to the set-up page with one more slot).
    slot_labels = desk.locator("form.slot-form input[name=label]")
    for count, (label, start, end) in enumerate(SLOTS, start=1):
        desk.locator("#new-slot-label").fill(label)
        desk.locator("#new-slot-start").fill(start)
        desk.locator("#new-slot-end").fill(end)
        desk.get_by_role("button", name="Add slot").click()
        expect(slot_labels).to_have_count(count)
        expect(desk.locator("p.notice")).to_have_text("Slot added.")
    assert [slot_labels.nth(i).input_value() for i in range(3)] == [s[0] for s in SLOTS]

    # The panel, each with a photo (a real PNG, uploaded through the file input).
    places = desk.locator("ul.assignments > li:not(.muted)")
    for index, (name, slot) in enumerate(PANEL):
        form = desk.locator("#new-panelist")
        form.get_by_label("Name").fill(name)
        form.get_by_label("Role").fill("Probation officer")
        form.get_by_label("Biography").fill(f"{name} has worked in probation for years.")
        form.get_by_label("Photo").set_input_files(
            {
                "name": f"photo-{index}.png",
                "mimeType": "image/png",
                "buffer": png(8, 8, (40 + 20 * index, 90, 160)),
            }
        )
        if slot is not None:
            label, start, end = SLOTS[slot]
            form.get_by_label("Sits on").select_option(label=f"{label} ({start}–{end})")
        form.get_by_role("button", name="Add panelist").click()
        expect(places).to_have_count(index + 1)
        expect(places.nth(index)).to_contain_text(name)
        expect(desk.locator("p.notice")).to_have_text("Panelist added.")
    expect(places.filter(has_text="Core panel")).to_have_count(4)
    for label, _, _ in SLOTS:
        expect(places.filter(has_text=label)).to_have_count(2)

    # An invite link, shown once.
    desk.locator("#invite-panelist").select_option(label="Maria Ashdown")
    desk.get_by_role("button", name="Create invite link").click()
    expect(desk.locator("p.notice")).to_contain_text("it will not be shown again")
    invite = desk.locator("#new-invite").inner_text()
    assert re.fullmatch(rf"{re.escape(server.url)}/invite/[\w-]{{20,}}", invite), invite
    assert_accessible(desk, "the set-up page with slots, a panel and a new invite")
    desk.reload()
    expect(desk.locator("#new-invite")).to_have_count(0)
    invites = desk.get_by_role("table", name="Invite links").locator("tbody tr")
    expect(invites).to_have_count(1)
    expect(invites).to_contain_text("never")

    # Moderation rules: blocked terms and slow mode.
    desk.get_by_label("Blocked terms").fill("crypto\nget rich")
    desk.get_by_label("Slow mode").fill("60")
    desk.get_by_role("button", name="Save rules").click()
    expect(desk.locator("p.notice")).to_have_text("Moderation rules saved.")
    expect(desk.get_by_label("Blocked terms")).to_have_value("crypto\nget rich")
    expect(desk.get_by_label("Slow mode")).to_have_value("60")

    # Open advance questions, then go live early, from the moderation page.
    desk.get_by_role("link", name="Moderation", exact=True).click()
    queue = DeskPage(desk, SLUG)
    wait_live(desk)
    queue.set_status("Open advance questions", "Upcoming")
    queue.set_status("Go live now", "Live now")

    # The panelist opens the invite and lands on the console; the desk sees it was used.
    console = ConsolePage(open_page(server.url), SLUG).join(invite.rsplit("/", 1)[1])
    expect(console.page.get_by_text("Signed in as")).to_contain_text("Maria Ashdown")
    desk.goto(f"/desk/events/{SLUG}/setup")
    expect(invites).not_to_contain_text("never")

    # A reader sees the panel with its photos (every image really loads).
    reader = ReaderPage(open_page(server.url), SLUG).open()
    photos = reader.page.locator(".panelists img.photo")
    expect(photos).to_have_count(len(PANEL))
    expect(photos.first).to_have_attribute("src", re.compile(r"^/uploads/[0-9a-f]{32}\.png$"))
    reader.page.wait_for_function(
        "[...document.querySelectorAll('.panelists img.photo')]"
        ".every((img) => img.complete && img.naturalWidth === 8)"
    )

    # The reader asks: a blocked term holds the question; slow mode refuses the next at once.
    reader.ask("Should I put my pension into crypto?", name="Sam")
    desk.goto(f"/desk/events/{SLUG}")
    wait_live(desk)
    held = queue.pending("pension into crypto")
    expect(held.locator(".held")).to_have_text(
        "Held for review: contains the blocked term 'crypto'"
    )
    reader.page.get_by_label("Your question", exact=True).fill("And what about shares?")
    reader.page.get_by_role("button", name="Send question").click()
    expect(reader.page.locator("#form-error")).to_contain_text("Slow mode is on")

    # The editor approves it from the keyboard: j focuses the question, a approves it.
    question_id = queue.pending_id("pension into crypto")
    desk.keyboard.press("j")
    expect(desk.locator(f"#pending-{question_id}")).to_be_focused()
    desk.keyboard.press("a")
    expect(queue.published(question_id)).to_be_visible()
    expect(reader.question(question_id)).to_contain_text("Should I put my pension into crypto?")
    console.expect_new(question_id)


def test_editor_moderates_with_shortcuts_and_tools(
    server: LiveServer,
    live_event: LiveEvent,
    editor: DeskPage,
    reader: Callable[..., ReaderPage],
    hygiene: Hygiene,
) -> None:
    """Keyboard approve and reject, edit the text, pin, merge, bulk approve, ban; the audit log
    records every action with its before and after."""
    hygiene.allow_status(403, r"/events/[^/]+/questions$")  # the banned reader's next post
    desk = editor.page
    sam, lee, spammer = reader(), reader(), reader()
    sam.ask("Keyboard: approve me please")
    sam.ask("Keyboard: reject me please")
    sam.ask("Is the trainng paid?")
    lee.ask("Can I train part time?")
    lee.ask("Is part-time training possible?")
    lee.ask("Bulk one: how long is the course?")
    spammer.ask("Bulk two: where are the offices?")
    spammer.ask("Follow my channel for free money")
    expect(editor.pending()).to_have_count(8)
    approve_me = editor.pending_id("approve me")
    reject_me = editor.pending_id("reject me")
    typo = editor.pending_id("trainng")
    kept = editor.pending_id("Can I train part time")
    duplicate = editor.pending_id("part-time training possible")
    bulk = [editor.pending_id("Bulk one"), editor.pending_id("Bulk two")]
    spam = editor.pending_id("free money")

    # Shortcuts: j focuses the first question, a approves it; focus moves on; r rejects.
    desk.keyboard.press("j")
    expect(desk.locator(f"#pending-{approve_me}")).to_be_focused()
    desk.keyboard.press("a")
    expect(editor.published(approve_me)).to_be_visible()
    expect(desk.locator(f"#pending-{reject_me}")).to_be_focused()
    desk.keyboard.press("r")
    expect(desk.locator(f"#pending-{reject_me}")).to_have_count(0)
    expect(editor.published(reject_me)).to_have_count(0)
    expect(sam.question(approve_me)).to_be_visible()
    expect(sam.question(reject_me)).to_have_count(0)

    # Approve, then fix the typo: every reader's page shows the corrected text live.
    editor.approve(typo)
    expect(lee.question(typo)).to_contain_text("Is the trainng paid?")
    item = editor.published(typo)
    editor.more(typo)
    item.get_by_label("Question text").fill("Is the training paid?")
    item.get_by_role("button", name="Save text").click()
    expect(item.locator(".question-body")).to_have_text("Is the training paid?")
    expect(lee.question(typo).locator(".question-body")).to_have_text("Is the training paid?")

    # Pin it; merge a duplicate under the question it repeats.
    editor.pin(typo)
    expect(lee.question(typo).locator(".pin-label")).to_have_text("Pinned")
    editor.approve(kept)
    editor.merge(duplicate, into=kept)
    expect(lee.page.locator(f"#q-{kept}-merged #q-{duplicate}")).to_contain_text(
        "Is part-time training possible?"
    )

    # Bulk: tick two questions (one with the x shortcut) and approve both at once.
    desk.locator(f"#select-{bulk[0]}").check()
    desk.locator(f"#pending-{bulk[1]}").focus()
    desk.keyboard.press("x")
    expect(desk.locator(f"#select-{bulk[1]}")).to_be_checked()
    # A question arriving meanwhile refreshes the queue live; the ticks survive it.
    lee.ask("Late arrival: is there a dress code?")
    expect(editor.pending("Late arrival")).to_have_count(1)
    for question_id in bulk:
        expect(desk.locator(f"#select-{question_id}")).to_be_checked()
    desk.get_by_label("With the selected questions").select_option("approve")
    desk.get_by_role("button", name="Apply to selected").click()
    expect(desk.locator("p.notice")).to_have_text("2 questions done.")
    for question_id in bulk:
        expect(editor.published(question_id)).to_be_visible()
        expect(sam.question(question_id)).to_be_visible()

    # Ban the spammer: the question goes, and the author cannot post again.
    editor.more(spam).get_by_role("button", name="Reject and ban author").click()
    expect(desk.locator(f"#pending-{spam}")).to_have_count(0)
    expect(editor.pending()).to_have_text([re.compile("Late arrival")])
    spammer.page.get_by_label("Your question", exact=True).fill("Let me back in")
    spammer.page.get_by_role("button", name="Send question").click()
    expect(spammer.page.locator("#form-error")).to_have_text(
        "You can no longer post questions to this event."
    )

    # The audit log lists each action, who did it, and the text before and after the edit.
    desk.get_by_role("link", name="Audit log").click()
    rows = desk.locator("table.audit tbody tr")
    for action, target in [
        ("question.approve", approve_me),
        ("question.reject", reject_me),
        ("question.edit", typo),
        ("question.pin", typo),
        ("question.merge", duplicate),
        ("question.approve", bulk[0]),
        ("question.approve", bulk[1]),
        ("reader.ban", spam),
        ("question.reject", spam),
    ]:
        row = rows.filter(has_text=re.compile(rf"{re.escape(action)} question:{target}\b"))
        expect(row).to_have_count(1)
        expect(row).to_contain_text(f"editor:1:{EDITOR_NAME}")
    edit = rows.filter(has_text=f"question.edit question:{typo}")
    expect(edit.locator("td").nth(3)).to_contain_text("body: Is the trainng paid?")
    expect(edit.locator("td").nth(4)).to_contain_text("body: Is the training paid?")


def test_two_editors_share_one_queue_live(
    server: LiveServer,
    live_event: LiveEvent,
    editor: DeskPage,
    reader: Callable[..., ReaderPage],
    open_page: Callable[..., Page],
    axe_source: str,
) -> None:
    """Each editor sees the other's decisions without reloading; the second to act on a
    question that was already dealt with is told so; axe on the queue and the audit log."""
    server.call(lambda: server.actions.create_editor("sub", "password456"))
    other = DeskPage(
        sign_in(open_page, server, "sub", "password456", axe=axe_source), live_event.slug
    ).open()
    asker = reader()
    asker.ask("First: what is a typical caseload?")
    asker.ask("Second: buy my course")
    asker.ask("Third: do you work weekends?")
    for desk in (editor, other):
        expect(desk.pending()).to_have_count(3)
    first = editor.pending_id("First:")
    second = editor.pending_id("Second:")
    third = editor.pending_id("Third:")

    editor.approve(first)
    expect(other.published(first)).to_be_visible()
    expect(other.page.locator(f"#pending-{first}")).to_have_count(0)
    other.reject(second, reason="Advertising")
    expect(editor.page.locator(f"#pending-{second}")).to_have_count(0)
    other.pin(first)
    expect(editor.published(first).get_by_role("button", name="Unpin")).to_be_visible()

    # The queue with pending and published items passes axe.
    assert_accessible(other.page, "the moderation queue with pending and published questions")

    # Hold the second editor's live refresh so their page still offers the question, as on a
    # slow connection; the first editor approves it; the second then tries to reject it.
    held: list[Route] = []
    fragment = re.compile(r"/desk/events/[^/]+/queue")

    def hold(route: Route) -> None:
        held.append(route)

    other.page.route(fragment, hold)
    with other.page.expect_request(fragment):
        editor.approve(third)
    stale = other.page.locator(f"#pending-{third}")
    expect(stale).to_be_visible()
    stale.get_by_role("button", name="Reject", exact=True).click()
    expect(other.page.locator("p.notice")).to_have_text(
        re.compile(rf"^{EDITOR_NAME} already approved this question at \d\d:\d\d\.$")
    )
    for route in held:
        route.continue_()
    other.page.unroute(fragment, hold)  # lets through any refresh held after the loop, too
    expect(other.published(third)).to_be_visible()
    expect(asker.question(third)).to_be_visible()  # the first decision stands

    # The audit log names both editors; it passes axe too.
    other.page.get_by_role("link", name="Audit log").click()
    rows = other.page.locator("table.audit tbody tr")
    expect(rows.filter(has_text=f"question.approve question:{first}")).to_contain_text(
        f"editor:1:{EDITOR_NAME}"
    )
    expect(rows.filter(has_text=f"question.reject question:{second}")).to_contain_text(
        "editor:2:sub"
    )
    expect(rows.filter(has_text=f"question:{third}")).to_have_count(1)  # one decision only
    assert_accessible(other.page, "the audit log")


def test_admin_pages_api_tokens_and_login_lockout(
    server: LiveServer, open_page: Callable[..., Page], hygiene: Hygiene, axe_source: str
) -> None:
    server.call(lambda: server.actions.create_editor("chief", "correct horse", role="admin"))
    desk = sign_in(open_page, server, "chief", "correct horse", axe=axe_source)

    # An admin manages editors.
    desk.get_by_role("link", name="Editors").click()
    desk.wait_for_url(re.compile(r"/desk/editors$"))
    assert_accessible(desk, "the editors page")
    desk.get_by_label("Username").fill("reporter")
    desk.get_by_label("Password (at least 8 characters)").fill("reporter-pass")
    desk.get_by_label("Role", exact=True).select_option("editor")
    desk.get_by_role("button", name="Create editor").click()
    expect(desk.locator("p.notice")).to_have_text("Editor account created.")
    expect(desk.get_by_role("row", name=re.compile("reporter"))).to_contain_text("editor")

    # API tokens: created and shown once, usable by the API, refused once revoked.
    desk.goto("/desk/tokens")
    assert_accessible(desk, "the API tokens page")
    desk.get_by_label("Name").fill("CMS integration")
    desk.get_by_role("button", name="Create token").click()
    expect(desk.locator("p.notice")).to_contain_text("it will not be shown again")
    token = desk.locator("#new-token").inner_text().strip()
    assert len(token) >= 40
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, timeout=10) as api:
        assert api.get("/api/v1/me", headers=auth).json() == {"editor": "chief"}
        desk.reload()
        expect(desk.locator("#new-token")).to_have_count(0)
        row = desk.get_by_role("row", name=re.compile("CMS integration"))
        row.get_by_role("button", name=re.compile("^Revoke")).click()
        expect(desk.locator("p.notice")).to_have_text("Token revoked.")
        expect(row).to_contain_text("Revoked")
        refused = api.get("/api/v1/me", headers=auth)
        assert refused.status_code == 401, refused.text

    # Five wrong passwords lock the account: even the right one is refused for a while.
    hygiene.allow_status(401, r"/desk/login$")
    hygiene.allow_status(429, r"/desk/login$")
    stranger = open_page(server.url, "/desk/login")
    password = stranger.get_by_label("Password")
    for _ in range(5):
        stranger.get_by_label("Username").fill("reporter")
        password.fill("not-the-password")
        stranger.get_by_role("button", name="Sign in").click()
        expect(password).to_have_value("")  # the form came back (passwords are never kept)
        expect(stranger.locator("#login-error")).to_have_text("Wrong username or password.")
    password.fill("reporter-pass")
    stranger.get_by_role("button", name="Sign in").click()
    expect(password).to_have_value("")
    expect(stranger.locator("#login-error")).to_have_text(
        "Too many failed attempts; try again in a few minutes."
    )
    expect(stranger).to_have_url(re.compile(r"/desk/login$"))
