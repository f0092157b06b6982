"""What the panelist console and the desk's backstage show, computed in Python from one read.

The console lists the published questions under a filter, plus every question the panelist is
writing an answer to, whatever has happened to it since: those stay in view with a line that
says what happened ("Answered by Maria Ashdown — publish yours too, or discard").
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from panel import payloads
from panel.domain import (
    Actor,
    Audience,
    Draft,
    Event,
    Note,
    Panelist,
    Question,
    iso,
)
from panel.drafts import seen_by_panel, unanswerable_reason
from panel.store import Repo

FILTERS = {"all": "All questions", "mine": "Directed to me", "unanswered": "Unanswered"}


def _pinned_then_newest(q: Question) -> tuple[bool, float, int]:
    return (not q.pinned, -q.created_at.timestamp(), -q.id)


def _situation(reason: str | None, answers: list[dict[str, Any]], me: object) -> str | None:
    """What happened to a question the panelist is writing about, said beside their text;
    `reason` is why it can no longer be answered, if it cannot."""
    if reason:
        return f"{reason} Your text is kept here: copy it, or discard it."
    others = [a["by"]["name"] for a in answers if a["by"]["id"] != me]
    if others:
        names = ", ".join(dict.fromkeys(others))
        return f"Answered by {names} — publish yours too, or discard."
    return None


async def load_console_list(
    repo: Repo, event: Event, actor: Actor, now: datetime, show: str, keep: Collection[int] = ()
) -> list[dict[str, Any]]:
    """The questions under the filter `show`, plus those the panelist is writing about."""
    event = await repo.event_by_id(event.id) or event
    people: dict[int, Panelist] = {p.id: p for p in (await repo.lineup(event.id)).everyone()}
    published = await repo.published_questions(event.id)
    by_question: dict[int, list[dict[str, Any]]] = {}
    for a in await repo.answers_for_event(event.id):
        by_question.setdefault(a.question_id, []).append(payloads.answer(a, people))
    drafts = await repo.drafts_for_event(event.id)
    mine = {d.question_id: d for d in drafts if d.panelist_id == actor.id}
    claimed_by = active_claims(drafts, people, now, besides=actor.id)
    writing = {qid for qid, d in mine.items() if d.body.strip() or d.claims(now)} | set(keep)

    def matches(q: Question) -> bool:
        if show == "mine":
            return q.directed_to == actor.id
        if show == "unanswered":
            return not by_question.get(q.id) and not q.answered
        return True

    chosen = {q.id: q for q in published if matches(q) or q.id in writing}
    for qid in writing - chosen.keys():  # withdrawn, merged or filtered out: still in view
        question = await repo.question(qid)
        if question is not None and question.event_id == event.id and seen_by_panel(question):
            chosen[qid] = question
    items = []
    for q in sorted(chosen.values(), key=_pinned_then_newest):
        answers = by_question.get(q.id, [])
        reason = unanswerable_reason(q, event.status)
        items.append(
            {
                "q": payloads.question(q, people),
                "answers": answers,
                "claimed_by": claimed_by.get(q.id, []),
                "draft": mine.get(q.id),
                "answerable": reason is None,
                "kept": q.id in writing and not (q in published and matches(q)),
                "off_filter": q in published and not matches(q),
                "situation": _situation(reason, answers, actor.id) if q.id in writing else None,
            }
        )
    return items


def active_claims(
    drafts: list[Draft], people: Mapping[int, Panelist], now: datetime, besides: object = None
) -> dict[int, list[dict[str, str]]]:
    """Who is answering which question now ("being answered by"), leaving out `besides`."""
    claims: dict[int, list[dict[str, str]]] = {}
    for d in drafts:
        if (
            d.claims(now)
            and d.claimed_until
            and d.panelist_id in people
            and d.panelist_id != besides
        ):
            claimer = {"name": people[d.panelist_id].name, "until": iso(d.claimed_until)}
            claims.setdefault(d.question_id, []).append(claimer)
    return claims


def note_view(note: Note, event: Event, people: Mapping[int, Panelist]) -> dict[str, Any]:
    if note.audience == Audience.PANEL:
        to = "to the whole panel"
    elif note.audience == Audience.PANELIST:
        person = people.get(note.to_panelist or 0)
        to = f"to {person.name}" if person else "to one panelist"
    else:
        to = "to the editors"
    return {
        "id": note.id,
        "body": note.body,
        "author": note.author_name
        if note.author_kind == "panelist"
        else f"{note.author_name} (editor)",
        "to": to,
        "flag": note.audience == Audience.EDITORS,
        "question_id": note.question_id,
        "at": iso(note.created_at),
        "time": event.local(note.created_at).strftime("%H:%M"),
    }


async def load_notes(repo: Repo, event: Event, viewer: Actor) -> list[dict[str, Any]]:
    """The backstage notes this viewer may see, newest first."""
    people = {p.id: p for p in (await repo.lineup(event.id)).everyone()}
    person = viewer.id if isinstance(viewer.id, int) else None
    return [
        note_view(n, event, people)
        for n in await repo.notes(event.id)
        if n.visible_to(viewer.kind, person)
    ]
