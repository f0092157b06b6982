"""The curated transcript as data: the editors' working copy of a closed event's Q&A (order,
hidden items, corrections, notes), reconciled with the Q&A as it is, and the published
document built from it. Pure functions, plus the one read that loads a curation.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import nh3

from panel import payloads
from panel.domain import (
    Answer,
    Event,
    EventStatus,
    Lineup,
    Question,
    QuestionStatus,
    Slot,
    iso,
    parse_iso,
)
from panel.openness import QuestionCounts
from panel.render import markdown_to_html
from panel.store import Repo
from panel.store.search import indexable

DOCUMENT_VERSION = 1
NOTES_MAX_CHARS = 20000
ADVANCE_HEADING = "Sent in before the event"
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class CurationItem:
    question: Question
    answers: tuple[Answer, ...]
    hidden: bool
    slot: Slot | None
    also_asked: tuple[Question, ...] = ()  # published duplicates merged into it


@dataclass(frozen=True)
class Section:
    """Consecutive items asked in the same slot, under that slot's heading."""

    slot: Slot | None
    heading: str | None
    items: tuple[CurationItem, ...]


@dataclass(frozen=True)
class Curation:
    event: Event
    intro_md: str
    outro_md: str
    items: tuple[CurationItem, ...]  # in curated order, grouped by slot
    slots: tuple[Slot, ...]
    lineup: Lineup
    published_at: datetime | None = None
    republished_at: datetime | None = None
    pending_changes: bool = False
    counts: QuestionCounts | None = None  # what readers sent and what was answered

    @property
    def is_public(self) -> bool:
        return self.event.status == EventStatus.PUBLISHED

    def sections(self, *, include_hidden: bool = True) -> list[Section]:
        items = [i for i in self.items if include_hidden or not i.hidden]
        return group_sections(items, headings=len(self.slots) > 0)

    def stored_items(self) -> list[dict[str, Any]]:
        return [{"question_id": i.question.id, "hidden": i.hidden} for i in self.items]


# -- pure rules ---------------------------------------------------------------------------
def slot_of(question: Question, slots: Sequence[Slot]) -> Slot | None:
    """The slot a question was asked in: the last to start at or before it (None: advance)."""
    found = None
    for slot in sorted(slots, key=lambda s: (s.starts_at, s.position)):
        if slot.starts_at <= question.created_at:
            found = slot
    return found


def eligible(questions: Sequence[Question]) -> list[Question]:
    """What a transcript can hold: published, answered, not merged into another question."""
    return [
        q
        for q in questions
        if q.status == QuestionStatus.APPROVED and q.answered and q.merged_into is None
    ]


def reconcile(
    stored: Sequence[dict[str, Any]], questions: Sequence[Question], slots: Sequence[Slot]
) -> list[tuple[Question, bool, Slot | None]]:
    """The curated order: saved items first (dropping any no longer eligible), then newly
    answered questions in the order asked, then grouped by slot (stable, so the editors'
    order holds within each slot)."""
    by_id = {q.id: q for q in eligible(questions)}
    order: list[tuple[Question, bool]] = []
    seen: set[int] = set()
    for entry in stored:
        qid = entry.get("question_id")
        if isinstance(qid, int) and qid in by_id and qid not in seen:
            order.append((by_id[qid], bool(entry.get("hidden"))))
            seen.add(qid)
    rest = sorted(
        (q for q in by_id.values() if q.id not in seen), key=lambda q: (q.created_at, q.id)
    )
    order += [(q, False) for q in rest]
    rank = {
        s.id: index
        for index, s in enumerate(sorted(slots, key=lambda s: (s.starts_at, s.position)))
    }
    placed = [(q, hidden, slot_of(q, slots)) for q, hidden in order]
    placed.sort(key=lambda t: -1 if t[2] is None else rank[t[2].id])
    return placed


def group_sections(items: Sequence[CurationItem], *, headings: bool) -> list[Section]:
    sections: list[Section] = []
    for item in items:
        if sections and sections[-1].slot == item.slot:
            last = sections[-1]
            sections[-1] = Section(last.slot, last.heading, (*last.items, item))
            continue
        heading = None
        if headings:
            heading = item.slot.label if item.slot else ADVANCE_HEADING
        sections.append(Section(item.slot, heading, (item,)))
    return sections


def plain_text(markdown: str) -> str:
    """Markdown as plain text (for search and summaries): rendered, stripped, unescaped."""
    stripped = nh3.clean(markdown_to_html(markdown), tags=set())
    return _SPACE.sub(" ", html.unescape(stripped)).strip()


def build_document(
    cur: Curation, published_at: datetime, updated_at: datetime | None
) -> dict[str, Any]:
    """The public snapshot: visible items only. Every public surface reads this alone."""
    event = cur.event
    people = {p.id: p for p in cur.lineup.everyone()}
    slot_label = {s.id: s.label for s in cur.slots}
    slot_of_person = {
        p.id: slot_label.get(sid) for sid, members in cur.lineup.by_slot.items() for p in members
    }
    sections = []
    for section in cur.sections(include_hidden=False):
        items = []
        for item in section.items:
            q = payloads.question(item.question, people)
            items.append(
                {
                    "id": item.question.id,
                    "question": item.question.body,
                    "name": item.question.display_name,
                    "asked_at": q["created_at"],
                    "to": q["to"],
                    "also_asked": also_asked(item.also_asked),
                    "answers": [
                        {
                            k: v
                            for k, v in payloads.answer(a, people).items()
                            if k in ("id", "by", "body_md", "body_html", "created_at")
                        }
                        for a in item.answers
                    ],
                }
            )
        sections.append(
            {
                "heading": section.heading,
                "slot": payloads.slot(section.slot) if section.slot else None,
                "items": items,
            }
        )
    return {
        "version": DOCUMENT_VERSION,
        "event": {
            "id": event.id,
            "slug": event.slug,
            "title": event.title,
            "summary": event.summary,
            "starts_at": iso(event.starts_at),
            "ends_at": iso(event.ends_at),
            "timezone": event.timezone,
        },
        "published_at": iso(published_at),
        "updated_at": iso(updated_at) if updated_at else None,
        "intro_md": cur.intro_md,
        "outro_md": cur.outro_md,
        "panel": [
            {
                "id": p.id,
                "name": p.name,
                "role": p.role,
                "bio": p.bio,
                "photo": p.photo,
                "slot": slot_of_person.get(p.id),
            }
            for p in cur.lineup.everyone()
        ],
        "sections": sections,
        # The transcript states how many questions came in and how many were answered.
        "questions": (
            {"received": cur.counts.received, "answered": cur.counts.answered}
            if cur.counts
            else None
        ),
    }


def also_asked(duplicates: Sequence[Question]) -> list[dict[str, str]]:
    """Credit for the askers of merged duplicates: name ("" for an anonymous reader) and
    text, never the reader id."""
    return [{"name": d.display_name, "body": d.body} for d in duplicates]


def credited(entries: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    """`also_asked` entries as shown: an anonymous reader is called one."""
    return [{"name": e["name"] or "an anonymous reader", "body": e["body"]} for e in entries]


def document_items(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Every item of a document in reading order, each with its section's heading."""
    return [
        {**item, "section": section["heading"]}
        for section in document["sections"]
        for item in section["items"]
    ]


def index_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """What search indexes for one published transcript: plain text, one row per item."""
    rows = []
    for position, item in enumerate(document_items(document)):
        names = list(dict.fromkeys(a["by"]["name"] for a in item["answers"]))
        rows.append(
            {
                "question_id": item["id"],
                "position": position,
                "question": indexable(item["question"]),
                "answers": indexable(" ".join(plain_text(a["body_md"]) for a in item["answers"])),
                "names": [indexable(n) for n in names],
            }
        )
    return rows


# -- reading ------------------------------------------------------------------------------
async def load_curation(repo: Repo, event: Event) -> Curation:
    """The editors' curation of one event as it stands, reconciled with its Q&A."""
    slots = tuple(await repo.slots(event.id))
    lineup = await repo.lineup(event.id)
    row = await repo.transcript(event.id)
    stored = json.loads(row["items_json"]) if row else []
    # "Answered" can be set by hand, and answers can be withdrawn: an item needs an answer,
    # which answered_questions checks in SQL.
    questions = await repo.answered_questions(event.id)
    answers: dict[int, list[Answer]] = {}
    for a in await repo.answers_for_event(event.id):
        answers.setdefault(a.question_id, []).append(a)
    merged: dict[int | None, list[Question]] = {}
    for d in await repo.merged_questions(event.id):
        merged.setdefault(d.merged_into, []).append(d)
    items = tuple(
        CurationItem(q, tuple(answers[q.id]), hidden, slot, tuple(merged.get(q.id, ())))
        for q, hidden, slot in reconcile(stored, questions, slots)
    )

    def when(key: str) -> datetime | None:
        return parse_iso(row[key]) if row and row.get(key) else None

    return Curation(
        event=event,
        intro_md=row["intro_md"] if row else "",
        outro_md=row["outro_md"] if row else "",
        items=items,
        slots=slots,
        lineup=lineup,
        published_at=when("published_at"),
        republished_at=when("republished_at"),
        pending_changes=bool(row and row.get("pending_changes")),
        counts=await repo.question_counts(event.id),
    )
