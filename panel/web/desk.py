"""The editor desk: sign in, the moderation queue, event controls and the audit log."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from panel import openness, payloads, similar
from panel.domain import TRANSITIONS, Actor, Event, EventStatus, Question, RuleError
from panel.text import optional_id
from panel.web import deskpresence, workspace
from panel.web.auth import require_editor
from panel.web.base import (
    STATUS_FOR_CODE,
    editor_session,
    event_or_404,
    json_error,
    markdown_preview,
    read_form,
    render,
    services,
    wants_json,
)
from panel.web.consoleview import active_claims, load_notes
from panel.web.desk_audit import audit_context
from panel.web.desk_confirm import (
    confirm_answer_withdrawal,
    confirm_bulk,
    confirm_close,
    confirm_moderation,
)
from panel.web.desk_undo import offer_undo
from panel.web.eventview import STATUS_LABELS
from panel.web.reports import report_counts

STATUS_CONTROLS = {
    EventStatus.SCHEDULED: "Open advance questions",
    EventStatus.LIVE: "Go live now",
    EventStatus.CLOSED: "Close the event",
    EventStatus.DRAFT: "Back to draft",
}


def _ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def login_page(request: Request) -> Response:
    if await editor_session(request) is not None:
        return RedirectResponse("/desk", status_code=303)
    return render(request, "desk_login.html", {"error": None, "username": ""})


async def login(request: Request) -> Response:
    svc = services(request)
    form = await read_form(request)
    username = str(form.get("username", ""))[:60]
    wait = await svc.login_limiter.retry_after(f"login:{_ip(request)}")
    if wait:
        return render(
            request,
            "desk_login.html",
            {"error": f"Too many attempts; wait {wait} seconds.", "username": username},
            429,
        )
    try:
        _, token = await svc.accounts.sign_in(
            username,
            str(form.get("password", "")),
            address=_ip(request),
            replacing=request.session.get("sid"),
        )
    except RuleError as exc:
        return render(
            request,
            "desk_login.html",
            {"error": exc.message, "username": username},
            STATUS_FOR_CODE.get(exc.code, 400),
        )
    csrf = request.session.get("csrf")
    request.session.clear()  # a fresh session at sign-in (no fixation)
    # Only the random token: who it belongs to is in the database, and ends there.
    request.session.update({"sid": token, "csrf": csrf})
    return RedirectResponse("/desk", status_code=303)


async def logout(request: Request) -> Response:
    """Ends this browser's session in the database, so a copy of the cookie stops working
    too, and closes its open staff sockets in every process."""
    await read_form(request)
    session = await editor_session(request)
    if session is not None:
        await services(request).sessions.sign_out(request.session.get("sid"), session.actor)
    request.session.pop("sid", None)
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
        editor = await repo.editor_by_id(int(actor.id or 0))
    return render(
        request,
        "desk_index.html",
        {
            "events": [{"event": e, "status": STATUS_LABELS[e.status]} for e in events],
            "is_admin": bool(editor and editor["role"] == "admin"),
            "notice": request.session.pop("notice", None),
        },
    )


def _controls(event: Event) -> list[tuple[str, str]]:
    """Status buttons; publishing and unpublishing live on the Transcript page instead."""
    if event.status == EventStatus.PUBLISHED:
        return []
    return [
        (s, "Reopen" if event.status == EventStatus.CLOSED and s == "live" else STATUS_CONTROLS[s])
        for s in sorted(TRANSITIONS[event.status])
        if s in STATUS_CONTROLS
    ]


SORTS = {
    "time": "Oldest first",
    "newest": "Newest first",
    "upvotes": "Most upvoted",
    "panelist": "By panelist",
}


def _sorted(questions: list[Question], sort: str) -> list[Question]:
    if sort == "newest":
        return sorted(questions, key=lambda q: (q.created_at, q.id), reverse=True)
    if sort == "upvotes":
        return sorted(questions, key=lambda q: (-q.upvotes, q.created_at, q.id))
    if sort == "panelist":
        return sorted(
            questions,
            key=lambda q: (q.directed_to is None, q.directed_to or 0, q.created_at, q.id),
        )
    return sorted(questions, key=lambda q: (q.created_at, q.id))


async def _queue_context(
    request: Request, event: Event, me: Actor, page: bool = True
) -> dict[str, Any]:
    """The queue; a live-refresh fragment (page=False) leaves the session untouched, so its
    cookie cannot overwrite a newer one set by a concurrent form post."""
    svc = services(request)
    wanted = workspace.filters(request)
    sort = request.query_params.get("sort", "time")
    sort = sort if sort in SORTS else "time"
    to = request.query_params.get("to", "")
    to_id = optional_id(to, "to")  # "1.5" is refused, not read as "anyone"
    async with svc.store.read() as repo:
        event = await repo.event_by_id(event.id) or event
        lineup = (await repo.lineup(event.id)).everyone()
        people = {p.id: p for p in lineup}
        pending = await repo.pending_questions(event.id, to_id)
        published = await repo.published_questions(event.id, to_id)
        answers = await repo.answers_for_event(event.id)
        claims = active_claims(await repo.drafts_for_event(event.id), people, svc.clock.now())
        notes = await load_notes(repo, event, Actor("editor"))
        presence = await deskpresence.others_on_desk(repo, event.id, me, svc.clock.now())
        duplicates = await repo.open_duplicates(event.id)
        open_questions = await repo.questions(event.id, similar.OPEN_STATUSES)
        reports = await repo.reports_for_event(event.id)
    flags: dict[int, list[dict[str, Any]]] = {}
    for note in notes:
        if note["flag"] and note["question_id"]:
            flags.setdefault(note["question_id"], []).append(note)

    # Merged questions, listed under the question kept, to separate (panel/merging.py).
    merged: dict[int | None, list[dict[str, Any]]] = {}
    for d in duplicates:
        entry = {**payloads.question(d, people), "waiting": d.status == "pending"}
        merged.setdefault(d.merged_into, []).append(entry)

    by_question: dict[int, list[dict[str, Any]]] = {}
    for a in answers:
        by_question.setdefault(a.question_id, []).append(payloads.answer(a, people))
    # Each question's view, built once: the full lists and the filtered columns share them.
    views = {
        q.id: {
            **payloads.question(q, people),
            "held_reason": q.held_reason,
            "claimed_by": claims.get(q.id, []),
            "flags": flags.get(q.id, []),
            "editors_on": presence["on_question"].get(q.id, []),
            "duplicates": merged.get(q.id, []),
            "answers": by_question.get(q.id, []),
        }
        for q in [*pending, *published]
    }
    order = {"pending": sort, "published": "newest" if sort == "time" else sort}
    order["answered"] = order["published"]
    return {
        "event": event,
        "status": STATUS_LABELS[event.status],
        "pending": [views[q.id] for q in _sorted(pending, sort)],
        "approved": [views[q.id] for q in _sorted(published, order["published"])],
        # The workspace's columns (search and status filter applied), each sorted as above.
        "columns": {
            name: [views[q.id] for q in _sorted(questions, order[name])]
            for name, questions in workspace.columns(wanted, pending, published).items()
        },
        "column_titles": workspace.COLUMNS,
        "statuses": workspace.STATUSES,
        "search": wanted.search,
        "shown": wanted.status,
        "also_here": presence["also_here"],
        "me_id": me.id,
        "panelists": lineup,
        "sorts": SORTS,
        "sort": sort,
        "to": to,
        "controls": _controls(event),
        "notice": request.session.pop("notice", None) if page else None,
        "undo": request.session.pop("undo", None) if page else None,
        "notes": notes,
        "note_form": {"body": "", "to": "", "about": "", "error": None},
        "note_limit": svc.settings.note_max_chars,
        # Duplicate suggestions for each pending question (editors only: never in a reader view).
        "suggestions": await similar.suggestions(pending, open_questions),
        # The reject form's "Tell the asker", and what a refused reject kept (_reject_form.html).
        "asker_reasons": openness.STANDARD_REASONS,
        "asker_note_limit": openness.ASKER_NOTE_MAX_CHARS,
        "kept_reject": request.session.get(KEPT_REJECT),
        "reports": report_counts(reports),  # readers' reports (web/reports.py)
    }


async def event_desk(request: Request) -> Response:
    actor = await _editor_or_login(request)
    if isinstance(actor, Response):
        return actor
    event = await event_or_404(request, request.path_params["slug"])
    return render(request, "desk_event.html", await _queue_context(request, event, actor))


async def queue_fragment(request: Request) -> Response:
    actor = await require_editor(request)
    event = await event_or_404(request, request.path_params["slug"])
    return render(request, "_queue.html", await _queue_context(request, event, actor, page=False))


async def _backstage_context(request: Request, event: Event) -> dict[str, Any]:
    async with services(request).store.read() as repo:
        notes = await load_notes(repo, event, Actor("editor"))
    return {"notes": notes, "event": event}


async def backstage_fragment(request: Request) -> Response:
    """The backstage notes alone, for live refreshes of the desk."""
    await require_editor(request)
    event = await event_or_404(request, request.path_params["slug"])
    return render(request, "_backstage_notes.html", await _backstage_context(request, event))


async def post_note(request: Request) -> Response:
    """An editor's note to the whole panel or to one panelist; never shown to readers."""
    actor = await require_editor(request)
    form = await read_form(request)
    event = await event_or_404(request, request.path_params["slug"])
    body, to, about = form.get("body"), form.get("to") or None, form.get("about") or None
    try:
        note_id = await services(request).backstage.send(event.id, actor, body, to=to, about=about)
    except RuleError as exc:
        if wants_json(request):
            return json_error(exc.code, exc.message)
        context = await _queue_context(request, event, actor)
        context["note_form"] = {
            "body": body if isinstance(body, str) else "",
            "to": str(to or ""),
            "about": str(about or ""),
            "error": exc.message,
        }
        return render(request, "desk_event.html", context, STATUS_FOR_CODE.get(exc.code, 400))
    if wants_json(request):
        return JSONResponse({"id": note_id}, status_code=201)
    request.session["notice"] = "Note sent to the panel."
    return RedirectResponse(f"/desk/events/{event.slug}#backstage", status_code=303)


def _form_ids(form: FormData) -> dict[str, int | None]:
    """The form's `into` and `to`, checked before anything is done: a hand-made "3.9" gets a
    422, not a notice after a redirect (the desk's selects only offer real ids)."""
    return {name: optional_id(form.get(name), name) for name in ("into", "to")}


async def _moderate_one(
    request: Request, actor: Actor, question_id: int, form: FormData, ids: dict[str, int | None]
) -> None:
    svc = services(request)
    action = str(form.get("action", ""))
    if action == "ban":
        await svc.moderation.ban_and_reject(question_id, actor)
        return
    await svc.moderation.moderate(
        question_id,
        action,
        actor,
        into=ids["into"],
        reason=str(form.get("reason", "")),
        body=form.get("body") if action == "edit" else None,
        to=ids["to"],
        asker_reason=form.get("asker_reason") or None,
        asker_note=form.get("asker_note") or None,
    )


async def _question_event(request: Request, question_id: int) -> Event:
    async with services(request).store.read() as repo:
        question = await repo.question(question_id)
        event = await repo.event_by_id(question.event_id) if question else None
    if event is None:
        raise RuleError("not_found", "No such question.")
    return event


# Destructive actions on one question: their notice, with Undo (panel/web/desk_undo.py).
UNDOABLE_NOTICES = {
    "ban": "Question #{} rejected and its author banned.",
    "withdraw": "Question #{} withdrawn.",
}


async def moderate(request: Request) -> Response:
    actor = await require_editor(request)
    form = await read_form(request)
    question_id = request.path_params["question_id"]
    event = await _question_event(request, question_id)
    ids = _form_ids(form)
    if confirmation := await confirm_moderation(request, form, event, question_id):
        return confirmation
    try:
        await _moderate_one(request, actor, question_id, form, ids)
    except RuleError as exc:
        request.session["notice"] = exc.message
        keep_refused_reject(request, question_id, form, exc)
    else:
        request.session.pop(KEPT_REJECT, None)
        if notice := UNDOABLE_NOTICES.get(str(form.get("action"))):
            target = f"question:{question_id}"
            await offer_undo(request, actor, event.id, target, notice.format(question_id))
    return RedirectResponse(f"/desk/events/{event.slug}", status_code=303)


# A reject refused for what it would tell the asker keeps the editor's text here until the
# next moderation that succeeds; the queue shows it in the question's reject form.
KEPT_REJECT = "kept_reject"


def keep_refused_reject(request: Request, question_id: int, form: FormData, exc: RuleError) -> None:
    if form.get("action") != "reject" or not (form.get("asker_reason") or form.get("asker_note")):
        return
    request.session[KEPT_REJECT] = {
        "id": question_id,
        "reason": str(form.get("reason", ""))[:500],
        "asker_reason": str(form.get("asker_reason", "")),
        "asker_note": str(form.get("asker_note", ""))[:1000],  # the cookie stays small
        "error": exc.message,
    }


async def bulk_moderate(request: Request) -> Response:
    """One action on every ticked question; reports what could not be done."""
    actor = await require_editor(request)
    form = await read_form(request)
    event = await event_or_404(request, request.path_params["slug"])
    failed = []
    # One id that is not a whole number refuses the whole form rather than being skipped.
    ids = [n for v in form.getlist("ids") if (n := optional_id(v, "ids")) is not None][:200]
    targets = _form_ids(form)
    if confirmation := confirm_bulk(request, form, event, ids):
        return confirmation
    for question_id in ids:
        try:
            await _moderate_one(request, actor, question_id, form, targets)
        except RuleError as exc:
            failed.append(f"#{question_id}: {exc.message}")
    done = len(ids) - len(failed)
    request.session["notice"] = f"{done} question{'s' if done != 1 else ''} done." + (
        " " + " ".join(failed) if failed else ""
    )
    return RedirectResponse(f"/desk/events/{event.slug}", status_code=303)


async def withdraw_answer(request: Request) -> Response:
    actor = await require_editor(request)
    form = await read_form(request)
    event = await event_or_404(request, request.path_params["slug"])
    answer_id = request.path_params["answer_id"]
    if confirmation := await confirm_answer_withdrawal(request, form, event, answer_id):
        return confirmation
    try:
        await services(request).answers.withdraw(answer_id, actor)
    except RuleError as exc:
        request.session["notice"] = exc.message
    else:
        await offer_undo(request, actor, event.id, f"answer:{answer_id}", "Answer withdrawn.")
    return RedirectResponse(f"/desk/events/{event.slug}", status_code=303)


async def audit_page(request: Request) -> Response:
    """One event's audit log, or (at /desk/audit) everything, including account changes."""
    await require_editor(request)
    slug = request.path_params.get("slug")
    event = await event_or_404(request, slug) if slug else None
    return render(
        request, "desk_audit.html", {"event": event, **await audit_context(request, event)}
    )


async def set_status(request: Request) -> Response:
    svc = services(request)
    actor = await require_editor(request)
    form = await read_form(request)
    event = await event_or_404(request, request.path_params["slug"])
    if confirmation := await confirm_close(request, form, event):
        return confirmation
    status = str(form.get("status", ""))
    try:
        # set_status pokes the scheduler itself (Actions.on_schedule_change).
        await svc.events.set_status(event.id, status, actor)
    except RuleError as exc:
        request.session["notice"] = exc.message
    else:
        request.session["notice"] = "Event status changed."
        if status == EventStatus.CLOSED:
            await offer_undo(request, actor, event.id, f"event:{event.slug}", "Event closed.")
    return RedirectResponse(f"/desk/events/{event.slug}", status_code=303)


async def preview(request: Request) -> Response:
    """Markdown preview for the desk's editors (intro, transcript texts)."""
    await require_editor(request)
    return await markdown_preview(request)
