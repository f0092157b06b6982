"""The desk's digest of advance questions: a printable page and its Markdown (editors only).

`?pending=1` adds the questions still waiting for moderation, marked as pending; both
routes are editors' only, so a pending question never reaches anyone else through them.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from panel.digest import (
    Digest,
    build_digest,
    count_line,
    digest_markdown,
    made_label,
    outline,
    when_label,
)
from panel.domain import Event, EventStatus, RuleError, accepts_questions
from panel.web.auth import require_editor
from panel.web.base import event_or_404, render, services
from panel.web.caching import PRIVATE
from panel.web.desk import _editor_or_login
from panel.web.eventview import STATUS_LABELS


def include_pending(request: Request) -> bool:
    """The `pending` query parameter: absent, "0" or "1" (the page's checkbox sends "1")."""
    value = request.query_params.get("pending", "0")
    if value not in ("0", "1", ""):
        raise RuleError("bad_request", "pending must be 1 (include pending questions) or 0.")
    return value == "1"


async def _digest(request: Request, event: Event, pending: bool) -> Digest:
    svc = services(request)
    async with svc.store.read() as repo:
        return await build_digest(repo, event, include_pending=pending, now=svc.clock.now())


async def digest_page(request: Request) -> Response:
    """The printable page; an event that has closed gets a short explanation instead."""
    actor = await _editor_or_login(request)
    if isinstance(actor, Response):
        return actor
    pending = include_pending(request)
    event = await event_or_404(request, request.path_params["slug"])
    digest = await _digest(request, event, pending) if accepts_questions(event.status) else None
    query = "?pending=1" if pending else ""
    response = render(
        request,
        "desk_digest.html",
        {
            "event": event,
            "status": STATUS_LABELS[event.status],
            "digest": digest,
            "parts": outline(digest) if digest else [],
            "when": when_label(digest) if digest else "",
            "count": count_line(digest) if digest else "",
            "made": made_label(digest) if digest else "",
            "pending": pending,
            "ended": event.status in (EventStatus.CLOSED, EventStatus.PUBLISHED),
            "markdown_url": f"/desk/events/{event.slug}/digest.md{query}",
            "tab": "digest",
        },
    )
    response.headers["cache-control"] = PRIVATE
    return response


async def digest_markdown_file(request: Request) -> Response:
    """The digest as Markdown, to paste into a brief or a mail of one's own."""
    await require_editor(request)
    pending = include_pending(request)
    event = await event_or_404(request, request.path_params["slug"])
    digest = await _digest(request, event, pending)
    return Response(
        digest_markdown(digest),
        media_type="text/markdown; charset=utf-8",
        headers={
            "cache-control": PRIVATE,
            "content-disposition": f'inline; filename="{event.slug}-digest.md"',
        },
    )
