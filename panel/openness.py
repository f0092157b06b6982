"""Transparent moderation: the public question counts of an event, and the reason an editor
may show the asker of a rejected question.

Counts (every question an event received falls in exactly one of published, not published
and waiting; answered is part of published):
- received: every question, merged duplicates included;
- published: public now, a duplicate shown under its kept question included;
- answered: published and marked answered; a duplicate counts when its kept question does;
- rejected ("not published"): rejected by an editor, or published and then withdrawn;
- waiting: not yet moderated, a duplicate waiting with its kept question included.

The reason for the asker is a standard reason, free text, or both; it is stored apart from
the private reason (`reject_reason`, audit only) and only ever shown to the asker's cookie.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from panel.domain import RuleError

ASKER_NOTE_MAX_CHARS = 300

# The standard reasons an editor may show the asker, by the code forms and the API send.
STANDARD_REASONS = {
    "already_answered": "Already answered",
    "off_topic": "Off topic",
    "identifies_person": "Identifies a person",
    "not_reached": "We could not get to it",
}


@dataclass(frozen=True)
class QuestionCounts:
    received: int = 0
    published: int = 0
    answered: int = 0
    rejected: int = 0
    waiting: int = 0

    def payload(self) -> dict[str, int]:
        """The `counts` frame's data and the API's `counts` object."""
        return asdict(self)


def asker_reason(reason: object, note: object) -> str:
    """The text shown to the asker: the standard reason's label, the note, or both joined;
    "" when the editor chose to show nothing. Refuses an unknown reason or a long note."""
    if reason is not None and not isinstance(reason, str):
        raise RuleError("invalid", "The reason for the asker must be text.")
    code = (reason or "").strip()
    if code and code not in STANDARD_REASONS:
        raise RuleError(
            "invalid",
            f"Unknown reason for the asker {code!r}; expected one of "
            + ", ".join(STANDARD_REASONS)
            + ".",
        )
    if note is not None and not isinstance(note, str):
        raise RuleError("invalid", "The note for the asker must be text.")
    text = " ".join((note or "").split())
    if len(text) > ASKER_NOTE_MAX_CHARS:
        raise RuleError(
            "too_long",
            f"The note for the asker is {len(text)} characters; the limit is "
            f"{ASKER_NOTE_MAX_CHARS}. Shorten it and reject again.",
        )
    label = STANDARD_REASONS.get(code, "")
    if label and text:
        return f"{label}: {text}"
    return label or text
