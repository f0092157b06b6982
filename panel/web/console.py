"""The panelist console: sign in by invite, take questions, answer with drafts that survive
anything, see who else is answering, and talk to the editors backstage.

Pages and forms work without JavaScript. With it, static/js/console.js patches the list live
around the one open answer box, saves drafts as the panelist types (the JSON endpoints below),
and publishes without leaving the page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from panel.domain import Actor, Draft, Event, RuleError, iso
from panel.drafts import seen_by_panel
from panel.text import optional_id
from panel.web.auth import signed_in_panelist
from panel.web.base import (
    STATUS_FOR_CODE,
    event_or_404,
    html_error_page,
    json_error,
    markdown_preview,
    read_form,
    read_json,
    render,
    services,
    wants_json,
)
from panel.web.consoleview import FILTERS, load_console_list, load_notes
from panel.web.eventview import load_event_view

# A draft of the longest answer, in the widest UTF-8, fits with room for the JSON around it.
MAX_DRAFT_JSON_BYTES = 256 * 1024


async def redeem(request: Request) -> Response:
    """An invite link signs the panelist in to that event's console."""
    svc = services(request)
    grants = request.session.get("panelist")
    # Only session tokens, one per event (grants of the old shape, which held names, go).
    tokens = (
        {k: v for k, v in grants.items() if isinstance(v, str)} if isinstance(grants, dict) else {}
    )
    try:
        event_id, _, token = await svc.roster.redeem_invite(
            request.path_params["token"], replacing=tokens
        )
    except RuleError as exc:
        return html_error_page(request, 403, "Invite not valid", exc.message)
    async with svc.store.read() as repo:
        event = await repo.event_by_id(event_id)
    assert event is not None
    request.session["panelist"] = {**tokens, str(event_id): token}
    return RedirectResponse(f"/console/{event.slug}", status_code=303)


async def _signed_in(request: Request) -> tuple[Event, Actor]:
    event = await event_or_404(request, request.path_params["slug"])
    actor = await signed_in_panelist(request, event.id)
    if actor is None:
        raise HTTPException(403, "Open your invite link to sign in to this console.")
    return event, actor


def _show(value: object) -> str:
    return value if isinstance(value, str) and value in FILTERS else "all"


def _id(value: object, field: str) -> int | None:
    """An id from the query string or the form; anything but a whole number is refused."""
    return optional_id(value, field)


async def _composer(
    request: Request, event: Event, actor: Actor, *, question_id: int | None, answer_id: int | None
) -> dict[str, Any] | None:
    """The one open answer box: a new answer to a question (with the panelist's draft), or
    an edit of one of their own answers. None when there is nothing to open."""
    svc = services(request)
    async with svc.store.read() as repo:
        if answer_id is not None:
            answer = await repo.answer(answer_id)
            if answer is None or answer.panelist_id != actor.id or answer.status != "published":
                return None
            question_id, body, mode = answer.question_id, answer.body_md, "edit"
        elif question_id is not None:
            draft = await repo.draft(question_id, int(actor.id or 0))
            body, mode = (draft.body if draft else ""), "answer"
        else:
            return None
        question = await repo.question(question_id)
    if question is None or question.event_id != event.id or not seen_by_panel(question):
        return None
    return {
        "mode": mode,
        "question_id": question.id,
        "question_body": question.body,
        "answer_id": answer_id,
        "body": body,
        "error": None,
        "limit": svc.settings.answer_max_chars,
    }


async def _context(
    request: Request,
    event: Event,
    actor: Actor,
    *,
    show: str,
    composer: dict[str, Any] | None = None,
    note_form: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole console page: header, the list (with the open box, if any) and backstage."""
    svc = services(request)
    query = request.query_params
    if composer is None:
        composer = await _composer(
            request,
            event,
            actor,
            question_id=_id(query.get("answer"), "answer"),
            answer_id=_id(query.get("edit"), "edit"),
        )
    keep = [composer["question_id"]] if composer else []
    async with svc.store.read() as repo:
        view = await load_event_view(repo, event, svc.clock.now())
        items = await load_console_list(repo, event, actor, svc.clock.now(), show, keep)
        notes = await load_notes(repo, event, actor)
    return {
        "view": view,
        "items": items,
        "me": actor,
        "show": show,
        "filters": FILTERS,
        "composer": composer,
        "notes": notes,
        "note_form": note_form
        or {"body": "", "about": _id(query.get("flag"), "flag") or "", "error": None},
        "note_limit": svc.settings.note_max_chars,
        "notice": request.session.pop("notice", None),
        "now": iso(svc.clock.now()),
    }


async def console(request: Request) -> Response:
    event, actor = await _signed_in(request)
    show = _show(request.query_params.get("show"))
    return render(request, "console.html", await _context(request, event, actor, show=show))


async def questions_fragment(request: Request) -> Response:
    """The list alone, for live refreshes; `keep` names the question whose box is open. It
    leaves the session untouched, so it cannot clobber a newer cookie."""
    event, actor = await _signed_in(request)
    svc = services(request)
    show = _show(request.query_params.get("show"))
    keep = [n for n in [_id(request.query_params.get("keep"), "keep")] if n is not None]
    async with svc.store.read() as repo:
        items = await load_console_list(repo, event, actor, svc.clock.now(), show, keep)
    return render(
        request,
        "_console_questions.html",
        {
            "items": items,
            "me": actor,
            "show": show,
            "composer": None,
            "event": event,
            "now": iso(svc.clock.now()),
        },
    )


async def backstage_fragment(request: Request) -> Response:
    event, actor = await _signed_in(request)
    async with services(request).store.read() as repo:
        notes = await load_notes(repo, event, actor)
    return render(request, "_backstage_notes.html", {"notes": notes, "event": event})


async def compose_fragment(request: Request) -> Response:
    """The answer box for ?answer=QUESTION_ID or ?edit=ANSWER_ID, with the saved draft."""
    event, actor = await _signed_in(request)
    composer = await _composer(
        request,
        event,
        actor,
        question_id=_id(request.query_params.get("answer"), "answer"),
        answer_id=_id(request.query_params.get("edit"), "edit"),
    )
    if composer is None:
        raise HTTPException(404, "No such question or answer.")
    show = _show(request.query_params.get("show"))
    return render(request, "_composer.html", {"composer": composer, "show": show, "event": event})


async def _refused_form(
    request: Request,
    event: Event,
    actor: Actor,
    exc: RuleError,
    form: FormData,
    composer: dict[str, Any] | None = None,
    note_form: dict[str, Any] | None = None,
) -> Response:
    """A refused form comes back as the page with the text still in its box and the reason."""
    if wants_json(request):
        return json_error(exc.code, exc.message)
    show = _show(form.get("show"))
    context = await _context(
        request, event, actor, show=show, composer=composer, note_form=note_form
    )
    return render(request, "console.html", context, STATUS_FOR_CODE.get(exc.code, 400))


async def post_answer(request: Request) -> Response:
    """The answer box's form: publish (the default), save the draft, or discard it."""
    event, actor = await _signed_in(request)
    svc = services(request)
    form = await read_form(request)
    question_id = _id(form.get("question_id"), "question_id") or 0
    body, show = form.get("body"), _show(form.get("show"))
    intent = str(form.get("intent", "publish"))
    back = f"/console/{event.slug}?show={show}"
    try:
        if intent == "discard":
            await svc.drafts.discard(question_id, actor)
            request.session["notice"] = "Draft discarded."
            return RedirectResponse(back, status_code=303)
        if intent == "save":
            await svc.drafts.save(question_id, actor, body)
            request.session["notice"] = "Draft saved."
            return RedirectResponse(f"{back}&answer={question_id}#composer", status_code=303)
        answer_id = await svc.answers.answer(question_id, body, actor)
    except RuleError as exc:
        composer = await _composer(request, event, actor, question_id=question_id, answer_id=None)
        if composer is not None:
            composer.update(body=body if isinstance(body, str) else "", error=exc.message)
        return await _refused_form(request, event, actor, exc, form, composer=composer)
    if wants_json(request):
        return JSONResponse({"answer_id": answer_id}, status_code=201)
    request.session["notice"] = "Your answer is published."
    return RedirectResponse(f"{back}#cq-{question_id}", status_code=303)


async def edit_answer(request: Request) -> Response:
    event, actor = await _signed_in(request)
    form = await read_form(request)
    answer_id = request.path_params["answer_id"]
    body, show = form.get("body"), _show(form.get("show"))
    try:
        await services(request).answers.edit(answer_id, body, actor)
    except RuleError as exc:
        composer = await _composer(request, event, actor, question_id=None, answer_id=answer_id)
        if composer is not None:
            composer.update(body=body if isinstance(body, str) else "", error=exc.message)
        return await _refused_form(request, event, actor, exc, form, composer=composer)
    if wants_json(request):
        return JSONResponse({"answer_id": answer_id})
    request.session["notice"] = "Your answer is updated."
    return RedirectResponse(f"/console/{event.slug}?show={show}", status_code=303)


def _draft_json(draft: Draft | None) -> JSONResponse:
    if draft is None:
        return JSONResponse({"draft": None})
    return JSONResponse(
        {
            "draft": {
                "question_id": draft.question_id,
                "body": draft.body,
                "saved_at": iso(draft.updated_at),
                "claimed_until": iso(draft.claimed_until) if draft.claimed_until else None,
            }
        }
    )


async def _draft_endpoint(
    request: Request, call: Callable[[Any, int, Actor, dict[str, Any]], Awaitable[Draft | None]]
) -> Response:
    """The console script's draft calls: JSON in, JSON out, refusals as JSON errors."""
    try:
        event, actor = await _signed_in(request)
        data = await read_json(request, MAX_DRAFT_JSON_BYTES) if request.method == "POST" else {}
        return _draft_json(
            await call(services(request).drafts, request.path_params["question_id"], actor, data)
        )
    except RuleError as exc:
        return json_error(exc.code, exc.message)
    except HTTPException as exc:
        code = "not_found" if exc.status_code == 404 else "forbidden"
        return json_error(code, str(exc.detail), exc.status_code)


async def get_draft(request: Request) -> Response:
    return await _draft_endpoint(request, lambda d, q, actor, _: d.get(q, actor))


async def claim(request: Request) -> Response:
    """Open the answer box: colleagues and editors see "being answered by" within a second."""
    return await _draft_endpoint(request, lambda d, q, actor, _: d.claim(q, actor))


async def save_draft(request: Request) -> Response:
    return await _draft_endpoint(
        request, lambda d, q, actor, data: d.save(q, actor, data.get("body"))
    )


async def release(request: Request) -> Response:
    """Close the box: the claim ends; the text, if any, stays a draft."""
    return await _draft_endpoint(
        request, lambda d, q, actor, data: d.release(q, actor, data.get("body"))
    )


async def discard(request: Request) -> Response:
    async def forget(drafts: Any, question_id: int, actor: Actor, _: dict[str, Any]) -> None:
        await drafts.discard(question_id, actor)

    return await _draft_endpoint(request, forget)


async def post_note(request: Request) -> Response:
    """A panelist's note to the editors, optionally about one question."""
    event, actor = await _signed_in(request)
    form = await read_form(request)
    body, about = form.get("body"), form.get("about")
    try:
        note_id = await services(request).backstage.send(event.id, actor, body, about=about)
    except RuleError as exc:
        note_form = {
            "body": body if isinstance(body, str) else "",
            "about": about or "",
            "error": exc.message,
        }
        return await _refused_form(request, event, actor, exc, form, note_form=note_form)
    if wants_json(request):
        return JSONResponse({"id": note_id}, status_code=201)
    request.session["notice"] = "Your note is with the editors."
    return RedirectResponse(
        f"/console/{event.slug}?show={_show(form.get('show'))}#backstage", status_code=303
    )


async def preview(request: Request) -> Response:
    """Markdown preview for the answer editor, rendered exactly as readers will see it."""
    await _signed_in(request)
    return await markdown_preview(request)
