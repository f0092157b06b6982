"""What every group of queries stands on: a connection that runs `:name`-style statements."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from panel.domain import Frame, RuleError, iso
from panel.store.cache import MISSING, WriterCache

T = TypeVar("T")

Row = Mapping[str, Any]

# Columns that the generic UPDATE may set, per table (never names from user input).
EDITABLE = {
    "events": {
        "slug",
        "title",
        "summary",
        "intro_md",
        "related_json",
        "starts_at",
        "ends_at",
        "timezone",
        "moderation",
        "slow_mode_seconds",
        "blocked_terms",
    },
    "panelists": {"name", "role", "bio", "photo"},
    "questions": {
        "status",
        "body",
        "pinned",
        "merged_into",
        "answered",
        "directed_to",
        "reject_reason",
        "upvotes",
        "held_reason",
        "merge_undo",
        "public_reason",
    },
    "answers": {"body_md", "body_html", "status"},
}


class Conn(Protocol):
    """What a backend must provide: run one statement with named parameters."""

    async def fetchall(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]: ...

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int: ...


def in_range(params: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """Refuse whole numbers a 64-bit column cannot hold (an id like /questions/99999999999999999999)
    before they reach the database: "no such item", never a driver error."""
    for value in (params or {}).values():
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            raise RuleError("not_found", "No such item: a number in the request is out of range.")
    return params or {}


def in_list(name: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """`(:name0, :name1, …)` and its parameters: a list bound value by value, never spliced.

    An empty list gives `(NULL)`, which matches nothing."""
    params = {f"{name}{i}": value for i, value in enumerate(values)}
    return "(" + (", ".join(f":{key}" for key in params) or "NULL") + ")", params


class Rows:
    """Queries on one connection. In a write, `frames` collects what the change appended.

    `dialect` is the backend's declared SQL dialect ("sqlite"); only archive search uses it.
    `cache`, given only to the SQLite writer's jobs, keeps the lookups nearly every write
    repeats (see panel/store/cache.py); the connection forgets what each write changes."""

    def __init__(
        self, conn: Conn, dialect: str = "sqlite", cache: WriterCache | None = None
    ) -> None:
        self.conn = conn
        self.dialect = dialect
        self.cache = cache
        self.frames: list[Frame] = []

    async def _memo(self, kind: str, key: Any, load: Callable[[], Awaitable[T]]) -> T:
        """`load()`, or what it gave last time for (kind, key) while the cache holds it."""
        if self.cache is None:
            return await load()
        value = self.cache.get(kind, key)
        if value is MISSING:
            value = await load()
            self.cache.put(kind, key, value)
        return value  # type: ignore[no-any-return]

    async def _one(self, sql: str, **params: Any) -> Row | None:
        rows = await self.conn.fetchall(sql, params)
        return rows[0] if rows else None

    async def _all(self, sql: str, **params: Any) -> list[Row]:
        return await self.conn.fetchall(sql, params)

    async def _update(
        self, table: str, row_id: int, fields: dict[str, Any], now: datetime | None
    ) -> None:
        """UPDATE one row's columns (named by our code, checked against EDITABLE)."""
        assert fields and set(fields) <= EDITABLE[table], fields
        values = {k: iso(v) if isinstance(v, datetime) else v for k, v in fields.items()}
        if now is not None:
            values["updated_at"] = iso(now)
        sets = ", ".join(f"{name} = :{name}" for name in sorted(values))
        await self.conn.execute(
            f"UPDATE {table} SET {sets} WHERE id = :id", {**values, "id": row_id}
        )

    async def ping(self) -> bool:
        return await self._one("SELECT 1 AS ok") is not None
