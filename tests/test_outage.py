"""PostgreSQL lost while serving: requests get a clear 503 with Retry-After, nothing is
acknowledged that is not committed, and once the server is back requests work again."""

from __future__ import annotations

from typing import Any

import pytest

from panel.store import StoreError
from panel.store.postgres import PostgresStore
from tests.conftest import LiveServer
from tests.livehelpers import client_for, questions_in_store, seed_live

POSTGRES_ONLY = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
NOWHERE = "postgresql://postgres@127.0.0.1:1/test"  # nothing listens on port 1


async def point_store_at(server: LiveServer, dsn: str) -> None:
    """New connections of the server's pool go to `dsn`; the ones it has are dropped."""

    async def repoint() -> None:
        store = server.services.store
        assert isinstance(store, PostgresStore)
        pool = store._open_pool()
        pool.set_connect_args(dsn, timeout=2)
        await pool.expire_connections()

    await server.acall(repoint)


@POSTGRES_ONLY
async def test_a_lost_database_gives_503_with_retry_after_and_stores_nothing(
    server: LiveServer,
) -> None:
    event: dict[str, Any] = await seed_live(server)
    url = f"/api/v1/events/{event['slug']}/questions"
    await point_store_at(server, NOWHERE)
    try:
        async with client_for(server) as reader:
            refused = await reader.post(
                url, json={"body": "Is anyone there?"}, headers={"Idempotency-Key": "k-1"}
            )
            assert refused.status_code == 503, refused.text
            assert refused.headers["retry-after"] == "5"
            assert refused.json()["error"]["code"] == "unavailable"
            assert set(refused.json()) == {"error"}
            assert refused.json()["error"]["message"]

            page = await reader.get("/events/no-such-event")  # a page that reads the store
            assert page.status_code == 503
            assert page.headers["retry-after"] == "5"
            assert page.headers["content-type"].startswith("text/html")

            async def write_directly() -> None:
                await server.services.store.write(lambda repo: repo.frames_since(1, 0))

            with pytest.raises(StoreError, match="cannot reach database"):
                await server.acall(write_directly)
    finally:
        await point_store_at(server, server.services.store.url)

    assert await questions_in_store(server, event["id"]) == []  # nothing was acknowledged
    async with client_for(server) as reader:
        retried = await reader.post(
            url, json={"body": "Is anyone there?"}, headers={"Idempotency-Key": "k-1"}
        )
        assert retried.status_code == 201, retried.text
    assert [q.body for q in await questions_in_store(server, event["id"])] == ["Is anyone there?"]
