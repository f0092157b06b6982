"""Confirmation without JavaScript: a destructive desk form (close the event, reject and
ban, withdraw a question or an answer, a bulk reject or withdraw of several questions)
posted without `confirm=yes` changes nothing and gets a page saying exactly what will
happen, whose button posts the same fields again with `confirm=yes`. The desk's script
sends `confirm=yes` itself and offers Undo instead (panel/web/desk_undo.py); the JSON API
has no confirmation step.

Each prompt returns None when there is nothing to confirm, including when the action
would be refused anyway: the action then runs and says why."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from panel.domain import Event, EventStatus, QuestionStatus
from panel.formatting import date_label
from panel.web.base import local_time, render, services

BULK_VERBS = {"withdraw": "Withdraw", "reject": "Reject"}


def confirmed(form: FormData) -> bool:
    return form.get("confirm") == "yes"


def confirm_page(
    request: Request, form: FormData, event: Event, question: str, button: str
) -> Response:
    """The confirmation page: `question`, a button re-posting the form, a Cancel link."""
    fields = [
        (name, value)
        for name, value in form.multi_items()
        if name not in ("csrf_token", "confirm") and isinstance(value, str)
    ]
    context = {
        "event": event,
        "question": question,
        "button": button,
        "fields": fields,
        "action": request.url.path,
        "back": f"/desk/events/{event.slug}",
    }
    return render(request, "desk_confirm.html", context)


async def confirm_close(request: Request, form: FormData, event: Event) -> Response | None:
    """Closing the event, which the clock would otherwise do at its end time."""
    if confirmed(form) or form.get("status") != EventStatus.CLOSED:
        return None
    if event.status not in (EventStatus.LIVE, EventStatus.SCHEDULED):
        return None
    question = "Close the event now? Readers will no longer be able to ask questions."
    now = services(request).clock.now()
    if event.ends_at > now:
        same_day = event.local(event.ends_at).date() == event.local(now).date()
        day = "" if same_day else f" on {date_label(event.local(event.ends_at))}"
        question += (
            f" The clock would otherwise close it{day} at {local_time(event, event.ends_at)}."
        )
    return confirm_page(request, form, event, question, "Close the event")


async def confirm_moderation(
    request: Request, form: FormData, event: Event, question_id: int
) -> Response | None:
    """Reject and ban (action=ban) and withdraw (action=withdraw) of one question."""
    action = form.get("action")
    if confirmed(form) or action not in ("ban", "withdraw"):
        return None
    async with services(request).store.read() as repo:
        question = await repo.question(question_id)
        answers = await repo.answers_for_event(event.id)
    if question is None:
        return None
    if action == "ban" and question.status == QuestionStatus.PENDING:
        text = f"Reject question #{question_id} and ban its author from this event?"
        return confirm_page(request, form, event, text, "Reject and ban author")
    if action == "withdraw" and question.status == QuestionStatus.APPROVED:
        count = sum(1 for a in answers if a.question_id == question_id)
        its = {0: "", 1: " and its answer"}.get(count, f" and its {count} answers")
        text = f"Withdraw question #{question_id}{its} from the reader page?"
        return confirm_page(request, form, event, text, "Withdraw")
    return None


async def confirm_answer_withdrawal(
    request: Request, form: FormData, event: Event, answer_id: int
) -> Response | None:
    if confirmed(form):
        return None
    async with services(request).store.read() as repo:
        answer = await repo.answer(answer_id)
        people = {p.id: p for p in (await repo.lineup(event.id)).everyone()}
    if answer is None or answer.status != "published":
        return None
    author = people[answer.panelist_id].name if answer.panelist_id in people else "the editors"
    text = (
        f"Withdraw the answer by {author} to question #{answer.question_id} from the reader page?"
    )
    return confirm_page(request, form, event, text, "Withdraw this answer")


def confirm_bulk(request: Request, form: FormData, event: Event, ids: list[int]) -> Response | None:
    """Bulk reject or withdraw of more than one question."""
    verb = BULK_VERBS.get(str(form.get("action", "")))
    if confirmed(form) or verb is None or len(ids) < 2:
        return None
    shown = ", ".join(f"#{i}" for i in sorted(ids)[:10]) + (", …" if len(ids) > 10 else "")
    where = " from the reader page" if verb == "Withdraw" else ""
    text = f"{verb} {len(ids)} questions ({shown}){where}?"
    return confirm_page(request, form, event, text, f"{verb} {len(ids)} questions")
