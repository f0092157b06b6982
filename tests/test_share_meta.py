"""Sharing, search engines and branding: head tags, JSON-LD, share cards and the settings.

A real uvicorn with the demo data; the OpenGraph tags and JSON-LD are read with extruct (a
structured-data parser from PyPI), the cards with Pillow.
"""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import extruct
import httpx
import pytest
from PIL import Image

from panel.actions import Actions
from panel.app import create_app
from panel.branding import AA_CONTRAST, contrast_ratio
from panel.cards import CARD_SIZE
from panel.clock import FakeClock
from panel.config import Settings
from panel.demo import ARCHIVE_SLUG, LIVE_SLUG, UPCOMING_SLUG, load_demo
from panel.domain import Actor
from tests.conftest import EVENT_START, LiveServer, seed_event
from tests.test_cli import env, free_port, one_clear_line
from tests.test_pages import Node, parse

PUBLIC_URL = "https://news.example.org/qa"
EDITOR = Actor("editor", 0, "test")
OG_TAGS = ("og:title", "og:description", "og:type", "og:url", "og:image", "og:site_name")
TWITTER_TAGS = ("twitter:card", "twitter:title", "twitter:description", "twitter:image")
CLOSED_SLUG = "closed-panel"
HOSTILE_TITLE = 'Careers </script><script>alert("x")</script> & more'


@contextlib.contextmanager
def running(folder: Path, demo: bool = True, **branding: Any) -> Iterator[LiveServer]:
    """A server whose public address is PUBLIC_URL, with the demo loaded unless told not."""
    settings = Settings(
        db_url=f"sqlite:///{folder}/livepanel.db",
        secret="test-secret",
        uploads_dir=folder / "uploads",
        public_url=PUBLIC_URL,
        **branding,
    )
    live = LiveServer(settings, FakeClock(EVENT_START + timedelta(minutes=30)))
    live.start()
    try:
        if demo:
            live.call(lambda: load_demo(live.services.store, settings, live.clock))
        yield live
    finally:
        live.stop()


async def retitle(actions: Actions, event_id: int, title: str, intro_md: str = "") -> None:
    """Edit an event's title and intro, keeping the rest as seed_event made it."""
    await actions.update_event(
        event_id,
        EDITOR,
        title=title,
        summary="",
        intro_md=intro_md,
        related=[],
        starts_at=EVENT_START,
        ends_at=EVENT_START + timedelta(hours=3),
        timezone="Europe/London",
        moderation="pre",
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The demo (live, upcoming, published) plus a closed event and one with a hostile title."""

    async def more(actions: Actions) -> None:
        closed = await seed_event(actions, slug=CLOSED_SLUG, start=EVENT_START)
        await actions.set_status(closed["id"], "closed", EDITOR)
        hostile = await seed_event(actions, slug="hostile", start=EVENT_START)
        intro = "An intro with <b>markup</b> & a </script> tag."
        await retitle(actions, hostile["id"], HOSTILE_TITLE, intro)

    with running(tmp_path_factory.mktemp("share")) as live:
        live.call(lambda: more(live.services.actions))
        yield live


@pytest.fixture
async def client(site: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=site.url, timeout=10) as c:
        yield c


def metas(doc: Node) -> dict[str, str]:
    """Every <meta>'s property or name, with its content."""
    found = {}
    for node in doc.find_all("meta"):
        key = node.attrs.get("property") or node.attrs.get("name")
        if key:
            found[key] = node.attrs.get("content") or ""
    return found


def canonical(doc: Node) -> str | None:
    links = [n for n in doc.find_all("link") if n.attrs.get("rel") == "canonical"]
    assert len(links) <= 1
    return links[0].attrs.get("href") if links else None


def json_ld(html: str) -> list[dict[str, Any]]:
    """The page's JSON-LD blocks as extruct reads them."""
    found: list[dict[str, Any]] = extruct.extract(html, PUBLIC_URL, syntaxes=["json-ld"])["json-ld"]
    return found


def opengraph(html: str) -> dict[str, str]:
    """The page's OpenGraph properties as extruct reads them."""
    [graph] = extruct.extract(html, PUBLIC_URL, syntaxes=["opengraph"])["opengraph"]
    return dict(graph["properties"])


def local_path(url: str) -> str:
    assert url.startswith(PUBLIC_URL + "/"), url
    return url[len(PUBLIC_URL) :]


PUBLIC_PAGES = {
    "/": "Live Q&As",
    f"/events/{LIVE_SLUG}": None,
    f"/events/{UPCOMING_SLUG}": None,
    f"/events/{CLOSED_SLUG}": None,
    "/archive": "Archive",
    f"/archive/{ARCHIVE_SLUG}": None,
    "/events/no-such-event": "Page not found",
}


@pytest.mark.parametrize("path", list(PUBLIC_PAGES))
async def test_every_public_page_has_share_tags(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == (404 if "no-such" in path else 200)
    doc = parse(response.text)
    tags = metas(doc)
    title = doc.find_all("title")[0].text()
    assert title.endswith("· Livepanel"), title
    assert tags["description"].strip()
    for name in (*OG_TAGS, *TWITTER_TAGS):
        assert tags.get(name, "").strip(), f"{name} missing on {path}"
    assert tags["og:site_name"] == "Livepanel"
    assert tags["twitter:card"] == "summary_large_image"
    # Absolute, from LIVEPANEL_PUBLIC_URL (not the test server's own address).
    url = canonical(doc)
    assert url == PUBLIC_URL + path
    assert tags["og:url"] == url
    assert tags["og:image"].startswith(PUBLIC_URL + "/")
    assert title == f"{tags['og:title']} · Livepanel"
    if PUBLIC_PAGES[path]:
        assert tags["og:title"] == PUBLIC_PAGES[path]
    # The same tags as a structured-data parser reads them.
    og = opengraph(response.text)
    assert {k: og[k] for k in OG_TAGS} == {k: tags[k] for k in OG_TAGS}


async def test_event_pages_describe_their_event(
    client: httpx.AsyncClient, site: LiveServer
) -> None:
    async with site.services.store.read() as repo:
        event = await repo.event_by_slug(LIVE_SLUG)
    assert event is not None
    tags = metas(parse((await client.get(f"/events/{LIVE_SLUG}")).text))
    assert tags["og:title"] == event.title
    assert tags["description"] == tags["og:description"]
    assert tags["description"].startswith(event.summary[:50])
    assert f"/events/{LIVE_SLUG}/card.png?v=" in tags["og:image"]


async def test_error_pages_and_searches_are_not_indexed(client: httpx.AsyncClient) -> None:
    for path in ("/events/no-such-event", "/archive?q=probation", "/archive?page=2"):
        tags = metas(parse((await client.get(path)).text))
        assert tags.get("robots") == "noindex", path
    for path in ("/", "/archive", f"/events/{LIVE_SLUG}"):
        assert "robots" not in metas(parse((await client.get(path)).text)), path


async def test_event_card_is_a_png_cached_by_version(client: httpx.AsyncClient) -> None:
    tags = metas(parse((await client.get(f"/events/{LIVE_SLUG}")).text))
    response = await client.get(local_path(tags["og:image"]))
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert "immutable" in response.headers["cache-control"]
    assert "max-age=31536000" in response.headers["cache-control"]
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG"
    assert image.size == CARD_SIZE == (1200, 630)
    assert (tags["og:image:width"], tags["og:image:height"]) == ("1200", "630")
    # An old or missing version gets the current card, kept only briefly.
    stale = await client.get(f"/events/{LIVE_SLUG}/card.png?v=old")
    assert stale.status_code == 200 and stale.content == response.content
    assert "immutable" not in stale.headers["cache-control"]
    assert (await client.get("/events/no-such-event/card.png")).status_code == 404
    site_tags = metas(parse((await client.get("/")).text))
    site_card = await client.get(local_path(site_tags["og:image"]))
    assert Image.open(io.BytesIO(site_card.content)).size == CARD_SIZE
    assert site_card.content != response.content


async def test_card_address_changes_when_the_title_does(tmp_path: Path) -> None:
    with running(tmp_path, demo=False) as live:
        info = live.call(lambda: seed_event(live.services.actions, slug="renamed"))
        async with httpx.AsyncClient(base_url=live.url, timeout=10) as client:
            before = metas(parse((await client.get("/events/renamed")).text))["og:image"]
            old_png = (await client.get(local_path(before))).content
            await live.acall(
                lambda: retitle(live.services.actions, info["id"], "A new title for the panel")
            )
            after = metas(parse((await client.get("/events/renamed")).text))["og:image"]
            new = await client.get(local_path(after))
    assert before != after
    assert "immutable" in new.headers["cache-control"]
    assert new.content != old_png


@pytest.mark.parametrize("slug", [LIVE_SLUG, UPCOMING_SLUG])
async def test_live_and_upcoming_events_carry_schema_org_event(
    client: httpx.AsyncClient, site: LiveServer, slug: str
) -> None:
    async with site.services.store.read() as repo:
        event = await repo.event_by_slug(slug)
        assert event is not None
        panelists = (await repo.lineup(event.id)).everyone()
    html = (await client.get(f"/events/{slug}")).text
    events = [d for d in json_ld(html) if d.get("@type") == "Event"]
    assert len(events) == 1
    data = events[0]
    url = f"{PUBLIC_URL}/events/{slug}"
    assert data["@context"] == "https://schema.org"
    assert data["name"] == event.title
    assert data["description"]
    assert data["url"] == url
    start, end = (datetime.fromisoformat(data[k]) for k in ("startDate", "endDate"))
    assert start.utcoffset() is not None and end.utcoffset() is not None
    assert (start, end) == (event.starts_at, event.ends_at)
    assert data["eventStatus"] == "https://schema.org/EventScheduled"
    assert data["eventAttendanceMode"] == "https://schema.org/OnlineEventAttendanceMode"
    assert data["location"] == {"@type": "VirtualLocation", "url": url}
    assert [(p["@type"], p["name"], p.get("jobTitle")) for p in data["performer"]] == [
        ("Person", p.name, p.role or None) for p in panelists
    ]
    assert len(data["performer"]) == {LIVE_SLUG: 10, UPCOMING_SLUG: 3}[slug]
    assert data["organizer"]["name"] == "Livepanel"
    assert data["organizer"]["url"] == PUBLIC_URL + "/"


async def test_closed_events_have_no_event_data_and_transcripts_keep_faqpage(
    client: httpx.AsyncClient,
) -> None:
    closed = json_ld((await client.get(f"/events/{CLOSED_SLUG}")).text)
    assert closed == []
    transcript = json_ld((await client.get(f"/archive/{ARCHIVE_SLUG}")).text)
    assert [d["@type"] for d in transcript] == ["FAQPage"]
    assert transcript[0]["mainEntity"], "the FAQPage lists the questions"
    tags = metas(parse((await client.get(f"/archive/{ARCHIVE_SLUG}")).text))
    assert tags["og:type"] == "article"


async def test_json_ld_cannot_end_its_script_tag(client: httpx.AsyncClient) -> None:
    html = (await client.get("/events/hostile")).text
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert block, "no JSON-LD block"
    assert "<" not in block.group(1) and ">" not in block.group(1)
    assert "<script>alert" not in html
    [data] = json_ld(html)
    assert data["name"] == HOSTILE_TITLE  # the parser reads back exactly the title
    tags = metas(parse(html))
    assert tags["og:title"] == HOSTILE_TITLE  # escaped in the attribute, read back whole


async def test_branding_settings_change_every_place(tmp_path: Path) -> None:
    branding = {
        "site_name": "The Courier",
        "logo_url": "/static/favicon.svg",
        "accent": "#1d4f91",
        "footer_text": "The Courier's live Q&As, moderated by our editors.",
    }
    with running(tmp_path, **branding) as live:
        async with httpx.AsyncClient(base_url=live.url, timeout=10) as client:
            pages = {p: await client.get(p) for p in ("/", f"/events/{LIVE_SLUG}", "/archive")}
            feed = await client.get("/archive/feed.atom")
            doc = parse(pages[f"/events/{LIVE_SLUG}"].text)
            [css_link] = [
                n.attrs["href"] or ""
                for n in doc.find_all("link")
                if n.attrs.get("rel") == "stylesheet"
            ][1:]
            css = await client.get(css_link)
    for response in pages.values():
        page = parse(response.text)
        assert page.find_all("title")[0].text().endswith("· The Courier")
        assert metas(page)["og:site_name"] == "The Courier"
        assert "Livepanel" not in response.text
    brand = doc.find_all("a", cls="brand")[0]
    [logo] = brand.find_all("img")
    assert (logo.attrs["src"], logo.attrs["alt"]) == ("/static/favicon.svg", "The Courier")
    assert doc.find_all("footer")[0].text() == branding["footer_text"]
    assert "<title>The Courier: Q&amp;A transcripts</title>" in feed.text
    assert "<name>The Courier</name>" in feed.text
    assert css_link.startswith("/brand.css?v=")
    assert "--accent: #1d4f91" in css.text
    assert "immutable" in css.headers["cache-control"]
    assert json_ld(pages[f"/events/{LIVE_SLUG}"].text)[0]["organizer"]["name"] == "The Courier"


async def test_a_logo_on_another_site_is_allowed_by_csp(tmp_path: Path) -> None:
    with running(tmp_path, demo=False, logo_url="https://cdn.example.org/brand/logo.png") as live:
        async with httpx.AsyncClient(base_url=live.url, timeout=10) as client:
            response = await client.get("/")
    csp = response.headers["content-security-policy"]
    img_src = next(d for d in csp.split(";") if d.strip().startswith("img-src"))
    assert img_src.split()[1:] == ["'self'", "data:", "https://cdn.example.org"]
    assert 'src="https://cdn.example.org/brand/logo.png"' in response.text


def test_branding_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEPANEL_SITE_NAME", "The Courier")
    monkeypatch.setenv("LIVEPANEL_LOGO_URL", "/uploads/logo.png")
    monkeypatch.setenv("LIVEPANEL_ACCENT", "#1D4F91")
    monkeypatch.setenv("LIVEPANEL_FOOTER_TEXT", "Our footer.")
    settings = Settings.from_env()
    assert (settings.site_name, settings.logo_url, settings.accent, settings.footer_text) == (
        "The Courier",
        "/uploads/logo.png",
        "#1D4F91",
        "Our footer.",
    )


def test_contrast_ratio_matches_wcag() -> None:
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21)
    assert contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1)
    # WCAG's own example of the lightest grey that passes AA on white: 4.54:1.
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)
    assert contrast_ratio("#777777", "#ffffff") < AA_CONTRAST


@pytest.mark.parametrize(
    ("accent", "named"),
    [("#ff9999", "#ff9999"), ("#F99", "#ff9999"), ("#777777", "#777777"), ("red", "'red'")],
)
def test_serve_refuses_an_accent_without_aa_contrast(
    tmp_path: Path, accent: str, named: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "panel.cli", "serve", "--port", str(free_port())],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**env(), "LIVEPANEL_ACCENT": accent},
    )
    line = one_clear_line(result)
    assert f"LIVEPANEL_ACCENT {named}" in line, line
    if accent != "red":
        ratio = re.search(r"contrast ratio of (\d+\.\d\d):1", line)
        assert ratio, line
        shown = float(ratio.group(1))
        assert shown == round(
            min(contrast_ratio(named, "#ffffff"), contrast_ratio(named, "#f5f3ef")), 2
        )
        assert shown < AA_CONTRAST
        assert "4.5:1" in line
    assert not (tmp_path / "livepanel.db").exists(), "refused before touching the database"


def test_create_app_refuses_a_failing_accent(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"LIVEPANEL_ACCENT #ffcc00 has a contrast ratio"):
        create_app(Settings(db_url=f"sqlite:///{tmp_path}/x.db", accent="#ffcc00"))
    # A dark accent passes, and so does the default.
    create_app(
        Settings(db_url=f"sqlite:///{tmp_path}/x.db", accent="#1d4f91", uploads_dir=tmp_path)
    )
