"""Backstage: notes between editors and panelists during the event.

Editors write to the whole panel or to one panelist ("Sandra, can you take #14?"); panelists
flag a question to the editors ("needs a legal check"). Notes live in their own table, are
announced to staff by id only, and are kept in the audit log. No reader surface reads them.
"""

from __future__ import annotations

from panel.clock import Clock
from panel.config import Settings
from panel.domain import Actor, Audience, RuleError
from panel.store import Store
from panel.text import clean_text, optional_id
from panel.writes import Tx, Writer, panel_member


class Backstage:
    def __init__(self, store: Store, clock: Clock, settings: Settings) -> None:
        self.write = Writer(store, clock)
        self.settings = settings

    async def send(
        self, event_id: int, actor: Actor, body: object, *, to: object = None, about: object = None
    ) -> int:
        """An editor's note (to the panel, or to panelist `to`), or a panelist's flag to the
        editors; `about` names a question of the event. Returns the note's id."""
        text = clean_text(body, field="Note", max_chars=self.settings.note_max_chars, required=True)
        to_id = optional_id(to, "to")
        question_id = optional_id(about, "question")

        async def job(tx: Tx) -> int:
            event = await tx.event(event_id)
            panel = await tx.people(event.id)
            if actor.kind == "editor":
                if to_id is not None and to_id not in panel:
                    raise RuleError("invalid", "That panelist is not on this event's panel.")
                audience = Audience.PANEL if to_id is None else Audience.PANELIST
            elif await panel_member(tx.repo, actor, event.id) is not None:
                audience = Audience.EDITORS  # a panelist's note always goes to the editors
            else:
                raise RuleError(
                    "forbidden", "Only this event's editors and panelists can send notes."
                )
            if question_id is not None:
                question = await tx.repo.question(question_id)
                if question is None or question.event_id != event.id:
                    raise RuleError(
                        "invalid", f"There is no question #{question_id} in this event."
                    )
            note_id = await tx.repo.insert_note(
                event_id=event.id,
                audience=audience,
                to_panelist=to_id if audience == Audience.PANELIST else None,
                question_id=question_id,
                author_kind=actor.kind,
                author_id=actor.id if isinstance(actor.id, int) else None,
                author_name=actor.name or actor.kind,
                body=text,
                now=tx.now,
            )
            await tx.audit(
                "backstage.note",
                f"note:{note_id}",
                event_id=event.id,
                after={
                    "to": audience if to_id is None else f"panelist:{to_id}",
                    "question": question_id,
                    "body": text,
                },
            )
            tx.notify_staff(event.id, {"note": note_id})
            return note_id

        return await self.write(actor, job)
