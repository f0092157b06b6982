"""SQLite backend: one writer task that commits in groups, a small pool of readers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from panel.store.base import CommitListener, StoreError
from panel.store.migrations import apply_pending, split_statements
from panel.store.repo import Repo, Row
from panel.store.rows import in_range

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
MAX_GROUP = 64  # writes committed together at most


async def _execute_when_free(db: aiosqlite.Connection, sql: str, attempts: int = 50) -> None:
    """Run a pragma, retrying while locked: switching a new file to WAL needs an exclusive
    lock and SQLite reports "locked" at once, without the busy timeout, when another process
    is opening the same file at that moment."""
    for attempt in range(attempts):
        try:
            await db.execute(sql)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            await asyncio.sleep(0.1)


class SQLiteConn:
    def __init__(self, db: aiosqlite.Connection) -> None:
        self.db = db

    async def fetchall(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        async with self.db.execute(sql, in_range(params)) as cur:
            rows = await cur.fetchall()
        return [dict(r) for r in rows]

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        async with self.db.execute(sql, in_range(params)) as cur:
            return cur.rowcount


Job = tuple[Callable[[Repo], Awaitable[Any]], asyncio.Future[Any]]


class SQLiteStore:
    dialect = "sqlite"

    def __init__(self, url: str, readers: int = 3) -> None:
        self.url = url
        self.path = Path(url.removeprefix("sqlite:///"))
        self._reader_count = readers
        self._writer: aiosqlite.Connection | None = None
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all_readers: list[aiosqlite.Connection] = []
        self._jobs: asyncio.Queue[Job] = asyncio.Queue(maxsize=10_000)
        self._listeners: list[CommitListener] = []
        self._writer_task: asyncio.Task[None] | None = None

    async def _connect(self) -> aiosqlite.Connection:
        if not self.path.parent.is_dir():
            raise StoreError(
                f"cannot open database {self.url}: folder {self.path.parent} does not exist"
            )
        connection = aiosqlite.connect(self.path, isolation_level=None)
        try:
            db = await connection
        except sqlite3.Error as exc:
            # aiosqlite stops its worker thread without waiting for it; wait here, or the
            # thread may report to a closed event loop and print a traceback after our error.
            thread = getattr(connection, "_thread", None)
            if thread is not None:
                await asyncio.to_thread(thread.join, 5)
            raise StoreError(f"cannot open database {self.url}: {exc}") from None
        try:
            db.row_factory = aiosqlite.Row
            for pragma in PRAGMAS:
                await _execute_when_free(db, pragma)
        except sqlite3.Error as exc:
            await db.close()  # else its thread keeps the process alive
            raise StoreError(f"cannot open database {self.url}: {exc}") from None
        return db

    async def open(self) -> None:
        self._writer = await self._connect()
        try:
            await self.migrate()
            for _ in range(self._reader_count):
                conn = await self._connect()
                self._all_readers.append(conn)
                self._readers.put_nowait(conn)
        except BaseException:
            await self.close()  # no connection thread may outlive a failed open
            raise
        self._writer_task = asyncio.create_task(self._write_loop(), name="sqlite-writer")

    async def close(self) -> None:
        if self._writer_task:
            self._writer_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer_task
        for conn in [*self._all_readers, self._writer]:
            if conn is not None:
                await conn.close()
        self._all_readers.clear()
        self._writer = None

    async def migrate(self) -> list[int]:
        assert self._writer is not None
        conn = SQLiteConn(self._writer)

        async def run_script(sql: str) -> None:
            for statement in split_statements(sql):  # inside our transaction, one by one
                await conn.execute(statement)

        try:
            await self._writer.execute("BEGIN IMMEDIATE")  # one migrator at a time
            applied = await apply_pending(conn, self.dialect, run_script)
            await self._writer.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):  # BEGIN itself may have failed
                await self._writer.execute("ROLLBACK")
            raise StoreError(f"cannot migrate database {self.url}: {exc}") from None
        return applied

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[Repo]:
        conn = await self._readers.get()
        try:
            # One snapshot for the whole read: a page and its last_seq agree.
            await conn.execute("BEGIN")
            try:
                yield Repo(SQLiteConn(conn), self.dialect)
            finally:
                await conn.execute("COMMIT")
        finally:
            self._readers.put_nowait(conn)

    def on_commit(self, listener: CommitListener) -> None:
        self._listeners.append(listener)

    async def write(self, job: Callable[[Repo], Awaitable[T]]) -> T:
        if self._writer_task is None or self._writer_task.done():
            raise StoreError("the store is not open")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        await self._jobs.put((job, future))
        return await future

    async def _write_loop(self) -> None:
        assert self._writer is not None
        db = self._writer
        while True:
            batch = [await self._jobs.get()]
            while len(batch) < MAX_GROUP and not self._jobs.empty():
                batch.append(self._jobs.get_nowait())
            try:
                await self._run_group(db, batch)
            except Exception as exc:  # e.g. disk I/O on BEGIN: fail this group, keep writing
                log.exception("write group failed")
                with contextlib.suppress(sqlite3.Error):
                    await db.execute("ROLLBACK")
                for _, future in batch:
                    if not future.done():
                        future.set_exception(StoreError(f"write failed: {exc}"))

    async def _run_group(self, db: aiosqlite.Connection, batch: list[Job]) -> None:
        """Each job in its own savepoint, all committed at once: one fsync for the group."""
        done: list[tuple[asyncio.Future[Any], Any, Repo]] = []
        await db.execute("BEGIN IMMEDIATE")
        for job, future in batch:
            if future.cancelled():
                continue
            repo = Repo(SQLiteConn(db), self.dialect)
            await db.execute("SAVEPOINT job")
            try:
                result = await job(repo)
            except Exception as exc:  # the job's own failure: undo it alone
                await db.execute("ROLLBACK TO job")
                await db.execute("RELEASE job")
                future.set_exception(exc)
                continue
            await db.execute("RELEASE job")
            done.append((future, result, repo))
        try:
            await db.execute("COMMIT")
        except sqlite3.Error as exc:
            log.exception("commit failed")
            with contextlib.suppress(sqlite3.Error):
                await db.execute("ROLLBACK")
            for future, _, _ in done:
                if not future.done():
                    future.set_exception(StoreError(f"commit failed: {exc}"))
            return
        for future, result, repo in done:
            if repo.frames:
                for listener in self._listeners:
                    try:
                        listener(repo.frames)
                    except Exception:
                        log.exception("commit listener failed")
            if not future.done():
                future.set_result(result)
