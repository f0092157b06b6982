"""`livepanel copy-db`: a whole site from one database to another (SQLite and PostgreSQL,
either way), nothing lost, ids and the event logs' seq continuing where they were.

The tables and their columns are read from the two migrated schemas, not listed here, so a
new migration is copied without a change to this module. What a store derives itself is
left out: SQLite's FTS5 index (a virtual table and its shadow tables, refilled by the
archive_items triggers as the rows arrive) and PostgreSQL's generated tsvector column
(computed on insert). schema_migrations is not copied either: both sides must already be at
the latest version this code knows.

The source is read in one snapshot (a read transaction), in batches; the target is written
in one transaction, tables in foreign-key order. A column that refers to its own table
(questions.merged_into) is written NULL first and set once the whole table is in. Then
PostgreSQL's identity sequences are moved past the largest id (SQLite's INTEGER PRIMARY KEY
needs nothing). Writes the source takes after the snapshot are not copied: stop the servers
first.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from panel.store import store_for_url
from panel.store.base import StoreError, display_url
from panel.store.migrations import load_migrations

BATCH = 1000  # rows read and written at a time
# schema_migrations: equal on both sides, checked rather than copied; leases and desk_presence:
# runtime state of the source's processes and desks, meaningless to the target's.
SKIPPED = {"schema_migrations", "leases", "desk_presence"}
# (table, column, referenced table, referenced column) of one single-column foreign key.
ForeignKey = tuple[str, str, str, str]
Progress = Callable[[str, int], None]


class CopyError(StoreError):
    """The copy cannot start or failed; the message is one clear line."""


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Side(Protocol):
    dialect: str
    url: str

    async def versions(self) -> set[int] | None: ...
    async def tables(self) -> list[str]: ...
    async def columns(self, table: str) -> list[str]: ...
    async def foreign_keys(self) -> list[ForeignKey]: ...
    async def has_rows(self, table: str) -> bool: ...
    def batches(
        self, table: str, columns: Sequence[str]
    ) -> AsyncIterator[list[tuple[Any, ...]]]: ...
    async def insert(
        self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
    ) -> None: ...
    async def set_column(
        self, table: str, column: str, key: str, pairs: list[tuple[Any, Any]]
    ) -> None: ...
    async def finish(self, tables: Sequence[str]) -> None: ...
    async def close(self, commit: bool) -> None: ...


class SQLiteSide:
    dialect = "sqlite"

    def __init__(self, url: str, db: sqlite3.Connection) -> None:
        self.url = url
        self.db = db

    @classmethod
    def open(cls, url: str, *, write: bool) -> SQLiteSide:
        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_file():
            raise CopyError(f"no database at {url}")
        try:
            if write:
                db = sqlite3.connect(path, isolation_level=None)
                db.execute("PRAGMA busy_timeout = 5000")
                db.execute("PRAGMA foreign_keys = ON")
                db.execute("BEGIN IMMEDIATE")
            else:
                db = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
                db.isolation_level = None
                db.execute("BEGIN")  # the snapshot is taken by the first read, just below
                db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            raise CopyError(f"cannot open database {url}: {exc}") from None
        return cls(url, db)

    async def versions(self) -> set[int] | None:
        if not self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        ).fetchone():
            return None
        return {r[0] for r in self.db.execute("SELECT version FROM schema_migrations")}

    async def tables(self) -> list[str]:
        rows = self.db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
        virtual = [n for n, sql in rows if sql.upper().startswith("CREATE VIRTUAL TABLE")]
        return sorted(
            name
            for name, _ in rows
            if name not in SKIPPED and not any(name.startswith(v) for v in virtual)
        )

    async def columns(self, table: str) -> list[str]:
        # table_xinfo's `hidden` is 2 or 3 for generated columns (none today).
        rows = self.db.execute(f"PRAGMA table_xinfo({_quote(table)})").fetchall()
        return [r[1] for r in rows if r[6] == 0]

    async def foreign_keys(self) -> list[ForeignKey]:
        found = []
        for table in await self.tables():
            for row in self.db.execute(f"PRAGMA foreign_key_list({_quote(table)})"):
                found.append((table, row[3], row[2], row[4]))
        return found

    async def has_rows(self, table: str) -> bool:
        return self.db.execute(f"SELECT 1 FROM {_quote(table)} LIMIT 1").fetchone() is not None

    async def batches(
        self, table: str, columns: Sequence[str]
    ) -> AsyncIterator[list[tuple[Any, ...]]]:
        names = ", ".join(map(_quote, columns))
        cursor = self.db.execute(f"SELECT {names} FROM {_quote(table)} ORDER BY rowid")
        while batch := cursor.fetchmany(BATCH):
            yield batch

    async def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        names = ", ".join(map(_quote, columns))
        marks = ", ".join("?" for _ in columns)
        self.db.executemany(f"INSERT INTO {_quote(table)} ({names}) VALUES ({marks})", rows)

    async def set_column(
        self, table: str, column: str, key: str, pairs: list[tuple[Any, Any]]
    ) -> None:
        self.db.executemany(
            f"UPDATE {_quote(table)} SET {_quote(column)} = ? WHERE {_quote(key)} = ?", pairs
        )

    async def finish(self, tables: Sequence[str]) -> None:
        bad = self.db.execute("PRAGMA foreign_key_check").fetchone()
        if bad:
            raise CopyError(f"the copy breaks a foreign key in table {bad[0]}")

    async def close(self, commit: bool) -> None:
        try:
            if self.db.in_transaction:
                self.db.execute("COMMIT" if commit else "ROLLBACK")
        finally:
            self.db.close()


class PostgresSide:
    dialect = "postgresql"

    def __init__(self, url: str, conn: Any, transaction: Any) -> None:
        self.url = url
        self.conn = conn
        self.transaction = transaction

    @classmethod
    async def open(cls, url: str, *, write: bool) -> PostgresSide:
        import asyncpg

        from panel.store.postgres import UNREACHABLE, _one_line

        try:
            conn = await asyncpg.connect(url, timeout=10)
        except (*UNREACHABLE, asyncpg.PostgresError) as exc:
            raise CopyError(f"cannot open database {display_url(url)}: {_one_line(exc)}") from None
        if write:
            transaction = conn.transaction()
        else:  # one snapshot for the whole copy
            transaction = conn.transaction(isolation="repeatable_read", readonly=True)
        await transaction.start()
        return cls(url, conn, transaction)

    async def versions(self) -> set[int] | None:
        if await self.conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
            return None
        return {r[0] for r in await self.conn.fetch("SELECT version FROM schema_migrations")}

    async def tables(self) -> list[str]:
        rows = await self.conn.fetch(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
        return sorted(r[0] for r in rows if r[0] not in SKIPPED)

    async def columns(self, table: str) -> list[str]:
        rows = await self.conn.fetch(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = $1"
            " AND is_generated = 'NEVER' ORDER BY ordinal_position",
            table,
        )
        return [r[0] for r in rows]

    async def foreign_keys(self) -> list[ForeignKey]:
        rows = await self.conn.fetch(
            "SELECT t.relname, a.attname, r.relname, ra.attname FROM pg_constraint c"
            " JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid"
            " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]"
            " JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1]"
            " WHERE c.contype = 'f' AND t.relnamespace = current_schema()::regnamespace"
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    async def has_rows(self, table: str) -> bool:
        return await self.conn.fetchval(f"SELECT 1 FROM {_quote(table)} LIMIT 1") is not None

    async def batches(
        self, table: str, columns: Sequence[str]
    ) -> AsyncIterator[list[tuple[Any, ...]]]:
        names = ", ".join(map(_quote, columns))
        batch: list[tuple[Any, ...]] = []
        async for record in self.conn.cursor(
            f"SELECT {names} FROM {_quote(table)}", prefetch=BATCH
        ):
            batch.append(tuple(record))
            if len(batch) == BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    async def insert(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        await self.conn.copy_records_to_table(table, records=rows, columns=list(columns))

    async def set_column(
        self, table: str, column: str, key: str, pairs: list[tuple[Any, Any]]
    ) -> None:
        await self.conn.executemany(
            f"UPDATE {_quote(table)} SET {_quote(column)} = $1 WHERE {_quote(key)} = $2", pairs
        )

    async def finish(self, tables: Sequence[str]) -> None:
        """Each identity (or serial) sequence continues after the largest id copied."""
        rows = await self.conn.fetch(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema()"
            " AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')"
        )
        for table, column in rows:
            if table not in tables:
                continue
            await self.conn.execute(
                f"SELECT setval(pg_get_serial_sequence($1, $2), coalesce(max({_quote(column)}),"
                f" 0) + 1, false) FROM {_quote(table)}",
                _quote(table),
                column,
            )

    async def close(self, commit: bool) -> None:
        try:
            if commit:
                await self.transaction.commit()
            else:
                await self.transaction.rollback()
        finally:
            await self.conn.close()


async def _open_side(url: str, *, write: bool) -> Side:
    store_for_url(url)  # one clear line for a URL no store can use
    if url.startswith("sqlite:///"):
        return SQLiteSide.open(url, write=write)
    return await PostgresSide.open(url, write=write)


def table_order(tables: Sequence[str], keys: Sequence[ForeignKey]) -> list[str]:
    """The tables with each after every table it refers to (references to itself aside)."""
    needs = {t: {ref for table, _, ref, _ in keys if table == t and ref != t} for t in tables}
    ordered: list[str] = []
    while needs:
        ready = sorted(t for t, refs in needs.items() if not refs - set(ordered))
        if not ready:
            raise CopyError(f"the foreign keys of tables {sorted(needs)} form a cycle")
        ordered += ready
        for t in ready:
            del needs[t]
    return ordered


async def _check_versions(source: Side) -> None:
    known = {version for version, _ in load_migrations(source.dialect)}
    found = await source.versions()
    where = display_url(source.url)
    if found == known:
        return
    if found and max(found) > max(known):
        raise CopyError(
            f"{where} is at schema version {max(found)}, newer than this Livepanel knows"
            f" ({max(known)}): upgrade Livepanel first"
        )
    version = f"at schema version {max(found)}" if found else "without a Livepanel schema"
    raise CopyError(
        f"{where} is {version}, not the latest ({max(known)}):"
        f" run `livepanel migrate --db {where}` first"
    )


async def _prepare_target(url: str) -> None:
    """Create the target's schema (at the latest version) if it has none yet."""
    store = store_for_url(url)
    await store.open()
    await store.close()


async def copy_database(source_url: str, target_url: str, progress: Progress) -> int:
    """Copy every row from `source_url` to the empty `target_url`; returns the rows copied.
    Raises CopyError (or StoreError) with one clear line, the target left as it was."""
    source = await _open_side(source_url, write=False)
    try:
        await _check_versions(source)
        await _prepare_target(target_url)
        target = await _open_side(target_url, write=True)
        done = False
        try:
            total = await _copy(source, target, progress)
            await target.finish(await target.tables())
            done = True
        finally:
            await target.close(commit=done)
    finally:
        await source.close(commit=False)
    return total


async def _copy(source: Side, target: Side, progress: Progress) -> int:
    tables = await target.tables()
    if tables != await source.tables():
        raise CopyError(
            f"the tables differ: {display_url(source.url)} has {await source.tables()},"
            f" {display_url(target.url)} has {tables}"
        )
    for table in tables:
        if await target.has_rows(table):
            raise CopyError(
                f"{display_url(target.url)} is not empty (table {table} has rows):"
                " copy-db writes only into an empty database"
            )
    keys = await target.foreign_keys()
    total = 0
    for table in table_order(tables, keys):
        columns = await target.columns(table)
        if set(columns) != set(await source.columns(table)):
            raise CopyError(f"the columns of table {table} differ between the two databases")
        # Columns that refer to this same table: NULL at first, set once every row is in.
        own = [(columns.index(col), ref_col) for t, col, ref, ref_col in keys if t == ref == table]
        later: list[list[tuple[Any, Any]]] = [[] for _ in own]
        count = 0
        async for batch in source.batches(table, columns):
            if own:
                rows = [list(row) for row in batch]
                for n, (index, ref_col) in enumerate(own):
                    key_index = columns.index(ref_col)
                    for row in rows:
                        if row[index] is not None:
                            later[n].append((row[index], row[key_index]))
                            row[index] = None
                batch = [tuple(row) for row in rows]
            await target.insert(table, columns, batch)
            count += len(batch)
        for (index, ref_col), pairs in zip(own, later, strict=True):
            if pairs:
                await target.set_column(table, columns[index], ref_col, pairs)
        progress(table, count)
        total += count
    return total
