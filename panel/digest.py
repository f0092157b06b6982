"""The pre-event digest: what readers have asked so far, for the panel to read beforehand.

`build_digest` reads one event's advance questions: the published ones, and the pending ones
when an editor asks for them (marked as pending everywhere they appear). Questions put to a
panelist are grouped by panelist, in the panel's order; the rest by theme (panel/themes.py).
Within a group, the most upvoted come first, then the oldest.

The same `Digest` is written out as a page (templates/desk_digest.html), as Markdown, and as
plain text and an HTML fragment for email (`digest_text`, `digest_html`, `digest_subject`),
where a panelist's own questions come first. Readers appear by the name they chose, or as
"Anonymous"; never by their reader id. Every piece of user text is escaped for its format.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from panel import themes as theming
from panel.domain import Event, Panelist, Question, QuestionStatus, RuleError, accepts_questions
from panel.formatting import clock_label, date_label
from panel.safe_markdown import md_escape
from panel.store.repo import Repo

ANONYMOUS = "Anonymous"
_SPACES = re.compile(r"\s+")
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class DigestQuestion:
    """One question as the digest shows it: no reader id, the asker's chosen name or ""."""

    id: int
    body: str
    asker: str
    upvotes: int
    pending: bool
    answered: bool
    created_at: datetime
    to: int | None = None

    @property
    def shown_asker(self) -> str:
        return self.asker or ANONYMOUS


@dataclass(frozen=True)
class PanelistGroup:
    """The questions put to one panelist by name, most upvoted first."""

    panelist: Panelist
    questions: tuple[DigestQuestion, ...]


@dataclass(frozen=True)
class Theme:
    """Questions to the whole panel that share a keyword; `keyword` is None for "Other"."""

    label: str
    keyword: str | None
    questions: tuple[DigestQuestion, ...]


@dataclass(frozen=True)
class Digest:
    event: Event
    panelists: tuple[Panelist, ...]  # the whole panel, each a possible recipient
    groups: tuple[PanelistGroup, ...]  # only panelists with questions, in the panel's order
    themes: tuple[Theme, ...]  # the questions put to nobody in particular
    include_pending: bool
    generated_at: datetime  # UTC

    @property
    def questions(self) -> list[DigestQuestion]:
        return [q for g in self.groups for q in g.questions] + [
            q for t in self.themes for q in t.questions
        ]

    @property
    def pending_count(self) -> int:
        return sum(q.pending for q in self.questions)

    def group_for(self, panelist_id: int) -> PanelistGroup | None:
        return next((g for g in self.groups if g.panelist.id == panelist_id), None)


def _by_votes(questions: Sequence[DigestQuestion]) -> tuple[DigestQuestion, ...]:
    return tuple(sorted(questions, key=lambda q: (-q.upvotes, q.created_at, q.id)))


def _shown(q: Question) -> DigestQuestion:
    return DigestQuestion(
        id=q.id,
        body=q.body,
        asker=q.display_name,
        upvotes=q.upvotes,
        pending=q.status == QuestionStatus.PENDING,
        answered=q.answered,
        created_at=q.created_at,
        to=q.directed_to,
    )


async def build_digest(
    repo: Repo, event: Event, *, include_pending: bool, now: datetime | None = None
) -> Digest:
    """The digest of `event` as `repo` (a read snapshot) sees it; refused once it has closed.

    Pending questions held for a blocked term stay out even with `include_pending`: they wait
    for an editor's eye, not the panel's."""
    if not accepts_questions(event.status):
        raise RuleError(
            "conflict",
            f"A digest is made before an event and while it is live; this one is {event.status}.",
        )
    asked = await repo.published_questions(event.id)
    if include_pending:
        asked += [q for q in await repo.pending_questions(event.id) if not q.held_reason]
    shown = [_shown(q) for q in asked]
    panel = (await repo.lineup(event.id)).everyone()
    # A question may be put to someone taken off the panel since: they still get a group.
    known = {p.id for p in panel}
    for missing in sorted({q.to for q in shown if q.to is not None} - known):
        if (person := await repo.panelist(missing)) is not None:
            panel.append(person)
    groups = [
        PanelistGroup(p, _by_votes([q for q in shown if q.to == p.id]))
        for p in panel
        if any(q.to == p.id for q in shown)
    ]
    grouped = {p.id for p in panel}
    loose = _by_votes([q for q in shown if q.to not in grouped])
    found = theming.themes(loose, title=event.title)
    return Digest(
        event=event,
        panelists=tuple(p for p in panel if p.id in known),
        groups=tuple(groups),
        themes=tuple(
            Theme(t.label, t.stem, _by_votes([loose[i] for i in t.members])) for t in found
        ),
        include_pending=include_pending,
        generated_at=(now or datetime.now(UTC)).astimezone(UTC),
    )


# -- the digest as an outline, shared by every format --------------------------


@dataclass(frozen=True)
class Section:
    heading: str
    questions: tuple[DigestQuestion, ...]


@dataclass(frozen=True)
class Part:
    heading: str
    sections: tuple[Section, ...]
    empty: str = ""  # what to say when there are no sections


def outline(d: Digest, panelist_id: int | None = None) -> list[Part]:
    """The digest's parts in reading order. For one panelist: their own questions first,
    then those put to the rest of the panel, then the themes."""
    by_panelist = [Section(g.panelist.name, g.questions) for g in d.groups]
    # "Other" as the only theme sorts nothing: its questions then go without a heading.
    lone = len(d.themes) == 1 and d.themes[0].keyword is None
    themed = tuple(Section("" if lone else t.label, t.questions) for t in d.themes)
    to_all = Part("Questions to the whole panel, by theme", themed, "None yet.")
    if panelist_id is None:
        return [Part("Questions put to a panelist", tuple(by_panelist), "None yet."), to_all]
    mine = d.group_for(panelist_id)
    others = tuple(s for s, g in zip(by_panelist, d.groups, strict=True) if g != mine)
    return [
        Part(
            "Questions put to you",
            (Section("", mine.questions),) if mine else (),
            "No reader has put a question to you by name yet.",
        ),
        Part("Questions put to the rest of the panel", others, "None yet."),
        to_all,
    ]


def one_line(text: str) -> str:
    """A question on one line: a digest lists, so line breaks become spaces."""
    return _SPACES.sub(" ", text).strip()


def _votes(n: int) -> str:
    return f"{n} upvote" if n == 1 else f"{n} upvotes"


def when_label(d: Digest) -> str:
    """When the event starts, in its own zone."""
    local = d.event.local(d.event.starts_at)
    return f"{date_label(local)}, {clock_label(local)} ({d.event.timezone})"


def made_label(d: Digest) -> str:
    """When the digest was made, in the event's zone."""
    local = d.event.local(d.generated_at)
    return f"{date_label(local)}, {clock_label(local)}"


def count_line(d: Digest) -> str:
    """How many questions, and how many of them are pending when those are included."""
    total = len(d.questions)
    text = f"{total} question" if total == 1 else f"{total} questions"
    if d.include_pending:
        text += f", {d.pending_count} of them pending (not yet approved, not public)"
    return text


def _marks(q: DigestQuestion) -> list[str]:
    return (["PENDING"] if q.pending else []) + (["answered"] if q.answered else [])


def digest_subject(d: Digest) -> str:
    """An email subject: the event, its date and the count, on one line."""
    local = d.event.local(d.event.starts_at)
    total = len(d.questions)
    count = f"{total} question" if total == 1 else f"{total} questions"
    if d.pending_count:
        count += f", {d.pending_count} pending"
    return one_line(f"{d.event.title}, {date_label(local)}: readers' questions so far ({count})")


def digest_markdown(d: Digest, panelist_id: int | None = None) -> str:
    """Markdown; every piece of readers' and staff text escaped, so it shows literally."""
    lines = [
        f"# Readers' questions so far: {md_escape(one_line(d.event.title))}",
        "",
        f"{md_escape(when_label(d))}. {md_escape(count_line(d))}. Made {md_escape(made_label(d))}.",
    ]
    for part in outline(d, panelist_id):
        lines += ["", f"## {md_escape(part.heading)}", ""]
        if not part.sections:
            lines.append(md_escape(part.empty))
        for section in part.sections:
            if section.heading:
                lines += [f"### {md_escape(section.heading)}", ""]
            for n, q in enumerate(section.questions, 1):
                marks = "".join(f"**{m.upper()}** · " for m in _marks(q))
                lines.append(
                    f"{n}. {marks}{md_escape(one_line(q.body))} "
                    f"(*{md_escape(q.shown_asker)}*, {_votes(q.upvotes)})"
                )
            lines.append("")
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).rstrip() + "\n"


def digest_text(d: Digest, panelist_id: int | None = None) -> str:
    """Plain text, for the text part of an email."""
    title = f"Readers' questions so far: {one_line(d.event.title)}"
    lines = [title, "=" * min(len(title), 72), "", f"{when_label(d)}.", f"{count_line(d)}.", ""]
    for part in outline(d, panelist_id):
        lines += [part.heading.upper(), ""]
        if not part.sections:
            lines += [part.empty, ""]
        for section in part.sections:
            if section.heading:
                lines += [section.heading, "-" * min(len(section.heading), 72)]
            for n, q in enumerate(section.questions, 1):
                marks = "".join(f"[{m.upper()}] " for m in _marks(q))
                lines.append(f"{n}. {marks}{one_line(q.body)}")
                lines.append(f"   {q.shown_asker}, {_votes(q.upvotes)}")
            lines.append("")
    lines.append(f"Made {made_label(d)}.")
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)) + "\n"


# Inline styles only: mail clients drop <style> blocks and never load a stylesheet.
_H1 = "font-size:22px;margin:0 0 8px"
_H2 = "font-size:16px;margin:24px 0 8px;padding-top:8px;border-top:2px solid #1a1a1a"
_H3 = "font-size:15px;margin:16px 0 4px"
_META = "color:#595959;font-size:13px"
_PENDING = "color:#6b0000;border:1px solid #6b0000;padding:0 4px;font-size:12px"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def unname_letter(text: str, html_body: str, name: str, body: str) -> tuple[str, str]:
    """A sent or queued digest letter with the asker of the question `body` shown as
    Anonymous (forget-reader). Matched by text and name in the exact shapes `digest_text`
    and `digest_html` write, as the transcripts' "also asked" credits are matched."""
    line = one_line(body)
    text = text.replace(f"{line}\n   {name}, ", f"{line}\n   {ANONYMOUS}, ")
    before = f'{_e(line)}<br><span style="{_META}">'
    html_body = html_body.replace(f"{before}{_e(name)}, ", f"{before}{ANONYMOUS}, ")
    return text, html_body


def digest_html(d: Digest, panelist_id: int | None = None) -> str:
    """A self-contained HTML fragment for email: inline styles, no images, no scripts, and
    every piece of user text escaped."""
    out = [
        '<div style="font-family:Georgia,serif;color:#1a1a1a;line-height:1.5;max-width:640px">',
        f'<h1 style="{_H1}">Readers\u2019 questions so far: {_e(one_line(d.event.title))}</h1>',
        f'<p style="{_META}">{_e(when_label(d))}. {_e(count_line(d))}.</p>',
    ]
    for part in outline(d, panelist_id):
        out.append(f'<h2 style="{_H2}">{_e(part.heading)}</h2>')
        if not part.sections:
            out.append(f"<p>{_e(part.empty)}</p>")
        for section in part.sections:
            if section.heading:
                out.append(f'<h3 style="{_H3}">{_e(section.heading)}</h3>')
            out.append('<ol style="margin:0 0 12px;padding-left:24px">')
            for q in section.questions:
                marks = f'<strong style="{_PENDING}">PENDING</strong> ' if q.pending else ""
                if q.answered:
                    marks += "<em>answered</em> · "
                out.append(
                    f'<li style="margin:0 0 8px">{marks}{_e(one_line(q.body))}<br>'
                    f'<span style="{_META}">{_e(q.shown_asker)}, {_votes(q.upvotes)}</span></li>'
                )
            out.append("</ol>")
    out.append(f'<p style="{_META}">Made {_e(made_label(d))}.</p>')
    out.append("</div>")
    return "\n".join(out) + "\n"
