"""SQLite connections, each on a thread of its own, and the two ways the store talks to them.

Every call from the event loop into a connection's thread is a round trip (a "hop": a queue,
a thread wake-up, a future resolved through the loop, the GIL passed over twice), which
costs more than a small statement. So:

- a **read** costs one hop per statement, the read transaction's `BEGIN` riding with the
  first statement, plus one hop for its `COMMIT` (`ReadConn`);
- a **write group** costs one hop in all: the writer's thread runs every job of the group
  straight through on `WriteConn`, whose methods are coroutines that never suspend
  (`run_straight`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from queue import SimpleQueue
from typing import Any, TypeVar

from panel.store.cache import WriterCache
from panel.store.rows import Row, in_range

T = TypeVar("T")


def fetchall(db: sqlite3.Connection, sql: str, params: Mapping[str, Any] | None) -> list[Row]:
    """Run one statement and return its rows as dicts (on the connection's thread)."""
    cursor = db.execute(sql, in_range(params))
    try:
        rows = cursor.fetchall()
        if not rows:
            return []
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in rows]
    finally:
        cursor.close()


def execute(db: sqlite3.Connection, sql: str, params: Mapping[str, Any] | None) -> int:
    """Run one statement; the number of rows it changed (on the connection's thread)."""
    cursor = db.execute(sql, in_range(params))
    try:
        return cursor.rowcount
    finally:
        cursor.close()


class ConnThread:
    """One sqlite3 connection and the one thread that uses it; `call` is one hop.

    Leaner than an executor: a queue, and the result handed back with one
    `call_soon_threadsafe`."""

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.db: sqlite3.Connection | None = None
        self._calls: SimpleQueue[_Call | None] = SimpleQueue()
        # A daemon: a store left open must not keep the process from exiting. Nothing
        # acknowledged depends on the thread's end (acknowledged means committed).
        self._thread = threading.Thread(target=_serve, args=(self._calls,), name=name, daemon=True)
        self._thread.start()

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` on the connection's thread and return what it returns."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._calls.put((loop, future, fn, args))
        return await future

    async def open(self) -> None:
        # Autocommit mode (isolation_level=None): the store says BEGIN and COMMIT itself.
        self.db = await self.call(_connect, self.path)

    async def close(self) -> None:
        """Close the connection and end the thread (no thread may outlive a failed open)."""
        try:
            if self.db is not None:
                await self.call(self.db.close)
        finally:
            self.db = None
            self._calls.put(None)
            await asyncio.to_thread(self._thread.join, 5)


_Call = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]


def _serve(calls: SimpleQueue[_Call | None]) -> None:
    """A connection's thread: run each call in turn until told to stop."""
    while (item := calls.get()) is not None:
        _run(*item)
        item = None  # keep nothing alive while waiting for the next call


def _run(
    loop: asyncio.AbstractEventLoop,
    future: asyncio.Future[Any],
    fn: Callable[..., Any],
    args: tuple[Any, ...],
) -> None:
    try:
        result = fn(*args)
    except BaseException as exc:  # noqa: BLE001 - handed to the caller, whatever it is
        _hand_back(loop, _fail, future, exc)
    else:
        _hand_back(loop, _succeed, future, result)


def _hand_back(loop: asyncio.AbstractEventLoop, settle: Callable[..., None], *args: Any) -> None:
    with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody is waiting
        loop.call_soon_threadsafe(settle, *args)


def _succeed(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None, check_same_thread=False)


class ReadConn:
    """A read connection as `Conn`: one hop per statement; the snapshot's BEGIN goes with
    the first one, so a read of one statement costs two hops (it and the COMMIT)."""

    def __init__(self, thread: ConnThread) -> None:
        assert thread.db is not None
        self.thread = thread
        self.db = thread.db
        self.used = False  # a statement was sent: the snapshot needs ending

    async def fetchall(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        self.used = True
        return await self.thread.call(_in_snapshot, fetchall, self.db, sql, params)

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        self.used = True
        return await self.thread.call(_in_snapshot, execute, self.db, sql, params)

    async def end(self) -> None:
        """End the snapshot, if a statement began one. The thread runs calls in order, so
        this comes after any statement still running for a caller that was cancelled."""
        if self.used:
            await self.thread.call(_end_snapshot, self.db)


def _in_snapshot(fn: Callable[..., T], db: sqlite3.Connection, *args: Any) -> T:
    if not db.in_transaction:
        db.execute("BEGIN")
    return fn(db, *args)


def _end_snapshot(db: sqlite3.Connection) -> None:
    if db.in_transaction:
        db.execute("COMMIT")


class WriteConn:
    """The writer's connection as `Conn`, for jobs run on the writer's own thread: the
    methods are coroutines that never suspend. Each statement first tells the writer's
    cache what it may change; `writes` counts the statements that may change rows."""

    def __init__(self, db: sqlite3.Connection, cache: WriterCache) -> None:
        self.db = db
        self.cache = cache
        self.writes = 0

    def _before(self, sql: str) -> None:
        self.cache.wrote(sql)
        if not _reads(sql):
            self.writes += 1

    async def fetchall(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        self._before(sql)
        return fetchall(self.db, sql, params)

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        self._before(sql)
        return execute(self.db, sql, params)


@functools.lru_cache(maxsize=1024)
def _reads(sql: str) -> bool:
    """A statement that cannot change anything: a plain SELECT (a WITH may hide a change)."""
    return sql.lstrip()[:7].upper() == "SELECT "


class SuspendedJob(RuntimeError):
    """A write job awaited something other than its repo."""


def run_straight(job: Awaitable[T]) -> T:
    """Run a coroutine that never suspends to its end, here and now (on the writer's thread).

    A write job awaits only its repo, whose `WriteConn` never suspends; a job that awaits
    anything else (I/O, a sleep, a lock) is a bug, and fails instead of blocking the writer."""
    steps = job.__await__()
    try:
        steps.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    close = getattr(steps, "close", None)
    if close is not None:
        close()
    raise SuspendedJob(
        "a write job awaited something other than its repo; do that before or after the job"
    )
