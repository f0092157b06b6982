"""PostgreSQL only: the check-then-act sequences that SQLite's single writer made safe, raced
with real concurrent transactions on separate stores (each with its own pool, as separate
processes would have); migrations by several processes at once; what an operator sees when
the database is wrong; and that both dialects' migrations build the same tables.

Every test runs in a schema of its own (tests/pgdb.py). The store tests shared with SQLite
are in test_store.py (marked BOTH_STORES)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from panel.actions import Actions
from panel.clock import FakeClock
from panel.config import Settings
from panel.domain import Frame, QuestionStatus, RuleError
from panel.store import Repo, Store, StoreError, store_for_url
from panel.store.migrations import load_migrations
from panel.web.base import STATUS_FOR_CODE
from tests.conftest import EDITOR, EVENT_START, seed_event
from tests.pgdb import PG_URL, admin, scratch_schema
from tests.test_scheduler import WHOLE_DAY, steps
from tests.test_store import NOW, append, ask, log_seqs, new_event, versions

T = TypeVar("T")
HOUR = timedelta(hours=1)
pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


class Gated:
    """A store whose writes, on their first try, take their snapshot and then wait at a
    barrier until every racing write has taken its own: all of them read before any of them
    commits, so each check-then-act really races. Tries after a conflict go straight on."""

    def __init__(self, store: Store, barrier: asyncio.Barrier) -> None:
        self.store = store
        self.barrier = barrier

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def write(self, job: Callable[[Repo], Awaitable[T]]) -> T:
        tries = 0

        async def gated(repo: Repo) -> T:
            nonlocal tries
            tries += 1
            if tries == 1:
                await repo.ping()  # a SERIALIZABLE transaction's snapshot is its first statement
                await asyncio.wait_for(self.barrier.wait(), 15)
            return await job(repo)

        return await self.store.write(gated)


@asynccontextmanager
async def processes(settings: Settings, count: int) -> AsyncIterator[list[Any]]:
    """`count` independent stores on the test's database, each with its own connections."""
    async with AsyncExitStack() as stack:
        stores = []
        for _ in range(count):
            store = store_for_url(settings.db_url)
            assert store.dialect == "postgresql"
            await store.open()
            stack.push_async_callback(store.close)
            stores.append(store)
        yield stores


def racing(stores: Sequence[Store], clock: FakeClock, settings: Settings) -> list[Actions]:
    """One Actions per store, their writes in lockstep (see Gated)."""
    barrier = asyncio.Barrier(len(stores))
    return [Actions(Gated(store, barrier), clock, settings) for store in stores]


async def race(*calls: Awaitable[T]) -> list[T | BaseException]:
    return await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 60)


def retries(stores: Sequence[Any]) -> int:
    """Writes the PostgreSQL stores ran again after a serialisation failure."""
    return sum(store.retries for store in stores)


async def question(store: Store, event_id: int, body: str, status: str, upvotes: int = 0) -> int:
    async def job(repo: Repo) -> int:
        qid = await ask(repo, event_id, body, status)
        if upvotes:
            await repo.update_question(qid, NOW, upvotes=upvotes)
        return qid

    return await store.write(job)


async def frames(store: Store, event_id: int) -> list[Frame]:
    async with store.read() as repo:
        return await repo.frames_since(event_id, 0, limit=10_000)


def refused_with_409(outcome: object, code: str) -> bool:
    return isinstance(outcome, RuleError) and outcome.code == code and STATUS_FOR_CODE[code] == 409


# -- the races ---------------------------------------------------------------------------------
async def test_approve_and_reject_of_one_question_first_decision_wins(
    settings: Settings, store: Store, clock: FakeClock
) -> None:
    """Two editors in two processes decide on the same pending question at once: exactly
    one decision is made; the other gets `already_moderated` (409), five times over."""
    event_id = await new_event(store)
    async with processes(settings, 2) as stores:
        for round_ in range(5):
            qid = await question(store, event_id, f"Q{round_}", "pending")
            a, b = racing(stores, clock, settings)
            outcomes = await race(
                a.moderate(qid, "approve", EDITOR), b.moderate(qid, "reject", EDITOR)
            )
            winners = [i for i, o in enumerate(outcomes) if not isinstance(o, BaseException)]
            assert len(winners) == 1, outcomes
            assert refused_with_409(outcomes[1 - winners[0]], "already_moderated"), outcomes
            async with store.read() as repo:
                decided = await repo.question(qid)
            assert decided is not None
            assert decided.status == ["approved", "rejected"][winners[0]]
        assert retries(stores) >= 5, "every round made one writer try again"
    published = [f for f in await frames(store, event_id) if f.type == "question.published"]
    async with store.read() as repo:
        approved = await repo.questions(event_id, [QuestionStatus.APPROVED])
    assert sorted(f.data["question"]["id"] for f in published) == [q.id for q in approved]


async def test_two_merges_and_an_upvote_at_once_keep_every_upvote(
    settings: Settings, store: Store, clock: FakeClock
) -> None:
    """Merging two questions into one while a reader upvotes it: the total is the sum of all
    three, not whichever write happened to land last."""
    event_id = await new_event(store)
    target = await question(store, event_id, "Kept", "approved", upvotes=2)
    first = await question(store, event_id, "Dup one", "approved", upvotes=5)
    second = await question(store, event_id, "Dup two", "pending", upvotes=3)
    async with processes(settings, 3) as stores:
        a, b, c = racing(stores, clock, settings)
        outcomes = await race(
            a.moderate(first, "merge", EDITOR, into=target),
            b.moderate(second, "merge", EDITOR, into=target),
            c.upvote(target, "late-reader"),
        )
        assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
        assert retries(stores) >= 2
    async with store.read() as repo:
        kept = await repo.question(target)
        merged = [q.id for q in await repo.merged_questions(event_id)]
    assert kept is not None and kept.upvotes == 2 + 5 + 3 + 1
    assert sorted(merged) == sorted([first, second])
    updates = [f for f in await frames(store, event_id) if f.type == "question.updated"]
    assert updates[-1].data["question"]["id"] == target
    assert updates[-1].data["question"]["upvotes"] == 11, "the last frame tells the true total"


async def test_two_schedulers_make_each_transition_exactly_once(
    settings: Settings, store: Store, clock: FakeClock
) -> None:
    """Two processes run the due transitions of one event at the same moment, at its start
    and at its end: each `slot.started` (and every other transition) is logged once."""
    clock.set(EVENT_START - HOUR)
    info = await seed_event(Actions(store, clock, settings))
    async with processes(settings, 2) as stores:
        for at in (EVENT_START + HOUR / 2, EVENT_START + 3 * HOUR):
            clock.set(at)
            a, b = racing(stores, clock, settings)
            outcomes = await race(
                a.run_due_transitions(info["id"]), b.run_due_transitions(info["id"])
            )
            assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
            made = [t for o in outcomes if isinstance(o, list) for t in o]
            assert outcomes.count([]) == 1, "the second scheduler found nothing left to do"
            assert len(made) == {EVENT_START + HOUR / 2: 2, EVENT_START + 3 * HOUR: 6}[at]
        assert retries(stores) >= 2
    logged = await frames(store, info["id"])
    assert steps(logged, info) == WHOLE_DAY
    assert [f.seq for f in logged] == list(range(1, 9))
    assert [f.type for f in logged].count("slot.started") == 3


async def test_two_events_created_with_one_slug_give_one_409_never_a_500(
    settings: Settings, store: Store, clock: FakeClock
) -> None:
    """The slug check and the insert race in two processes: one event is made, the other
    creator gets `conflict` (409). A raw insert that skips the check fails the same way."""
    async with processes(settings, 2) as stores:
        a, b = racing(stores, clock, settings)
        fields: dict[str, Any] = {
            "slug": "same",
            "title": "Twice",
            "starts_at": EVENT_START,
            "ends_at": EVENT_START + HOUR,
        }
        outcomes = await race(a.create_event(**fields), b.create_event(**fields))
        assert sorted(type(o).__name__ for o in outcomes) == ["RuleError", "int"], outcomes
        assert refused_with_409(next(o for o in outcomes if isinstance(o, RuleError)), "conflict")

        barrier = asyncio.Barrier(2)
        raw = await race(
            *[Gated(s, barrier).write(lambda repo: repo_insert(repo, "raw")) for s in stores]
        )
        assert sorted(type(o).__name__ for o in raw) == ["RuleError", "int"], raw
        refusal = next(o for o in raw if isinstance(o, RuleError))
        assert refused_with_409(refusal, "conflict") and "slug" in refusal.message
    async with store.read() as repo:
        assert sorted(e.slug for e in await repo.list_events()) == ["raw", "same"]


def repo_insert(repo: Repo, slug: str) -> Awaitable[int]:
    return repo.insert_event(
        slug=slug,
        title="Raw",
        starts_at=EVENT_START,
        ends_at=EVENT_START + HOUR,
        timezone="Europe/London",
        now=NOW,
    )


async def test_writers_in_three_processes_keep_one_event_seq_gapless(
    settings: Settings, store: Store
) -> None:
    """150 writes from three processes at once append to one event, some failing after
    appending: the committed frames are numbered 1..N, each once, and each process's
    listener heard exactly its own committed frames."""
    event_id = await new_event(store)
    async with processes(settings, 3) as stores:
        heard: list[list[Frame]] = [[], [], []]
        for i, s in enumerate(stores):
            s.on_commit(lambda batch, i=i: heard[i].extend(batch))
        outcomes = await race(
            *[append(stores[n % 3], event_id, fail=n % 7 == 3) for n in range(150)]
        )
    committed = [o for o in outcomes if isinstance(o, Frame)]
    failed = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(failed) == len([n for n in range(150) if n % 7 == 3])
    assert all(isinstance(e, RuntimeError) for e in failed), failed
    assert sorted(f.seq for f in committed) == list(range(1, len(committed) + 1))
    assert await log_seqs(store, event_id) == list(range(1, len(committed) + 1))
    assert sorted(f.seq for batch in heard for f in batch) == sorted(f.seq for f in committed)
    for n, own in enumerate(heard):
        mine = [o for i, o in enumerate(outcomes) if i % 3 == n and isinstance(o, Frame)]
        assert sorted(f.seq for f in own) == sorted(f.seq for f in mine)


async def test_listener_hears_of_a_frame_only_once_another_connection_can_read_it(
    settings: Settings, store: Store
) -> None:
    """The commit listener runs after COMMIT: an outside connection already sees the frame."""
    event_id = await new_event(store)
    seen: list[bool] = []

    def check(batch: Sequence[Frame]) -> None:
        latest = admin(
            lambda conn: conn.fetchval(
                "SELECT MAX(seq) FROM event_log WHERE event_id = $1", event_id
            ),
            settings.db_url,
        )
        seen.append(latest == batch[-1].seq)

    store.on_commit(check)
    for _ in range(3):
        await append(store, event_id)
    assert seen == [True, True, True]


# -- migrations --------------------------------------------------------------------------------
async def test_several_processes_starting_at_once_migrate_a_fresh_schema_once(
    settings: Settings,
) -> None:
    """Four stores open one new schema together, three times: all succeed (without the
    advisory lock, the losers fail on tables that already exist) and each version is
    recorded once."""
    expected = [version for version, _ in load_migrations("postgresql")]
    for _ in range(3):
        with scratch_schema() as url:
            stores = [store_for_url(url) for _ in range(4)]
            try:
                await asyncio.wait_for(asyncio.gather(*[s.open() for s in stores]), 60)
                for s in stores:
                    assert await versions(s) == expected
                    assert await s.migrate() == []
            finally:
                for s in stores:
                    await s.close()


async def test_both_dialects_build_the_same_tables_and_columns(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    """The PostgreSQL migrations mirror SQLite's, version for version and column for column
    (only the search index differs: an FTS5 table there, a tsvector column here)."""
    assert [v for v, _ in load_migrations("postgresql")] == [
        v for v, _ in load_migrations("sqlite")
    ], "a SQLite migration has no PostgreSQL twin (panel/store/migrations/postgresql/)"
    lite = store_for_url(f"sqlite:///{tmp_path}/mirror.db")
    await lite.open()
    await lite.close()
    with sqlite3.connect(tmp_path / "mirror.db") as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'archive_fts%'"
            )
        ]
        sqlite_columns = {
            (table, row[1])
            for table in tables
            for row in conn.execute(f"PRAGMA table_info({table})")
        }
    conn.close()
    async with store.read() as repo:
        rows = await repo.conn.fetchall(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema()"
        )
    pg_columns = {(r["table_name"], r["column_name"]) for r in rows}
    assert pg_columns - sqlite_columns == {("archive_items", "search")}
    assert sqlite_columns - pg_columns == set()


# -- what an operator sees ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql://postgres:sekrit@127.0.0.1:1/test", "127.0.0.1:1"),
        (PG_URL.rsplit("/", 1)[0] + "/livepanel_no_such_database", "does not exist"),
    ],
)
async def test_an_unusable_database_is_one_clear_line_without_its_password(
    settings: Settings, url: str, says: str
) -> None:
    store = store_for_url(url)
    with pytest.raises(StoreError) as refused:
        await asyncio.wait_for(store.open(), 30)
    message = str(refused.value)
    assert message.startswith("cannot open database") and says in message
    assert "\n" not in message and "sekrit" not in message
    with pytest.raises(StoreError, match="not open"):
        await store.write(lambda repo: repo.ping())
