"""Backstage: notes between editors and panelists during the event.

Editors write to the whole panel or to one panelist ("Sandra, can you take #14?"); panelists
flag a question to the editors ("needs a legal check"). Notes live in their own table, are
announced to staff by id only, and are kept in the audit log. No reader surface reads them.
"""

from __future__ import annotations

from panel.clock import Clock
from panel.config import Settings
from panel.domain import Audience, RuleError
from panel.lookups import Actor, clean_text, event_or_fail, optional_id, panel_member, people
from panel.store import Repo, Store


class Backstage:
    def __init__(self, store: Store, clock: Clock, settings: Settings) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings

    async def send(
        self, event_id: int, actor: Actor, body: object, *, to: object = None, about: object = None
    ) -> int:
        """An editor's note (to the panel, or to panelist `to`), or a panelist's flag to the
        editors; `about` names a question of the event. Returns the note's id."""
        text = clean_text(body, field="Note", max_chars=self.settings.note_max_chars, required=True)
        to_id = optional_id(to, "to")
        question_id = optional_id(about, "question")
        now = self.clock.now()

        async def job(repo: Repo) -> int:
            event = await event_or_fail(repo, event_id)
            panel = await people(repo, event.id)
            if actor.kind == "editor":
                if to_id is not None and to_id not in panel:
                    raise RuleError("invalid", "That panelist is not on this event's panel.")
                audience = Audience.PANEL if to_id is None else Audience.PANELIST
            elif await panel_member(repo, actor, event.id) is not None:
                audience = Audience.EDITORS  # a panelist's note always goes to the editors
            else:
                raise RuleError(
                    "forbidden", "Only this event's editors and panelists can send notes."
                )
            if question_id is not None:
                question = await repo.question(question_id)
                if question is None or question.event_id != event.id:
                    raise RuleError(
                        "invalid", f"There is no question #{question_id} in this event."
                    )
            note_id = await repo.insert_note(
                event_id=event.id,
                audience=audience,
                to_panelist=to_id if audience == Audience.PANELIST else None,
                question_id=question_id,
                author_kind=actor.kind,
                author_id=actor.id if isinstance(actor.id, int) else None,
                author_name=actor.name or actor.kind,
                body=text,
                now=now,
            )
            await repo.audit(
                actor=str(actor),
                action="backstage.note",
                event_id=event.id,
                target=f"note:{note_id}",
                before=None,
                after={
                    "to": audience if to_id is None else f"panelist:{to_id}",
                    "question": question_id,
                    "body": text,
                },
                now=now,
            )
            repo.notify_staff(event.id, {"note": note_id}, now)
            return note_id

        return await self.store.write(job)
