"""What a public page tells link previews and search engines (templates/_share_meta.html).

Each page's handler builds one `ShareMeta` from data it already has; every URL in it is
absolute, from LIVEPANEL_PUBLIC_URL (else the request's own address, see base.site_url).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup

from panel.cards import card_version
from panel.config import Settings
from panel.domain import Event, EventStatus, Panelist, parse_iso
from panel.formatting import clock_label, date_label
from panel.structured_data import event_json_ld, event_summary, script_json

SITE_DESCRIPTION = (
    "Live Q&A panels: send your questions to the experts, read their answers as they come "
    "in, and browse the edited transcripts of past panels."
)


@dataclass(frozen=True)
class ShareMeta:
    title: str
    description: str
    # The canonical address; None for a page that must not be indexed (a preview).
    url: str | None
    image: str
    image_alt: str
    kind: str = "website"  # og:type
    json_ld: Markup | None = None
    robots: str | None = None  # e.g. "noindex" for search results and error pages


def card_text(title: str, starts_at: datetime, ends_at: datetime) -> tuple[str, str]:
    """What an event's card shows: its title and its local date and times."""
    when = f"{date_label(starts_at)} · {clock_label(starts_at)}–{clock_label(ends_at)}"
    return title, when


def card_url(site: str, settings: Settings, slug: str, title: str, when: str) -> str:
    """The event card's address; its `v` changes whenever what the card shows changes."""
    version = card_version(title, when, settings.site_name, settings.accent)
    return f"{site}/events/{slug}/card.png?v={version}"


def site_card_url(site: str, settings: Settings) -> str:
    version = card_version(settings.site_name, settings.accent)
    return f"{site}/card.png?v={version}"


def page_meta(
    site: str,
    settings: Settings,
    title: str,
    path: str,
    description: str = SITE_DESCRIPTION,
    robots: str | None = None,
) -> ShareMeta:
    """A site page (front page, archive, an error): the site's own card."""
    return ShareMeta(
        title=title,
        description=description,
        url=f"{site}{path}",
        image=site_card_url(site, settings),
        image_alt=f"{settings.site_name}: live Q&A panels",
        robots=robots,
    )


def event_meta(
    site: str, settings: Settings, event: Event, panelists: Iterable[Panelist]
) -> ShareMeta:
    """An event page in any status; scheduled and live ones carry schema.org `Event` data."""
    url = f"{site}/events/{event.slug}"
    start, end = event.local(event.starts_at), event.local(event.ends_at)
    title, when = card_text(event.title, start, end)
    image = card_url(site, settings, event.slug, title, when)
    description = event_summary(event.summary, event.intro_md) or f"A live Q&A, {when}."
    data: dict[str, Any] | None = None
    if event.status in (EventStatus.SCHEDULED, EventStatus.LIVE):
        data = event_json_ld(
            event, panelists, description, url, image, settings.site_name, f"{site}/"
        )
    return ShareMeta(
        title=event.title,
        description=description,
        url=url,
        image=image,
        image_alt=f"{event.title}, {when}",
        json_ld=script_json(data) if data else None,
        robots="noindex" if event.status == EventStatus.DRAFT else None,
    )


def transcript_meta(
    site: str, settings: Settings, t: dict[str, Any], document: dict[str, Any], preview: bool
) -> ShareMeta:
    """A published transcript (an article, with its FAQPage data); a preview is not indexed."""
    event = document["event"]
    zone = ZoneInfo(event["timezone"])
    start, end = (parse_iso(event[k]).astimezone(zone) for k in ("starts_at", "ends_at"))
    title, when = card_text(t["title"], start, end)
    return ShareMeta(
        title=f"{t['title']}: Q&A transcript",
        description=t["description"],
        url=None if preview else t["url"],
        image=card_url(site, settings, t["slug"], title, when),
        image_alt=f"{t['title']}, {when}",
        kind="article",
        json_ld=t["json_ld"],
        robots="noindex" if preview else None,
    )
