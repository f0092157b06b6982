"""Public archive pages: transcripts, exports, the feed, search, calendar files and the embed."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from panel import exports
from panel.domain import EventStatus, parse_iso
from panel.render import marked_html
from panel.web.base import event_or_404, render_public, services, site_url, whole_number
from panel.web.caching import ARCHIVE, LIVE
from panel.web.eventview import date_label, load_event_view
from panel.web.share_meta import ShareMeta, page_meta, transcript_meta

PAGE_SIZE = 10
MAX_PAGE = 1000
QUERY_MAX_CHARS = 200
EMBED_QUESTIONS = 20
ARCHIVE_DESCRIPTION = "Edited transcripts of our live Q&A panels, searchable."


async def _document(request: Request) -> dict[str, Any]:
    async with services(request).store.read() as repo:
        row = await repo.published_document(request.path_params["slug"])
    if row is None:
        raise HTTPException(404, "No published transcript here.")
    return json.loads(row["published_json"])  # type: ignore[no-any-return]


async def transcript_page(request: Request) -> Response:
    document = await _document(request)
    return render_public(request, "archive.html", transcript_context(request, document), ARCHIVE)


def transcript_context(
    request: Request, document: dict[str, Any], preview: bool = False
) -> dict[str, Any]:
    """The transcript page's context, for readers or as the desk's preview."""
    site, settings = site_url(request), services(request).settings
    t = exports.transcript_view(document, site)
    share = transcript_meta(site, settings, t, document, preview)
    return {"t": t, "preview": preview, "share": share}


async def transcript_markdown(request: Request) -> Response:
    """The Markdown export: panelists' Markdown as typed, raw HTML included (docs/archive.md)."""
    return await _markdown(request, safe=False)


async def transcript_safe_markdown(request: Request) -> Response:
    """The sanitised Markdown export, for a CMS: no raw HTML, no script links."""
    return await _markdown(request, safe=True)


async def _markdown(request: Request, safe: bool) -> Response:
    document = await _document(request)
    return Response(
        exports.transcript_markdown(document, site_url(request), safe=safe),
        media_type="text/markdown; charset=utf-8",
        headers={"cache-control": ARCHIVE},
    )


async def transcript_json(request: Request) -> Response:
    document = await _document(request)
    return JSONResponse(
        exports.transcript_json(document, site_url(request)), headers={"cache-control": ARCHIVE}
    )


async def feed(request: Request) -> Response:
    svc = services(request)
    async with svc.store.read() as repo:
        rows = await repo.recently_updated_transcripts()
    return Response(
        exports.atom_feed(rows, site_url(request), svc.clock.now(), svc.settings.site_name),
        media_type="application/atom+xml; charset=utf-8",
        headers={"cache-control": ARCHIVE},
    )


def _page(request: Request) -> int:
    page = whole_number(request.query_params.get("page", "1")) or 1
    return min(page, MAX_PAGE)


def _pages(page: int, total: int, params: dict[str, str]) -> dict[str, Any]:
    last = max(1, -(-total // PAGE_SIZE))

    def link(n: int) -> str:
        return "/archive?" + urlencode({**{k: v for k, v in params.items() if v}, "page": n})

    return {
        "page": page,
        "last": last,
        "first": (page - 1) * PAGE_SIZE + 1,
        "prev": link(page - 1) if page > 1 else None,
        "next": link(page + 1) if page < last else None,
    }


async def archive_index(request: Request) -> Response:
    """Published transcripts, or ranked search hits with highlighted snippets."""
    svc = services(request)
    query = request.query_params.get("q", "").strip()[:QUERY_MAX_CHARS]
    person = request.query_params.get("panelist", "").strip()[:200]
    page = _page(request)
    offset = (page - 1) * PAGE_SIZE
    hits: list[dict[str, Any]] = []
    transcripts: list[dict[str, Any]] = []
    total = 0
    async with svc.store.read() as repo:
        people = await repo.archive_people()
        if query:
            match = repo.archive_query(query)
            if match:
                total = await repo.count_archive_hits(match, person=person)
                rows = await repo.search_archive(
                    match, person=person, limit=PAGE_SIZE, offset=offset
                )
                hits = [_hit(row) for row in rows]
        else:
            total = await repo.count_published_transcripts(person=person)
            rows = await repo.published_transcripts(person=person, limit=PAGE_SIZE, offset=offset)
            transcripts = [_card(row) for row in rows]
    return render_public(
        request,
        "archive_index.html",
        {
            "query": query,
            "person": person,
            "people": people,
            "hits": hits,
            "transcripts": transcripts,
            "total": total,
            "pages": _pages(page, total, {"q": query, "panelist": person}),
            "share": _archive_meta(request, query, page),
        },
        ARCHIVE,
    )


def _archive_meta(request: Request, query: str, page: int) -> ShareMeta:
    """The archive list is indexed at its first page only; search results never are."""
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    title = f"Search: {query}" if query else "Archive"
    robots = "noindex" if query or page > 1 else None
    settings = services(request).settings
    return page_meta(site_url(request), settings, title, path, ARCHIVE_DESCRIPTION, robots)


def _local_date(at: str, zone: str) -> str:
    return date_label(parse_iso(at).astimezone(ZoneInfo(zone)))


def _hit(row: Any) -> dict[str, Any]:
    return {
        "url": f"/archive/{row['slug']}#q-{row['question_id']}",
        "transcript_url": f"/archive/{row['slug']}",
        "title": row["title"],
        "date": _local_date(row["starts_at"], row["timezone"]),
        "question_html": marked_html(row["question_marked"]),
        "snippet_html": marked_html(row["answers_marked"]),
    }


def _card(row: Any) -> dict[str, Any]:
    return {
        "url": f"/archive/{row['slug']}",
        "title": row["title"],
        "summary": row["summary"],
        "starts_at": row["starts_at"],
        "date": _local_date(row["starts_at"], row["timezone"]),
        "count": row["items"],
        "updated": _local_date(row["republished_at"], row["timezone"])
        if row["republished_at"]
        else None,
    }


async def event_calendar(request: Request) -> Response:
    """An .ics file for an event (UTC start and end, so every calendar gets the instant)."""
    svc = services(request)
    event = await event_or_404(request, request.path_params["slug"])
    body = exports.event_ics(event, site_url(request), svc.clock.now())
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "content-disposition": f'attachment; filename="{event.slug}.ics"',
            "cache-control": LIVE,
        },
    )


async def embed(request: Request) -> Response:
    """A compact live widget for an iframe; frame-ancestors comes from the settings."""
    svc = services(request)
    event = await event_or_404(request, request.path_params["slug"])
    async with svc.store.read() as repo:
        view = await load_event_view(repo, event, svc.clock.now())
    view.questions = view.questions[:EMBED_QUESTIONS]
    return render_public(
        request,
        "embed.html",
        {
            "view": view,
            "base": site_url(request),
            "archived": view.event.status == EventStatus.PUBLISHED,
            "live": view.event.status in (EventStatus.SCHEDULED, EventStatus.LIVE),
        },
        LIVE,
    )
