"""Answers: panelists (and editors) answer published questions, edit and withdraw answers."""

from __future__ import annotations

from panel import payloads
from panel.clock import Clock
from panel.config import Settings
from panel.domain import SYSTEM, Actor, EventStatus, QuestionStatus, RuleError, takes_answers
from panel.live import protocol as p
from panel.render import markdown_to_html
from panel.store import Store
from panel.text import clean_text
from panel.writes import Tx, Writer, panel_member

# Rows rendered per transaction by render_missing: short jobs keep the writer responsive.
RENDER_BATCH = 200


NOT_TAKING_ANSWERS = "This event is not taking answers."


async def publish_answer(tx: Tx, answer_id: int, event_id: int, kind: str) -> None:
    answer = await tx.repo.answer(answer_id)
    assert answer is not None
    people = await tx.people(event_id)
    await tx.frame(event_id, kind, {"answer": payloads.answer(answer, people)})


class Answers:
    def __init__(self, store: Store, clock: Clock, settings: Settings) -> None:
        self.write = Writer(store, clock)
        self.settings = settings

    def _body(self, body: object) -> str:
        return clean_text(
            body, field="Answer", max_chars=self.settings.answer_max_chars, required=True
        )

    async def answer(self, question_id: int, body: object, actor: Actor) -> int:
        """A panelist's (or editor's) answer; several may answer one question."""
        text = self._body(body)

        async def job(tx: Tx) -> int:
            question = await tx.question(question_id)
            event = await tx.event(question.event_id)
            if question.status != QuestionStatus.APPROVED or question.merged_into is not None:
                raise RuleError("invalid", "Only a published question can be answered.")
            if not takes_answers(event.status):
                raise RuleError("invalid", NOT_TAKING_ANSWERS)
            panelist_id = await _answerer(tx, event.id)
            editor_id = int(actor.id) if actor.kind == "editor" and actor.id is not None else None
            answer_id = await tx.repo.insert_answer(
                question.id, text, markdown_to_html(text), panelist_id, editor_id, tx.now
            )
            if panelist_id is not None:  # published: the draft and its claim are done with
                await tx.repo.delete_draft(question.id, panelist_id)
            if not question.answered:
                # No question.updated for this: answer.published means "answered" to clients,
                # and one frame instead of two matters with thousands of readers.
                await tx.repo.update_question(question.id, tx.now, answered=1)
            await publish_answer(tx, answer_id, event.id, p.ANSWER_PUBLISHED)
            tx.notify_staff(event.id, {"question_id": question.id, "answer_id": answer_id})
            return answer_id

        return await self.write(actor, job)

    async def edit(self, answer_id: int, body: object, actor: Actor) -> None:
        """Authors edit their own answers; editors may edit any."""
        text = self._body(body)

        async def job(tx: Tx) -> None:
            answer = await tx.repo.answer(answer_id)
            if answer is None or answer.status != "published":
                raise RuleError("not_found", "No such answer.")
            question = await tx.question(answer.question_id)
            own = (
                actor.kind == "panelist"
                and actor.id == answer.panelist_id
                and actor.acts_for(question.event_id)
            )
            if not (own or actor.kind == "editor"):
                raise RuleError("forbidden", "You can only edit your own answers.")
            if (await tx.event(question.event_id)).status == EventStatus.PUBLISHED:
                # The transcript is the record now: corrections go through its curation page.
                raise RuleError(
                    "invalid",
                    "This event's transcript is published; correct "
                    "answers on its Transcript page in the desk.",
                )
            await tx.repo.update_answer(
                answer_id, tx.now, body_md=text, body_html=markdown_to_html(text)
            )
            await tx.audit(
                "answer.edit",
                f"answer:{answer_id}",
                event_id=question.event_id,
                before={"body": answer.body_md},
                after={"body": text},
            )
            await publish_answer(tx, answer_id, question.event_id, p.ANSWER_UPDATED)

        await self.write(actor, job)

    async def render_missing(self) -> int:
        """Render and store the HTML of answers written before it was stored; how many."""
        done = 0
        while True:

            async def job(tx: Tx) -> int:
                answers = await tx.repo.answers_without_html(RENDER_BATCH)
                for answer in answers:
                    await tx.repo.store_answer_html(answer.id, markdown_to_html(answer.body_md))
                return len(answers)

            count = await self.write(SYSTEM, job)
            done += count
            if count < RENDER_BATCH:
                return done

    async def withdraw(self, answer_id: int, actor: Actor) -> None:
        """Take a published answer down (an editor's call); readers see it disappear."""

        async def job(tx: Tx) -> None:
            answer = await tx.repo.answer(answer_id)
            if answer is None or answer.status != "published":
                raise RuleError("already_moderated", "That answer is not published.")
            question = await tx.question(answer.question_id)
            await tx.repo.update_answer(answer_id, tx.now, status="withdrawn")
            await tx.audit(
                "answer.withdraw",
                f"answer:{answer_id}",
                event_id=question.event_id,
                before={"body": answer.body_md},
                after={"status": "withdrawn"},
            )
            await tx.frame(
                question.event_id,
                p.ANSWER_WITHDRAWN,
                {"id": answer_id, "question_id": question.id},
            )
            tx.notify_staff(question.event_id, {"answer_id": answer_id})

        await self.write(actor, job)


async def _answerer(tx: Tx, event_id: int) -> int | None:
    """The panelist answering (None for an editor), or a refusal for anyone else."""
    if tx.actor.kind == "editor":
        return None
    panelist_id = await panel_member(tx.repo, tx.actor, event_id)
    if panelist_id is None:
        raise RuleError("forbidden", "Only this event's panelists and editors can answer.")
    return panelist_id
