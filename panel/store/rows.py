"""What every group of queries stands on: a connection that runs `:name`-style statements."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from panel.domain import Frame

Row = Mapping[str, Any]


class Conn(Protocol):
    """What a backend must provide: run one statement with named parameters."""

    async def fetchall(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]: ...

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int: ...


class Rows:
    """Queries on one connection. In a write, `frames` collects what the change appended."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self.frames: list[Frame] = []

    async def _one(self, sql: str, **params: Any) -> Row | None:
        rows = await self.conn.fetchall(sql, params)
        return rows[0] if rows else None

    async def _all(self, sql: str, **params: Any) -> list[Row]:
        return await self.conn.fetchall(sql, params)
