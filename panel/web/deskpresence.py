"""Editor presence on the moderation desk: the desk page's reports, and what it shows of the
other editors ("Also here: Anna", "Anna is on this"). Editors only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from panel.domain import Actor
from panel.presence import editors_here
from panel.store import Repo
from panel.web.auth import require_editor
from panel.web.base import event_or_404, read_form, services


async def report(request: Request) -> Response:
    """POST /desk/events/{slug}/presence: `question_id` (or empty), or `leaving=1` when the
    page goes away (sent by navigator.sendBeacon). Answers 204."""
    actor = await require_editor(request)
    form = await read_form(request)
    event = await event_or_404(request, request.path_params["slug"])
    presence = services(request).actions.presence
    if form.get("leaving"):
        await presence.leave(event.id, actor)
    else:
        await presence.report(event.id, actor, form.get("question_id"))
    return Response(status_code=204)


async def others_on_desk(repo: Repo, event_id: int, me: Actor, now: datetime) -> dict[str, Any]:
    """The template's view of the other editors on this desk: their names, and who is on
    which question."""
    others = [e for e in await editors_here(repo, event_id, now) if e.id != me.id]
    on_question: dict[int, list[str]] = {}
    for editor in others:
        if editor.question_id is not None:
            on_question.setdefault(editor.question_id, []).append(editor.name)
    return {"also_here": [e.name for e in others], "on_question": on_question}
