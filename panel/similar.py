"""Duplicate suggestions: for a question, the event's most similar open questions, scored 0-100.

Computed in Python over the questions read from the store, so SQLite and PostgreSQL give the
same answer. The scorer and threshold were chosen by `python -m bench.similarity` on
tests/data/paraphrases.csv (threshold on one half, checked on the other); docs/desk.md quotes
the measured precision and recall.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from panel.domain import Question, QuestionStatus

# Words that carry no topic: dropping them stops "How do I..." matching every "How do I...".
_STOP_WORDS = """
    a about after all also am an and any are as at be been being but by can could did do
    does doing for from get got had has have how i i'd i'm i've if in into is it its it's just
    me my of on or our should so than that the their them then there these they this to too
    was we were what whats what's when where which while who whom why will with would you
    your"""
STOP_WORDS = frozenset(_STOP_WORDS.split())
_NOT_WORD = re.compile(r"[^\w']+")


@dataclass(frozen=True)
class Measured:
    """The scorer's precision and recall at THRESHOLD on the held-out half of the labelled
    pairs (THRESHOLD was chosen on the other half) and on all of them."""

    held_out_pairs: int
    held_out_precision: float
    held_out_recall: float
    pairs: int
    precision: float
    recall: float

    def sentence(self) -> str:
        """How docs/desk.md states it (the test checks that it does)."""
        return (
            f"precision {self.held_out_precision:.2f} and recall {self.held_out_recall:.2f} "
            f"on the {self.held_out_pairs} held-out pairs, precision {self.precision:.2f} and "
            f"recall {self.recall:.2f} on all {self.pairs} pairs, at threshold {THRESHOLD}"
        )


# The scorer, chosen by measurement: rapidfuzz's WRatio on the normalised text. Stemming, a
# synonym table, TF-IDF cosine and blends did no better on the held-out pairs (docs/desk.md).
SCORER = fuzz.WRatio
# What the desk shows: scores at or above THRESHOLD, at most LIMIT per question. THRESHOLD is
# the best F1 with precision >= 0.6 on the tuning half of the paraphrase set.
THRESHOLD = 90
LIMIT = 3
# Measured by the bench at THRESHOLD; tests/test_similar.py holds the scorer to these numbers
# and docs/desk.md quotes them.
MEASURED = Measured(
    held_out_pairs=72,
    held_out_precision=0.71,
    held_out_recall=0.14,
    pairs=144,
    precision=0.69,
    recall=0.15,
)


@dataclass(frozen=True)
class Suggestion:
    """A question that may repeat another: its id, score (0-100), text and status."""

    id: int
    score: int
    body: str
    status: QuestionStatus


def normalise(text: str) -> str:
    """Lower case, punctuation gone, stop words dropped: the words that say what is asked."""
    words = _NOT_WORD.sub(" ", text.casefold()).split()
    return " ".join(w.strip("'") for w in words if w not in STOP_WORDS)


def score(first: str, second: str) -> float:
    """How alike two questions are, 0-100, on their normalised words."""
    return float(SCORER(normalise(first), normalise(second)))


OPEN_STATUSES = (QuestionStatus.APPROVED, QuestionStatus.PENDING)


def open_candidates(questions: Iterable[Question]) -> list[Question]:
    """What a question may repeat: published or pending, not merged into another."""
    return [q for q in questions if q.status in OPEN_STATUSES and q.merged_into is None]


def suggest_each(
    questions: Sequence[Question], among: Sequence[Question]
) -> dict[int, list[Suggestion]]:
    """For each of `questions`, its best matches in `among` (itself and closed ones left out),
    best first, at most LIMIT, each scoring THRESHOLD or more."""
    candidates = open_candidates(among)
    if not questions or not candidates:
        return {}
    texts = [normalise(c.body) for c in candidates]
    # One matrix of scores for all questions at once: rapidfuzz runs it in C.
    scores = process.cdist(
        [normalise(q.body) for q in questions],
        texts,
        scorer=SCORER,
        score_cutoff=THRESHOLD,
        dtype=None,
    )
    found: dict[int, list[Suggestion]] = {}
    for row, q in zip(scores, questions, strict=True):
        ranked = sorted(
            (
                (float(s), c)
                for s, c in zip(row, candidates, strict=True)
                if s >= THRESHOLD and c.id != q.id
            ),
            # Ties: a published question first, then the oldest (the one others repeat).
            key=lambda pair: (-pair[0], pair[1].status != QuestionStatus.APPROVED, pair[1].id),
        )
        if ranked:
            found[q.id] = [Suggestion(c.id, round(s), c.body, c.status) for s, c in ranked[:LIMIT]]
    return found


async def suggestions(
    questions: Sequence[Question], among: Sequence[Question]
) -> dict[int, list[Suggestion]]:
    """suggest_each off the event loop: 50 pending questions against 1,000 take about 0.13 s
    (bench/similarity.py), too long to hold up every socket of this process."""
    return await asyncio.to_thread(suggest_each, questions, among)
