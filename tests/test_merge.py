"""Merging keeps everything, and separating undoes it (panel/merging.py), on SQLite and on
PostgreSQL: every duplicate state (waiting, published, answered), a published or a waiting
kept question, chains, unmerge restoring exactly, and two editors deciding at once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from panel.actions import Actions
from panel.clock import FakeClock
from panel.curation import build_document, load_curation
from panel.domain import Actor, Frame, Question, QuestionStatus, RuleError
from panel.store import Store
from panel.store.migrations import load_migrations, split_statements
from panel.web.eventview import load_event_view
from tests.conftest import EDITOR, EVENT_START, seed_event
from tests.pgdb import BOTH_STORES

pytestmark = BOTH_STORES


class Scene:
    """One pre-moderated event and helpers to ask, publish, answer and read back."""

    def __init__(self, actions: Actions, clock: FakeClock, info: dict[str, Any]) -> None:
        self.actions, self.clock, self.info = actions, clock, info
        self.event_id: int = info["id"]
        self.maria = Actor("panelist", info["core"][0], "Maria Ashdown")
        self.asked = 0

    async def ask(self, body: str, name: str = "", state: str = "pending", votes: int = 0) -> int:
        self.asked += 1
        self.clock.advance(seconds=1)
        question, _ = await self.actions.post_question(
            self.event_id, f"reader-{self.asked}", body, name
        )
        if state != "pending":
            await self.actions.moderate(question.id, "approve", EDITOR)
        for n in range(votes):
            await self.actions.upvote(question.id, f"voter-{question.id}-{n}")
        if state == "answered":
            await self.actions.answer(question.id, f"An answer to: {body}", self.maria)
        return question.id

    async def question(self, qid: int) -> Question:
        async with self.actions.store.read() as repo:
            found = await repo.question(qid)
        assert found is not None
        return found

    async def answer_homes(self) -> dict[int, int]:
        """answer id -> the question it is shown under."""
        async with self.actions.store.read() as repo:
            return {a.id: a.question_id for a in await repo.answers_for_event(self.event_id)}

    async def last_seq(self) -> int:
        async with self.actions.store.read() as repo:
            return await repo.last_seq(self.event_id)

    async def frames_after(self, seq: int) -> list[Frame]:
        async with self.actions.store.read() as repo:
            return await repo.frames_since(self.event_id, seq, limit=1000)

    async def reader_page(self) -> list[dict[str, Any]]:
        async with self.actions.store.read() as repo:
            event = await repo.event_by_id(self.event_id)
            assert event is not None
            view = await load_event_view(repo, event, self.clock.now())
        return view.questions


@pytest.fixture
async def scene(actions: Actions, clock: FakeClock) -> Scene:
    return Scene(actions, clock, await seed_event(actions))


def row(q: Question) -> dict[str, Any]:
    """Everything a merge may touch on a question."""
    return {
        "status": q.status,
        "merged_into": q.merged_into,
        "pinned": q.pinned,
        "upvotes": q.upvotes,
        "answered": q.answered,
        "body": q.body,
    }


def described(frames: list[Frame]) -> list[tuple[str, int, int | None]]:
    """(type, question id, where it belongs now) of each frame."""
    out = []
    for f in frames:
        if "question" in f.data:
            out.append((f.type, f.data["question"]["id"], f.data["question"]["merged_into"]))
        elif "answer" in f.data:
            out.append((f.type, f.data["answer"]["id"], f.data["answer"]["question_id"]))
        else:
            out.append((f.type, f.data["id"], None))
    return out


async def test_an_answered_duplicate_brings_its_answers_votes_and_asker(scene: Scene) -> None:
    kept = await scene.ask("How do I become a probation officer?", "Ana", "published", votes=2)
    dup = await scene.ask("How do you get into probation work?", "", "answered", votes=3)
    [answer] = [a for a, q in (await scene.answer_homes()).items() if q == dup]
    since = await scene.last_seq()

    await scene.actions.moderate(dup, "merge", EDITOR, into=kept)

    k, d = await scene.question(kept), await scene.question(dup)
    assert (k.upvotes, k.answered) == (5, True)
    assert (d.status, d.merged_into) == (QuestionStatus.APPROVED, kept)
    assert (await scene.answer_homes())[answer] == kept
    # The duplicate leaves its place first, then its answer moves, then the kept question.
    assert described(await scene.frames_after(since)) == [
        ("question.updated", dup, kept),
        ("answer.updated", answer, kept),
        ("question.updated", kept, None),
    ]
    [item] = [i for i in await scene.reader_page() if i["q"]["id"] == kept]
    assert [a["id"] for a in item["answers"]] == [answer]
    assert [(m["id"], m["name"]) for m in item["merged"]] == [(dup, "")]
    assert all(i["q"]["id"] != dup for i in await scene.reader_page())

    # The transcript holds the kept question, with the answer and every asker credited.
    await scene.actions.set_status(scene.event_id, "closed", EDITOR)
    async with scene.actions.store.read() as repo:
        event = await repo.event_by_id(scene.event_id)
        assert event is not None
        curation = await load_curation(repo, event)
    [cur_item] = curation.items
    assert cur_item.question.id == kept and [a.id for a in cur_item.answers] == [answer]
    document = build_document(curation, scene.clock.now(), None)
    [doc_item] = document["sections"][0]["items"]
    assert doc_item["name"] == "Ana"
    assert doc_item["also_asked"] == [{"name": "", "body": "How do you get into probation work?"}]
    assert "reader" not in str(doc_item["also_asked"])


async def test_a_waiting_duplicate_into_a_published_question_is_published_under_it(
    scene: Scene,
) -> None:
    kept = await scene.ask("Is the training paid?", "Sam", "published", votes=1)
    dup = await scene.ask("Do trainees earn a salary?", "Lee")
    since = await scene.last_seq()
    await scene.actions.moderate(dup, "merge", EDITOR, into=kept)
    d = await scene.question(dup)
    assert (d.status, d.merged_into) == (QuestionStatus.APPROVED, kept)
    assert described(await scene.frames_after(since)) == [
        ("question.published", dup, kept),
        ("question.updated", kept, None),
    ]
    [item] = await scene.reader_page()
    assert [m["name"] for m in item["merged"]] == ["Lee"]


async def test_a_waiting_duplicate_waits_with_a_waiting_question_and_shares_its_fate(
    scene: Scene,
) -> None:
    kept = await scene.ask("What is a caseload like?")
    dup = await scene.ask("How many cases does an officer hold?", "Kim")
    other = await scene.ask("How heavy is the workload?")
    other_dup = await scene.ask("Is the workload heavy?")
    since = await scene.last_seq()
    await scene.actions.moderate(dup, "merge", EDITOR, into=kept)
    await scene.actions.moderate(other_dup, "merge", EDITOR, into=other)
    assert await scene.frames_after(since) == [], "nothing public has changed"
    d = await scene.question(dup)
    assert (d.status, d.merged_into) == (QuestionStatus.PENDING, kept)
    async with scene.actions.store.read() as repo:
        waiting = [q.id for q in await repo.pending_questions(scene.event_id)]
    assert waiting == [kept, other], "a duplicate waits under its kept question, not alone"
    with pytest.raises(RuleError, match=f"waits with #{kept}"):
        await scene.actions.moderate(dup, "approve", EDITOR)

    await scene.actions.moderate(kept, "approve", EDITOR)
    assert described(await scene.frames_after(since)) == [
        ("question.published", kept, None),
        ("question.published", dup, kept),
    ]
    assert (await scene.question(dup)).status == QuestionStatus.APPROVED

    await scene.actions.moderate(other, "reject", EDITOR, reason="off topic")
    assert (await scene.question(other_dup)).status == QuestionStatus.REJECTED
    async with scene.actions.store.read() as repo:
        actions = [(e["action"], e["target"]) for e in await repo.audit_entries(scene.event_id)]
    assert ("question.approve", f"question:{dup}") in actions
    assert ("question.reject", f"question:{other_dup}") in actions


async def test_a_published_duplicate_into_a_waiting_question_publishes_the_kept_one(
    scene: Scene,
) -> None:
    kept = await scene.ask("Can I train part-time?")
    dup = await scene.ask("Is part-time training possible?", "Jo", "answered", votes=1)
    since = await scene.last_seq()
    await scene.actions.moderate(dup, "merge", EDITOR, into=kept)
    k = await scene.question(kept)
    assert (k.status, k.answered, k.upvotes) == (QuestionStatus.APPROVED, True, 1)
    kinds = described(await scene.frames_after(since))
    assert kinds[0] == ("question.published", kept, None), "the holder exists before the line"
    assert kinds[1] == ("question.updated", dup, kept)
    [item] = await scene.reader_page()
    assert item["q"]["id"] == kept and len(item["answers"]) == 1


async def test_there_are_never_chains(scene: Scene) -> None:
    top = await scene.ask("Do I need a degree?", "Ana", "published", votes=1)
    middle = await scene.ask("Is a degree required?", "Ben", "answered", votes=2)
    bottom = await scene.ask("Degree needed?", "", "answered", votes=4)
    await scene.actions.moderate(bottom, "merge", EDITOR, into=middle)
    assert (await scene.question(middle)).upvotes == 6

    # A question with duplicates brings them along.
    since = await scene.last_seq()
    await scene.actions.moderate(middle, "merge", EDITOR, into=top)
    assert {(await scene.question(q)).merged_into for q in (middle, bottom)} == {top}
    assert (await scene.question(top)).upvotes == 7
    assert (await scene.question(middle)).upvotes == 2, "its duplicate's votes moved on with it"
    assert set((await scene.answer_homes()).values()) == {top}
    kinds = described(await scene.frames_after(since))
    assert kinds[:2] == [("question.updated", middle, top), ("question.updated", bottom, top)]
    assert kinds[-1] == ("question.updated", top, None)
    [item] = await scene.reader_page()
    assert [m["name"] for m in item["merged"]] == ["Ben", ""]

    # Merging into a merged question goes to the question it joined.
    late = await scene.ask("Must I have a degree first?")
    await scene.actions.moderate(late, "merge", EDITOR, into=bottom)
    assert (await scene.question(late)).merged_into == top
    # And a question cannot be merged into its own duplicate.
    with pytest.raises(RuleError, match="already merged into this question"):
        await scene.actions.moderate(top, "merge", EDITOR, into=middle)


async def test_separating_restores_the_duplicate_exactly(scene: Scene) -> None:
    kept = await scene.ask("What does a first week look like?", "Ana", "answered", votes=1)
    dup = await scene.ask("What happens in week one?", "Ben", "answered", votes=3)
    await scene.actions.moderate(dup, "pin", EDITOR)
    await scene.actions.answer(dup, "A second answer.", scene.maria)
    before = {q: row(await scene.question(q)) for q in (kept, dup)}
    homes = await scene.answer_homes()

    await scene.actions.moderate(dup, "merge", EDITOR, into=kept)
    assert set((await scene.answer_homes()).values()) == {kept}
    since = await scene.last_seq()
    separated = await scene.actions.moderate(dup, "unmerge", EDITOR)

    assert separated.merged_into is None
    assert {q: row(await scene.question(q)) for q in (kept, dup)} == before
    assert await scene.answer_homes() == homes
    moved_back = sorted(a for a, q in homes.items() if q == dup)
    assert described(await scene.frames_after(since)) == [
        ("question.updated", dup, None),
        *[("answer.updated", a, dup) for a in moved_back],
        ("question.updated", kept, None),
    ]
    page = {i["q"]["id"]: i for i in await scene.reader_page()}
    assert sorted(a["id"] for a in page[dup]["answers"]) == moved_back
    assert page[kept]["merged"] == []
    async with scene.actions.store.read() as repo:
        entries = await repo.audit_entries(scene.event_id)
    assert any(e["action"] == "question.unmerge" for e in entries)


async def test_separating_a_waiting_duplicate_sends_it_back_to_the_queue(scene: Scene) -> None:
    kept = await scene.ask("Can I move between regions?", "", "published", votes=2)
    dup = await scene.ask("Can I transfer to another area?")
    before = {q: row(await scene.question(q)) for q in (kept, dup)}
    await scene.actions.moderate(dup, "merge", EDITOR, into=kept)
    since = await scene.last_seq()
    await scene.actions.moderate(dup, "unmerge", EDITOR)
    assert {q: row(await scene.question(q)) for q in (kept, dup)} == before
    assert described(await scene.frames_after(since)) == [
        ("question.withdrawn", dup, None),
        ("question.updated", kept, None),
    ]


async def test_separating_a_question_that_brought_duplicates_leaves_them(scene: Scene) -> None:
    top = await scene.ask("Top?", "", "published", votes=1)
    middle = await scene.ask("Middle?", "", "answered", votes=2)
    bottom = await scene.ask("Bottom?", "", "answered", votes=4)
    await scene.actions.moderate(bottom, "merge", EDITOR, into=middle)
    await scene.actions.moderate(middle, "merge", EDITOR, into=top)
    await scene.actions.moderate(middle, "unmerge", EDITOR)
    m, b, t = [await scene.question(q) for q in (middle, bottom, top)]
    assert (m.merged_into, m.upvotes, m.answered) == (None, 2, True)
    assert (b.merged_into, t.upvotes, t.answered) == (top, 5, True)
    homes = await scene.answer_homes()
    assert sorted(homes.values()) == sorted([middle, top])
    await scene.actions.moderate(bottom, "unmerge", EDITOR)
    assert (await scene.question(top)).upvotes == 1
    assert (await scene.question(top)).answered is False
    assert sorted((await scene.answer_homes()).values()) == sorted([middle, bottom])


async def test_refusals_are_clear_and_change_nothing(scene: Scene) -> None:
    kept = await scene.ask("Kept?", "", "published")
    dup = await scene.ask("Dup?", "", "published")
    rejected = await scene.ask("Spam")
    await scene.actions.moderate(rejected, "reject", EDITOR)
    with pytest.raises(RuleError, match="not merged"):
        await scene.actions.moderate(dup, "unmerge", EDITOR)
    with pytest.raises(RuleError, match="published or waiting"):
        await scene.actions.moderate(dup, "merge", EDITOR, into=rejected)
    with pytest.raises(RuleError, match="already dealt with"):
        await scene.actions.moderate(rejected, "merge", EDITOR, into=kept)
    await scene.actions.moderate(dup, "merge", EDITOR, into=kept)
    with pytest.raises(RuleError, match=f"already merged into #{kept}"):
        await scene.actions.moderate(dup, "merge", EDITOR, into=rejected)
    await scene.actions.moderate(dup, "withdraw", EDITOR)
    snapshot = row(await scene.question(dup))
    with pytest.raises(RuleError, match="withdrawn after the merge"):
        await scene.actions.moderate(dup, "unmerge", EDITOR)
    assert row(await scene.question(dup)) == snapshot


async def test_two_editors_at_once_the_first_decision_wins(scene: Scene) -> None:
    first = await scene.ask("First kept?", "", "published", votes=1)
    second = await scene.ask("Second kept?", "", "published", votes=1)
    dup = await scene.ask("The duplicate?", "", "answered", votes=5)
    outcomes = await asyncio.gather(
        scene.actions.moderate(dup, "merge", EDITOR, into=first),
        scene.actions.moderate(dup, "merge", EDITOR, into=second),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, RuleError)]
    assert len(refused) == 1 and refused[0].code == "already_moderated", outcomes
    winner = (await scene.question(dup)).merged_into
    loser = second if winner == first else first
    assert winner in (first, second)
    assert (await scene.question(winner)).upvotes == 6
    assert (await scene.question(loser)).upvotes == 1
    assert set((await scene.answer_homes()).values()) == {winner}

    # Separating twice at once: one restores, the other is told there is nothing to do.
    outcomes = await asyncio.gather(
        scene.actions.moderate(dup, "unmerge", EDITOR),
        scene.actions.moderate(dup, "unmerge", EDITOR),
        return_exceptions=True,
    )
    assert sum(isinstance(o, RuleError) for o in outcomes) == 1, outcomes
    assert (await scene.question(winner)).upvotes == 1
    assert (await scene.question(dup)).upvotes == 5


async def test_merged_questions_from_before_the_record_can_still_be_separated(
    scene: Scene, store: Store
) -> None:
    """A merge made before migration 0010 left no record: it published the duplicate and
    added its upvotes, which is what separating then undoes."""
    kept = await scene.ask("Old kept?", "", "published", votes=1)
    dup = await scene.ask("Old dup?", "", "published", votes=2)
    await store.write(lambda repo: repo.update_question(dup, EVENT_START, merged_into=kept))
    await store.write(lambda repo: repo.update_question(kept, EVENT_START, upvotes=3))
    await scene.actions.moderate(dup, "unmerge", EDITOR)
    assert (await scene.question(kept)).upvotes == 1
    d = await scene.question(dup)
    assert (d.status, d.merged_into, d.upvotes) == (QuestionStatus.APPROVED, None, 2)


async def test_migration_0010_shows_earlier_merges_answers_under_the_kept_question(
    scene: Scene, store: Store
) -> None:
    """Before 0010 a merge left the duplicate's answers (hidden) on the duplicate: the
    migration's data statements move them, remembering where they came from."""
    kept = await scene.ask("Old kept?", "", "published")
    dup = await scene.ask("Old answered dup?", "", "answered")
    await store.write(lambda repo: repo.update_question(dup, EVENT_START, merged_into=kept))
    [sql] = [text for version, text in load_migrations(store.dialect) if version == 10]
    moves = [s for s in split_statements(sql) if s.startswith("UPDATE")]
    assert len(moves) == 2

    async def migrate(repo: Any) -> None:
        for statement in moves:
            await repo.conn.execute(statement, {})

    await store.write(migrate)
    assert set((await scene.answer_homes()).values()) == {kept}
    assert (await scene.question(kept)).answered is True
    await scene.actions.moderate(dup, "unmerge", EDITOR)
    assert set((await scene.answer_homes()).values()) == {dup}
