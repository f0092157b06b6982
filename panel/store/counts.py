"""The public question counts of an event (panel/openness.py defines each count)."""

from __future__ import annotations

from panel.openness import QuestionCounts
from panel.store.rows import Rows

# One pass over the event's questions (index questions_event); a duplicate is answered when
# its kept question is.
_COUNTS = (
    "SELECT COUNT(*) AS received,"
    " COALESCE(SUM(CASE WHEN q.status = 'approved' THEN 1 ELSE 0 END), 0) AS published,"
    " COALESCE(SUM(CASE WHEN q.status = 'approved' AND (q.answered <> 0"
    " OR COALESCE(k.answered, 0) <> 0) THEN 1 ELSE 0 END), 0) AS answered,"
    " COALESCE(SUM(CASE WHEN q.status IN ('rejected', 'withdrawn') THEN 1 ELSE 0 END), 0)"
    " AS rejected,"
    " COALESCE(SUM(CASE WHEN q.status = 'pending' THEN 1 ELSE 0 END), 0) AS waiting"
    " FROM questions q LEFT JOIN questions k ON k.id = q.merged_into WHERE q.event_id = :e"
)


class CountRows(Rows):
    async def question_counts(self, event_id: int) -> QuestionCounts:
        row = await self._one(_COUNTS, e=event_id)
        if row is None:
            return QuestionCounts()
        return QuestionCounts(
            received=int(row["received"]),
            published=int(row["published"]),
            answered=int(row["answered"]),
            rejected=int(row["rejected"]),
            waiting=int(row["waiting"]),
        )
