"""Browser fixtures: Debian's Chromium through Playwright, hygiene checks, and one page per role.

Layers, from the bottom:
- `browser`: one Chromium per test module (skips locally without /usr/bin/chromium, fails in CI).
- `hygiene` + `open_page(base_url, path, **options)`: every page opened through the factory fails
  its test on a console error, an uncaught exception, a failed request or an unexpected 4xx/5xx.
- Roles on the per-test `server` (tests/conftest.py): `live_event` (the seeded event, live, in its
  first slot), `editor` (a signed-in desk page), `panelist(panelist_id)` (a console opened by
  invite), `reader(**options)` (an event page with its live stream connected).
- `demo_server` (one per session, read-only) and `demo_site` (it, plus signed-in editor and
  panelist browser state): the demo data, for page tours (axe, 320 px, screenshots).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from panel.clock import FakeClock
from panel.config import Settings
from panel.demo import LIVE_SLUG, load_demo
from panel.domain import EventStatus
from tests.conftest import EVENT_START, LiveServer, seed_event

try:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        Page,
        Playwright,
        expect,
        sync_playwright,
    )
except ImportError:  # without the test extras: nothing here can even be collected
    if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
        raise
    collect_ignore_glob = ["test_*.py"]
    sync_playwright = None
else:
    from tests.browser.pages import ConsolePage, DeskPage, ReaderPage, sign_in_editor

    expect.set_options(timeout=10_000)

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("LIVEPANEL_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE_JS = ROOT / ".ci" / "node" / "node_modules" / "axe-core" / "axe.min.js"
EDITOR_NAME, EDITOR_PASSWORD = "ed", "password123"
DESKTOP = {"width": 1280, "height": 800}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def missing(reason: str) -> None:
    """Skip locally; in CI (CI=true) the browser suite is required, so fail instead."""
    if in_ci():
        pytest.fail(f"{reason} (browser tests are required when CI=true)", pytrace=False)
    pytest.skip(reason)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


# -- the browser --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if sync_playwright is None:
        missing("the playwright package is not installed (pip install -e '.[test]')")
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        missing(
            f"Chromium not found at {CHROMIUM}: install Debian's chromium "
            "(apt-get install chromium); browsers are never downloaded"
        )
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's browser bundle, installed by .ci/run (npm) into the git-ignored .ci/node."""
    path = Path(os.environ.get("LIVEPANEL_AXE_JS", AXE_JS))
    if not path.is_file():
        missing(
            f"axe-core not found at {path}: run "
            "`npm install --no-save --prefix .ci/node axe-core@4`"
        )
    return path.read_text(encoding="utf-8")


# -- hygiene: console errors, uncaught exceptions, failed requests -----------------------------
@dataclass
class Hygiene:
    """Everything that went wrong on the test's pages; the test fails at teardown if any."""

    problems: list[str] = field(default_factory=list)
    allowed_statuses: list[tuple[int, re.Pattern[str]]] = field(default_factory=list)
    allowed_console: list[re.Pattern[str]] = field(default_factory=list)

    def allow_status(self, status: int, url_pattern: str) -> None:
        """A 4xx/5xx response this test expects (e.g. the 404 page); regex on the URL."""
        self.allowed_statuses.append((status, re.compile(url_pattern)))

    def allow_console(self, pattern: str) -> None:
        """A console error this test provokes on purpose (e.g. sockets failing while offline)."""
        self.allowed_console.append(re.compile(pattern))

    def _status_ok(self, status: int, url: str) -> bool:
        return any(s == status and p.search(url) for s, p in self.allowed_statuses)

    def watch(self, page: Page) -> None:
        def on_console(msg: Any) -> None:
            if msg.type != "error":
                return
            text, url = msg.text, (msg.location or {}).get("url", "")
            # A 4xx/5xx also logs "Failed to load resource"; expected ones are not problems.
            status = re.search(r"status of (\d{3})", text)
            if status and self._status_ok(int(status.group(1)), url):
                return
            if any(p.search(text) for p in self.allowed_console):
                return
            self.problems.append(f"console error on {page.url}: {text} ({url})")

        def on_response(response: Any) -> None:
            if response.status >= 400 and not self._status_ok(response.status, response.url):
                self.problems.append(
                    f"HTTP {response.status} for {response.request.method} "
                    f"{response.url} (page {page.url})"
                )

        def on_failed(request: Any) -> None:
            failure = request.failure or ""
            if any(p.search(failure) for p in self.allowed_console):
                return
            if failure == "net::ERR_ABORTED":
                return  # cancelled, not failed: e.g. a live refresh cut short by posting a form
            self.problems.append(f"request failed: {request.method} {request.url}: {failure}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.problems.append(f"uncaught on {page.url}: {exc}"))
        page.on("response", on_response)
        page.on("requestfailed", on_failed)

    def take(self) -> list[str]:
        found, self.problems = self.problems, []
        return found


@pytest.fixture
def hygiene() -> Hygiene:
    return Hygiene()


OpenPage = Callable[..., Page]


@pytest.fixture
def open_page(browser: Browser, hygiene: Hygiene) -> Iterator[OpenPage]:
    """`open_page(base_url, path=None, *, width, height, scale, js, storage_state, axe)`: a page
    in a fresh context (its own cookies: one person), watched by `hygiene`."""
    contexts: list[BrowserContext] = []

    def open_(
        base_url: str,
        path: str | None = None,
        *,
        width: int = DESKTOP["width"],
        height: int = DESKTOP["height"],
        scale: float = 1,
        js: bool = True,
        storage_state: Any = None,
        axe: str | None = None,
    ) -> Page:
        context = browser.new_context(
            base_url=base_url,
            viewport={"width": width, "height": height},
            device_scale_factor=scale,
            java_script_enabled=js,
            storage_state=storage_state,
            locale="en-GB",
            timezone_id="Europe/London",
            reduced_motion="reduce",
        )
        context.set_default_timeout(10_000)
        if axe:
            # Injected through the DevTools protocol, so the page's CSP (script-src 'self')
            # applies to the page as it really is and does not block the checker.
            context.add_init_script(script=axe)
        contexts.append(context)
        page = context.new_page()
        hygiene.watch(page)
        if path is not None:
            page.goto(path)
        return page

    yield open_
    for context in contexts:  # let pending events arrive before judging
        for page in context.pages:
            try:
                page.evaluate("0")
            except Exception as exc:  # a crashed page is a problem too
                hygiene.problems.append(f"page {page.url} did not answer: {exc}")
    problems = hygiene.take()
    for context in contexts:
        context.close()
    if problems:
        pytest.fail("browser hygiene:\n  " + "\n  ".join(problems), pytrace=False)


# -- roles on the per-test server ---------------------------------------------------------------
@dataclass
class LiveEvent:
    """The seeded event (tests/conftest.py seed_event), live and in its first slot."""

    id: int
    slug: str
    slots: list[int]
    core: list[int]  # Maria Ashdown, Jenna Holt
    slotted: list[int]  # Sandra Kemp (slot 1), Kerry Dale (slot 2), Chloe Lam (slot 3)


def wait_until(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll a server-side condition from a sync test (browser conditions use expect())."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def event_status(server: LiveServer, event_id: int) -> str:
    async def read() -> str:
        async with server.services.store.read() as repo:
            event = await repo.event_by_id(event_id)
        assert event is not None
        return str(event.status)

    return server.call(read)


@pytest.fixture
def live_event(server: LiveServer) -> LiveEvent:
    info = server.call(lambda: seed_event(server.actions))
    # The clock is half an hour into slot 1: the scheduler makes the event live by itself.
    wait_until(lambda: event_status(server, info["id"]) == EventStatus.LIVE, what="event live")
    return LiveEvent(
        id=info["id"],
        slug=info["slug"],
        slots=info["slots"],
        core=info["core"],
        slotted=info["slotted"],
    )


@pytest.fixture
def editor(server: LiveServer, live_event: LiveEvent, open_page: OpenPage) -> DeskPage:
    """An editor signed in through /desk/login, on the live event's moderation desk."""
    server.call(lambda: server.actions.create_editor(EDITOR_NAME, EDITOR_PASSWORD))
    page = open_page(server.url)
    sign_in_editor(page, EDITOR_NAME, EDITOR_PASSWORD)
    return DeskPage(page, live_event.slug).open()


@pytest.fixture
def panelist(
    server: LiveServer, live_event: LiveEvent, open_page: OpenPage
) -> Callable[..., ConsolePage]:
    """`panelist(panelist_id)`: a console signed in by opening a fresh invite link."""

    def join(panelist_id: int, **options: Any) -> ConsolePage:
        token = server.call(lambda: server.actions.create_invite(live_event.id, panelist_id))
        page = open_page(server.url, **options)
        return ConsolePage(page, live_event.slug).join(token)

    return join


@pytest.fixture
def reader(
    server: LiveServer, live_event: LiveEvent, open_page: OpenPage
) -> Callable[..., ReaderPage]:
    """`reader(**open_page options)`: a new reader (own cookies) on the live event's page."""

    def arrive(**options: Any) -> ReaderPage:
        page = open_page(server.url, **options)
        return ReaderPage(page, live_event.slug, js=options.get("js", True)).open()

    return arrive


# -- the demo site: realistic content for page tours --------------------------------------------
@dataclass
class DemoSite:
    server: LiveServer
    slug: str
    editor_state: dict[str, Any]
    panelist_state: dict[str, Any]

    @property
    def url(self) -> str:
        return self.server.url


DEMO_NOW = EVENT_START.replace(minute=30)  # 1.30pm in London: slot 1 of the demo


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Any]]:
    """One server with the demo data (live, upcoming and archived events) for the session.

    Tests that use it only read, so page tours in different modules see the same site."""
    tmp = tmp_path_factory.mktemp("demo")
    settings = Settings(
        db_url=f"sqlite:///{tmp}/livepanel.db",
        secret="browser-demo-secret",
        uploads_dir=tmp / "uploads",
        presence_interval=0.2,
    )
    server = LiveServer(settings, FakeClock(DEMO_NOW))
    server.start()
    try:
        info = server.call(lambda: load_demo(server.services.store, settings, server.clock))
        assert info.password and info.invites
        yield server, info
    finally:
        server.stop()


@pytest.fixture(scope="module")
def demo_site(demo_server: tuple[LiveServer, Any], browser: Browser) -> DemoSite:
    """The demo server, with an editor's and a panelist's signed-in browser state."""
    server, info = demo_server
    context = browser.new_context(base_url=server.url)
    page = context.new_page()
    sign_in_editor(page, info.editor, info.password)
    editor_state = context.storage_state()
    context.close()
    context = browser.new_context(base_url=server.url)
    page = context.new_page()
    page.goto(info.invites[0][1])  # Maria Ashdown, on the core panel
    page.wait_for_url(f"**/console/{LIVE_SLUG}**")
    panelist_state = context.storage_state()
    context.close()
    return DemoSite(server, LIVE_SLUG, editor_state, panelist_state)
