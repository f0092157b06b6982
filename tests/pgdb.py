"""A PostgreSQL schema of its own for each test that asks for one.

The server at 127.0.0.1:5432 is shared (other test runs, other branches), so a test never
assumes anything about it: it gets a fresh schema, reached through a URL whose
`?search_path=` every pooled connection applies, and the schema is dropped afterwards.
Required when CI=true; skipped with the reason locally when PostgreSQL is unreachable.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest

PG_URL = os.environ.get("LIVEPANEL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
# Run a test on both stores: @BOTH_STORES (the `db_url` fixture is parametrized indirectly).
BOTH_STORES = pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)


def unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (PostgreSQL tests are required when CI=true)")
    pytest.skip(reason)


def admin(work: Callable[[Any], Awaitable[Any]], url: str = PG_URL) -> Any:
    """`work(connection)` on a short-lived connection to `url`, on an event loop of its own
    in a thread: usable from sync fixtures, and from a test's loop as an outside observer."""
    try:
        import asyncpg
    except ImportError:
        unavailable("asyncpg is not installed: pip install -e '.[postgres]'")

    async def run() -> Any:
        conn = await asyncpg.connect(url, timeout=5)
        try:
            return await work(conn)
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as pool:
        try:
            return pool.submit(asyncio.run, run()).result(60)
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
            unavailable(f"PostgreSQL is not reachable at {url}: {exc}")


def schema_url(schema: str) -> str:
    return f"{PG_URL}{'&' if '?' in PG_URL else '?'}search_path={schema}"


@contextmanager
def scratch_schema() -> Iterator[str]:
    """The URL of a new, empty schema; the schema is dropped on the way out."""
    schema = f"lp_test_{secrets.token_hex(6)}"
    admin(lambda conn: conn.execute(f"CREATE SCHEMA {schema}"))
    try:
        yield schema_url(schema)
    finally:

        async def drop(conn: Any) -> None:
            await conn.execute("SET lock_timeout = '20s'")  # never hang on a leaked connection
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")

        admin(drop)
