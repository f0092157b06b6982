"""Three `livepanel serve` processes on one PostgreSQL schema and one Redis, as one site, and
what happens to the readers spread over them when a process dies, when Redis goes away and
comes back, and when an editor signs out on one of them. Real subprocesses throughout."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from websockets.asyncio.client import connect

from tests.conftest import wait_for
from tests.livehelpers import WS_OPTIONS, Frame, Reader, assert_gapless, csrf_from
from tests.pgdb import scratch_schema
from tests.test_cli import LIVE_SLUG, free_port
from tests.test_scale_out import Serve, ask, demo_site, editor_on, serving

REDIS_SERVER = "/usr/bin/redis-server"
# Every message kept by the client until the test reads it: no back-pressure on the server.
UNBOUNDED = {**WS_OPTIONS, "max_queue": None}


@pytest.fixture
def pg_db() -> Iterator[str]:
    with scratch_schema() as url:
        yield url


class Follower:
    """One reader across its sockets: when one closes, it reconnects with `since=` the last
    seq it saw. Its frames are those of every socket it had, in the order received."""

    def __init__(self, since: int) -> None:
        self.since = since
        self.sockets: list[Reader] = []

    @property
    def reader(self) -> Reader:
        return self.sockets[-1]

    @property
    def logged(self) -> list[Frame]:
        return [f for socket in self.sockets for f in socket.logged]

    @property
    def last_seq(self) -> int:
        seqs = [f["seq"] for f in self.logged]
        return seqs[-1] if seqs else self.since

    async def connect(self, server: Serve) -> None:
        url = f"{server.ws_url}/events/{LIVE_SLUG}/live?since={self.last_seq}"
        self.sockets.append(Reader(await connect(url, **UNBOUNDED)))

    async def until_seq(self, seq: int, timeout: float = 30.0) -> None:
        await self.reader.until(lambda _: self.last_seq >= seq, timeout, f"seq {seq}")

    async def gapless_to(self, start: int, end: int) -> None:
        await self.until_seq(end)
        assert_gapless(self.logged, start, end)

    async def close(self) -> None:
        for socket in self.sockets:
            await socket.close()


@contextlib.asynccontextmanager
async def followers(servers: list[Serve], each: int, since: int) -> AsyncIterator[list[Follower]]:
    """`each` readers on every server, in the order of the servers."""
    spread = [Follower(since) for _ in range(each * len(servers))]
    try:
        for i, follower in enumerate(spread):
            await follower.connect(servers[i // each])
        yield spread
    finally:
        for follower in spread:
            await follower.close()


class Producer:
    """Rounds of frames, one after another until stopped: a new reader asks on `asker`
    (JSON API), `approver` approves, `answerer` answers; every request must be acknowledged."""

    def __init__(
        self, asker: Serve, approver: httpx.AsyncClient, answerer: httpx.AsyncClient
    ) -> None:
        self.asker, self.approver, self.answerer = asker, approver, answerer
        self.rounds = 0
        self.asked: list[int] = []
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def round(self) -> None:
        async with httpx.AsyncClient(timeout=15) as person:
            asked = await ask(person, self.asker, f"Question {self.rounds}?")
        assert asked.status_code == 201, asked.text
        self.asked.append(asked.json()["id"])
        question = f"/api/v1/questions/{self.asked[-1]}"
        approved = await self.approver.post(f"{question}/moderate", json={"action": "approve"})
        assert approved.status_code == 200, approved.text
        answered = await self.answerer.post(f"{question}/answers", json={"body": "An answer."})
        assert answered.status_code == 201, answered.text
        self.rounds += 1

    async def _run(self, limit: int) -> None:
        while not self.stop.is_set():
            assert self.rounds < limit, "the test did not stop the producer"
            await self.round()

    @contextlib.asynccontextmanager
    async def running(self, limit: int = 20) -> AsyncIterator[None]:
        """Rounds in the background until the block ends (the readers' IP may ask 30
        questions a minute: `limit` stays well under that)."""
        self.task = asyncio.create_task(self._run(limit))
        try:
            yield
        finally:
            self.stop.set()
            await self.task

    async def more(self, rounds: int) -> None:
        """Wait until `rounds` more rounds are done (a failed round fails at once)."""
        target = self.rounds + rounds

        def done() -> bool:
            if self.task is not None and self.task.done():
                self.task.result()  # its error, if it failed
            return self.rounds >= target

        await wait_for(done, timeout=60, message=f"round {target}")


async def last_seq(server: Serve) -> int:
    async with httpx.AsyncClient(timeout=15) as client:
        response = await client.get(f"{server.url}/api/v1/events/{LIVE_SLUG}")
    assert response.status_code == 200, response.text
    return int(response.json()["last_seq"])


@dataclass
class Site:
    servers: list[Serve]
    start: int  # the event's last seq before the test's frames
    spread: list[Follower]  # two readers on each process, in the order of the processes
    editors: list[httpx.AsyncClient]  # an editor signed in on each process named


@contextlib.asynccontextmanager
async def three_processes(
    tmp_path: Path, db: str, redis_url: str, redis_prefix: str, editors_on: tuple[int, ...]
) -> AsyncIterator[Site]:
    site = demo_site(tmp_path, db, redis_url, redis_prefix)
    with serving(tmp_path, 3, site["args"], site["env"]) as servers:
        for server in servers:
            await server.ready()
        start = await last_seq(servers[0])
        async with contextlib.AsyncExitStack() as stack:
            spread = await stack.enter_async_context(followers(servers, 2, start))
            editors = [
                await stack.enter_async_context(editor_on(servers[i], site["password"]))
                for i in editors_on
            ]
            yield Site(servers, start, spread, editors)


# -- 1. one question through three processes ----------------------------------------------------
async def test_asked_on_one_approved_on_another_answered_on_the_third(
    tmp_path: Path, pg_db: str, redis_url: str, redis_prefix: str
) -> None:
    async with three_processes(tmp_path, pg_db, redis_url, redis_prefix, (1, 2)) as site:
        (a, _, c), start, spread = site.servers, site.start, site.spread
        producer = Producer(a, *site.editors)
        for _ in range(3):
            await producer.round()
        end = await last_seq(c)
        assert end == start + 2 * 3  # an approval and an answer: one frame each
        for follower in spread:
            await follower.gapless_to(start + 1, end)
        frames = spread[0].logged
        assert [f["type"] for f in frames] == ["question.published", "answer.published"] * 3
        assert [f["data"]["question"]["id"] for f in frames[0::2]] == producer.asked


# -- 2. kill -9 one process mid-stream ----------------------------------------------------------
async def test_readers_of_a_killed_process_reconnect_elsewhere_and_miss_nothing(
    tmp_path: Path, pg_db: str, redis_url: str, redis_prefix: str
) -> None:
    async with three_processes(tmp_path, pg_db, redis_url, redis_prefix, (1, 0)) as site:
        (a, b, c), start, spread = site.servers, site.start, site.spread
        producer = Producer(a, *site.editors)  # through A and B only: C is the one to die
        on_c = spread[4:]
        async with producer.running():
            for follower in on_c:  # C is serving the stream when it dies
                await follower.until_seq(start + 2)
            c.kill()
            for follower in on_c:
                assert await follower.reader.close_code() in (None, 1006)
            seen_on_c = max(f.last_seq for f in on_c)
            for i, follower in enumerate(on_c):
                await follower.connect((a, b)[i % 2])
            await producer.more(3)  # frames after the kill, some while they reconnected
        end = await last_seq(a)
        assert end == start + 2 * producer.rounds
        assert end > seen_on_c  # frames came after C died
        for follower in spread:
            await follower.gapless_to(start + 1, end)
        assert all(len(f.sockets) == 2 for f in on_c)


# -- 3. Redis restarted mid-stream --------------------------------------------------------------
class PrivateRedis:
    """A redis-server of the test's own (the shared one is never restarted), on a fixed port
    across restarts, with no persistence: it comes back empty."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = tmp_path / "redis"
        self.dir.mkdir()
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir)]
        with (self.dir / "redis.log").open("a") as out:
            self.proc = subprocess.Popen(
                [REDIS_SERVER, *args, "--save", "", "--appendonly", "no"],
                stdout=out,
                stderr=subprocess.STDOUT,
            )

        def answers() -> bool:
            assert self.proc is not None and self.proc.poll() is None, "redis-server exited"
            client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False
            finally:
                client.close()

        await wait_for(answers, timeout=15, interval=0.05, message="the private Redis")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=15)


@pytest.fixture
async def private_redis(tmp_path: Path) -> AsyncIterator[PrivateRedis]:
    if not Path(REDIS_SERVER).exists():
        pytest.skip(f"{REDIS_SERVER} is not installed")
    server = PrivateRedis(tmp_path)
    await server.start()
    try:
        yield server
    finally:
        server.kill()


async def test_a_redis_restart_mid_stream_loses_no_frame(
    tmp_path: Path, pg_db: str, private_redis: PrivateRedis
) -> None:
    async with three_processes(
        tmp_path, pg_db, private_redis.url, "livepanel-private:", (1, 2)
    ) as site:
        (a, b, c), start, spread = site.servers, site.start, site.spread
        producer = Producer(a, *site.editors)
        async with producer.running():
            await spread[-1].until_seq(start + 2)  # frames before the outage
            private_redis.kill()
            # Serving on without Redis: every POST of three more rounds acknowledged.
            await producer.more(3)
            assert await last_seq(b) >= start + 2 * 3
            await private_redis.start()
            await producer.more(2)
        end = await last_seq(c)
        assert end == start + 2 * producer.rounds
        for follower in spread:
            await follower.gapless_to(start + 1, end)
        assert all(len(f.sockets) == 1 for f in spread)  # the same sockets throughout
    for server in site.servers:
        assert "Redis subscription lost" in server.log.read_text()


# -- 4. signing out on one process --------------------------------------------------------------
async def test_a_cookie_signed_out_on_one_process_is_refused_by_the_others_at_once(
    tmp_path: Path, pg_db: str, redis_url: str, redis_prefix: str
) -> None:
    site = demo_site(tmp_path, pg_db, redis_url, redis_prefix)
    with serving(tmp_path, 3, site["args"], site["env"]) as servers:
        for server in servers:
            await server.ready()
        a, b, c = servers
        async with httpx.AsyncClient(timeout=15) as person:
            asked = await ask(person, a, "Still pending?")
        assert asked.status_code == 201, asked.text
        moderate = f"/api/v1/questions/{asked.json()['id']}/moderate"
        async with (
            editor_on(a, site["password"]) as editor,
            httpx.AsyncClient(base_url=b.url, timeout=15) as copy_b,
            httpx.AsyncClient(base_url=c.url, timeout=15) as copy_c,
        ):
            for copy in (copy_b, copy_c):
                copy.cookies.set("livepanel", editor.cookies.get("livepanel") or "")
                assert (await copy.get("/desk")).status_code == 200
                assert (await copy.get("/api/v1/me")).json()["editor"] is not None
            home = await editor.get("/desk")
            out = await editor.post("/desk/logout", data={"csrf_token": csrf_from(home.text)})
            assert out.status_code == 303
            # At once: no waiting for anything to propagate.
            refused = await copy_b.get("/desk")
            assert refused.status_code == 303
            assert refused.headers["location"].endswith("/desk/login")
            assert (await copy_c.get("/api/v1/me")).json()["editor"] is None
            denied = await copy_c.post(moderate, json={"action": "approve"})
            assert denied.status_code == 401, denied.text
            assert (await copy_c.get("/desk")).status_code == 303
            assert (await copy_b.post(moderate, json={"action": "approve"})).status_code == 401
