"""The panelist console: sign in by invite, take questions, answer and edit answers."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from panel.actions import Actor
from panel.domain import Event, RuleError
from panel.security import token_hash
from panel.web.auth import signed_in_panelist
from panel.web.base import (
    event_or_404,
    html_error_page,
    markdown_preview,
    perform,
    read_form,
    render,
    services,
    whole_number,
)
from panel.web.eventview import load_event_view

FILTERS = {"all": "All questions", "mine": "Directed to me", "unanswered": "Unanswered"}


async def redeem(request: Request) -> Response:
    """An invite link signs the panelist in to that event's console."""
    svc = services(request)
    try:
        event_id, panelist_id = await svc.actions.redeem_invite(request.path_params["token"])
    except RuleError as exc:
        return html_error_page(request, 403, "Invite not valid", exc.message)
    async with svc.store.read() as repo:
        event = await repo.event_by_id(event_id)
        panelist = await repo.panelist(panelist_id)
        invite = await repo.invite_by_hash(token_hash(request.path_params["token"]))
    if invite is None:  # revoked in the meantime
        return html_error_page(request, 403, "Invite not valid", "This invite link was revoked.")
    assert event is not None and panelist is not None
    grants = dict(request.session.get("panelist", {}))
    # The invite's id, so that revoking the invite also ends this session.
    grants[str(event_id)] = {"id": panelist_id, "name": panelist.name, "invite": invite["id"]}
    request.session["panelist"] = grants
    return RedirectResponse(f"/console/{event.slug}", status_code=303)


async def _signed_in(request: Request) -> tuple[Event, Actor]:
    event = await event_or_404(request, request.path_params["slug"])
    actor = await signed_in_panelist(request, event.id)
    if actor is None:
        raise HTTPException(403, "Open your invite link to sign in to this console.")
    return event, actor


async def _context(
    request: Request, event: Event, actor: Actor, page: bool = True
) -> dict[str, Any]:
    """The console's list; a live-refresh fragment (page=False) leaves the session untouched."""
    svc = services(request)
    show = request.query_params.get("show", "all")
    show = show if show in FILTERS else "all"
    async with svc.store.read() as repo:
        view = await load_event_view(repo, event, svc.clock.now())
    items = view.questions
    if show == "mine":
        items = [i for i in items if i["q"]["to"] and i["q"]["to"]["id"] == actor.id]
    elif show == "unanswered":
        items = [i for i in items if not i["answers"]]
    return {
        "view": view,
        "items": items,
        "me": actor,
        "show": show,
        "filters": FILTERS,
        "notice": request.session.pop("notice", None) if page else None,
    }


async def console(request: Request) -> Response:
    event, actor = await _signed_in(request)
    return render(request, "console.html", await _context(request, event, actor))


async def questions_fragment(request: Request) -> Response:
    event, actor = await _signed_in(request)
    return render(
        request, "_console_questions.html", await _context(request, event, actor, page=False)
    )


async def post_answer(request: Request) -> Response:
    event, actor = await _signed_in(request)
    form = await read_form(request)
    question_id = whole_number(str(form.get("question_id", ""))) or 0
    return await perform(
        request,
        services(request).actions.answer(question_id, form.get("body"), actor),
        f"/console/{event.slug}?show={form.get('show', 'all')}",
        "Your answer is published.",
    )


async def edit_answer(request: Request) -> Response:
    event, actor = await _signed_in(request)
    form = await read_form(request)
    return await perform(
        request,
        services(request).actions.edit_answer(
            request.path_params["answer_id"], form.get("body"), actor
        ),
        f"/console/{event.slug}",
        "Your answer is updated.",
    )


async def preview(request: Request) -> Response:
    """Markdown preview for the answer editor, rendered exactly as readers will see it."""
    await _signed_in(request)
    return await markdown_preview(request)
