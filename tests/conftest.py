"""Shared fixtures: settings on a temp dir, a real store (SQLite, or PostgreSQL where a test asks
for both), a real uvicorn on a free port."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn

from panel.actions import Actions
from panel.app import create_app
from panel.clock import FakeClock
from panel.config import Settings
from panel.domain import Actor
from panel.services import Services
from panel.store import Store, store_for_url
from tests.pgdb import scratch_schema

T = TypeVar("T")
REDIS_URL = os.environ.get("LIVEPANEL_TEST_REDIS", "redis://127.0.0.1:6379/0")
EDITOR = Actor("editor", 0, "test-editor")
# 15 September 2026 is British Summer Time: 13:00 in London is 12:00 UTC.
EVENT_START = datetime(2026, 9, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The test's database: a SQLite file in its temp dir, or, for tests marked with
    `pgdb.BOTH_STORES` (parametrized "postgresql"), a PostgreSQL schema of its own."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield f"sqlite:///{tmp_path}/livepanel.db"
        return
    with scratch_schema() as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(
        db_url=db_url,
        secret="test-secret-not-for-production",
        uploads_dir=tmp_path / "uploads",
        presence_interval=0.2,
    )


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The shared test Redis: required in CI, skipped (with the reason) elsewhere if away."""
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except redis.RedisError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs Redis at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} is not reachable ({exc}); CI requires it")
    return REDIS_URL


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key and channel prefix of this test's own (Redis is shared); its keys go after."""
    import redis

    prefix = f"livepanel-test-{secrets.token_hex(6)}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def clock() -> FakeClock:
    """Half an hour into the first slot of the standard test event."""
    return FakeClock(EVENT_START + timedelta(minutes=30))


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    s = store_for_url(settings.db_url)
    await s.open()
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
def actions(store: Store, clock: FakeClock, settings: Settings) -> Actions:
    return Actions(store, clock, settings)


async def seed_event(
    actions: Actions,
    *,
    slug: str = "probation",
    start: datetime = EVENT_START,
    moderation: str = "pre",
    status: str = "scheduled",
) -> dict[str, Any]:
    """A three-hour event, three one-hour slots, two core panelists and one per slot."""
    hour = timedelta(hours=1)
    event_id = await actions.create_event(
        slug=slug,
        title="Working and training as a probation officer",
        starts_at=start,
        ends_at=start + 3 * hour,
        moderation=moderation,
        status=status,
        slots=[(f"Slot {i + 1}", start + i * hour, start + (i + 1) * hour) for i in range(3)],
    )
    async with actions.store.read() as repo:
        slots = await repo.slots(event_id)
    core = [
        await actions.add_panelist(event_id, name, "Probation officer", "Bio.")
        for name in ("Maria Ashdown", "Jenna Holt")
    ]
    slotted = [
        await actions.add_panelist(event_id, name, "Officer", "Bio.", slot.id)
        for name, slot in zip(("Sandra Kemp", "Kerry Dale", "Chloe Lam"), slots, strict=True)
    ]
    return {
        "id": event_id,
        "slug": slug,
        "slots": [s.id for s in slots],
        "core": core,
        "slotted": slotted,
    }


class LiveServer:
    """A real uvicorn serving create_app(settings, clock) on 127.0.0.1, in its own thread."""

    def __init__(self, settings: Settings, clock: FakeClock) -> None:
        self.clock = clock
        self.app = create_app(settings, clock)
        self.services: Services = self.app.state.services
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            lifespan="on",
            ws_max_size=settings.ws_max_message_bytes,
            timeout_graceful_shutdown=2,
            # As `livepanel serve`: the app, not uvicorn, decides whom to believe about
            # X-Forwarded-For (LIVEPANEL_TRUSTED_PROXIES, panel/web/proxies.py).
            proxy_headers=False,
        )
        self.server = uvicorn.Server(config)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(self.server.serve(sockets=[self.sock]))

    def start(self, timeout: float = 15.0) -> None:
        self.thread.start()
        deadline = threading.Event()
        for _ in range(int(timeout / 0.05)):
            if self.server.started:
                return
            if not self.thread.is_alive():
                break
            deadline.wait(0.05)
        raise RuntimeError("the test server did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()

    def call(self, make: Callable[[], Awaitable[T]], timeout: float = 15.0) -> T:
        """Run a coroutine on the server's loop (its store lives there) and return the result."""
        assert self.loop is not None

        async def run() -> T:
            return await make()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout)

    async def acall(self, make: Callable[[], Awaitable[T]], timeout: float = 15.0) -> T:
        return await asyncio.to_thread(self.call, make, timeout)

    @property
    def actions(self) -> Actions:
        return self.services.actions


@pytest.fixture
def server(settings: Settings, clock: FakeClock) -> Iterator[LiveServer]:
    live = LiveServer(settings, clock)
    live.start()
    try:
        yield live
    finally:
        live.stop()


async def wait_for(
    check: Callable[[], Any],
    timeout: float = 10.0,
    interval: float = 0.02,
    message: str = "condition",
) -> Any:
    """Poll `check` (sync or async) until it returns something truthy, or fail at the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        await asyncio.sleep(interval)
