"""Duplicate suggestions (panel/similar.py): the measured precision and recall, the rules for
what may be suggested, and the same answer on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bench.similarity import load_pairs, measure, split
from panel import similar
from panel.actions import Actions
from panel.domain import Question, QuestionStatus
from panel.store import Store
from tests.conftest import EDITOR, seed_event
from tests.pgdb import BOTH_STORES

DESK_GUIDE = Path(__file__).resolve().parents[1] / "docs" / "desk.md"
NOW = datetime(2026, 9, 15, 12, tzinfo=UTC)


def test_the_data_set_is_large_and_balanced() -> None:
    pairs = load_pairs()
    paraphrases = sum(p.paraphrase for p in pairs)
    assert len(pairs) >= 60
    assert 0.4 <= paraphrases / len(pairs) <= 0.6
    assert len({(p.first, p.second) for p in pairs}) == len(pairs), "a pair is repeated"


def test_the_halves_are_balanced_and_share_no_first_question() -> None:
    tuning, held_out = split(load_pairs())
    assert abs(len(tuning) - len(held_out)) <= 2
    for half in (tuning, held_out):
        assert 0.4 <= sum(p.paraphrase for p in half) / len(half) <= 0.6
    assert not {p.first for p in tuning} & {p.first for p in held_out}


def test_the_scorer_reaches_the_precision_and_recall_the_desk_guide_states() -> None:
    pairs = load_pairs()
    _, held_out = split(pairs)
    stated = similar.MEASURED
    for part, size, precision, recall in (
        (held_out, stated.held_out_pairs, stated.held_out_precision, stated.held_out_recall),
        (pairs, stated.pairs, stated.precision, stated.recall),
    ):
        scores = [similar.score(p.first, p.second) for p in part]
        result = measure(scores, part, similar.THRESHOLD)
        assert len(part) == size
        assert round(result.precision, 2) >= precision
        assert round(result.recall, 2) >= recall
    # The guide quotes the same constant, so the two cannot drift apart.
    assert stated.sentence() in DESK_GUIDE.read_text(encoding="utf-8")


def question(qid: int, body: str, status: str = "approved", merged_into: int | None = None):
    return Question(
        id=qid,
        event_id=1,
        body=body,
        display_name="",
        reader_id=f"r{qid}",
        status=QuestionStatus(status),
        created_at=NOW,
        merged_into=merged_into,
    )


def test_suggestions_leave_out_the_question_itself_and_closed_ones() -> None:
    body = "Do I need a degree to become a probation officer?"
    new = question(10, "Do you need a degree to become a probation officer?", "pending")
    event = [
        new,
        question(1, body),
        question(2, body, "rejected"),
        question(3, body, "withdrawn"),
        question(4, body, merged_into=1),
        question(5, body, "pending"),
        question(6, "What does a paralegal earn?"),
    ]
    found = similar.suggest_each([new], event)[new.id]
    assert [s.id for s in found] == [1, 5]  # equal scores: the published one first
    assert all(s.score >= similar.THRESHOLD for s in found)
    assert found[0].status == QuestionStatus.APPROVED
    assert found[1].status == QuestionStatus.PENDING


def test_at_most_three_suggestions_best_first() -> None:
    new = question(20, "How do I get into nursing as a mature student?", "pending")
    event = [
        new,
        question(1, "How do I get into nursing as a mature student?"),
        question(2, "how do i get into nursing as a mature student"),
        question(3, "How do I get into nursing as a mature student at 40?"),
        question(4, "Getting into nursing as a mature student?"),
        question(5, "How do I get into nursing?"),
    ]
    found = similar.suggest_each([new], event)[new.id]
    assert len(found) == similar.LIMIT
    assert [s.score for s in found] == sorted((s.score for s in found), reverse=True)
    assert found[0].id in (1, 2) and found[0].score == 100


def test_nothing_is_suggested_below_the_threshold() -> None:
    new = question(30, "Can I join the police if I wear glasses?", "pending")
    unrelated = question(1, "What does a typical day look like for a midwife?")
    assert similar.score(new.body, unrelated.body) < similar.THRESHOLD
    assert similar.suggest_each([new], [new, unrelated]) == {}


@BOTH_STORES
async def test_suggestions_from_the_store_are_the_same_on_both_stores(
    store: Store, actions: Actions
) -> None:
    info = await seed_event(actions, status="live")
    ask = actions.post_question
    kept, _ = await ask(info["id"], "r1", "Do I need a degree to become a probation officer?")
    await actions.moderate(kept.id, "approve", EDITOR)
    refused, _ = await ask(info["id"], "r2", "Do I need a degree to become a probation officer??")
    await actions.moderate(refused.id, "reject", EDITOR)
    waiting, _ = await ask(info["id"], "r3", "do you need a degree to be a probation officer")
    other, _ = await ask(info["id"], "r4", "What do social workers earn?")
    async with store.read() as repo:
        pending = await repo.pending_questions(info["id"])
        open_questions = await repo.questions(info["id"], similar.OPEN_STATUSES)
    found = await similar.suggestions(pending, open_questions)
    assert [s.id for s in found[waiting.id]] == [kept.id]
    assert found[waiting.id][0].body == kept.body
    assert other.id not in found
