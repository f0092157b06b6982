"""Files for sharing and branding: the share cards (PNG) and the accent colour's stylesheet.

Each is named by a version in its URL (`?v=`, see panel.web.share_meta), so the current
version may be kept by anyone for a year; an old or missing `v` gets the current file for a
short while only.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from panel.branding import normal_hex
from panel.cards import card_version, render_card
from panel.web.base import event_or_404, services
from panel.web.share_meta import card_text

FOREVER = "public, max-age=31536000, immutable"
A_WHILE = "public, max-age=300"


def _versioned(request: Request, body: bytes, media_type: str, version: str) -> Response:
    current = request.query_params.get("v") == version
    return Response(
        body,
        media_type=media_type,
        headers={"cache-control": FOREVER if current else A_WHILE, "etag": f'"{version}"'},
    )


async def brand_css(request: Request) -> Response:
    """The accent colour as the CSS custom property site.css uses (no inline style: CSP)."""
    accent = services(request).settings.accent
    body = f":root {{ --accent: {normal_hex(accent)}; }}\n".encode()
    return _versioned(request, body, "text/css; charset=utf-8", card_version(accent))


async def site_card(request: Request) -> Response:
    """The card of the site's own pages (front page, archive)."""
    settings = services(request).settings
    png = await asyncio.to_thread(
        render_card, settings.site_name, "Live Q&A panels", settings.site_name, settings.accent
    )
    return _versioned(request, png, "image/png", card_version(settings.site_name, settings.accent))


async def event_card(request: Request) -> Response:
    """An event's card: its title and date, for link previews (og:image)."""
    settings = services(request).settings
    event = await event_or_404(request, request.path_params["slug"])
    title, when = card_text(event.title, event.local(event.starts_at), event.local(event.ends_at))
    # Rendering takes tens of milliseconds: off the event loop (cached once rendered).
    png = await asyncio.to_thread(render_card, title, when, settings.site_name, settings.accent)
    version = card_version(title, when, settings.site_name, settings.accent)
    return _versioned(request, png, "image/png", version)
