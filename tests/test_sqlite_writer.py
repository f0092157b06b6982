"""The SQLite writer on a real file: a group in one call on its thread, the cache it keeps of
events, panels and bans (and everything that must make it forget), and checkpoints off the
commit path."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from panel.actions import Actions
from panel.config import Settings
from panel.domain import EventStatus, QuestionStatus, RuleError
from panel.security import RateLimiter
from panel.store import Repo, Store
from panel.store.cache import WriterCache
from panel.store.sqlite import BACKSTOP_PAGES, SQLiteStore
from panel.store.sqlite_conn import SuspendedJob
from tests.conftest import EDITOR, seed_event, wait_for


def db_path(settings: Settings) -> Path:
    return Path(settings.db_url.removeprefix("sqlite:///"))


@pytest.fixture
async def live(actions: Actions) -> dict[str, Any]:
    """A live, pre-moderated event at /probation with a panel."""
    return await seed_event(actions, status="live")


async def ask(actions: Actions, slug: str, reader: str = "r1", **extra: Any) -> Any:
    question, _ = await actions.questions.post_to(slug, reader, "Is the training paid?", **extra)
    return question


def count_calls(conn: Any, calls: list[str]) -> None:
    """Record in `calls` every call into the thread of `conn` (a ConnThread) from now on."""
    call = conn.call

    async def counted(fn: Any, *args: Any) -> Any:
        calls.append(getattr(fn, "__name__", "?"))
        return await call(fn, *args)

    conn.call = counted


# -- one hop per group ---------------------------------------------------------------------------


def groups(store: Store) -> list[int]:
    """Record the size of every group the writer's thread runs from now on."""
    assert isinstance(store, SQLiteStore)
    sizes: list[int] = []
    run = store._run_group_here

    def counted(batch: list[Any]) -> Any:
        sizes.append(len(batch))
        return run(batch)

    store._run_group_here = counted  # type: ignore[method-assign]
    return sizes


async def held(store: Store) -> tuple[threading.Event, asyncio.Task[Any]]:
    """Keep the writer's thread busy in a job until the event is set, so that the jobs
    sent meanwhile wait and form the next group."""
    release, busy = threading.Event(), threading.Event()

    async def hold(repo: Repo) -> None:
        busy.set()
        release.wait(10)  # not awaited: the job blocks the writer's thread itself

    task = asyncio.create_task(store.write(hold))
    await asyncio.to_thread(busy.wait, 10)
    return release, task


async def test_writes_sent_while_the_writer_is_busy_form_one_group(store: Store) -> None:
    sizes = groups(store)
    release, holder = await held(store)
    writes = [asyncio.create_task(store.write(lambda repo: repo.ping())) for _ in range(20)]
    await wait_for(lambda: store.queue_depth() == 20, message="twenty writes queued")
    release.set()
    assert await asyncio.gather(*writes) == [True] * 20
    await holder
    assert sizes == [1, 20]


async def test_the_writer_runs_the_next_group_without_waiting_for_the_loop(
    store: Store,
) -> None:
    """Groups go back to back on the writer's thread: while the event loop is busy (here:
    blocked), the thread still commits the groups queued before."""
    sizes = groups(store)
    release, holder = await held(store)
    first = asyncio.create_task(store.write(lambda repo: repo.ping()))
    await wait_for(lambda: store.queue_depth() == 1, message="the write queued")
    release.set()
    # The loop stays blocked while waiting: nothing settles, yet the thread goes on.
    deadline = time.monotonic() + 10
    while sizes != [1, 1] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sizes == [1, 1]
    assert await first and await holder is None


async def test_a_job_that_awaits_anything_else_fails_alone(store: Store) -> None:
    async def wanders(repo: Repo) -> None:
        await repo.insert_panelist("Lost", "", "", _now())
        await asyncio.sleep(0)  # not its repo: would block the writer's thread

    async def fine(repo: Repo) -> int:
        return await repo.insert_panelist("Kept", "", "", _now())

    results = await asyncio.gather(store.write(wanders), store.write(fine), return_exceptions=True)
    assert isinstance(results[0], SuspendedJob)
    assert isinstance(results[1], int)
    async with store.read() as repo:
        assert [p.name for p in await repo.all_panelists()] == ["Kept"]


async def test_a_refusal_costs_no_savepoint_and_a_failed_change_reruns_the_group(
    store: Store,
) -> None:
    """Jobs run without savepoints: a job refused before it changed anything is simply left
    out; one that fails after a change makes the group run again, with a savepoint each."""
    runs: list[str] = []
    sizes = groups(store)

    def job(name: str, write: bool, fail: bool) -> Any:
        async def run(repo: Repo) -> int:
            runs.append(name)
            pid = await repo.insert_panelist(name, "", "", _now()) if write else 0
            if fail:
                raise RuleError("invalid", f"{name} refused")
            return pid

        return run

    async def group(*jobs: Any) -> list[Any]:
        release, holder = await held(store)
        writes = [asyncio.create_task(store.write(j)) for j in jobs]
        await wait_for(lambda: store.queue_depth() == len(jobs), message="the jobs queued")
        release.set()
        await holder
        return list(await asyncio.gather(*writes, return_exceptions=True))

    first = await group(
        job("A", True, False),
        job("B", False, True),  # refused before any change
        job("C", True, False),
    )
    assert runs == ["A", "B", "C"]  # once each: nothing to undo
    assert isinstance(first[1], RuleError)
    runs.clear()
    second = await group(
        job("D", True, False),
        job("E", True, True),  # refused after a change
        job("F", True, False),
    )
    assert runs == ["D", "E", "D", "E", "F"]  # rolled back at E, then run with savepoints
    assert sizes == [1, 3, 1, 3]  # each time: the holding job, then one group
    assert isinstance(second[1], RuleError) and isinstance(second[2], int)
    async with store.read() as repo:
        assert sorted(p.name for p in await repo.all_panelists()) == ["A", "C", "D", "F"]


async def test_a_read_of_one_statement_costs_two_hops(store: Store) -> None:
    assert isinstance(store, SQLiteStore)
    calls: list[str] = []
    for conn in store._all_readers:
        count_calls(conn, calls)
    async with store.read() as repo:
        assert await repo.ping()
    async with store.read():
        pass  # no statement: no transaction at all
    assert calls == ["_in_snapshot", "_end_snapshot"]


async def test_a_cancelled_read_leaves_its_connection_clean(settings: Settings) -> None:
    """A reader cancelled mid-statement (a client that went away) still ends its snapshot:
    the next read on the same connection sees what was committed since."""
    store = SQLiteStore(settings.db_url, readers=1)
    await store.open()
    try:
        started = asyncio.Event()

        async def long_read() -> None:
            async with store.read() as repo:
                started.set()
                await repo.conn.fetchall(
                    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c"
                    " WHERE x < 3000000) SELECT COUNT(*) AS n FROM c"
                )

        task = asyncio.create_task(long_read())
        await started.wait()
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await store.write(lambda repo: repo.insert_panelist("After", "", "", _now()))
        async with store.read() as repo:
            assert [p.name for p in await repo.all_panelists()] == ["After"]
    finally:
        await store.close()


# -- the writer's cache --------------------------------------------------------------------------


async def test_closing_or_renaming_an_event_reaches_the_next_question(
    actions: Actions, live: dict[str, Any]
) -> None:
    assert (await ask(actions, "probation")).status == QuestionStatus.PENDING
    await actions.store.write(lambda repo: repo.update_event(live["id"], _now(), slug="renamed"))
    with pytest.raises(RuleError, match="No such event"):
        await ask(actions, "probation")
    assert (await ask(actions, "renamed", "r2")).event_id == live["id"]
    await actions.set_status(live["id"], EventStatus.CLOSED, EDITOR)
    with pytest.raises(RuleError) as refused:
        await ask(actions, "renamed", "r3")
    assert refused.value.code == "not_accepting"


async def test_new_rules_reach_the_next_question(actions: Actions, live: dict[str, Any]) -> None:
    assert (await ask(actions, "probation", "r1")).status == QuestionStatus.PENDING
    await actions.set_event_rules(
        live["id"], EDITOR, moderation="post", slow_mode_seconds=0, blocked_terms="casino"
    )
    assert (await ask(actions, "probation", "r2")).status == QuestionStatus.APPROVED
    held, _ = await actions.questions.post_to("probation", "r3", "Best casino in town?")
    assert held.status == QuestionStatus.PENDING
    await actions.set_event_rules(
        live["id"], EDITOR, moderation="post", slow_mode_seconds=60, blocked_terms=""
    )
    assert (await ask(actions, "probation", "r4")).status == QuestionStatus.APPROVED
    with pytest.raises(RuleError) as slow:
        await ask(actions, "probation", "r4")
    assert slow.value.code == "rate_limited"


async def test_a_changed_panel_reaches_the_next_question(
    actions: Actions, live: dict[str, Any]
) -> None:
    maria = live["core"][0]
    assert (await ask(actions, "probation", "r1", to=maria)).directed_to == maria
    async with actions.store.read() as repo:
        assignment = next(
            a for a in await repo.assignments(live["id"]) if a["panelist_id"] == maria
        )
    await actions.unassign_panelist(assignment["id"], EDITOR, live["id"])
    with pytest.raises(RuleError, match="not on this event's panel"):
        await ask(actions, "probation", "r2", to=maria)
    await actions.assign_panelist(live["id"], maria, None, EDITOR)
    assert (await ask(actions, "probation", "r3", to=maria)).directed_to == maria
    # A renamed panelist is named anew in the next frame (post-moderation publishes one).
    await actions.set_event_rules(
        live["id"], EDITOR, moderation="post", slow_mode_seconds=0, blocked_terms=""
    )
    await actions.store.write(lambda repo: repo.update_panelist(maria, name="Maria Renamed"))
    published: list[Any] = []
    actions.store.on_commit(published.extend)
    await ask(actions, "probation", "r4", to=maria)
    frame = next(f for f in published if f.type == "question.published")
    assert "Maria Renamed" in str(frame.data)


async def test_a_ban_and_its_lifting_reach_the_next_question(
    actions: Actions, live: dict[str, Any]
) -> None:
    first = await ask(actions, "probation", "flooder")
    await ask(actions, "probation", "someone-else")  # the bans of the event are now cached
    await actions.ban_author(first.id, EDITOR)
    with pytest.raises(RuleError, match="no longer post"):
        await ask(actions, "probation", "flooder")
    assert (await ask(actions, "probation", "someone-else")).reader_id == "someone-else"
    await actions.lift_ban(live["id"], "flooder", EDITOR)
    assert (await ask(actions, "probation", "flooder")).reader_id == "flooder"


async def test_a_change_by_another_connection_reaches_the_next_question(
    actions: Actions, live: dict[str, Any], settings: Settings
) -> None:
    """Another process (here a plain connection) closes the event and bans a reader: the
    writer sees its commit through PRAGMA data_version and forgets what it kept."""
    await ask(actions, "probation", "r1")
    other = sqlite3.connect(db_path(settings))
    with other:
        other.execute(
            "INSERT INTO reader_bans (event_id, reader_id, created_at) VALUES (?, 'r2', 'now')",
            (live["id"],),
        )
    with pytest.raises(RuleError, match="no longer post"):
        await ask(actions, "probation", "r2")
    with other:
        other.execute("UPDATE events SET status = 'closed' WHERE id = ?", (live["id"],))
    other.close()
    with pytest.raises(RuleError) as refused:
        await ask(actions, "probation", "r3")
    assert refused.value.code == "not_accepting"


async def test_a_failed_job_leaves_nothing_of_its_changes_in_the_cache(
    actions: Actions, live: dict[str, Any]
) -> None:
    """The job changes the event, reads it back (so the cache holds the change), then fails:
    the change is rolled back, and so is the cache."""
    await ask(actions, "probation", "r1")

    async def close_then_fail(repo: Repo) -> None:
        await repo.set_event_status(live["id"], EventStatus.CLOSED, _now())
        assert (await repo.event_by_id(live["id"])).status == EventStatus.CLOSED  # type: ignore[union-attr]
        raise RuntimeError("changed its mind")

    with pytest.raises(RuntimeError):
        await actions.store.write(close_then_fail)
    question, _ = await actions.questions.post(live["id"], "r2", "Still open?")  # by id
    assert question.status == QuestionStatus.PENDING


async def test_a_deleted_event_is_forgotten(actions: Actions, live: dict[str, Any]) -> None:
    await ask(actions, "probation", "r1")
    await actions.store.write(lambda repo: repo.delete_event(live["id"]))
    with pytest.raises(RuleError, match="No such event"):
        await ask(actions, "probation", "r2")
    with pytest.raises(RuleError, match="No such event"):
        await actions.questions.post(live["id"], "r3", "By id?")


def test_what_each_statement_makes_the_cache_forget() -> None:
    cache = WriterCache()

    def filled() -> WriterCache:
        cache.clear()
        for kind in ("event", "slug", "lineup", "bans"):
            cache.put(kind, 1, object())
        return cache

    for sql, left in [
        ("SELECT * FROM events WHERE id = :id", 4),
        ("INSERT INTO questions (event_id, body) VALUES (:e, :b) RETURNING *", 4),
        ("UPDATE questions SET status = :s WHERE id = :id", 4),
        ("INSERT INTO event_log (event_id, seq) VALUES (:e, :seq)", 4),
        ("UPDATE events SET last_seq = last_seq + 1 WHERE id = :e RETURNING last_seq", 2),
        ("UPDATE events SET status = :status WHERE id = :id", 2),
        ("DELETE FROM events WHERE id = :id", 0),
        ("INSERT INTO reader_bans (event_id, reader_id) VALUES (:e, :r)", 0),
        ("DELETE FROM assignments WHERE id = :id", 0),
        ("UPDATE panelists SET name = :name WHERE id = :id", 0),
        ("DELETE FROM slots WHERE id = :id", 0),
        ("insert into Events (slug) values (:s)", 0),
    ]:
        filled().wrote(sql)
        assert len(cache) == left, sql
    cache.put("event", 2, None)  # a missing row is never kept
    assert len(cache) == 0


# -- checkpoints ---------------------------------------------------------------------------------


async def test_checkpoints_leave_the_commit_path(store: Store, settings: Settings) -> None:
    """The writer's own automatic checkpoint is only a distant backstop; the store's
    checkpoint, on a connection of its own, copies every committed frame while writes go on."""
    assert isinstance(store, SQLiteStore)
    pages = await store.write(lambda repo: repo.conn.fetchall("PRAGMA wal_autocheckpoint"))
    assert pages == [{"wal_autocheckpoint": BACKSTOP_PAGES}]

    async def writes(n: int) -> list[int]:
        return list(
            await asyncio.gather(
                *[
                    store.write(lambda repo, i=i: repo.insert_panelist(f"P{i}", "", "", _now()))  # type: ignore[misc]
                    for i in range(n)
                ]
            )
        )

    async def checkpoints(n: int) -> None:
        for _ in range(n):
            await store.checkpoint()
            await asyncio.sleep(0)

    written, _ = await asyncio.gather(writes(300), checkpoints(20))
    busy, frames, done = await store.checkpoint()
    assert (busy, done) == (0, frames) and frames > 0
    other = sqlite3.connect(db_path(settings))
    count = other.execute("SELECT COUNT(*) FROM panelists").fetchone()[0]
    other.close()
    assert count == len(set(written)) == 300


async def test_the_store_checkpoints_after_commits_and_not_when_idle(settings: Settings) -> None:
    store = SQLiteStore(settings.db_url, checkpoint_every=0.02)
    ran: list[tuple[int, int, int]] = []
    checkpoint = store.checkpoint

    async def counted() -> tuple[int, int, int]:
        ran.append(await checkpoint())
        return ran[-1]

    store.checkpoint = counted  # type: ignore[method-assign]
    await store.open()
    try:
        await asyncio.sleep(0.1)
        assert ran == []  # nothing committed, nothing to copy
        await store.write(lambda repo: repo.insert_panelist("P", "", "", _now()))
        for _ in range(200):
            if ran:
                break
            await asyncio.sleep(0.01)
        assert ran and ran[0][0] == 0 and ran[0][1] == ran[0][2] > 0
        await asyncio.sleep(0.1)
        assert len(ran) == 1  # one per burst of commits
    finally:
        await store.close()


async def test_a_store_may_leave_checkpoints_to_sqlite(settings: Settings) -> None:
    store = SQLiteStore(settings.db_url, checkpoint_every=None)
    await store.open()
    try:
        pages = await store.write(lambda repo: repo.conn.fetchall("PRAGMA wal_autocheckpoint"))
        assert pages == [{"wal_autocheckpoint": 1000}]  # SQLite's default
        with pytest.raises(Exception, match="leaves checkpoints to SQLite"):
            await store.checkpoint()
    finally:
        await store.close()


# -- the rate limit's give-back ------------------------------------------------------------------


async def test_a_hit_given_back_is_not_counted() -> None:
    limiter = RateLimiter(2, window=60)
    assert limiter.hit("k", now=0) == 0
    assert limiter.hit("k", now=1) == 0
    assert limiter.hit("k", now=2) > 0
    await limiter.give_back("k")
    assert limiter.hit("k", now=3) == 0
    await limiter.give_back("unknown")  # nothing to give back: no error


def _now() -> datetime:
    return datetime(2026, 9, 15, 12, 30, tzinfo=UTC)
