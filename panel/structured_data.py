"""schema.org data for search engines, and the one safe way to put JSON in a page.

The schema.org `Event` of a live or upcoming panel lives here; the transcript's `FAQPage` is
built in panel.exports from the published snapshot. No web types.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from markupsafe import Markup

from panel.curation import plain_text
from panel.domain import Event, EventStatus, Panelist

SUMMARY_CHARS = 300
SCHEMA = "https://schema.org"


def script_json(data: Mapping[str, Any]) -> Markup:
    """JSON for a `<script type="application/ld+json">` block: `<`, `>` and `&` escaped, so
    no text in it (a reader's question, a title) can end the tag."""
    text = json.dumps(data, ensure_ascii=False, indent=1)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def shorten(text: str, limit: int = SUMMARY_CHARS) -> str:
    """At most `limit` characters, cut with "…"."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def event_summary(summary: str, intro_md: str) -> str:
    """An event's one-paragraph description: its summary, else its intro as plain text."""
    return shorten(summary or plain_text(intro_md))


def event_json_ld(
    event: Event,
    panelists: Iterable[Panelist],
    description: str,
    url: str,
    image: str,
    site_name: str,
    site_url: str,
) -> dict[str, Any]:
    """A scheduled or live panel as a schema.org `Event`: online, at its own page, with each
    panelist as a performer. Times carry the event's own UTC offset."""
    # "Live" is still on schedule for schema.org; EventCancelled is not used (a cancelled
    # panel goes back to draft and leaves the public pages).
    assert event.status in (EventStatus.SCHEDULED, EventStatus.LIVE)
    performers = [
        {"@type": "Person", "name": p.name, **({"jobTitle": p.role} if p.role else {})}
        for p in panelists
    ]
    return {
        "@context": SCHEMA,
        "@type": "Event",
        "name": event.title,
        "description": description,
        "url": url,
        "image": [image],
        "startDate": event.local(event.starts_at).isoformat(),
        "endDate": event.local(event.ends_at).isoformat(),
        "eventStatus": f"{SCHEMA}/EventScheduled",
        "eventAttendanceMode": f"{SCHEMA}/OnlineEventAttendanceMode",
        "location": {"@type": "VirtualLocation", "url": url},
        "performer": performers,
        "organizer": {"@type": "Organization", "name": site_name, "url": site_url},
    }
