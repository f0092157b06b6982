"""Reports: a reader tells the editors that a published question or answer is a problem.

A report is private to the editors: it appends no public frame, only a staff notice (ids,
never text) so the desk refreshes. One report per reader and item; reporting it again is
accepted and changes nothing, so a reader cannot inflate a count."""

from __future__ import annotations

from dataclasses import dataclass

from panel.clock import Clock
from panel.config import Settings
from panel.domain import Actor, QuestionStatus, RuleError
from panel.store import Store
from panel.text import clean_text
from panel.writes import Tx, Writer

# The reasons a reader can pick, in the order the form lists them.
REASONS = {
    "rude": "Rude",
    "identifies": "Identifies someone",
    "wrong": "Wrong",
    "other": "Other",
}
TARGET_KINDS = ("question", "answer")
DETAIL_MAX_CHARS = 300


@dataclass(frozen=True)
class ReportInput:
    """A checked report: what is reported, why, and the reader's optional words."""

    kind: str
    target_id: int
    reason: str
    detail: str


class Reports:
    def __init__(self, store: Store, clock: Clock, settings: Settings) -> None:
        self.write = Writer(store, clock)

    def check(
        self, kind: object, target_id: int | None, reason: object, detail: object
    ) -> ReportInput:
        """The report's fields, checked before any quota is taken."""
        if kind not in TARGET_KINDS or target_id is None:
            raise RuleError("invalid", "Choose a question or an answer to report.")
        if reason not in REASONS:
            raise RuleError("invalid", "Choose why you are reporting it.")
        words = clean_text(detail, field="Your note", max_chars=DETAIL_MAX_CHARS, required=False)
        return ReportInput(str(kind), target_id, str(reason), words)

    async def report(self, event_id: int, reader_id: str, report: ReportInput) -> bool:
        """Store the report; False when this reader had reported the item already."""

        async def job(tx: Tx) -> bool:
            await _check_target(tx, event_id, report)
            report_id = await tx.repo.add_report(
                event_id=event_id,
                target_kind=report.kind,
                target_id=report.target_id,
                reader_id=reader_id,
                reason=report.reason,
                detail=report.detail,
                now=tx.now,
            )
            if report_id is None:
                return False
            tx.notify_staff(event_id, {"report": report_id})
            return True

        return await self.write(Actor("reader", reader_id), job)


async def _check_target(tx: Tx, event_id: int, report: ReportInput) -> None:
    """Only what readers can see may be reported: a published question of this event, or a
    published answer to one."""
    missing = RuleError("not_found", "That question or answer is not published here.")
    question_id = report.target_id
    if report.kind == "answer":
        answer = await tx.repo.answer(report.target_id)
        if answer is None or answer.status != "published":
            raise missing
        question_id = answer.question_id
    question = await tx.repo.question(question_id)
    if question is None or question.event_id != event_id:
        raise missing
    if question.status != QuestionStatus.APPROVED:
        raise missing
