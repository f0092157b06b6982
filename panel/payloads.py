"""Domain values as the plain dicts that frames, the JSON API and pages share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from panel.domain import Answer, Panelist, Question, Slot, iso
from panel.render import markdown_to_html


def panelist(p: Panelist) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "role": p.role}


def slot(s: Slot) -> dict[str, Any]:
    return {"id": s.id, "label": s.label, "starts_at": iso(s.starts_at), "ends_at": iso(s.ends_at)}


def question(q: Question, people: Mapping[int, Panelist]) -> dict[str, Any]:
    """What the public may see of a question: never the reader id."""
    to = people.get(q.directed_to) if q.directed_to else None
    return {
        "id": q.id,
        "body": q.body,
        "name": q.display_name,
        "created_at": iso(q.created_at),
        "to": panelist(to) if to else None,
        "pinned": q.pinned,
        "upvotes": q.upvotes,
        "answered": q.answered,
        "merged_into": q.merged_into,
    }


def answer(a: Answer, people: Mapping[int, Panelist]) -> dict[str, Any]:
    author = people.get(a.panelist_id) if a.panelist_id else None
    return {
        "id": a.id,
        "question_id": a.question_id,
        "by": panelist(author) if author else {"id": None, "name": "The editors", "role": ""},
        "body_md": a.body_md,
        # Rendered when written; only a row from before migration 0005 not yet filled in by
        # Answers.render_missing is rendered here.
        "body_html": a.body_html if a.body_html is not None else markdown_to_html(a.body_md),
        "created_at": iso(a.created_at),
        "updated_at": iso(a.updated_at),
        "edited": a.updated_at != a.created_at,
    }
