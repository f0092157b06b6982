"""The desk's transcript curation: order, hide, correct, notes, preview, publish.

Every control is a plain form (move up and move down included), so curation works without
JavaScript; each POST redirects back to the item it changed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from panel import payloads
from panel.curation import Curation, also_asked, credited
from panel.domain import Actor, Event, EventStatus, RuleError
from panel.transcripts import Transcripts
from panel.web.archive import transcript_context
from panel.web.auth import require_editor
from panel.web.base import event_or_404, read_form, render, services, whole_number
from panel.web.eventview import STATUS_LABELS, date_label


def _transcripts(request: Request) -> Transcripts:
    return services(request).transcripts


async def _editor_or_login(request: Request) -> Actor | Response:
    try:
        return await require_editor(request)
    except RuleError:
        return RedirectResponse("/desk/login", status_code=303)


def _back(event: Event, anchor: str = "") -> Response:
    return RedirectResponse(f"/desk/events/{event.slug}/transcript{anchor}", status_code=303)


def _sections(cur: Curation) -> list[dict[str, Any]]:
    people = {p.id: p for p in cur.lineup.everyone()}
    out = []
    for section in cur.sections():
        count = len(section.items)
        out.append(
            {
                "heading": section.heading or "Questions and answers",
                "items": [
                    {
                        "id": item.question.id,
                        "question": item.question.body,
                        "asker": item.question.display_name or "A reader",
                        "also_asked": credited(also_asked(item.also_asked)),
                        "hidden": item.hidden,
                        "first": index == 0,
                        "last": index == count - 1,
                        "answers": [payloads.answer(a, people) for a in item.answers],
                    }
                    for index, item in enumerate(section.items)
                ],
            }
        )
    return out


def _state(cur: Curation) -> str:
    if not cur.is_public:
        return "Not published."
    when = date_label(cur.event.local(cur.published_at)) if cur.published_at else ""
    text = f"Published on {when}." if when else "Published."
    if cur.republished_at:
        text += f" Last updated {date_label(cur.event.local(cur.republished_at))}."
    if cur.pending_changes:
        text += " There are changes that readers do not see yet: republish to show them."
    return text


async def curation_page(request: Request) -> Response:
    actor = await _editor_or_login(request)
    if isinstance(actor, Response):
        return actor
    event = await event_or_404(request, request.path_params["slug"])
    curatable = event.status in (EventStatus.CLOSED, EventStatus.PUBLISHED)
    cur = await _transcripts(request).curation(event.id) if curatable else None
    return render(
        request,
        "curation.html",
        {
            "event": event,
            "status": STATUS_LABELS[event.status],
            "curatable": curatable,
            "cur": cur,
            "state": _state(cur) if cur else "",
            "sections": _sections(cur) if cur else [],
            "hidden_count": sum(1 for i in cur.items if i.hidden) if cur else 0,
            "notice": request.session.pop("notice", None),
            "tab": "transcript",
        },
    )


async def preview(request: Request) -> Response:
    actor = await _editor_or_login(request)
    if isinstance(actor, Response):
        return actor
    event = await event_or_404(request, request.path_params["slug"])
    if event.status not in (EventStatus.CLOSED, EventStatus.PUBLISHED):
        raise RuleError("invalid", "A transcript can be curated once the event has closed.")
    document = await _transcripts(request).preview(event.id)
    return render(
        request,
        "archive.html",
        transcript_context(request, document, preview=True),
    )


Work = Callable[[Transcripts, Event, Actor, FormData], Awaitable[str]]


def _item_anchor(form: FormData) -> str:
    item = str(form.get("item", ""))
    return f"#item-{item}" if whole_number(item) is not None else ""


async def _run(
    request: Request, work: Work, anchor: Callable[[FormData], str] = lambda form: ""
) -> Response:
    """Check the editor and the form, run one change, and go back with a notice."""
    actor = await require_editor(request)
    form = await read_form(request)
    event = await event_or_404(request, request.path_params["slug"])
    try:
        request.session["notice"] = await work(_transcripts(request), event, actor, form)
    except RuleError as exc:
        request.session["notice"] = exc.message
    return _back(event, anchor(form))


async def item_action(request: Request) -> Response:
    """Move an item up or down, or hide or show it."""
    question_id = request.path_params["question_id"]

    async def work(t: Transcripts, event: Event, actor: Actor, form: FormData) -> str:
        action = str(form.get("action", ""))
        if action in ("up", "down"):
            await t.move(event.id, question_id, action, actor)
            return f"Moved {action}."
        if action in ("hide", "show"):
            await t.set_hidden(event.id, question_id, action == "hide", actor)
            return (
                "Hidden: it will not be published."
                if action == "hide"
                else "Shown again: it will be published."
            )
        raise RuleError("invalid", "Unknown action.")

    return await _run(request, work, lambda form: f"#item-{question_id}")


async def correct(request: Request) -> Response:
    """Fix a typo in a question or an answer (audited with the before and after)."""

    async def work(t: Transcripts, event: Event, actor: Actor, form: FormData) -> str:
        raw_id = str(form.get("id", ""))
        if whole_number(raw_id) is None:
            raise RuleError("invalid", "Choose a question or an answer to correct.")
        changed = await t.correct(
            event.id, str(form.get("kind", "")), int(raw_id), form.get("body"), actor
        )
        return "Correction saved." if changed else "No change to save."

    return await _run(request, work, _item_anchor)


async def notes(request: Request) -> Response:
    async def work(t: Transcripts, event: Event, actor: Actor, form: FormData) -> str:
        await t.set_notes(event.id, form.get("intro_md", ""), form.get("outro_md", ""), actor)
        return "Introduction and closing note saved."

    return await _run(request, work, lambda form: "#notes")


async def publish(request: Request) -> Response:
    async def work(t: Transcripts, event: Event, actor: Actor, form: FormData) -> str:
        await t.publish(event.id, actor)
        return f"Published at /archive/{event.slug}."

    return await _run(request, work)


async def republish(request: Request) -> Response:
    async def work(t: Transcripts, event: Event, actor: Actor, form: FormData) -> str:
        await t.republish(event.id, actor)
        return "Republished: readers now see the changes, marked as updated."

    return await _run(request, work)


async def unpublish(request: Request) -> Response:
    async def work(t: Transcripts, event: Event, actor: Actor, form: FormData) -> str:
        await t.unpublish(event.id, actor)
        return "Unpublished: the transcript is no longer public."

    return await _run(request, work)
