"""Readers' pages on a real uvicorn with the demo data and a fake clock."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import httpx
import pytest

from panel.clock import FakeClock
from panel.config import Settings
from panel.demo import ARCHIVE_SLUG, LIVE_SLUG, UPCOMING_SLUG, DemoInfo, load_demo
from panel.domain import Actor
from tests.conftest import EVENT_START, LiveServer, seed_event, wait_for

HOUR = timedelta(hours=1)
LONDON = ZoneInfo("Europe/London")
EVENT_PATH = f"/events/{LIVE_SLUG}"
# From shared/demo-event.md, written out here rather than read from panel.demo.
CORE = ["Maria Ashdown", "Jenna Holt", "Martin Oakes", "Dr Priya Hamid"]
SLOT_PEOPLE = [
    ["Sandra Kemp"],
    ["Kerry Dale", "Emma Marsh", "Ravi Hollins"],
    ["Chloe Lam", "Claire Fenwick"],
]
# The server's fake clock starts at 12:30 UTC on 15 September 2026, i.e. 13:30 in London
# (summer time), so the demo's slots are 1pm, 2pm and 3pm London = 12:00, 13:00, 14:00 UTC.
SLOT_STARTS = [datetime(2026, 9, 15, h, tzinfo=UTC) for h in (12, 13, 14)]
VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}


# -- a very small DOM on top of html.parser ----------------------------------------------------


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    children: list[Node | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text() for c in self.children]
        return re.sub(r"\s+", " ", "".join(parts)).strip()

    def walk(self) -> list[Node]:
        out: list[Node] = [self]
        for child in self.children:
            if isinstance(child, Node):
                out += child.walk()
        return out

    def find_all(self, tag: str | None = None, cls: str | None = None) -> list[Node]:
        return [
            n
            for n in self.walk()[1:]
            if (tag is None or n.tag == tag) and (cls is None or cls in n.classes)
        ]

    def by_id(self, ident: str) -> Node:
        found = [n for n in self.walk() if n.attrs.get("id") == ident]
        assert len(found) == 1, f"expected one #{ident}, found {len(found)}"
        return found[0]


class TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def on_now_names(doc: Node) -> list[str]:
    return [li.text() for li in doc.by_id("on-now").find_all("li")]


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
async def demo(server: LiveServer) -> DemoInfo:
    """The demo data loaded into this test's server, placed around its fake clock."""
    return await server.acall(
        lambda: load_demo(server.services.store, server.services.settings, server.clock)
    )


@pytest.fixture
async def client(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as c:
        yield c


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One demo server for the tests that only read (loading the demo takes seconds)."""
    folder = tmp_path_factory.mktemp("shared-demo")
    settings = Settings(
        db_url=f"sqlite:///{folder}/livepanel.db",
        secret="test-secret",
        uploads_dir=folder / "uploads",
    )
    live = LiveServer(settings, FakeClock(EVENT_START + timedelta(minutes=30)))
    live.start()
    try:
        live.call(lambda: load_demo(live.services.store, settings, live.clock))
        yield live
    finally:
        live.stop()


@pytest.fixture
async def reader(shared_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """A reader's client on the shared, read-only demo server."""
    async with httpx.AsyncClient(base_url=shared_server.url, timeout=10) as c:
        yield c


async def page(client: httpx.AsyncClient, path: str = EVENT_PATH) -> Node:
    response = await client.get(path)
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    return parse(response.text)


# -- the demo event page ---------------------------------------------------------------------------


async def test_demo_page_lists_ten_panelists_and_three_slots(reader: httpx.AsyncClient) -> None:
    """Ten panel profiles (four core, six in slots) and three one-hour slots."""
    doc = await page(reader)
    panelists = doc.find_all(cls="panelist")
    assert len(panelists) == 10
    shown = [p.find_all(cls="panelist-name")[0].text() for p in panelists]
    assert sorted(n.removesuffix(" on now") for n in shown) == sorted(
        CORE + [n for slot in SLOT_PEOPLE for n in slot]
    )
    assert all(p.find_all(cls="panelist-bio") for p in panelists), "every profile has a bio"
    slots = doc.find_all("li", cls="slot")
    assert len(slots) == 3
    for li, people in zip(slots, SLOT_PEOPLE, strict=True):
        joining = li.find_all(cls="slot-people")[0].text()
        assert joining == "Joining: " + ", ".join(people)


async def test_on_now_matches_the_clock(
    demo: DemoInfo, server: LiveServer, client: httpx.AsyncClient
) -> None:
    """13:30: core four and Sandra Kemp; 14:00: core four and slot 2; 16:00: nobody."""
    doc = await page(client)
    assert on_now_names(doc) == CORE + SLOT_PEOPLE[0]
    assert "hidden" in doc.by_id("on-now-empty").attrs
    current = doc.find_all("li", cls="current")
    assert len(current) == 1 and "Getting in" in current[0].text()
    badges = {
        p.find_all(cls="panelist-name")[0].text()
        for p in doc.find_all(cls="panelist")
        if "on now" in p.text()
    }
    assert badges == {f"{n} on now" for n in CORE + SLOT_PEOPLE[0]}

    server.clock.set(SLOT_STARTS[1])
    doc = await page(client)
    assert on_now_names(doc) == CORE + SLOT_PEOPLE[1]
    current = doc.find_all("li", cls="current")
    assert len(current) == 1 and "Training and caseloads" in current[0].text()

    server.clock.set(SLOT_STARTS[2] + HOUR)  # 4pm: the event is over

    async def ended() -> Node | None:
        doc = await page(client)
        return doc if doc.by_id("event-status").text() == "Ended" else None

    doc = await wait_for(ended, message="the scheduler to close the event")
    assert on_now_names(doc) == []
    assert "hidden" not in doc.by_id("on-now-empty").attrs
    assert doc.find_all("li", cls="current") == []


async def test_slot_times_are_time_elements_in_utc_and_local_labels(
    reader: httpx.AsyncClient,
) -> None:
    """Each slot shows 1pm-2pm style London times, with the UTC instant in <time datetime>."""
    doc = await page(reader)
    for li, start, label in zip(
        doc.find_all("li", cls="slot"), SLOT_STARTS, ("1pm–2pm", "2pm–3pm", "3pm–4pm"), strict=True
    ):
        times = li.find_all("time")
        assert len(times) == 2
        instants = [datetime.fromisoformat(str(t.attrs["datetime"])) for t in times]
        assert instants == [start, start + HOUR]
        assert all(i.utcoffset() == timedelta(0) for i in instants)
        assert [i.astimezone(LONDON).hour for i in instants] == [
            int(label[0]) + 12,
            int(label[0]) + 13,
        ]
        assert f"{times[0].text()}–{times[1].text()}" == label
    header_times = doc.by_id("event").find_all("time")
    assert datetime.fromisoformat(str(header_times[0].attrs["datetime"])) == SLOT_STARTS[0]
    assert "1pm–4pm" in header_times[0].text()
    assert "Tuesday 15 September 2026" in header_times[0].text()
    for t in doc.find_all("time"):  # every <time> is machine-readable
        assert datetime.fromisoformat(str(t.attrs["datetime"]).replace("Z", "+00:00")).tzinfo


async def test_only_approved_questions_are_shown(reader: httpx.AsyncClient) -> None:
    """Readers see published questions and answers, never pending or rejected text."""
    response = await reader.get(EVENT_PATH)
    doc = parse(response.text)
    titles = [
        q.find_all(cls="question-body")[0].text() for q in doc.find_all("article", cls="question")
    ]
    assert "Do I need a degree before I can apply to train as a probation officer?" in titles
    assert "How do you switch off after a difficult day?" not in response.text  # pending
    assert "Buy cheap followers" not in response.text  # rejected
    two = [
        q for q in doc.find_all("article", cls="question") if q.text().startswith("How many cases")
    ]
    assert len(two) == 1 and len(two[0].find_all(cls="answer")) == 2
    pinned = doc.find_all("article", cls="pinned")
    assert len(pinned) == 1 and "Is the pay enough" in pinned[0].text()
    assert doc.find_all("article", cls="question")[0] is pinned[0], "pinned comes first"
    assert "<strong>probation services officer</strong>" in response.text  # markdown rendered


async def test_demo_is_loaded_once(
    demo: DemoInfo, server: LiveServer, client: httpx.AsyncClient
) -> None:
    """Loading the demo again adds nothing: still ten panelists and three slots."""
    assert demo.loaded and demo.password and len(demo.invites) == 10
    again = await server.acall(
        lambda: load_demo(server.services.store, server.services.settings, server.clock)
    )
    assert not again.loaded and again.password is None and again.invites == []
    doc = await page(client)
    assert len(doc.find_all(cls="panelist")) == 10
    assert len(doc.find_all("li", cls="slot")) == 3


# -- other pages ---------------------------------------------------------------------------------


async def test_unknown_slug_gives_the_friendly_404(reader: httpx.AsyncClient) -> None:
    """Unknown events, odd slugs and unknown paths get the site's own 404 page."""
    for path in (
        "/events/no-such-event",
        "/events/%3Cscript%3E",
        "/events/" + "x" * 3000,
        "/events/caf%C3%A9",
        "/no/such/page",
    ):
        response = await reader.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html")
        doc = parse(response.text)
        assert doc.find_all("h1")[0].text() == "Page not found"
        assert any(a.attrs.get("href") == "/" for a in doc.find_all("a"))
        assert "Traceback" not in response.text and "<script>" not in response.text


async def test_draft_event_is_404_for_readers(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    """A draft is not public: readers get the 404 page."""
    await server.acall(lambda: seed_event(server.actions, slug="secret-draft", status="draft"))
    response = await client.get("/events/secret-draft")
    assert response.status_code == 404
    assert "Working and training" not in response.text


async def test_front_page_has_live_upcoming_and_archive(reader: httpx.AsyncClient) -> None:
    """Each demo event is listed in its own section of the front page."""
    doc = await page(reader, "/")
    sections = {s.attrs.get("aria-labelledby"): s for s in doc.find_all("section")}

    def links(section: str) -> set[str]:
        return {str(a.attrs.get("href")) for a in sections[section].find_all("a")}

    assert f"/events/{LIVE_SLUG}" in links("live-heading")
    assert f"/events/{UPCOMING_SLUG}" in links("upcoming-heading")
    assert any(ARCHIVE_SLUG in link for link in links("archive-heading"))
    for section, elsewhere in (
        ("live-heading", (UPCOMING_SLUG, ARCHIVE_SLUG)),
        ("upcoming-heading", (LIVE_SLUG, ARCHIVE_SLUG)),
        ("archive-heading", (LIVE_SLUG, UPCOMING_SLUG)),
    ):
        assert not any(slug in link for link in links(section) for slug in elsewhere)
    live_card = sections["live-heading"].find_all("li", cls="card")[0]
    assert "1pm–4pm" in live_card.text()


async def test_front_page_without_events(server: LiveServer, client: httpx.AsyncClient) -> None:
    """An empty site still renders the three sections with their empty messages."""
    doc = await page(client, "/")
    headings = [h.text() for h in doc.find_all("h2")]
    assert headings[:3] == ["Live now", "Coming up", "Archive"]
    assert doc.find_all("li", cls="card") == []


async def test_healthz_is_json_ok(server: LiveServer, client: httpx.AsyncClient) -> None:
    """/healthz answers 200 {"status": "ok"} as JSON when the store answers."""
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"status": "ok"}


async def test_security_headers_on_every_page(reader: httpx.AsyncClient) -> None:
    """CSP without inline script, nosniff and a referrer policy, also on errors and JSON."""
    for path in ("/", EVENT_PATH, "/events/missing", "/healthz"):
        response = await reader.get(path)
        csp = response.headers.get("content-security-policy", "")
        directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
        assert directives.get("script-src") == ["'self'"], (path, csp)
        assert "frame-ancestors" in directives and "object-src" in directives
        assert response.headers.get("x-content-type-options") == "nosniff"
        assert response.headers.get("referrer-policy")


async def test_pages_have_no_inline_script(reader: httpx.AsyncClient) -> None:
    """The CSP forbids inline script, so every <script> must load a file (a JSON-LD data
    block is not run, so it may be inline)."""
    for path in ("/", EVENT_PATH, "/events/missing"):
        doc = parse((await reader.get(path)).text)
        for script in doc.find_all("script"):
            if script.attrs.get("type") == "application/ld+json":
                continue
            assert script.attrs.get("src"), f"inline script on {path}"
            assert script.text() == ""


async def test_hostile_text_is_escaped_or_sanitised(
    demo: DemoInfo, server: LiveServer, client: httpx.AsyncClient
) -> None:
    """Script in a question, javascript: links and raw HTML in an answer never run."""

    async def hostile() -> int:
        actions = server.actions
        async with server.services.store.read() as repo:
            event = await repo.event_by_slug(LIVE_SLUG)
            assert event is not None
            maria = next(p for p in (await repo.lineup(event.id)).core if p.name == "Maria Ashdown")
        question, _ = await actions.post_question(
            event.id,
            "hostile-reader",
            "<script>alert(1)</script> Is this safe?",
            '"><img src=x onerror=alert(2)>',
        )
        await actions.moderate(question.id, "approve", Actor("editor", 0, "test"))
        await actions.answer(
            question.id,
            "See [x](javascript:alert(1)) and <img src=x onerror=alert(3)> but **this** is "
            "[fine](https://example.org/ok).",
            Actor("panelist", maria.id, maria.name),
        )
        return question.id

    qid = await server.acall(hostile)
    response = await client.get(EVENT_PATH)
    html = response.text
    doc = parse(html)
    article = doc.by_id(f"q-{qid}")
    assert article.find_all(cls="question-body")[0].text() == (
        "<script>alert(1)</script> Is this safe?"
    )  # shown as text...
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # ...because it was escaped
    assert '"><img src=x onerror=alert(2)>' in article.text()
    for node in doc.walk():
        assert not any(name.startswith("on") for name in node.attrs), node
        for name in ("href", "src", "action"):
            value = (node.attrs.get(name) or "").strip().lower()
            assert not value.startswith(("javascript:", "data:text")), node
        if node.tag == "img":
            assert node.attrs.get("src") != "x", node
    scripts = [s for s in doc.find_all("script") if s.attrs.get("type") != "application/ld+json"]
    assert [(s.attrs.get("src") or "").split("?v=")[0] for s in scripts] == ["/static/js/live.js"]
    answer = article.find_all(cls="answer-body")[0]
    assert [n.tag for n in answer.find_all("strong")] == ["strong"]  # markdown still works
    assert [a.attrs.get("href") for a in answer.find_all("a")] == ["https://example.org/ok"]
    assert "<img src=x onerror=alert(3)>" in answer.text()  # raw HTML shown, not run


async def test_large_pages_are_gzipped_only_when_asked(reader: httpx.AsyncClient) -> None:
    """The event page is gzip-encoded for a client that accepts it, with the security headers
    intact; plain for one that does not; tiny responses are never compressed."""
    gzipped = await reader.get(EVENT_PATH, headers={"Accept-Encoding": "gzip"})
    assert gzipped.status_code == 200
    assert gzipped.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in gzipped.headers["vary"].lower()
    assert "content-security-policy" in gzipped.headers
    assert gzipped.headers["x-frame-options"] == "DENY"
    assert int(gzipped.headers["content-length"]) < len(gzipped.content) / 2  # compressed
    plain = await reader.get(EVENT_PATH, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert int(plain.headers["content-length"]) == len(plain.content)
    assert (
        parse(gzipped.text).find_all("h1")[0].text() == parse(plain.text).find_all("h1")[0].text()
    )
    health = await reader.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in health.headers
