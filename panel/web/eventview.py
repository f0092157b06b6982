"""Everything an event page shows, computed in Python so templates only display."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from panel import payloads
from panel.domain import (
    Event,
    EventStatus,
    Panelist,
    Question,
    QuestionStatus,
    current_slot,
    on_now,
)
from panel.formatting import STATUS_LABELS, clock_label, date_label
from panel.render import markdown_to_html
from panel.store import Repo
from panel.web.pagecache import PageCache, RenderedList

# The Q&A list's orders (`?order=`): "newest" first, as a live page is read from the top, or
# "top": most upvoted first. Pinned questions lead in both. Newest is the default because a
# live Q&A is followed like a live blog: a reader coming back wants what was just answered.
ORDERS = ("newest", "top")
DEFAULT_ORDER = "newest"


def parse_order(value: str | None) -> str:
    """The list order a reader asked for; anything unknown is the default (a public page
    never fails over a query string)."""
    return value if value in ORDERS else DEFAULT_ORDER


def top_first(shown: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pinned first, then the most upvoted; ties keep the store's order (the newest first)."""
    return sorted(shown, key=lambda item: (not item["q"]["pinned"], -item["q"]["upvotes"]))


def reader_status(q: Question) -> str:
    """What a reader is told about their own question."""
    if q.status == QuestionStatus.PENDING:
        return "Awaiting moderation"
    if q.status == QuestionStatus.APPROVED:
        return "Answered" if q.answered else "Published"
    return "Not published"


def mine_item(q: Question) -> dict[str, Any]:
    """One of the reader's own questions, for "Your questions" (only ever sent privately)."""
    return {
        "body": q.body,
        "status": reader_status(q),
        "id": q.id,
        "public": q.status == QuestionStatus.APPROVED,
        # Shown to the asker only: the reason an editor chose to share (panel/openness.py).
        "reason": q.public_reason if q.status == QuestionStatus.REJECTED else "",
    }


@dataclass
class EventView:
    event: Event
    status_label: str
    date_label: str
    time_range: str
    intro_html: str
    schedule: list[dict[str, Any]]
    core: list[Panelist]
    panelists: list[Panelist]
    on_now: list[Panelist]
    questions: list[dict[str, Any]]
    last_seq: int
    mine: list[dict[str, Any]] = field(default_factory=list)
    # What the Q&A list depends on besides the seq; `listed` is the list already rendered
    # at this version (then `questions` is left empty: nothing of it was read).
    list_key: Hashable = None
    listed: RenderedList | None = None
    order: str = DEFAULT_ORDER

    @property
    def on_now_ids(self) -> set[int]:
        return {p.id for p in self.on_now}


def list_key(event: Event, people: dict[int, Panelist]) -> Hashable:
    """Everything the public Q&A list shows that is not in the event's log: panelists' names
    and roles (answers' bylines, "to") and the time zone of the answers' times."""
    who = tuple((p.id, p.name, p.role) for p in people.values())
    return (event.last_seq, event.slug, event.timezone, who)


async def load_event_view(
    repo: Repo,
    event: Event,
    now: datetime,
    reader: str | None = None,
    pages: PageCache | None = None,
    order: str = DEFAULT_ORDER,
) -> EventView:
    """Read an event and its public Q&A in one snapshot (last_seq matches what is shown),
    the questions in `order` (ORDERS).

    With `pages` holding the list rendered at this version, the questions are not read."""
    event = await repo.event_by_id(event.id) or event
    slots = await repo.slots(event.id)
    lineup = await repo.lineup(event.id)
    people = {p.id: p for p in lineup.everyone()}
    key = list_key(event, people)
    listed = pages.get(event.id, key, order) if pages else None
    current = current_slot(slots, now) if event.status == EventStatus.LIVE else None
    schedule = [
        {
            "slot": s,
            "start": clock_label(event.local(s.starts_at)),
            "end": clock_label(event.local(s.ends_at)),
            "panelists": list(lineup.by_slot.get(s.id, ())),
            "current": current is not None and s.id == current.id,
        }
        for s in slots
    ]
    shown = [] if listed else await _public_questions(repo, event.id, people)
    if order == "top":
        shown = top_first(shown)
    mine = []
    if reader:
        asked = await repo.reader_questions(event.id, reader)
        answer_to = await first_answers(repo, event.id, [q for q in asked if q.answered])
        # "read the answer" (_mine_answer_link.html)
        mine = [{**mine_item(q), "answer_id": answer_to.get(q.id)} for q in asked]
    start, end = event.local(event.starts_at), event.local(event.ends_at)
    return EventView(
        event=event,
        status_label=STATUS_LABELS[event.status],
        date_label=date_label(start),
        time_range=f"{clock_label(start)}–{clock_label(end)}",
        intro_html=markdown_to_html(event.intro_md),
        schedule=schedule,
        core=list(lineup.core),
        panelists=lineup.everyone(),
        on_now=on_now(event, slots, lineup, now),
        questions=shown,
        last_seq=event.last_seq,
        mine=mine,
        list_key=key,
        listed=listed,
        order=order,
    )


async def _public_questions(
    repo: Repo, event_id: int, people: dict[int, Panelist]
) -> list[dict[str, Any]]:
    """The published questions, each with its answers and the questions merged into it."""
    # Pinned first, then the newest (the store's order): a live page reads from the top.
    top = await repo.published_questions(event_id)
    answers = await repo.answers_for_event(event_id)
    by_question: dict[int, list[dict[str, Any]]] = {}
    for a in answers:
        by_question.setdefault(a.question_id, []).append(payloads.answer(a, people))
    merged: dict[int | None, list[dict[str, Any]]] = {}
    for q in await repo.merged_questions(event_id):
        merged.setdefault(q.merged_into, []).append(payloads.question(q, people))
    return [
        {
            "q": payloads.question(q, people),
            "answers": by_question.get(q.id, []),
            "merged": merged.get(q.id, []),
        }
        for q in top
    ]


async def first_answers(repo: Repo, event_id: int, answered: list[Question]) -> dict[int, int]:
    """The first published answer's id for each of these questions (read only when the
    reader has an answered question)."""
    if not answered:
        return {}
    wanted = {q.id for q in answered}
    first: dict[int, int] = {}
    for a in await repo.answers_for_event(event_id):
        if a.question_id in wanted:
            first.setdefault(a.question_id, a.id)
    return first
