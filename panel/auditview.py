"""The audit log as people read it: one sentence per entry ("anna approved #23"), and the
change as data (a word diff for texts, "old → new" for values) that templates escape.

The log stores actors as strings (`editor:3:anna`, `panelist:4:Maria Ashdown`, `system`),
targets as `kind:id` and before/after as JSON objects; this module only reads them.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from panel.domain import parse_iso

# Fields whose values are prose: shown as a word diff rather than "old → new".
TEXT_FIELDS = frozenset(
    {"body", "intro_md", "outro_md", "bio", "summary", "reject_reason", "public_reason"}
)
YES_NO_FIELDS = frozenset({"pinned", "answered", "hidden", "banned"})
QUESTION_FIELDS = frozenset({"merged_into", "question"})  # ids shown as "#12"
PANELIST_FIELDS = frozenset({"directed_to", "panelist_id", "to"})  # ids shown by name
FIELD_LABELS = {
    "intro_md": "introduction",
    "outro_md": "closing note",
    "merged_into": "merged into",
    "directed_to": "directed to",
    "reject_reason": "reason",
    "public_reason": "told the asker",
    "starts_at": "starts",
    "ends_at": "ends",
    "slow_mode_seconds": "slow mode (seconds)",
    "blocked_terms": "blocked terms",
    "sessions_ended": "sessions ended",
    "failed_logins": "failed sign-ins",
    "locked_until": "locked until",
    "panelist_id": "panelist",
    "slot_id": "slot",
    "updated_at": "updated",
    "question": "about question",
    "undid": "undoes log entry no.",
}
NOTHING = "—"
ISO_INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")
WORDS = re.compile(r"\w+|\s+|[^\w\s]+")


@dataclass(frozen=True)
class Facts:
    """What a sentence can mention, already phrased."""

    who: str
    target: str
    before: Mapping[str, Any]
    after: Mapping[str, Any]
    names: Mapping[int, str]

    def panelist(self, value: Any) -> str:
        return panelist_name(value, self.names)


def panelist_name(value: Any, names: Mapping[int, str]) -> str:
    """A panelist's name from an id (or `panelist:ID`); None is "anyone on the panel"."""
    if value is None:
        return "anyone on the panel"
    text = str(value)
    number = text.removeprefix("panelist:")
    if number.isdigit():
        return names.get(int(number), f"panelist {number}")
    return {"panel": "the panel", "editors": "the editors"}.get(text, text)


Phrase = str | Callable[[Facts], str]


def _reject(f: Facts) -> str:
    reason = str(f.after.get("reject_reason") or "").strip()
    told = str(f.after.get("public_reason") or "").strip()
    return (
        f"{f.who} rejected {f.target}"
        + (f" (reason: {reason})" if reason else "")
        + (f" and told the asker: {told}" if told else "")
    )


def _status(f: Facts) -> str:
    new, old = f.after.get("status"), f.before.get("status")
    if new == "live":
        return (
            f"{f.who} reopened {f.target}" if old == "closed" else f"{f.who} took {f.target} live"
        )
    phrases = {
        "closed": "{who} closed {target}",
        "scheduled": "{who} opened advance questions for {target}",
        "draft": "{who} moved {target} back to draft",
        "published": "{who} published {target}",
    }
    template = phrases.get(str(new), "{who} set the status of {target} to " + str(new))
    return template.format(who=f.who, target=f.target)


def _move(f: Facts) -> str:
    old, new = f.before.get("position"), f.after.get("position")
    way = "up" if isinstance(old, int) and isinstance(new, int) and new < old else "down"
    return f"{f.who} moved {f.target} {way} in the transcript"


# Every action the code base writes (tests/test_auditview.py checks that with grep).
PHRASES: dict[str, Phrase] = {
    "question.approve": "{who} approved {target}",
    "question.reject": _reject,
    "question.pin": "{who} pinned {target}",
    "question.unpin": "{who} unpinned {target}",
    "question.merge": lambda f: f"{f.who} merged {f.target} into #{f.after.get('merged_into')}",
    "question.unmerge": lambda f: (
        f"{f.who} separated {f.target} from #{f.before.get('merged_into')}"
        if f.before.get("merged_into")
        else f"{f.who} separated {f.target} from the question it was merged into"
    ),
    "question.withdraw": "{who} withdrew {target}",
    "question.edit": "{who} edited {target}",
    "question.direct": lambda f: (
        f"{f.who} directed {f.target} to {f.panelist(f.after.get('directed_to'))}"
    ),
    "question.answered": "{who} marked {target} answered",
    "question.unanswered": "{who} marked {target} unanswered",
    "question.undo": "{who} undid a change to {target}",
    "reader.ban": "{who} banned the author of {target}",
    "reader.unban": "{who} lifted the ban on {target}",
    "reader.forget": "{who} erased what identifies the author of {target}",
    "answer.edit": "{who} edited {target}",
    "answer.withdraw": "{who} withdrew {target}",
    "answer.undo": "{who} undid a change to {target}",
    "backstage.note": lambda f: (
        f"{f.who} sent a backstage note to {f.panelist(f.after.get('to', 'panel'))}"
    ),
    "event.create": "{who} created {target}",
    "event.edit": "{who} edited the details of {target}",
    "event.duplicate": lambda f: (
        f"{f.who} created {f.target} as a copy of {f.before.get('from', 'another event')}"
    ),
    "event.delete": "{who} deleted the draft {target}",
    "event.rules": "{who} changed the moderation rules of {target}",
    "event.status": _status,
    "event.undo": "{who} undid a change to {target}",
    "slot.add": "{who} added the slot {target}",
    "slot.edit": "{who} changed the slot {target}",
    "slot.delete": "{who} deleted the slot {target}",
    "panel.assign": "{who} added {target} to the panel",
    "panel.unassign": "{who} took {target} off the panel",
    "panelist.create": lambda f: (
        f"{f.who} created the profile of {f.after.get('name') or f.target}"
    ),
    "panelist.edit": "{who} edited the profile of {target}",
    "invite.create": lambda f: (
        f"{f.who} created an invite link for {f.panelist(f.after.get('panelist_id'))}"
    ),
    "invite.revoke": "{who} revoked {target}",
    "transcript.move": _move,
    "transcript.hide": "{who} left {target} out of the transcript",
    "transcript.show": "{who} put {target} back in the transcript",
    "transcript.notes": "{who} edited the transcript's introduction and closing note",
    "transcript.correct": "{who} corrected {target} in the transcript",
    "transcript.publish": "{who} published the transcript",
    "transcript.republish": "{who} republished the transcript",
    "transcript.unpublish": "{who} took the transcript down",
    "editor.create": "{who} added the editor {target}",
    "editor.role": "{who} changed the role of {target}",
    "editor.password": "{who} changed the password of {target}",
    "editor.disable": "{who} disabled {target}",
    "editor.enable": "{who} enabled {target}",
    "editor.remove": "{who} removed the editor {target}",
    "editor.unlock": "{who} unlocked {target}",
    "session.end": "{who} signed out",
    "token.create": lambda f: f"{f.who} created the API token “{f.after.get('name', '')}”",
    "token.revoke": "{who} revoked {target}",
    "demo.load": "{who} started loading the demo",
    "demo.discard": "{who} removed a demo load that had been cut short",
    "demo.loaded": "{who} finished loading the demo",
    "digest.send": "{who} sent the digest of {target} to the panelists",
    "digest.schedule": "{who} scheduled the digest of {target}",
    "digest.unschedule": "{who} cancelled the scheduled digest of {target}",
    "mail.retry": "{who} tried {target} again",
}


def who(actor: str) -> str:
    """The person (or process) behind an actor string, as a sentence starts with it."""
    kind, _, rest = actor.partition(":")
    _, _, name = rest.partition(":")
    if kind in ("editor", "panelist") and name:
        return name
    return {
        "system": "The system",
        "clock": "The clock",
        "reader": "A reader",
        "editor": "An editor",
    }.get(kind, actor)


def target_text(
    target: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    *,
    names: Mapping[int, str],
    on_event: bool,
) -> str:
    """`question:23` as "#23", `slot:4` by its label, `event:slug` as "the event", …"""
    kind, _, key = target.partition(":")
    label = after.get("label") or before.get("label")
    if kind == "question":
        return f"#{key}"
    if kind == "answer":
        return f"an answer (no. {key})"
    if kind == "slot":
        return f"“{label}”" if label else f"slot {key}"
    if kind == "panelist":
        return names.get(int(key), f"panelist {key}") if key.isdigit() else key
    if kind == "event":
        return "the event" if on_event else f"the event {key}"
    if kind == "invite":
        return f"invite no. {key}"
    if kind == "token":
        return f"API token no. {key}"
    if kind == "reader":
        return f"reader {key}…"
    if kind == "note":
        return "a backstage note"
    if kind == "mail":
        return f"email no. {key}"
    return key or target


def sentence(
    actor: str,
    action: str,
    target: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    *,
    names: Mapping[int, str] | None = None,
    on_event: bool = True,
) -> str:
    """One entry as a sentence, without its time: "anna approved #23"."""
    names = names or {}
    facts = Facts(
        who(actor),
        target_text(target, before, after, names=names, on_event=on_event),
        before,
        after,
        names,
    )
    phrase = PHRASES.get(action)
    if phrase is None:  # an action written after this table: still a sentence
        about = f" ({facts.target})" if target else ""
        return f"{facts.who}: {action.replace('.', ' ').replace('_', ' ')}{about}"
    if callable(phrase):
        return phrase(facts)
    return phrase.format(who=facts.who, target=facts.target)


# -- the change ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Segment:
    """A run of words in a text diff: kept ("same"), removed ("del") or added ("ins")."""

    kind: str
    text: str


@dataclass(frozen=True)
class FieldChange:
    """One field that changed: a word diff (`segments`) for texts, else `old` → `new`."""

    label: str
    old: str
    new: str
    segments: tuple[Segment, ...] = ()
    created: bool = False  # nothing before (a new note, slot, token…): show the value alone


def word_diff(old: str, new: str) -> tuple[Segment, ...]:
    """Word-level diff of two texts: words, spaces and punctuation are the units, so
    "trainng" → "training" is one word swapped and joining the segments gives the texts."""
    a, b = WORDS.findall(old), WORDS.findall(new)
    out: list[Segment] = []

    def add(kind: str, text: str) -> None:
        if out and out[-1].kind == kind:
            out[-1] = Segment(kind, out[-1].text + text)
        elif text:
            out.append(Segment(kind, text))

    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            add("same", "".join(a[i1:i2]))
            continue
        add("del", "".join(a[i1:i2]))
        add("ins", "".join(b[j1:j2]))
    return tuple(out)


def show_value(field: str, value: Any, zone: tzinfo, names: Mapping[int, str] | None = None) -> str:
    """A stored value as a person reads it: None as "—", yes/no, names, local times, lists."""
    if field == "directed_to" or (field in PANELIST_FIELDS and value is not None):
        return panelist_name(value, names or {})
    if value is None or value == "":
        return NOTHING
    if field in QUESTION_FIELDS:
        return f"#{value}"
    if field in YES_NO_FIELDS or isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or NOTHING
    if isinstance(value, str) and ISO_INSTANT.match(value):
        try:
            return parse_iso(value).astimezone(zone).strftime("%-d %b %Y %H:%M")
        except ValueError:
            return value
    return str(value)


def changes(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    zone: tzinfo,
    names: Mapping[int, str] | None = None,
) -> list[FieldChange]:
    """The fields that differ, in the order they were written; unchanged ones are left out.
    A text changed from one wording to another is a word diff; the rest is "old → new"."""
    out = []
    for field in dict.fromkeys([*before, *after]):
        old, new = before.get(field), after.get(field)
        if old == new:
            continue
        label = FIELD_LABELS.get(field, field.replace("_", " "))
        shown = FieldChange(
            label,
            show_value(field, old, zone, names),
            show_value(field, new, zone, names),
            created=not before,
        )
        if field in TEXT_FIELDS and old and new and isinstance(old, str) and isinstance(new, str):
            shown = FieldChange(label, old, new, word_diff(old, new))
        out.append(shown)
    return out


def is_noop(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    """An entry that changed nothing (old logs have such `question.answered` ones)."""
    return bool(before) and before == after


# -- the page --------------------------------------------------------------------------------
@dataclass(frozen=True)
class AuditLine:
    """One entry ready to show."""

    id: int
    at: str  # the full UTC timestamp, for <time datetime>
    when: str  # the time as shown: "13:42", with the date when it is not the event's day
    sentence: str
    actor: str
    action: str
    changes: tuple[FieldChange, ...]


def when_text(at: datetime, zone: tzinfo, day: str | None) -> str:
    """ "13:42" on `day` (the event's local date), else with the date; "UTC" when it is UTC."""
    local = at.astimezone(zone)
    clock = local.strftime("%H:%M") + (" UTC" if day is None else "")
    if day is not None and local.date().isoformat() == day:
        return clock
    return f"{clock} on {local.strftime('%-d %b %Y')}"


def row_sentence(row: Mapping[str, Any], names: Mapping[int, str] | None = None) -> str:
    """One stored audit row as its sentence ("Bea directed #23 to Maria Ashdown")."""
    return sentence(
        row["actor"],
        row["action"],
        row["target"],
        json.loads(row["before_json"]),
        json.loads(row["after_json"]),
        names=names,
    )


def audit_lines(
    rows: Iterable[Mapping[str, Any]],
    *,
    zone: tzinfo,
    day: str | None,
    names: Mapping[int, str],
    on_event: bool,
) -> list[AuditLine]:
    """Rows from `repo.audit_entries` as lines, leaving out entries that changed nothing."""
    lines = []
    for row in rows:
        before, after = json.loads(row["before_json"]), json.loads(row["after_json"])
        if is_noop(before, after):
            continue
        at = parse_iso(row["at"])
        lines.append(
            AuditLine(
                id=int(row["id"]),
                at=str(row["at"]),
                when=when_text(at, zone, day),
                sentence=sentence(
                    row["actor"],
                    row["action"],
                    row["target"],
                    before,
                    after,
                    names=names,
                    on_event=on_event,
                ),
                actor=str(row["actor"]),
                action=str(row["action"]),
                changes=tuple(changes(before, after, zone, names)),
            )
        )
    return lines


def action_label(action: str) -> str:
    """An action for the filter: "question.approve" as "question: approve"."""
    noun, _, verb = action.partition(".")
    return f"{noun}: {verb.replace('_', ' ')}" if verb else noun


def actor_label(actor: str) -> str:
    """An actor for the filter: the name, marked when it is a panelist's."""
    name = who(actor)
    return f"{name} (panelist)" if actor.startswith("panelist:") else name
