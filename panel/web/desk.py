"""The editor desk: sign in, the moderation queue, and event controls."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from panel import payloads
from panel.actions import Actor
from panel.domain import TRANSITIONS, Event, EventStatus, QuestionStatus, RuleError
from panel.web.auth import require_editor
from panel.web.base import event_or_404, read_form, render, services
from panel.web.eventview import STATUS_LABELS

STATUS_CONTROLS = {
    EventStatus.SCHEDULED: "Open advance questions",
    EventStatus.LIVE: "Go live now",
    EventStatus.CLOSED: "Close the event",
    EventStatus.DRAFT: "Back to draft",
}


def _ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def login_page(request: Request) -> Response:
    if request.session.get("editor_id"):
        return RedirectResponse("/desk", status_code=303)
    return render(request, "desk_login.html", {"error": None, "username": ""})


async def login(request: Request) -> Response:
    svc = services(request)
    form = await read_form(request)
    username = str(form.get("username", ""))[:60]
    wait = svc.login_limiter.retry_after(f"login:{_ip(request)}")
    if wait:
        return render(request, "desk_login.html", {
            "error": f"Too many attempts; wait {wait} seconds.", "username": username}, 429)
    try:
        editor = await svc.actions.authenticate(username, str(form.get("password", "")))
    except RuleError as exc:
        return render(request, "desk_login.html", {"error": exc.message, "username": username},
                      401 if exc.code == "bad_login" else 429)
    csrf = request.session.get("csrf")
    request.session.clear()  # a fresh session at sign-in (no fixation)
    request.session.update({"editor_id": editor["id"], "editor_name": editor["username"],
                            "editor_role": editor["role"], "csrf": csrf})
    return RedirectResponse("/desk", status_code=303)


async def logout(request: Request) -> Response:
    await read_form(request)
    for key in ("editor_id", "editor_name", "editor_role"):
        request.session.pop(key, None)
    return RedirectResponse("/desk/login", status_code=303)


async def _editor_or_login(request: Request) -> Actor | Response:
    try:
        return await require_editor(request)
    except RuleError:
        return RedirectResponse("/desk/login", status_code=303)


async def home(request: Request) -> Response:
    actor = await _editor_or_login(request)
    if isinstance(actor, Response):
        return actor
    async with services(request).store.read() as repo:
        events = await repo.list_events()
    return render(request, "desk_index.html", {
        "events": [{"event": e, "status": STATUS_LABELS[e.status]} for e in events]})


async def _queue_context(request: Request, event: Event) -> dict[str, Any]:
    svc = services(request)
    async with svc.store.read() as repo:
        event = await repo.event_by_id(event.id) or event
        people = {p.id: p for p in (await repo.lineup(event.id)).everyone()}
        pending = await repo.questions(event.id, [QuestionStatus.PENDING])
        approved = await repo.questions(event.id, [QuestionStatus.APPROVED])
    return {
        "event": event,
        "status": STATUS_LABELS[event.status],
        "pending": [payloads.question(q, people) for q in pending],
        "approved": [payloads.question(q, people) for q in reversed(approved)
                     if q.merged_into is None],
        "controls": [(s, STATUS_CONTROLS[s]) for s in sorted(TRANSITIONS[event.status])
                     if s in STATUS_CONTROLS],
        "notice": request.session.pop("notice", None),
    }


async def event_desk(request: Request) -> Response:
    actor = await _editor_or_login(request)
    if isinstance(actor, Response):
        return actor
    event = await event_or_404(request, request.path_params["slug"])
    return render(request, "desk_event.html", await _queue_context(request, event))


async def queue_fragment(request: Request) -> Response:
    await require_editor(request)
    event = await event_or_404(request, request.path_params["slug"])
    return render(request, "_queue.html", await _queue_context(request, event))


async def moderate(request: Request) -> Response:
    svc = services(request)
    actor = await require_editor(request)
    form = await read_form(request)
    question_id = request.path_params["question_id"]
    async with svc.store.read() as repo:
        question = await repo.question(question_id)
        event = await repo.event_by_id(question.event_id) if question else None
    if event is None:
        raise RuleError("not_found", "No such question.")
    try:
        await svc.actions.moderate(question_id, str(form.get("action", "")), actor,
                                   into=form.get("into") or None,
                                   reason=str(form.get("reason", "")))
    except RuleError as exc:
        request.session["notice"] = exc.message
    return RedirectResponse(f"/desk/events/{event.slug}", status_code=303)


async def set_status(request: Request) -> Response:
    svc = services(request)
    actor = await require_editor(request)
    form = await read_form(request)
    event = await event_or_404(request, request.path_params["slug"])
    try:
        await svc.actions.set_status(event.id, str(form.get("status", "")), actor)
        svc.scheduler.poke()
        request.session["notice"] = "Event status changed."
    except RuleError as exc:
        request.session["notice"] = exc.message
    return RedirectResponse(f"/desk/events/{event.slug}", status_code=303)
