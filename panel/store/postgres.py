"""PostgreSQL backend (asyncpg): a pool of connections, snapshot reads, and SERIALIZABLE
writes that run again when PostgreSQL cannot serialise them.

On SQLite one writer makes every action's check-then-act safe (is the question still
pending? then approve it). Here several processes write at once, so each write is a
SERIALIZABLE transaction: PostgreSQL refuses to commit one whose reads another transaction
has made stale, and the job runs again from the start on a fresh snapshot, where its check
sees the other's decision. Jobs can run again: panel/writes.py reads `now` before the
transaction, and jobs have no effect outside it. The gapless seq needs nothing more: the
counter row (`events.last_seq`) is updated in the job's transaction, so two writers to one
event are serialised on it, and a rolled-back try gives its numbers back.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import asyncpg

from panel.domain import Frame, RuleError
from panel.store.base import CommitListener, CommitObserver, StoreError, display_url
from panel.store.migrations import apply_pending
from panel.store.repo import Repo, Row
from panel.store.rows import in_range

T = TypeVar("T")
log = logging.getLogger(__name__)

POOL_SIZE = 10  # connections per process, for reads and writes
# Writes in flight per process. Writers to one event queue on its counter row and all but one
# fail and try again, so more of them at once only means more tries.
WRITERS = 4
ACQUIRE_TIMEOUT = 10  # seconds to wait for a pooled connection before answering 503
ATTEMPTS = 40  # tries of one write before it fails with StoreError
BACKOFF_CAP = 0.05  # seconds: the longest random pause between two tries
MIGRATION_LOCK = 0x6C69766570616E  # pg_advisory_xact_lock key ("livepan"): one migrator
RETRYABLE = (asyncpg.SerializationError, asyncpg.DeadlockDetectedError)
# The server went away or refused us: one clear line instead of a driver traceback.
UNREACHABLE = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.OperatorInterventionError,
    asyncpg.InvalidAuthorizationSpecificationError,
    asyncpg.InvalidCatalogNameError,
)
# The connection went while in use (the server stopped, an admin ended the backend): a read
# inside `read()` that hits one of these becomes a StoreError, so the client gets a 503.
LOST = (
    ConnectionError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
)
# A string literal, a `::` cast, or a `:name` parameter (group 1).
_TOKENS = re.compile(r"'(?:[^']|'')*'|::|:([A-Za-z_]\w*)")
_KEY = re.compile(r"Key \((.+?)\)=")


@functools.lru_cache(maxsize=4096)
def positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """The statement with asyncpg's `$n` for each `:name` (one number per name), and the
    names in number order. Converted once per statement text."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:  # a literal or a cast: kept as written
            return match.group(0)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _TOKENS.sub(number, sql), tuple(names)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def already_exists(exc: asyncpg.UniqueViolationError) -> RuleError:
    """A unique key the job did not check first, as the same refusal (409) a check gives."""
    key = _KEY.match(getattr(exc, "detail", None) or "")
    return RuleError("conflict", f"That {key.group(1) if key else 'value'} is already taken.")


class PostgresConn:
    """The `Conn` seam on one asyncpg connection: `:name` parameters become `$n`."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    @staticmethod
    def _bind(sql: str, params: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
        query, names = positional(sql)
        values = in_range(params)
        return query, [values[name] for name in names]

    async def fetchall(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        query, args = self._bind(sql, params)
        return [dict(r) for r in await self.conn.fetch(query, *args)]

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        query, args = self._bind(sql, params)
        tag = await self.conn.execute(query, *args)
        # The command tag ("UPDATE 3", "INSERT 0 1") ends with the number of rows.
        count = tag.rsplit(" ", 1)[-1]
        return int(count) if count.isdigit() else 0


class PostgresStore:
    dialect = "postgresql"

    def __init__(self, url: str, pool_size: int = POOL_SIZE, writers: int = WRITERS) -> None:
        self.url = url
        self._pool_size = pool_size
        self._writers = asyncio.Semaphore(writers)
        self._pool: asyncpg.Pool | None = None
        self._listeners: list[CommitListener] = []
        self.retries = 0  # serialisation failures tried again, since open (for tests, metrics)
        self.commit_observer: CommitObserver | None = None  # for /metrics (panel/metrics.py)

    def _open_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise StoreError("the store is not open")
        return self._pool

    async def open(self) -> None:
        where = display_url(self.url)
        try:
            # The URL's query may set server settings, e.g. ?search_path=tenant.
            self._pool = await asyncpg.create_pool(
                self.url, min_size=1, max_size=self._pool_size, timeout=10
            )
        except (*UNREACHABLE, asyncpg.PostgresError) as exc:
            raise StoreError(f"cannot open database {where}: {_one_line(exc)}") from None
        try:
            await self.migrate()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), 10)
            except TimeoutError:  # a connection still lent out: do not hang the shutdown
                pool.terminate()

    async def migrate(self) -> list[int]:
        pool = self._open_pool()
        try:
            async with pool.acquire() as conn, conn.transaction():
                # Several processes may start at once: the first migrates, the others wait
                # here and then find nothing left to do.
                await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
                # Each script whole, in this transaction (no parameters: one round trip).
                applied = await apply_pending(PostgresConn(conn), self.dialect, conn.execute)
        except (*UNREACHABLE, asyncpg.PostgresError) as exc:
            where = display_url(self.url)
            raise StoreError(f"cannot migrate database {where}: {_one_line(exc)}") from None
        return applied

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[Repo]:
        # One snapshot for the whole read: a page and its last_seq agree.
        try:
            async with (
                self._connection() as conn,
                conn.transaction(isolation="repeatable_read", readonly=True),
            ):
                yield Repo(PostgresConn(conn), self.dialect)
        except LOST as exc:  # the connection went during the read: one clear StoreError
            where = display_url(self.url)
            raise StoreError(f"read failed: lost {where}: {_one_line(exc)}") from None

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        pool = self._open_pool()
        try:
            conn = await pool.acquire(timeout=ACQUIRE_TIMEOUT)
        except UNREACHABLE as exc:
            where = display_url(self.url)
            raise StoreError(f"cannot reach database {where}: {_one_line(exc)}") from None
        try:
            yield conn
        finally:
            await pool.release(conn)

    def on_commit(self, listener: CommitListener) -> None:
        self._listeners.append(listener)

    def queue_depth(self) -> None:
        """No queue of its own: each write takes a pooled connection (and waits for one)."""
        return None

    async def write(self, job: Callable[[Repo], Awaitable[T]]) -> T:
        async with self._writers:
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    return await self._try(job)
                except RETRYABLE as exc:
                    if attempt == ATTEMPTS:
                        raise StoreError(
                            f"write failed: still conflicting after {ATTEMPTS} tries"
                        ) from exc
                    self.retries += 1
                    # Random and growing, so writers that collided do not collide again.
                    await asyncio.sleep(random.uniform(0, min(BACKOFF_CAP, 0.001 * 2**attempt)))
        raise AssertionError("unreachable")

    async def _try(self, job: Callable[[Repo], Awaitable[T]]) -> T:
        """One try: the job in a SERIALIZABLE transaction, then the listeners after COMMIT."""
        async with self._connection() as conn:
            repo = Repo(PostgresConn(conn), self.dialect)
            try:
                result = await self._in_transaction(conn, job, repo)
            except asyncpg.UniqueViolationError as exc:
                raise already_exists(exc) from None
            except UNREACHABLE as exc:  # never tried again: the commit may have happened
                where = display_url(self.url)
                raise StoreError(f"write failed: lost {where}: {_one_line(exc)}") from None
            # Still holding the connection, so a later commit's frames rarely overtake ours;
            # when they do, the hub fills the gap from the log.
            self._announce(repo.frames)
            return result

    async def _in_transaction(
        self, conn: asyncpg.Connection, job: Callable[[Repo], Awaitable[T]], repo: Repo
    ) -> T:
        """The job in a SERIALIZABLE transaction, its COMMIT timed for /metrics (as
        `async with conn.transaction()`, with the commit apart)."""
        transaction = conn.transaction(isolation="serializable")
        await transaction.start()
        try:
            result = await job(repo)
        except BaseException:
            await transaction.rollback()
            raise
        started = time.perf_counter()
        await transaction.commit()
        if self.commit_observer is not None:
            self.commit_observer(time.perf_counter() - started, None)
        return result

    def _announce(self, frames: Sequence[Frame]) -> None:
        if not frames:
            return
        for listener in self._listeners:
            try:
                listener(frames)
            except Exception:
                log.exception("commit listener failed")
