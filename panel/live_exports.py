"""The live Q&A as files, at any moment of an event: Markdown, JSON and CSV.

Two views. The public one holds exactly what the reader page shows (published questions,
their answers and the questions merged into them). The editors' one (`everything`) adds
pending, rejected and withdrawn questions, each labelled with its status, under a notice
that it is not for publication. Both are read in one snapshot, so a file matches one seq
of the event's log. Public dicts come from panel.payloads (never a reader id, never a
panelist's private details); the published transcript stays in panel.exports.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from panel import payloads
from panel.curation import plain_text
from panel.domain import (
    Answer,
    Event,
    EventStatus,
    Panelist,
    Question,
    QuestionStatus,
    iso,
    parse_iso,
)
from panel.exports import item_markdown, panel_markdown
from panel.formatting import STATUS_LABELS, clock_label, date_label
from panel.safe_markdown import md_escape, safe_markdown
from panel.store import Repo

NOT_FOR_PUBLICATION = "Includes unpublished items: not for publication."
# How each question status is named in an export ("approved" is what readers call published).
STATUS_NAMES = {
    QuestionStatus.APPROVED: "published",
    QuestionStatus.PENDING: "pending",
    QuestionStatus.REJECTED: "rejected",
    QuestionStatus.WITHDRAWN: "withdrawn",
}
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection), so
# such a cell gets a leading apostrophe, which spreadsheets show as text and do not run.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PUBLIC_COLUMNS = (
    "id",
    "status",
    "asked_at",
    "asked_by",
    "to",
    "question",
    "upvotes",
    "pinned",
    "answered",
    "merged_into",
    "answers",
    "url",
)
EDITOR_COLUMNS = (*PUBLIC_COLUMNS, "public", "reject_reason", "held_reason")


def event_url(base_url: str, slug: str) -> str:
    return f"{base_url.rstrip('/')}/events/{slug}"


async def load_live_document(
    repo: Repo, event: Event, now: datetime, base_url: str, *, everything: bool = False
) -> dict[str, Any]:
    """The event's Q&A now, oldest question first: what is public, or with `everything`
    every question in any status (for editors). Call inside one read, for one snapshot."""
    statuses = list(STATUS_NAMES) if everything else [QuestionStatus.APPROVED]
    event = await repo.event_by_id(event.id) or event  # its last_seq in this snapshot
    lineup = await repo.lineup(event.id)
    people = {p.id: p for p in lineup.everyone()}
    questions = await repo.questions(event.id, statuses)
    shown = {q.id for q in questions}
    answers: dict[int, list[Answer]] = {}
    for a in await repo.answers_for_event(event.id):
        if a.question_id in shown:  # an answer to a question the view leaves out stays out
            answers.setdefault(a.question_id, []).append(a)
    merged: dict[int, list[Question]] = {}
    for q in questions:
        if q.merged_into is not None:
            merged.setdefault(q.merged_into, []).append(q)
    url = event_url(base_url, event.slug)
    items = [
        _item(q, answers.get(q.id, []), merged.get(q.id, []), people, url, everything)
        for q in questions
        if q.merged_into is None  # a merged question is shown under the one it was merged into
    ]
    return {
        "event": {
            "slug": event.slug,
            "title": event.title,
            "summary": event.summary,
            "status": str(event.status),
            "starts_at": iso(event.starts_at),
            "ends_at": iso(event.ends_at),
            "timezone": event.timezone,
            "url": url,
        },
        "exported_at": iso(now),
        "last_seq": event.last_seq,
        "includes_unpublished": everything,
        "notice": NOT_FOR_PUBLICATION if everything else None,
        "panel": [payloads.panelist(p) for p in lineup.everyone()],
        "items": items,
    }


def _item(
    q: Question,
    answers: Sequence[Answer],
    merged: Sequence[Question],
    people: Mapping[int, Panelist],
    url: str,
    everything: bool,
) -> dict[str, Any]:
    return {
        **_question(q, people, everything),
        "url": f"{url}#q-{q.id}",
        "also_asked": [_question(m, people, everything) for m in merged],
        "answers": [payloads.answer(a, people) for a in answers],
    }


def _question(q: Question, people: Mapping[int, Panelist], everything: bool) -> dict[str, Any]:
    """The public dict of a question and its status; for editors, the moderation reasons."""
    item = {**payloads.question(q, people), "status": STATUS_NAMES[q.status]}
    if everything:
        item |= {"reject_reason": q.reject_reason, "held_reason": q.held_reason}
    return item


# -- Markdown -------------------------------------------------------------------------------
def live_markdown(document: Mapping[str, Any]) -> str:
    """The Markdown file. Readers' text is escaped and panelists' Markdown is rewritten by
    panel.safe_markdown (no raw HTML, web links only): a live file goes straight to a CMS."""
    event = document["event"]
    zone = event["timezone"]
    start, end = _local(event["starts_at"], zone), _local(event["ends_at"], zone)
    exported = _local(document["exported_at"], zone)
    lines = [f"# {md_escape(event['title'])}", ""]
    if document["includes_unpublished"]:
        lines += [f"> **{document['notice']}**", ""]
    if event["summary"]:
        lines += [f"*{md_escape(event['summary'])}*", ""]
    status = STATUS_LABELS[EventStatus(event["status"])]
    what = "everything asked so far" if document["includes_unpublished"] else "what is public"
    lines += [
        f"Live Q&A, {date_label(start)}, {clock_label(start)}–{clock_label(end)} ({zone})."
        f" {status}. Exported at {clock_label(exported)}: {what} at that moment.",
        "",
    ]
    lines += panel_markdown(document["panel"])
    lines += ["## Questions", ""]
    if not document["items"]:
        lines += ["No questions yet.", ""]
    for item in document["items"]:
        lines += item_markdown(
            item["body"],
            _meta(item, zone),
            item["url"],
            [_merged_entry(m) for m in item["also_asked"]],
            item["answers"],
            safe_markdown,
            marker=_marker(item),
        )
    lines += [f"Source: <{event['url']}>", ""]
    return "\n".join(lines)


def _local(at: str, zone: str) -> datetime:
    return parse_iso(at).astimezone(ZoneInfo(zone))


def _marker(item: Mapping[str, Any]) -> str:
    """ "[pending] " before a question readers cannot see; nothing before a published one."""
    return "" if item["status"] == "published" else f"[{item['status'].upper()}] "


def _meta(item: Mapping[str, Any], zone: str) -> str:
    meta = f"Asked by {md_escape(item['name'] or 'a reader')}"
    if item["to"]:
        meta += f", to {md_escape(item['to']['name'])}"
    meta += f", {clock_label(_local(item['created_at'], zone))}"
    votes = item["upvotes"]
    return f"{meta} · {votes} upvote{'' if votes == 1 else 's'}"


def _merged_entry(merged: Mapping[str, Any]) -> dict[str, str]:
    """A question merged into another, credited to its asker, its status shown if unpublished."""
    label = "" if merged["status"] == "published" else f" [{merged['status'].upper()}]"
    return {"name": (merged["name"] or "an anonymous reader") + label, "body": merged["body"]}


# -- CSV ------------------------------------------------------------------------------------
def csv_cell(value: object) -> str:
    """A value as a CSV cell a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def live_csv(document: Mapping[str, Any]) -> str:
    """One row per question (merged ones too, naming the question they were merged into);
    answers as plain text in one cell, "Name: text", separated by blank lines. Times UTC."""
    everything = document["includes_unpublished"]
    columns = EDITOR_COLUMNS if everything else PUBLIC_COLUMNS
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for item in document["items"]:
        for question in (item, *item["also_asked"]):
            row = _csv_row(question, item["url"])
            writer.writerow([csv_cell(row[c]) for c in columns])
    return out.getvalue()


def _csv_row(q: Mapping[str, Any], url: str) -> dict[str, Any]:
    answers = "\n\n".join(
        f"{a['by']['name']}: {plain_text(a['body_md'])}" for a in q.get("answers", [])
    )
    return {
        "id": q["id"],
        "status": q["status"],
        "asked_at": q["created_at"],
        "asked_by": q["name"],
        "to": q["to"]["name"] if q["to"] else "",
        "question": q["body"],
        "upvotes": q["upvotes"],
        "pinned": "yes" if q["pinned"] else "no",
        "answered": "yes" if q["answered"] else "no",
        "merged_into": q["merged_into"] or "",
        "answers": answers,
        "url": url,
        "public": "yes" if q["status"] == "published" else "NO",
        "reject_reason": q.get("reject_reason", ""),
        "held_reason": q.get("held_reason", ""),
    }
