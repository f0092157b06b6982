"""SQLite backend: one writer thread that commits in groups, a small pool of readers.

Each connection has a thread of its own (panel/store/sqlite_conn.py). Writes are queued for
the writer's thread, which takes them in groups and runs each group straight through, one
transaction and one fsync per group, handing the outcomes back to the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from queue import Empty, SimpleQueue
from typing import Any, TypeVar

from panel.store.base import CommitListener, CommitObserver, StoreError
from panel.store.cache import WriterCache
from panel.store.migrations import apply_pending, split_statements
from panel.store.repo import Repo
from panel.store.sqlite_conn import ConnThread, ReadConn, WriteConn, run_straight
from panel.tasks import cancel_and_wait

T = TypeVar("T")
log = logging.getLogger(__name__)

PRAGMAS = (
    # First, so that switching to WAL waits for another process opening the same file.
    "PRAGMA busy_timeout = 5000",
    "PRAGMA journal_mode = WAL",
    # FULL: an acknowledged question survives power loss, not only a crash.
    "PRAGMA synchronous = FULL",
    "PRAGMA foreign_keys = ON",
)
# Writes committed together at most. A group's fsync can take 50 to 500 ms on a busy shared
# disk; while it does, questions queue, and the next group takes them all: at 64 a group, a
# 100 ms fsync capped the writer at 640 questions a second.
MAX_GROUP = 256
MAX_QUEUED = 10_000  # writes waiting for the writer at most; more wait to be queued
# Checkpoints (copying the WAL back into the database file, with its own fsync) run on a
# connection of their own, off the writer's commit path: every CHECKPOINT_EVERY seconds
# after a commit, a PASSIVE one, which never blocks the writer or the readers. SQLite's own
# automatic checkpoint, which the committing connection runs inside its COMMIT, is kept
# only as a backstop for a WAL this many pages long (about 40 MiB), should they fall behind.
CHECKPOINT_EVERY = 1.0
BACKSTOP_PAGES = 10_000


async def _execute_when_free(conn: ConnThread, sql: str, attempts: int = 50) -> None:
    """Run a pragma, retrying while locked: switching a new file to WAL needs an exclusive
    lock and SQLite reports "locked" at once, without the busy timeout, when another process
    is opening the same file at that moment. CPython 3.11's sqlite3 sometimes reports that
    same lost race as a bare SystemError ("returned NULL without setting an exception"),
    seen in about one run of 20 fresh files in three; it is retried the same way."""
    assert conn.db is not None
    for attempt in range(attempts):
        try:
            await conn.call(conn.db.execute, sql)
            return
        except (sqlite3.OperationalError, SystemError) as exc:
            lost_race = isinstance(exc, SystemError) or "locked" in str(exc)
            if not lost_race or attempt == attempts - 1:
                raise
            await asyncio.sleep(0.1)


def _checkpoint_here(db: sqlite3.Connection) -> tuple[int, int, int]:
    busy, frames, done = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(busy), int(frames), int(done)


Job = tuple[Callable[[Repo], Awaitable[Any]], asyncio.Future[Any]]


@dataclass(frozen=True)
class _Alone:
    """Work for the writer's thread that needs a transaction of its own (a migration)."""

    fn: Callable[[], Any]


Item = tuple[Callable[[Repo], Awaitable[Any]] | _Alone, asyncio.Future[Any]]
# What the writer's thread reports for each job: (future, result or exception, frames).
Outcome = tuple[asyncio.Future[Any], Any, list[Any] | None]


class SQLiteStore:
    dialect = "sqlite"

    def __init__(
        self, url: str, readers: int = 3, checkpoint_every: float | None = CHECKPOINT_EVERY
    ) -> None:
        """`checkpoint_every=None` leaves checkpoints to SQLite, inside the writer's commits
        (as before: kept for comparison)."""
        self.url = url
        self.path = Path(url.removeprefix("sqlite:///"))
        self._reader_count = readers
        self.checkpoint_every = checkpoint_every
        self._writer: ConnThread | None = None
        self._checkpointer: ConnThread | None = None
        self._committed = asyncio.Event()  # set by a commit, cleared by a checkpoint
        self._checkpoint_task: asyncio.Task[None] | None = None
        self._readers: asyncio.Queue[ConnThread] = asyncio.Queue()
        self._all_readers: list[ConnThread] = []
        # Jobs go straight to the writer's thread, which takes them in groups, back to back.
        self._jobs: SimpleQueue[Item | None] = SimpleQueue()
        self._room = asyncio.Semaphore(MAX_QUEUED)  # jobs waiting or running, at most
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listeners: list[CommitListener] = []
        self._writer_task: asyncio.Task[None] | None = None
        # Used on the writer's thread only, inside its transactions.
        self.cache = WriterCache()
        self._data_version: int | None = None
        self.commit_observer: CommitObserver | None = None  # for /metrics (panel/metrics.py)

    async def _connect(self, name: str) -> ConnThread:
        if not self.path.parent.is_dir():
            raise StoreError(
                f"cannot open database {self.url}: folder {self.path.parent} does not exist"
            )
        conn = ConnThread(self.path, name)
        try:
            await conn.open()
            for pragma in PRAGMAS:
                await _execute_when_free(conn, pragma)
        except sqlite3.Error as exc:
            await conn.close()  # else its thread keeps the process alive
            raise StoreError(f"cannot open database {self.url}: {exc}") from None
        return conn

    async def open(self) -> None:
        self._writer = await self._connect("sqlite-writer")
        try:
            await self.migrate()
            for n in range(self._reader_count):
                conn = await self._connect(f"sqlite-reader-{n}")
                self._all_readers.append(conn)
                self._readers.put_nowait(conn)
            if self.checkpoint_every is not None:
                writer = self._writer
                assert writer.db is not None
                await writer.call(
                    writer.db.execute, f"PRAGMA wal_autocheckpoint = {BACKSTOP_PAGES}"
                )
                self._checkpointer = await self._connect("sqlite-checkpointer")
        except BaseException:
            await self.close()  # no connection thread may outlive a failed open
            raise
        self._loop = asyncio.get_running_loop()
        writer = self._writer
        self._writer_task = asyncio.create_task(writer.call(self._write_here), name="sqlite-writer")
        if self._checkpointer is not None:
            self._checkpoint_task = asyncio.create_task(
                self._checkpoint_loop(), name="sqlite-checkpointer"
            )

    async def close(self) -> None:
        if self._checkpoint_task:
            await cancel_and_wait([self._checkpoint_task])
        if self._writer_task:
            self._jobs.put(None)  # the writer's thread ends after the jobs before this
            with contextlib.suppress(Exception):
                await self._writer_task
        while True:  # a job sent while closing: fail it rather than leave it waiting
            try:
                left = self._jobs.get_nowait()
            except Empty:
                break
            if left is not None and not left[1].done():
                left[1].set_exception(StoreError("the store is closed"))
        for conn in [*self._all_readers, self._checkpointer, self._writer]:
            if conn is not None:
                await conn.close()
        self._all_readers.clear()
        self._writer = self._checkpointer = None

    async def checkpoint(self) -> tuple[int, int, int]:
        """One PASSIVE checkpoint on the checkpointer's connection: (busy, WAL frames,
        frames now in the database file), as `PRAGMA wal_checkpoint` reports them."""
        conn = self._checkpointer
        if conn is None or conn.db is None:
            raise StoreError("this store leaves checkpoints to SQLite")
        return await conn.call(_checkpoint_here, conn.db)

    async def _checkpoint_loop(self) -> None:
        """After commits, a checkpoint at most every `checkpoint_every` seconds; a failure is
        logged and tried again later (the backstop keeps the WAL bounded meanwhile)."""
        assert self.checkpoint_every is not None
        while True:
            await self._committed.wait()
            await asyncio.sleep(self.checkpoint_every)
            self._committed.clear()
            try:
                await self.checkpoint()
            except Exception:
                log.exception("checkpoint failed")

    async def migrate(self) -> list[int]:
        assert self._writer is not None
        try:
            if self._writer_task is None:  # opening: the writer's thread is free
                return await self._writer.call(self._migrate_here)
            # Open: the writer's thread runs it between two groups.
            future: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
            self._jobs.put((_Alone(self._migrate_here), future))
            return await future
        except sqlite3.Error as exc:
            raise StoreError(f"cannot migrate database {self.url}: {exc}") from None

    def _migrate_here(self) -> list[int]:
        """Apply pending migrations in one transaction (on the writer's thread)."""
        assert self._writer is not None and self._writer.db is not None
        db = self._writer.db
        conn = WriteConn(db, self.cache)

        async def run_script(sql: str) -> None:
            for statement in split_statements(sql):  # inside our transaction, one by one
                await conn.execute(statement)

        try:
            db.execute("BEGIN IMMEDIATE")  # one migrator at a time
            applied = run_straight(apply_pending(conn, self.dialect, run_script))
            db.execute("COMMIT")
        except sqlite3.Error:
            with contextlib.suppress(sqlite3.Error):  # BEGIN itself may have failed
                db.execute("ROLLBACK")
            raise
        self.cache.clear()  # the schema, and perhaps the rows, changed under it
        return applied

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[Repo]:
        thread = await self._readers.get()
        try:
            # One snapshot for the whole read: a page and its last_seq agree. Its BEGIN goes
            # with the first statement, its COMMIT at the end.
            conn = ReadConn(thread)
            try:
                yield Repo(conn, self.dialect)
            finally:
                await conn.end()
        finally:
            self._readers.put_nowait(thread)

    def on_commit(self, listener: CommitListener) -> None:
        self._listeners.append(listener)

    def queue_depth(self) -> int:
        """Writes queued for the writer's thread and not taken yet."""
        return self._jobs.qsize()

    async def write(self, job: Callable[[Repo], Awaitable[T]]) -> T:
        if self._writer_task is None or self._writer_task.done():
            raise StoreError("the store is not open")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        async with self._room:
            self._jobs.put((job, future))
            return await future

    def _write_here(self) -> None:
        """The writer's thread, for as long as the store is open: take the next job and
        every job already waiting behind it (up to MAX_GROUP), run them as one group, hand
        the outcomes to the event loop, and go on with the next group at once, while the
        loop publishes and answers (one hop per group, and no wait for the loop between
        groups). Work that needs a transaction of its own (`_Alone`) runs between groups."""
        assert self._loop is not None
        loop = self._loop
        waiting: Item | None = None
        while True:
            first = waiting if waiting is not None else self._jobs.get()
            waiting = None
            if first is None:
                return
            if isinstance(first[0], _Alone):
                outcome = self._run_alone_here(first[0], first[1])
                with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits
                    loop.call_soon_threadsafe(self._settle, [outcome])
                continue
            batch: list[Job] = [first]  # type: ignore[list-item]
            stop = False
            while len(batch) < MAX_GROUP:
                try:
                    item = self._jobs.get_nowait()
                except Empty:
                    break
                if item is None:
                    stop = True
                    break
                if isinstance(item[0], _Alone):
                    waiting = item  # after this group
                    break
                batch.append(item)  # type: ignore[arg-type]
            # A caller that gave up before its job ran: leave the job out.
            batch = [(job, future) for job, future in batch if not future.cancelled()]
            if batch:
                try:
                    outcomes = self._run_group_here(batch)
                except Exception as exc:  # e.g. disk I/O on BEGIN: fail this group, go on
                    log.exception("write group failed")
                    failed = StoreError(f"write failed: {exc}")
                    outcomes = [(future, failed, None) for _, future in batch]
                with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits
                    loop.call_soon_threadsafe(self._settle, outcomes)
            if stop:
                return

    def _run_alone_here(self, alone: _Alone, future: asyncio.Future[Any]) -> Outcome:
        try:
            return (future, alone.fn(), [])
        except Exception as exc:
            return (future, exc, None)

    def _run_group_here(self, batch: list[Job]) -> list[Outcome]:
        """All the jobs in one transaction, committed at once: one fsync for the group.

        Runs on the writer's thread; every job runs straight through (`run_straight`). The
        jobs run first without savepoints: one that fails before changing anything (most
        refusals) leaves nothing to undo. Only when one fails after a change is the whole
        group rolled back and run again, each job in its own savepoint. That is allowed:
        a job depends on nothing but the database and its `Tx` (jobs have no effect
        outside their transaction)."""
        assert self._writer is not None and self._writer.db is not None
        db = self._writer.db
        try:
            outcomes = self._run_jobs(db, batch, savepoints=False)
            if outcomes is None:
                outcomes = self._run_jobs(db, batch, savepoints=True)
                assert outcomes is not None
        except BaseException:
            self.cache.clear()
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        try:
            started = time.perf_counter()
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            log.exception("commit failed")
            self.cache.clear()
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            failed = StoreError(f"commit failed: {exc}")
            return [(f, r if frames is None else failed, None) for f, r, frames in outcomes]
        if self.commit_observer is not None:
            self.commit_observer(time.perf_counter() - started, len(batch))
        return outcomes

    def _run_jobs(
        self, db: sqlite3.Connection, batch: list[Job], savepoints: bool
    ) -> list[Outcome] | None:
        """Begin the group's transaction and run its jobs; None (rolled back) when, without
        savepoints, a job failed after changing something."""
        cache = self.cache
        db.execute("BEGIN IMMEDIATE")
        # Another connection (another process) committed since our last group: what the
        # cache holds may be stale.
        version = db.execute("PRAGMA data_version").fetchone()[0]
        if version != self._data_version:
            cache.clear()
            self._data_version = version
        outcomes: list[Outcome] = []
        for job, future in batch:
            conn = WriteConn(db, cache)
            repo = Repo(conn, self.dialect, cache)
            generation = cache.generation
            if savepoints:
                db.execute("SAVEPOINT job")
            try:
                result = run_straight(job(repo))
            except Exception as exc:  # the job's own failure: undo it alone
                if savepoints:
                    db.execute("ROLLBACK TO job")
                    db.execute("RELEASE job")
                elif conn.writes:
                    db.execute("ROLLBACK")
                    cache.clear()
                    return None
                if cache.generation != generation:
                    cache.clear()  # it may hold what the job read after its changes
                outcomes.append((future, exc, None))
                continue
            if savepoints:
                db.execute("RELEASE job")
            outcomes.append((future, result, repo.frames))
        return outcomes

    def _settle(self, outcomes: list[Outcome]) -> None:
        """On the event loop, after the commit, in job order: the listeners get each job's
        frames, then the job's caller gets its result (or its exception). Groups are settled
        in the order they were committed."""
        self._committed.set()
        for future, result, frames in outcomes:
            if frames is None:
                if not future.done():
                    future.set_exception(result)
                continue
            if frames:
                for listener in self._listeners:
                    try:
                        listener(frames)
                    except Exception:
                        log.exception("commit listener failed")
            if not future.done():
                future.set_result(result)
