"""The XSS corpus (tests/data/xss.txt, written for this project) in real Chromium, through
every input and on every surface that shows it, with a sentinel.

Each payload that ran would call `window.__xss()`, open a dialog (`alert`, `confirm`) or set
`document.title`. Every page gets an init script that defines the sentinel and records CSP
violation reports (a blocked inline handler means markup got through even though CSP stopped
it); dialogs are recorded too. The positive control renders the raw `.md` export, which carries
panelists' HTML as typed, with an HTML-allowing renderer: there the sentinel must fire, so a
quiet page elsewhere means something.

Bounded for CI: payloads are packed into each field up to its limit (many per record, many
records per page), so about twenty page loads cover the corpus everywhere. A payload longer
than a field's limit is refused at input (clean_text) and is not sent to that field.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from markdown_it import MarkdownIt
from playwright.sync_api import Browser, Page, expect

from panel.clock import FakeClock
from panel.curation import NOTES_MAX_CHARS
from panel.domain import Actor
from panel.reports import DETAIL_MAX_CHARS, ReportInput
from tests.browser.conftest import Hygiene, OpenPage, wait_until
from tests.browser.helpers import sign_in
from tests.browser.pages import ConsolePage, wait_live
from tests.conftest import EDITOR, EVENT_START, LiveServer

CORPUS_FILE = Path(__file__).resolve().parents[1] / "data" / "xss.txt"
SLUG = "xss"
HOUR = timedelta(hours=1)
EDITOR_NAME, EDITOR_PASSWORD = "xss-ed", "a long enough password"

SENTINEL = """
window.__xssHits = [];
window.__xss = () => window.__xssHits.push('called __xss()');
document.addEventListener('securitypolicyviolation', (e) => window.__xssHits.push(
  `CSP ${e.violatedDirective} blocked ${e.blockedURI} ${e.sample || ''}`));
"""
# Resolves after the page's load event and two frames: errors of images, autofocus and
# animations, had any survived, have fired by then.
SETTLED = """() => new Promise((done) => {
  const frames = () => requestAnimationFrame(() => requestAnimationFrame(() => done(true)));
  if (document.readyState === 'complete') frames();
  else addEventListener('load', frames);
})"""


def corpus() -> list[str]:
    lines = CORPUS_FILE.read_text(encoding="utf-8").splitlines()
    return [ln.replace("\\n", "\n") for ln in lines if ln.strip() and not ln.startswith("# ")]


def pack(payloads: list[str], limit: int, sep: str = " ") -> list[str]:
    """Payloads joined into values of at most `limit` characters (longer ones left out)."""
    values: list[str] = []
    current = ""
    for payload in (p for p in payloads if len(p) <= limit):
        if current and len(current) + len(sep) + len(payload) > limit:
            values.append(current)
            current = ""
        current = f"{current}{sep}{payload}" if current else payload
    return [*values, current] if current else values


class Watch:
    """The sentinel on one page: hits, dialogs, and the title it must keep."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.dialogs: list[str] = []
        page.context.add_init_script(script=SENTINEL)
        page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def goto(self, path: str) -> Watch:
        self.page.goto(path)
        return self

    def assert_quiet(self, where: str, shows: list[str] = ()) -> None:  # type: ignore[assignment]
        """Nothing ran, and the payloads `shows` are on the page as text."""
        self.page.wait_for_function(SETTLED)
        hits = self.page.evaluate("window.__xssHits")
        assert hits == [] and self.dialogs == [], (where, hits, self.dialogs)
        assert self.page.title() != "XSS", where
        text = self.page.locator("body").inner_text() if shows else ""
        for payload in shows:
            assert " ".join(payload.split()) in " ".join(text.split()), (where, payload)


def reader_id_of(page: Page) -> str:
    """The reader id in the browser's signed (not encrypted) session cookie."""
    cookie = next(c for c in page.context.cookies() if c["name"] == "livepanel")
    payload = cookie["value"].split(".")[0]
    return str(json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))["reader"])


def test_the_corpus_never_runs_on_any_surface(
    server: LiveServer, open_page: OpenPage, browser: Browser, clock: FakeClock, hygiene: Hygiene
) -> None:
    # The backstage fragments are not documents: opened directly, Chromium asks for an icon.
    hygiene.allow_status(404, r"/favicon\.ico$")
    payloads = corpus()
    assert len(payloads) >= 100
    a = server.actions
    titles, summaries = pack(payloads, 200), pack(payloads, 500)
    labels = pack(payloads, 120)
    minutes = 150 // len(labels)
    slots = [
        (
            label,
            EVENT_START + timedelta(minutes=i * minutes),
            EVENT_START + timedelta(minutes=(i + 1) * minutes),
        )
        for i, label in enumerate(labels)
    ]
    markdown = "\n\n".join(payloads)  # one per paragraph, so Markdown's line starts count
    assert len(markdown) <= 20000

    def create() -> Callable[[], Any]:
        async def run() -> dict[str, Any]:
            event_id = await a.create_event(
                slug=SLUG,
                title=titles[0],
                summary=summaries[0],
                intro_md=markdown,
                related=[
                    {
                        "title": t,
                        "url": f"https://example.org/{i}",
                        "summary": summaries[i % len(summaries)],
                    }
                    for i, t in enumerate(titles[:5])
                ],
                starts_at=EVENT_START,
                ends_at=EVENT_START + 3 * HOUR,
                status="scheduled",
                slots=slots,
            )
            for i, title in enumerate(titles[1:], 1):  # the rest of the titles: more events
                await a.create_event(
                    slug=f"xss-{i}",
                    title=title,
                    summary=summaries[i % len(summaries)],
                    starts_at=EVENT_START + 24 * HOUR,
                    ends_at=EVENT_START + 25 * HOUR,
                    status="scheduled",
                )
            names, roles, bios = pack(payloads, 120), pack(payloads, 200), pack(payloads, 2000)
            panel = [
                await a.add_panelist(event_id, name, roles[i % len(roles)], bios[i % len(bios)])
                for i, name in enumerate(names)
            ]
            await a.run_due_transitions(event_id)
            return {"id": event_id, "panel": panel}

        return run

    info = server.call(create())
    event_id, panelist = info["id"], info["panel"][0]
    me = Actor("panelist", panelist, "p")

    # Staff and a reader open their pages before anything is asked: what follows arrives live.
    editor = Watch(sign_in(open_page, server, *make_editor(server)))
    desk = editor.goto(f"/desk/events/{SLUG}")
    wait_live(desk.page)
    console = Watch(open_page(server.url))
    token = server.call(lambda: a.create_invite(event_id, panelist))
    console.goto(f"/invite/{token}")
    console.page.wait_for_url(f"**/console/{SLUG}**")
    wait_live(console.page)
    reader = Watch(open_page(server.url))
    reader.goto(f"/events/{SLUG}")
    wait_live(reader.page)

    # The reader types the first body in the real form (the form path), then the rest arrive.
    bodies, names = pack(payloads, 2000), pack(payloads, 60)
    reader.page.get_by_label("Your question", exact=True).fill(bodies[0])
    reader.page.locator("#q-name").fill(names[0])
    reader.page.get_by_role("button", name="Send question").click()
    expect(reader.page.locator("#ask-status")).to_have_text("Thanks — an editor will read it.")
    own_reader = reader_id_of(reader.page)
    notes = pack(payloads, 300)  # asker notes and report notes (at most 300)
    assert DETAIL_MAX_CHARS >= 300
    reasons = pack(payloads, 500)

    def post_all() -> Callable[[], Any]:
        async def run() -> dict[str, Any]:
            published = []
            for i, name in enumerate(names[1:], 1):
                body = (
                    bodies[i] if i < len(bodies) else f"Question {i}: {payloads[i % len(payloads)]}"
                )
                q, _ = await a.post_question(event_id, f"reader-{i}", body, name)
                published.append(q.id)
            own = await _own_questions(a, event_id, own_reader)
            for q in [*published, *own[:1]]:
                await a.moderate(q, "approve", EDITOR)
            for i, (q, note) in enumerate(zip(own[1:], notes, strict=True)):
                reason = reasons[i % len(reasons)]
                await a.moderate(q, "reject", EDITOR, reason=reason, asker_note=note)
            answer = await a.answer(published[0], markdown, me)
            for i, detail in enumerate(notes):
                report = ReportInput("question", published[i % len(published)], "rude", detail)
                await a.reports.report(event_id, f"reporter-{i}", report)
            for note in pack(payloads, 1000):
                await a.backstage.send(event_id, EDITOR, note)
            return {"published": published, "answer": answer, "own": own}

        return run

    for i, _ in enumerate(notes):
        server.call(
            lambda i=i: a.post_question(event_id, own_reader, f"Own {i}: {payloads[i]}", "")
        )
    posted = server.call(post_all(), timeout=60)
    first = posted["published"][0]

    # Live: the answer reaches the reader's page by its socket, the questions the console's
    # and the desk's; nothing runs on the way in.
    expect(reader.page.locator(f"#q-{first}-answers .answer")).to_have_count(1)
    reader.assert_quiet("reader page, live", [names[1]])
    ConsolePage(console.page, SLUG).expect_new(first)
    console.assert_quiet("console, live")
    desk.assert_quiet("desk, live")

    surfaces = {
        "reader page, reloaded": (reader, f"/events/{SLUG}", [titles[0], names[2], labels[0]]),
        "embed": (reader, f"/events/{SLUG}/embed", [names[3]]),
        "front page": (reader, "/", titles[1:3]),
        "console, reloaded": (console, f"/console/{SLUG}", [names[1]]),
        "desk queue": (desk, f"/desk/events/{SLUG}", [names[4], notes[0]]),
        "desk set-up": (desk, f"/desk/events/{SLUG}/setup", [labels[1]]),
        "desk audit": (desk, f"/desk/events/{SLUG}/audit", []),
        "desk backstage": (desk, f"/desk/events/{SLUG}/backstage", []),
        "desk events": (desk, "/desk", titles[1:3]),
        "console backstage": (console, f"/console/{SLUG}/backstage", []),
    }
    for where, (watch, path, shows) in surfaces.items():
        watch.goto(path).assert_quiet(where, shows)

    # Close, curate (corrections, notes) and publish; then the archive's surfaces.
    def publish() -> Callable[[], Any]:
        async def run() -> None:
            clock.set(EVENT_START + 4 * HOUR)
            await a.set_status(event_id, "closed", EDITOR)
            await a.transcripts.correct(event_id, "question", first, bodies[-1], EDITOR)
            await a.transcripts.correct(event_id, "answer", posted["answer"], markdown, EDITOR)
            assert len(markdown) <= NOTES_MAX_CHARS
            await a.transcripts.set_notes(event_id, markdown, markdown, EDITOR)
            await a.transcripts.publish(event_id, EDITOR)

        return run

    server.call(publish())
    desk.goto(f"/desk/events/{SLUG}/transcript").assert_quiet("desk curation")
    desk.goto(f"/desk/events/{SLUG}/transcript/preview").assert_quiet("desk preview")
    reader.goto(f"/archive/{SLUG}").assert_quiet("transcript", [titles[0], names[1]])
    expect(reader.page.locator(f'a[href="/archive/{SLUG}.safe.md"]')).to_have_count(1)
    reader.goto("/archive").assert_quiet("archive index", [titles[0]])
    reader.goto("/archive/feed.atom").assert_quiet("feed, as the browser shows it")
    for query in pack(payloads, 200)[:40]:
        reader.goto(f"/archive?q={quote(query)}").assert_quiet(f"search for {query[:40]!r}")
    reader.goto(f"/archive?q={quote('xss onerror')}").assert_quiet("search hits")
    expect(reader.page.locator("mark").first).to_be_attached()  # real hits, highlighted

    # Exports through an HTML-allowing Markdown renderer, in a page without our CSP: the
    # sanitised one stays quiet; the raw one is the positive control that proves the sentinel.
    exports = {}
    for ending in (".safe.md", ".md"):
        response = reader.page.request.get(f"{server.url}/archive/{SLUG}{ending}")
        assert response.status == 200, (ending, response.status)
        exports[ending] = response.text()
    assert "onerror=__xss()" in exports[".safe.md"]  # the payloads are there, as text
    permissive = MarkdownIt("commonmark", {"html": True})
    permissive.validateLink = lambda url: True  # as lax as the laxest CMS
    elsewhere = browser.new_context()  # not our site: no CSP, and no hygiene to hold it to
    try:
        cms = Watch(elsewhere.new_page())
        cms.page.set_content(
            f"<script>{SENTINEL}</script>" + permissive.render(exports[".safe.md"])
        )
        cms.assert_quiet("safe Markdown export, rendered with HTML allowed")
        control = elsewhere.new_page()
        control.on("dialog", lambda dialog: dialog.dismiss())
        control.set_content(f"<script>{SENTINEL}</script>" + permissive.render(exports[".md"]))
        wait_until(lambda: control.evaluate("window.__xssHits.length") > 0, what="the control")
    finally:
        elsewhere.close()


def make_editor(server: LiveServer) -> tuple[str, str]:
    server.call(lambda: server.actions.create_editor(EDITOR_NAME, EDITOR_PASSWORD))
    return EDITOR_NAME, EDITOR_PASSWORD


async def _own_questions(a: Any, event_id: int, reader: str) -> list[int]:
    async with a.store.read() as repo:
        questions = await repo.questions(event_id, ["pending"])
    return sorted(q.id for q in questions if q.reader_id == reader)
