"""An audit entry in a sentence ("Anna approved #23"), for messages that name who acted."""

from __future__ import annotations

from typing import Any

from panel.auditview import who

# What an action did, in the past tense, before the name of its target.
VERBS = {
    "question.approve": "approved",
    "question.reject": "rejected",
    "question.pin": "pinned",
    "question.unpin": "unpinned",
    "question.merge": "merged",
    "question.withdraw": "withdrew",
    "question.edit": "edited",
    "question.direct": "directed",
    "question.answered": "marked answered",
    "question.unanswered": "marked unanswered",
    "question.undo": "undid a change to",
    "reader.ban": "banned the author of",
    "answer.withdraw": "withdrew",
    "answer.edit": "edited",
    "answer.undo": "undid a change to",
    "event.status": "changed the status of",
    "event.undo": "undid a change to",
}


def actor_name(actor: str) -> str:
    """`editor:3:Anna` → `Anna`; `system` → `The system` (the audit log's own reading)."""
    return who(actor)


def target_name(target: str) -> str:
    """`question:23` → `#23`, `answer:5` → `answer #5`, `event:slug` → `the event`."""
    kind, _, ident = target.partition(":")
    if kind == "question":
        return f"#{ident}"
    if kind == "event":
        return "the event"
    return f"{kind} #{ident}"


def deed(entry: dict[str, Any] | Any) -> str:
    """`Anna approved #23`: who did what to what, from one audit entry."""
    verb = VERBS.get(entry["action"], f"did {entry['action']} to")
    return f"{actor_name(entry['actor'])} {verb} {target_name(entry['target'])}"
