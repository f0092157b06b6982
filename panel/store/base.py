"""The Store interface every backend implements."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

from panel.domain import Frame
from panel.store.repo import Repo

T = TypeVar("T")
CommitListener = Callable[[Sequence[Frame]], None]
# Told how long each COMMIT took and how many writes it committed (None: one write on its
# own, as on PostgreSQL), for /metrics (panel/metrics.py). May be called on another thread.
CommitObserver = Callable[[float, int | None], None]


class StoreError(RuntimeError):
    """The database cannot be opened or reached; the message is one clear line."""


def display_url(url: str) -> str:
    """A database URL as it may appear in messages and logs: without its password."""
    try:
        parts = urlsplit(url)
    except ValueError:  # cannot be taken apart (a broken IPv6 host): hide what may be secret
        _, at, host = url.rpartition("@")
        return f"***@{host}" if at else url
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


class Store(Protocol):
    url: str
    # The SQL dialect the backend speaks ("sqlite", "postgresql"): it picks the migrations
    # folder and the archive search statements, and is handed to every Repo.
    dialect: str
    commit_observer: CommitObserver | None

    async def open(self) -> None:
        """Connect and apply pending migrations."""

    async def close(self) -> None: ...

    def read(self) -> AbstractAsyncContextManager[Repo]:
        """A repo on a read connection (sees committed data only)."""

    async def write(self, job: Callable[[Repo], Awaitable[T]]) -> T:
        """Run `job` in a transaction; return once it is committed (durably)."""

    def on_commit(self, listener: CommitListener) -> None:
        """Call `listener` with the frames of each committed write, in seq order."""

    async def migrate(self) -> list[int]:
        """Apply pending migrations; return the versions applied."""

    def queue_depth(self) -> int | None:
        """Writes waiting for the writer now; None for a backend with no queue of its own."""
