"""Live exports: the Q&A as it stands, as files (docs/archive.md, "Live exports").

`/events/{slug}.md|.json`: what is public now, the same for everyone (so a CDN may keep it a
few seconds); a draft is not found, and a published event's files are its transcript's.
`/desk/events/{slug}/export.md|.json|.csv`: editors only, never cached; `?all=1` adds every
unpublished question, labelled.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from panel.domain import Event, EventStatus, RuleError
from panel.live_exports import live_csv, live_markdown, load_live_document
from panel.web.auth import require_editor
from panel.web.base import services, site_url
from panel.web.caching import LIVE, PRIVATE

MEDIA_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
}


def _render(document: dict[str, Any], kind: str) -> str:
    if kind == "md":
        return live_markdown(document)
    if kind == "csv":
        return live_csv(document)
    return json.dumps(document, ensure_ascii=False, indent=1)


async def _document(request: Request, event: Event, everything: bool) -> dict[str, Any]:
    svc = services(request)
    async with svc.store.read() as repo:
        return await load_live_document(
            repo, event, svc.clock.now(), site_url(request), everything=everything
        )


async def _event(request: Request) -> Event | None:
    async with services(request).store.read() as repo:
        return await repo.event_by_slug(request.path_params["slug"])


# -- public ---------------------------------------------------------------------------------
async def public_markdown(request: Request) -> Response:
    return await _public(request, "md")


async def public_json(request: Request) -> Response:
    return await _public(request, "json")


async def _public(request: Request, kind: str) -> Response:
    """What is public now. Nothing here depends on who asks (an editor gets the public view
    too), so the response is the same for everyone and never touches the session."""
    event = await _event(request)
    if event is None or event.status == EventStatus.DRAFT:
        raise HTTPException(404, "No such event.")
    if event.status == EventStatus.PUBLISHED:
        # As the event page: the curated transcript is the public record (hidden items hidden).
        return RedirectResponse(
            f"/archive/{event.slug}.{kind}", status_code=302, headers={"cache-control": LIVE}
        )
    document = await _document(request, event, everything=False)
    return Response(
        _render(document, kind), media_type=MEDIA_TYPES[kind], headers={"cache-control": LIVE}
    )


# -- the desk -------------------------------------------------------------------------------
async def desk_markdown(request: Request) -> Response:
    return await _desk(request, "md")


async def desk_json(request: Request) -> Response:
    return await _desk(request, "json")


async def desk_csv(request: Request) -> Response:
    return await _desk(request, "csv")


def wants_everything(request: Request) -> bool:
    """`?all=1`: unpublished items too; `?all=0` or none: public items only."""
    value = request.query_params.get("all", "0")
    if value not in ("0", "1"):
        raise RuleError(
            "invalid", "all must be 1 (unpublished items included) or 0 (public items only)."
        )
    return value == "1"


async def _desk(request: Request, kind: str) -> Response:
    """An editor's download (session or API token); drafts included."""
    await require_editor(request)
    everything = wants_everything(request)
    event = await _event(request)
    if event is None:
        raise HTTPException(404, "No such event.")
    document = await _document(request, event, everything)
    name = f"{event.slug}-live{'-all-NOT-FOR-PUBLICATION' if everything else ''}.{kind}"
    return Response(
        _render(document, kind),
        media_type=MEDIA_TYPES[kind],
        headers={
            "cache-control": PRIVATE,
            "content-disposition": f'attachment; filename="{name}"',
        },
    )
