"""Page objects: what each role does in the browser, in the words of the product.

Selectors live here, so when a page changes only this file changes. Every wait is a condition
with a deadline (Playwright's expect), never a sleep.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Locator, Page, expect

SNAPSHOT_JS = """() => {
  const ids = (root, sel, key) =>
    [...root.querySelectorAll(sel)].map((n) => Number(n.dataset[key]));
  return [...document.querySelectorAll('#questions > article.question')].map((q) => ({
    id: Number(q.dataset.questionId),
    pinned: q.classList.contains('pinned'),
    merged: ids(q, '.merged [data-question-id]', 'questionId'),
    answers: ids(q, '.answers .answer', 'answerId'),
  }));
}"""


def sign_in_editor(page: Page, username: str, password: str) -> None:
    page.goto("/desk/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/desk$"))


def wait_live(page: Page) -> None:
    """The page's live connection (WebSocket) is open."""
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")


def tab_to(page: Page, selector: str, max_presses: int = 80) -> None:
    """Press Tab until the focused element matches `selector`, as a keyboard user would."""
    seen = []
    for _ in range(max_presses):
        page.keyboard.press("Tab")
        here = page.evaluate(
            """(sel) => {
          const el = document.activeElement;
          const text = el ? (el.textContent || el.name || '').trim().slice(0, 30) : '';
          return {match: !!el && el.matches(sel),
                  name: el ? `${el.tagName.toLowerCase()}#${el.id} ${text}` : ''};
        }""",
            selector,
        )
        if here["match"]:
            return
        seen.append(here["name"])
    raise AssertionError(f"Tab never reached {selector}; focus went through: {seen}")


class ReaderPage:
    """A reader on /events/{slug}."""

    def __init__(self, page: Page, slug: str, js: bool = True) -> None:
        self.page, self.slug, self.js = page, slug, js

    def open(self) -> ReaderPage:
        self.page.goto(f"/events/{self.slug}")
        if self.js:
            wait_live(self.page)
        return self

    def ask(self, body: str, name: str = "", to: str | None = None) -> None:
        """Post through the form: in place with JavaScript, else a plain POST and redirect."""
        self.page.get_by_label("Your question", exact=True).fill(body)
        if name:
            self.page.locator("#q-name").fill(name)
        if to:
            self.page.locator("#q-to").select_option(label=to)
        self.page.get_by_role("button", name="Send question").click()
        if self.js:  # asked in place (static/js/feedback.js): the page stays
            status = self.page.locator("#ask-status")
            expect(status).to_have_text("Thanks — an editor will read it.")
        else:
            self.expect_notice("awaits moderation")

    def expect_notice(self, text: str) -> None:
        expect(self.page.locator("#ask .notice")).to_contain_text(text)

    def mine(self) -> Locator:
        """The reader's own questions ("Your questions")."""
        return self.page.locator("#ask .mine li")

    def ask_own(self, body: str) -> int:
        """Ask, wait until "Your questions" lists it as awaiting moderation, and return its
        id; marks the document, so `same_document` can tell that nothing reloaded it."""
        self.ask(body)
        item = self.mine().filter(has_text=body)
        expect(item).to_contain_text("Awaiting moderation")
        self.page.evaluate("window.__sameDocument = true")  # a reload would forget this
        return int(item.get_attribute("data-mine-id") or 0)

    def same_document(self) -> bool:
        return bool(self.page.evaluate("window.__sameDocument === true"))

    def question(self, question_id: int) -> Locator:
        return self.page.locator(f"#q-{question_id}")

    def answers(self, question_id: int) -> Locator:
        return self.page.locator(f"#q-{question_id}-answers .answer")

    def on_now(self) -> Locator:
        return self.page.locator("#on-now li")

    def snapshot(self) -> list[dict[str, Any]]:
        """Questions in page order, each with its merged duplicates and answers (ids)."""
        return self.page.evaluate(SNAPSHOT_JS)  # type: ignore[no-any-return]

    def expect_once(self, element_id: str) -> None:
        """Exactly one element has this id: nothing missing, nothing doubled."""
        expect(self.page.locator(f'[id="{element_id}"]')).to_have_count(1)


class DeskPage:
    """An editor on /desk/events/{slug}: the moderation queue, updated live."""

    def __init__(self, page: Page, slug: str) -> None:
        self.page, self.slug = page, slug

    def open(self) -> DeskPage:
        self.page.goto(f"/desk/events/{self.slug}")
        wait_live(self.page)
        return self

    def pending(self, text: str | None = None) -> Locator:
        items = self.page.locator("#pending .queue-item")
        # By the question's own text: an item also quotes others (suggestions, merge chooser).
        body = self.page.locator(".question-body", has_text=text)
        return items.filter(has=body) if text else items

    def pending_id(self, text: str) -> int:
        item = self.pending(text)
        expect(item).to_have_count(1)
        return int(item.get_attribute("data-question-id") or 0)

    def published(self, question_id: int) -> Locator:
        return self.page.locator(f"#published-{question_id}")

    def _button(self, scope: str, name: str) -> Locator:
        return self.page.locator(scope).get_by_role("button", name=name, exact=True)

    def approve(self, question_id: int) -> None:
        self._button(f"#pending-{question_id}", "Approve").click()
        expect(self.published(question_id)).to_be_visible()

    def more(self, question_id: int) -> Locator:
        """Open the item's folded controls (reason, merge, ban, edit or direct)."""
        details = self.page.locator(f"#more-{question_id}")
        if details.get_attribute("open") is None:
            details.locator("summary").click()
        expect(details).to_have_attribute("open", "")
        return details

    def reject(self, question_id: int, reason: str = "") -> None:
        if reason:
            self.more(question_id)
            self.page.locator(f"#reason-{question_id}").fill(reason)
        self._button(f"#pending-{question_id}", "Reject").click()
        expect(self.page.locator(f"#pending-{question_id}")).to_have_count(0)

    def merge(self, question_id: int, into: int) -> None:
        self.more(question_id)
        self.page.locator(f"#into-{question_id}").select_option(str(into))
        self._button(f"#pending-{question_id}", "Merge as duplicate").click()
        expect(self.page.locator(f"#pending-{question_id}")).to_have_count(0)

    def pin(self, question_id: int) -> None:
        self._button(f"#published-{question_id}", "Pin").click()
        expect(self._button(f"#published-{question_id}", "Unpin")).to_be_visible()

    def withdraw(self, question_id: int) -> None:
        self._button(f"#published-{question_id}", "Withdraw").click()
        expect(self.published(question_id)).to_have_count(0)

    def set_status(self, button: str, label: str) -> None:
        """An event control ("Close the event", "Go live now"...); waits for the new label."""
        self.page.get_by_role("button", name=button).click()
        expect(self.page.locator("#desk-status")).to_have_text(label)


class ConsolePage:
    """A panelist on /console/{slug}, signed in by invite."""

    def __init__(self, page: Page, slug: str) -> None:
        self.page, self.slug = page, slug

    def join(self, token: str) -> ConsolePage:
        self.page.goto(f"/invite/{token}")
        self.page.wait_for_url(re.compile(rf"/console/{re.escape(self.slug)}"))
        wait_live(self.page)
        return self

    def question(self, question_id: int) -> Locator:
        return self.page.locator(f"#cq-{question_id}")

    def new_questions(self) -> Locator:
        """The "N new questions — show" button: questions that arrived live wait behind it."""
        return self.page.locator("#new-questions button")

    def expect_new(self, question_id: int) -> None:
        """A question arrived live: it is announced, not pushed in; show it."""
        card = self.question(question_id)
        expect(card).to_have_count(1)
        if card.is_hidden():
            self.new_questions().click()
        expect(card).to_be_visible()

    def box(self) -> Locator:
        """The one open answer box's text area."""
        return self.page.locator("#composer-body")

    def open_answer(self, question_id: int) -> Locator:
        """Click "Answer" (or "Continue your draft") on a question: its box opens, focused."""
        self.expect_new(question_id)
        self.question(question_id).locator(".answer-link").click()
        box = self.question(question_id).locator("#composer-body")
        expect(box).to_be_focused()
        return box

    def answer(self, question_id: int, body: str) -> None:
        """Write and publish an answer; it appears under the question without a reload."""
        card = self.question(question_id)
        before = card.locator(".answer").count()
        self.open_answer(question_id).fill(body)
        card.get_by_role("button", name="Publish answer").click()
        expect(card.locator(".answer")).to_have_count(before + 1)
        expect(card.locator("#composer")).to_have_count(0)
        wait_live(self.page)
