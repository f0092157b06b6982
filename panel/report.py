"""The post-event report: an event's figures, worked out from its rows (docs/desk.md, "The
report"). `load` reads everything in one read transaction; `figures` is pure (data in, figures
out), so it can be checked against a seeded event with known counts; `tables` lays the
figures out once for the page, the CSV and the charts' text alternatives."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from panel.domain import Event, Slot, iso, parse_iso
from panel.formatting import clock_label
from panel.store import Store

BIN_MINUTES = 5
MAX_BINS = 288  # a day of 5-minute bins; a longer event gets wider bins
TOP_QUESTIONS = 10
EXCERPT_CHARS = 80
NO_REASON = "No reason given"
ANYONE = "Anyone on the panel"
OUTSIDE_SLOTS = "Outside the slots"


# -- what is read --------------------------------------------------------------------------
@dataclass(frozen=True)
class AskedQuestion:
    id: int
    body: str
    status: str
    created_at: datetime
    reject_reason: str = ""
    held: bool = False  # held for review by a blocked term
    directed_to: int | None = None
    merged_into: int | None = None
    upvotes: int = 0
    answered: bool = False


@dataclass(frozen=True)
class WrittenAnswer:
    question_id: int
    created_at: datetime


@dataclass(frozen=True)
class ReportData:
    """Everything the figures are made from, as read in one snapshot."""

    event: Event
    slots: Sequence[Slot] = ()
    panelists: Mapping[int, str] = field(default_factory=dict)  # id -> name, lineup order
    questions: Sequence[AskedQuestion] = ()
    decisions: Mapping[int, datetime] = field(default_factory=dict)  # first, per question
    answers: Sequence[WrittenAnswer] = ()
    upvotes: int = 0
    samples: Sequence[tuple[datetime, int]] = ()  # (minute, readers)


async def load(store: Store, event: Event) -> ReportData:
    """The event's report data, read in one transaction (one consistent snapshot)."""
    async with store.read() as repo:
        slots = await repo.slots(event.id)
        lineup = await repo.lineup(event.id)
        question_rows = await repo.report_questions(event.id)
        decision_rows = await repo.report_decisions(event.id)
        answer_rows = await repo.report_answers(event.id)
        upvotes = await repo.upvote_count(event.id)
        sample_rows = await repo.audience_samples(event.id)
    decisions = {}
    for row in decision_rows:
        kind, _, number = str(row["target"]).partition(":")
        if kind == "question" and number.isdigit():
            decisions[int(number)] = parse_iso(row["at"])
    return ReportData(
        event=event,
        slots=slots,
        panelists={p.id: p.name for p in lineup.everyone()},
        questions=[
            AskedQuestion(
                id=int(r["id"]),
                body=r["body"],
                status=r["status"],
                created_at=parse_iso(r["created_at"]),
                reject_reason=r["reject_reason"],
                held=bool(r["held_reason"]),
                directed_to=r["directed_to"],
                merged_into=r["merged_into"],
                upvotes=int(r["upvotes"]),
                answered=bool(r["answered"]),
            )
            for r in question_rows
        ],
        decisions=decisions,
        answers=[
            WrittenAnswer(int(r["question_id"]), parse_iso(r["created_at"])) for r in answer_rows
        ],
        upvotes=upvotes,
        samples=[(parse_iso(r["at"]), int(r["readers"])) for r in sample_rows],
    )


# -- the figures ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Durations:
    """How long something took, in whole seconds: how many, the median and the 90th
    percentile (nearest rank: the smallest value at least 90% of them do not exceed)."""

    count: int = 0
    median: int | None = None
    p90: int | None = None


@dataclass(frozen=True)
class Bin:
    start: datetime
    label: str  # local time, newspaper style
    slot: str  # the slot running at the bin's start, or OUTSIDE_SLOTS
    slot_starts: bool  # the first bin of its slot: a boundary on the chart
    questions: int


@dataclass(frozen=True)
class AnswerLine:
    """Published questions of one group (a panelist, a slot), answered or not, and how long
    their first answers took."""

    name: str
    published: int
    answered: int
    first_answer: Durations

    @property
    def unanswered(self) -> int:
        return self.published - self.answered


@dataclass(frozen=True)
class TopQuestion:
    id: int
    excerpt: str
    upvotes: int
    answered: bool
    to: str


@dataclass(frozen=True)
class Moment:
    at: datetime
    label: str
    count: int


@dataclass(frozen=True)
class Report:
    event: Event
    received: int
    before_start: int  # asked before the scheduled start (advance questions)
    after_end: int  # asked after the scheduled end
    bin_minutes: int
    bins: tuple[Bin, ...]
    outcomes: tuple[tuple[str, int], ...]
    rejected_by_reason: tuple[tuple[str, int], ...]
    held: int
    to_decision: Durations
    published: int
    answered: int
    first_answer: Durations
    by_panelist: tuple[AnswerLine, ...]
    by_slot: tuple[AnswerLine, ...]
    audience: tuple[Moment, ...]
    upvotes: int
    top: tuple[TopQuestion, ...]
    directed: tuple[tuple[str, int], ...]
    busiest: Moment | None

    @property
    def empty(self) -> bool:
        return self.received == 0

    @property
    def unanswered(self) -> int:
        return self.published - self.answered

    @property
    def audience_peak(self) -> Moment | None:
        return max(self.audience, key=lambda m: (m.count, -m.at.timestamp()), default=None)


def durations(seconds: Iterable[float]) -> Durations:
    values = sorted(max(0, round(s)) for s in seconds)
    if not values:
        return Durations()
    middle = len(values) // 2
    median = values[middle] if len(values) % 2 else round((values[middle - 1] + values[middle]) / 2)
    return Durations(len(values), median, values[math.ceil(0.9 * len(values)) - 1])


def figures(data: ReportData) -> Report:
    """Every figure of the report, from the data alone."""
    event, questions = data.event, data.questions
    published = [q for q in questions if q.status == "approved" and q.merged_into is None]
    first_answers = _first_answers(data.answers)
    published_at = {q.id: data.decisions.get(q.id, q.created_at) for q in published}

    def answer_line(name: str, group: Sequence[AskedQuestion]) -> AnswerLine:
        waits = [
            (first_answers[q.id] - published_at[q.id]).total_seconds()
            for q in group
            if q.id in first_answers
        ]
        return AnswerLine(name, len(group), sum(q.answered for q in group), durations(waits))

    by_panelist = [
        answer_line(name, [q for q in published if q.directed_to == pid])
        for pid, name in data.panelists.items()
    ]
    by_panelist.append(answer_line(ANYONE, [q for q in published if q.directed_to is None]))
    slot_of = {q.id: _slot_label(data.slots, published_at[q.id]) for q in published}
    slot_names = [s.label for s in data.slots] + [OUTSIDE_SLOTS]
    by_slot = [answer_line(n, [q for q in published if slot_of[q.id] == n]) for n in slot_names]
    bins, bin_minutes = _bins(event, data.slots, questions)
    return Report(
        event=event,
        received=len(questions),
        before_start=sum(q.created_at < event.starts_at for q in questions),
        after_end=sum(q.created_at >= event.ends_at for q in questions),
        bin_minutes=bin_minutes,
        bins=bins,
        outcomes=_outcomes(questions, data.decisions),
        rejected_by_reason=tuple(
            Counter(
                q.reject_reason.strip() or NO_REASON
                for q in questions
                if q.status == "rejected" and q.merged_into is None
            ).most_common()
        ),
        held=sum(q.held for q in questions),
        to_decision=durations(
            (at - q.created_at).total_seconds()
            for q in questions
            if (at := data.decisions.get(q.id)) is not None
        ),
        published=len(published),
        answered=sum(q.answered for q in published),
        first_answer=answer_line("", published).first_answer,
        by_panelist=tuple(line for line in by_panelist if line.published or line.name != ANYONE),
        by_slot=tuple(line for line in by_slot if line.published or line.name != OUTSIDE_SLOTS),
        audience=tuple(
            Moment(at, clock_label(event.local(at)), readers) for at, readers in data.samples
        ),
        upvotes=data.upvotes,
        top=_top(published, data.panelists),
        directed=_directed(questions, data.panelists),
        busiest=_busiest(event, questions),
    )


def _first_answers(answers: Iterable[WrittenAnswer]) -> dict[int, datetime]:
    """When each question got its first published answer."""
    first: dict[int, datetime] = {}
    for a in answers:
        if a.question_id not in first or a.created_at < first[a.question_id]:
            first[a.question_id] = a.created_at
    return first


def _slot_label(slots: Sequence[Slot], at: datetime) -> str:
    return next((s.label for s in slots if s.covers(at)), OUTSIDE_SLOTS)


def _bins(
    event: Event, slots: Sequence[Slot], questions: Sequence[AskedQuestion]
) -> tuple[tuple[Bin, ...], int]:
    """Questions per bin over the scheduled time (5 minutes, wider past MAX_BINS bins)."""
    minutes = max(1, math.ceil((event.ends_at - event.starts_at).total_seconds() / 60))
    width = BIN_MINUTES * max(1, math.ceil(minutes / (BIN_MINUTES * MAX_BINS)))
    step = timedelta(minutes=width)
    counts = Counter(
        int((q.created_at - event.starts_at) / step)
        for q in questions
        if event.starts_at <= q.created_at < event.ends_at
    )
    bins, previous = [], None
    for index in range(math.ceil(minutes / width)):
        start = event.starts_at + index * step
        slot = _slot_label(slots, start)
        starts = slot != previous and slot != OUTSIDE_SLOTS
        bins.append(Bin(start, clock_label(event.local(start)), slot, starts, counts[index]))
        previous = slot
    return tuple(bins), width


def _outcomes(
    questions: Sequence[AskedQuestion], decisions: Mapping[int, datetime]
) -> tuple[tuple[str, int], ...]:
    """What became of each question, every question counted once."""
    counts: Counter[str] = Counter()
    for q in questions:
        if q.merged_into is not None:
            counts["Merged into another"] += 1
        elif q.status == "approved":
            counts["Approved" if q.id in decisions else "Published on arrival"] += 1
        else:
            counts[STATUS_OUTCOMES.get(q.status, q.status)] += 1
    return tuple((label, counts[label]) for label in OUTCOME_ORDER)


STATUS_OUTCOMES = {
    "rejected": "Rejected",
    "withdrawn": "Withdrawn after publication",
    "pending": "Never decided",
}
OUTCOME_ORDER = (
    "Approved",
    "Published on arrival",
    "Rejected",
    "Merged into another",
    "Withdrawn after publication",
    "Never decided",
)


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """One line of at most `limit` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _top(published: Sequence[AskedQuestion], names: Mapping[int, str]) -> tuple[TopQuestion, ...]:
    ranked = sorted(published, key=lambda q: (-q.upvotes, q.created_at, q.id))[:TOP_QUESTIONS]
    return tuple(
        TopQuestion(
            q.id,
            excerpt(q.body),
            q.upvotes,
            q.answered,
            names.get(q.directed_to, ANYONE) if q.directed_to is not None else ANYONE,
        )
        for q in ranked
    )


def _directed(
    questions: Sequence[AskedQuestion], names: Mapping[int, str]
) -> tuple[tuple[str, int], ...]:
    """Questions asked of each panelist (every question received, whatever became of it)."""
    counts = Counter(q.directed_to for q in questions)
    lines = [(name, counts[pid]) for pid, name in names.items()]
    return (*lines, (ANYONE, counts[None]))


def _busiest(event: Event, questions: Sequence[AskedQuestion]) -> Moment | None:
    """The minute in which the most questions arrived (the earliest, on a tie)."""
    minutes = Counter(q.created_at.replace(second=0, microsecond=0) for q in questions)
    if not minutes:
        return None
    at, count = min(minutes.items(), key=lambda item: (-item[1], item[0]))
    return Moment(at, clock_label(event.local(at)), count)


# -- the same figures as tables, JSON and CSV ----------------------------------------------
@dataclass(frozen=True)
class Table:
    key: str  # the chart it stands under, and its name in the CSV
    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str | int, ...], ...]


def minutes_text(seconds: int | None) -> str:
    """A duration as the report prints it: "4 min 05 s", "40 s", "—" for none."""
    if seconds is None:
        return "—"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def _answer_rows(lines: Iterable[AnswerLine]) -> tuple[tuple[str | int, ...], ...]:
    return tuple(
        (
            line.name,
            line.published,
            line.answered,
            line.unanswered,
            minutes_text(line.first_answer.median),
            minutes_text(line.first_answer.p90),
        )
        for line in lines
    )


ANSWER_HEADERS = (
    "Published",
    "Answered",
    "Unanswered",
    "First answer, median",
    "First answer, 90th percentile",
)


def tables(report: Report) -> dict[str, Table]:
    """Each table of the report by key: what the page shows under each chart and the CSV."""
    r = report
    zone = r.event.timezone
    return {
        "summary": Table(
            "summary",
            "The event in figures",
            ("Figure", "Value"),
            (
                ("Questions received", r.received),
                ("Asked before the start", r.before_start),
                ("Asked after the scheduled end", r.after_end),
                ("Held for a blocked term", r.held),
                ("Published", r.published),
                ("Answered", r.answered),
                ("Unanswered", r.unanswered),
                ("Upvotes", r.upvotes),
                ("Question to decision, median", minutes_text(r.to_decision.median)),
                ("Question to decision, 90th percentile", minutes_text(r.to_decision.p90)),
                ("Publication to first answer, median", minutes_text(r.first_answer.median)),
                ("Publication to first answer, 90th percentile", minutes_text(r.first_answer.p90)),
                ("Busiest minute", f"{r.busiest.label} ({r.busiest.count})" if r.busiest else "—"),
                ("Largest audience", _peak_text(r)),
            ),
        ),
        "questions": Table(
            "questions",
            f"Questions received per {r.bin_minutes} minutes ({zone} time)",
            ("From", "Slot", "Questions"),
            tuple(
                (b.label, f"{b.slot} (starts)" if b.slot_starts else b.slot, b.questions)
                for b in r.bins
            ),
        ),
        "moderation": Table(
            "moderation",
            "What became of the questions",
            ("Outcome", "Questions"),
            r.outcomes,
        ),
        "reasons": Table(
            "reasons",
            "Rejected, by the editors' reason",
            ("Reason", "Questions"),
            r.rejected_by_reason,
        ),
        "panelists": Table(
            "panelists",
            "Published questions directed to each panelist, and their first answers",
            ("Directed to", *ANSWER_HEADERS),
            _answer_rows(r.by_panelist),
        ),
        "slots": Table(
            "slots",
            "Published questions by the slot they were published in, and their first answers",
            ("Slot", *ANSWER_HEADERS),
            _answer_rows(r.by_slot),
        ),
        "audience": Table(
            "audience",
            f"Audience, sampled each minute while live ({zone} time)",
            ("Minute", "Readers"),
            tuple((m.label, m.count) for m in r.audience),
        ),
        "top": Table(
            "top",
            "The most upvoted published questions",
            ("Question", "Upvotes", "Directed to", "Answered"),
            tuple((t.excerpt, t.upvotes, t.to, "yes" if t.answered else "no") for t in r.top),
        ),
        "directed": Table(
            "directed",
            "Questions asked of each panelist",
            ("Asked of", "Questions"),
            r.directed,
        ),
    }


def _peak_text(r: Report) -> str:
    peak = r.audience_peak
    return f"{peak.count} at {peak.label}" if peak else "—"


def as_json(report: Report) -> dict[str, Any]:
    """The report for the JSON download: raw numbers (durations in seconds, times in UTC)."""
    r = report

    def spans(d: Durations) -> dict[str, int | None]:
        return {"count": d.count, "median_seconds": d.median, "p90_seconds": d.p90}

    def lines(group: Iterable[AnswerLine]) -> list[dict[str, Any]]:
        return [
            {
                "name": line.name,
                "published": line.published,
                "answered": line.answered,
                "unanswered": line.unanswered,
                "first_answer": spans(line.first_answer),
            }
            for line in group
        ]

    def moment(m: Moment | None) -> dict[str, Any] | None:
        return {"at": iso(m.at), "count": m.count} if m else None

    return {
        "event": {
            "slug": r.event.slug,
            "title": r.event.title,
            "starts_at": iso(r.event.starts_at),
            "ends_at": iso(r.event.ends_at),
            "timezone": r.event.timezone,
            "status": str(r.event.status),
        },
        "questions": {
            "received": r.received,
            "before_start": r.before_start,
            "after_end": r.after_end,
            "bin_minutes": r.bin_minutes,
            "per_bin": [
                {
                    "from": iso(b.start),
                    "slot": b.slot,
                    "slot_starts": b.slot_starts,
                    "questions": b.questions,
                }
                for b in r.bins
            ],
            "busiest_minute": moment(r.busiest),
        },
        "moderation": {
            "outcomes": dict(r.outcomes),
            "rejected_by_reason": dict(r.rejected_by_reason),
            "held_for_blocked_terms": r.held,
            "question_to_decision": spans(r.to_decision),
        },
        "answers": {
            "published": r.published,
            "answered": r.answered,
            "unanswered": r.unanswered,
            "publication_to_first_answer": spans(r.first_answer),
            "by_panelist": lines(r.by_panelist),
            "by_slot": lines(r.by_slot),
        },
        "audience": {
            "samples": [{"at": iso(m.at), "readers": m.count} for m in r.audience],
            "peak": moment(r.audience_peak),
        },
        "upvotes": {
            "total": r.upvotes,
            "top_questions": [
                {
                    "id": t.id,
                    "excerpt": t.excerpt,
                    "upvotes": t.upvotes,
                    "to": t.to,
                    "answered": t.answered,
                }
                for t in r.top
            ],
        },
        "directed": dict(r.directed),
    }


# Spreadsheets run a cell that starts like a formula; a leading apostrophe keeps it text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_rows(report: Report) -> list[tuple[str | int, ...]]:
    """Every cell of every table as (table, row, column, value): one tidy sheet."""
    out: list[tuple[str | int, ...]] = [("table", "row", "column", "value")]
    for table in tables(report).values():
        for row in table.rows:
            for header, value in zip(table.headers[1:], row[1:], strict=True):
                out.append((table.key, _cell(row[0]), header, _cell(value)))
    return out


def _cell(value: str | int) -> str | int:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
