"""Numbered schema migrations, one folder per SQL dialect."""

from __future__ import annotations

import re
import sqlite3
from importlib import resources

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
