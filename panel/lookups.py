"""Small shared pieces of the actions: who acts, text checks, and lookups that must exist."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from panel import payloads
from panel.domain import Event, Question, RuleError, on_now
from panel.store import Repo

CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Actor:
    """Who did something, for permissions and the audit log."""

    kind: str  # "editor", "panelist", "reader", "system"
    id: int | str | None = None
    name: str = ""
    # The one event an invite signed this panelist in to; None for trusted callers (demo).
    event_id: int | None = None

    def acts_for(self, event_id: int) -> bool:
        """An invite opens one event's console, even for a panelist on several panels."""
        return self.event_id is None or self.event_id == event_id

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}:{self.name}" if self.id is not None else self.kind


SYSTEM = Actor("system")


def clean_text(value: object, *, field: str, max_chars: int, required: bool) -> str:
    """Trim and check user text; refuse control characters rather than silently dropping them."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise RuleError("invalid", f"{field} must be text.")
    text = unicodedata.normalize("NFC", value.replace("\r\n", "\n")).strip()
    if CONTROL_CHARS.search(text):
        raise RuleError("invalid", f"{field} contains control characters.")
    if required and not text:
        raise RuleError("invalid", f"{field} must not be empty.")
    if len(text) > max_chars:
        raise RuleError("too_long", f"{field} is {len(text)} characters; the limit is {max_chars}.")
    return text


async def people(repo: Repo, event_id: int) -> dict[int, Any]:
    return {person.id: person for person in (await repo.lineup(event_id)).everyone()}


async def panel_member(repo: Repo, actor: Actor, event_id: int) -> int | None:
    """The actor's panelist id if they sit on this event's panel and are signed in to it."""
    if (
        actor.kind == "panelist"
        and isinstance(actor.id, int)
        and actor.acts_for(event_id)
        and actor.id in await people(repo, event_id)
    ):
        return actor.id
    return None


async def on_now_payload(repo: Repo, event: Event, at: datetime) -> list[dict[str, Any]]:
    people = on_now(event, await repo.slots(event.id), await repo.lineup(event.id), at)
    return [payloads.panelist(person) for person in people]


def optional_id(value: object, field: str) -> int | None:
    if value in (None, "", 0, "0"):
        return None
    if isinstance(value, bool):
        raise RuleError("invalid", f"{field} must be a whole number.")
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):  # OverflowError: 1e999 in JSON is infinity
        raise RuleError("invalid", f"{field} must be a whole number.") from None


async def event_or_fail(repo: Repo, event_id: int) -> Event:
    event = await repo.event_by_id(event_id)
    if event is None:
        raise RuleError("not_found", "No such event.")
    return event


async def question_or_fail(repo: Repo, question_id: int) -> Question:
    question = await repo.question(question_id)
    if question is None:
        raise RuleError("not_found", "No such question.")
    return question
