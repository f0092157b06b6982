"""Storage: one Store interface, a backend chosen by the database URL's scheme."""

from __future__ import annotations

from panel.store.base import Store, StoreError, display_url
from panel.store.repo import Repo

__all__ = ["Repo", "Store", "StoreError", "display_url", "store_for_url"]


def store_for_url(url: str) -> Store:
    """The backend for `url`; raises StoreError with one clear line for a URL it cannot use."""
    if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        from panel.store.sqlite import SQLiteStore

        return SQLiteStore(url)
    if url.startswith(("postgresql://", "postgres://")):
        try:
            from panel.store.postgres import PostgresStore
        except ImportError:
            raise StoreError(
                "PostgreSQL needs the asyncpg driver: pip install 'livepanel[postgres]'"
            ) from None
        return PostgresStore(url)
    raise StoreError(
        f"unsupported database URL {display_url(url)!r}: expected sqlite:///path/to/file.db "
        "or postgresql://user@host:port/db"
    )
