"""Numbered schema migrations, one folder per SQL dialect."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from importlib import resources
from typing import TYPE_CHECKING

from panel.domain import iso

if TYPE_CHECKING:
    from panel.store.rows import Conn

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def load_migrations(dialect: str) -> list[tuple[int, str]]:
    """(version, sql) pairs in version order; SQLite files sit at the top of the folder."""
    folder = resources.files(__package__)
    if dialect != "sqlite":
        folder = folder / dialect
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    versions = [version for version, _ in found]
    if len(versions) != len(set(versions)):
        raise RuntimeError(f"two {dialect} migrations share a number: {sorted(versions)}")
    return sorted(found)


def split_statements(sql: str) -> list[str]:
    """Split a script into whole statements (so they run inside our own transaction)."""
    statements, buffer = [], ""
    for line in sql.splitlines(keepends=True):
        if not buffer and (not line.strip() or line.lstrip().startswith("--")):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements


async def apply_pending(
    conn: Conn, dialect: str, run_script: Callable[[str], Awaitable[object]]
) -> list[int]:
    """Run the dialect's migrations that schema_migrations does not list yet, in order, and
    record each; returns the versions applied. The caller holds the transaction, and the lock
    that keeps other processes from migrating at the same time."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations"
        " (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    done = {r["version"] for r in await conn.fetchall("SELECT version FROM schema_migrations")}
    applied: list[int] = []
    for version, sql in load_migrations(dialect):
        if version in done:
            continue
        await run_script(sql)
        await conn.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (:v, :at)",
            {"v": version, "at": iso(datetime.now(UTC))},
        )
        applied.append(version)
    return applied
