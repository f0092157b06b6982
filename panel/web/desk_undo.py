"""Undo on the desk: after a destructive action the notice offers Undo (a form posting to
/desk/undo/{audit_id}); the rules are in panel/undo.py."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from panel.domain import Actor, RuleError
from panel.web.auth import require_editor
from panel.web.base import read_form, services


async def offer_undo(
    request: Request, actor: Actor, event_id: int, target: str, notice: str
) -> None:
    """Show `notice` after the redirect, with Undo when the action can be undone."""
    svc = services(request)
    request.session["notice"] = notice
    token = await svc.actions.undo.offer(actor, event_id, target)
    if token is not None:
        request.session["undo"] = {"id": token, "seconds": svc.settings.undo_button_seconds}


async def undo(request: Request) -> Response:
    """POST /desk/undo/{audit_id}: undo that action, then back to its event's desk."""
    actor = await require_editor(request)
    await read_form(request)
    svc = services(request)
    entry_id = request.path_params["audit_id"]
    try:
        request.session["notice"] = await svc.actions.undo.undo(entry_id, actor)
    except RuleError as exc:
        request.session["notice"] = exc.message
    async with svc.store.read() as repo:
        entry = await repo.audit_entry(entry_id)
        event = await repo.event_by_id(entry["event_id"]) if entry and entry["event_id"] else None
    return RedirectResponse(f"/desk/events/{event.slug}" if event else "/desk", status_code=303)
