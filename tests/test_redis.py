"""Several processes through one Redis: the broker, gaps filled from the log, audience counts
summed, and rate limits and lockouts shared. Real Redis (shared: each test has its own key
prefix), real uvicorn servers on one SQLite file, real WebSocket clients."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from panel.clock import FakeClock
from panel.config import Settings
from panel.live.broker import Message, mark, public_channel
from panel.live.redis_broker import RedisBroker, decode, encode
from panel.lockouts import MAX_FAILED_LOGINS
from panel.redis_client import connect
from panel.redis_limits import RedisLimiter, RedisLockouts
from panel.store import Repo, store_for_url
from tests.conftest import EDITOR, LiveServer, wait_for
from tests.livehelpers import Reader, assert_gapless, desk_login, post_as, seed_live

AT_MOST = 10.0  # seconds for anything to arrive


# -- the broker on its own -----------------------------------------------------------------------
@pytest.fixture
async def brokers(redis_url: str, redis_prefix: str) -> AsyncIterator[list[RedisBroker]]:
    """Two processes' brokers on one prefix, connected."""
    pair = [RedisBroker(redis_url, redis_prefix) for _ in range(2)]
    for broker in pair:
        await broker.start()
    try:
        await wait_for(lambda: all(b.connected for b in pair), message="both connected")
        yield pair
    finally:
        for broker in pair:
            await broker.stop()


async def take(messages: AsyncIterator[Message], n: int) -> list[Message]:
    return [await asyncio.wait_for(anext(messages), AT_MOST) for _ in range(n)]


def kill_subscription(redis_url: str, broker: RedisBroker) -> None:
    """CLIENT KILL the broker's subscription connection, as a Redis restart would."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        ids = [c["id"] for c in client.client_list() if c["name"] == broker.subscriber_name]
        assert len(ids) == 1, ids
        client.client_kill_filter(_id=ids[0])
    finally:
        client.close()


def test_messages_carry_seq_and_text_compactly() -> None:
    for message in (Message(12, '{"a":"b:c"}'), Message(None, "x:y:z"), Message(3, "")):
        assert decode(encode("abc", message)) == ("abc", message)
    assert encode("abc", Message(7, "{}")) == "abc:7:{}"


async def test_each_process_gets_each_message_once(brokers: list[RedisBroker]) -> None:
    a, b = brokers
    async with a.subscribe("event:1") as at_a, b.subscribe("event:1") as at_b:
        await a.publish("event:1", Message(1, "one"))
        await b.publish("event:1", Message(2, "two"))
        await a.publish("event:2", Message(1, "nobody follows this"))
        await b.publish("event:1", Message(None, "notice"))
        # Each process gets its own messages at once and the other's through Redis, so the
        # two may interleave either way (the hub orders public frames by seq).
        for messages in (at_a, at_b):
            got = [m.text for m in await take(messages, 3)]
            assert sorted(got) == ["notice", "one", "two"], "its own once (no echo), others once"
            assert got.index("two") < got.index("notice"), "one sender's order holds"
        await a.publish("event:1", mark(5))
        assert await take(at_a, 1) == [mark(5)], "a mark stays in its process"
        await b.publish("event:1", Message(3, "three"))
        assert await take(at_a, 1) == [Message(3, "three")]
    assert a.channels() == [] and b.channels() == []


async def test_a_lost_subscription_is_made_again_and_each_channel_marked(
    redis_url: str, brokers: list[RedisBroker]
) -> None:
    a, b = brokers
    async with a.subscribe("event:1") as at_a, a.subscribe("staff:1") as staff:
        kill_subscription(redis_url, a)
        # Whatever was published meanwhile is lost: the hub is told to look in the log.
        got = {(await take(at_a, 1))[0], (await take(staff, 1))[0]}
        assert got == {mark(None)}
        assert a.connections == 2 and a.connected
        await b.publish("event:1", Message(9, "after"))
        assert await take(at_a, 1) == [Message(9, "after")]


async def test_publishing_while_redis_is_away_neither_blocks_nor_fails() -> None:
    broker = RedisBroker("redis://127.0.0.1:1/0", "nowhere:")  # nothing listens there
    await broker.start()
    try:
        async with broker.subscribe("event:1") as messages:
            await asyncio.wait_for(broker.publish("event:1", Message(1, "one")), 1)
            assert await take(messages, 1) == [Message(1, "one")], "this process still gets it"
        assert not broker.connected and broker.unsent == 1
    finally:
        await broker.stop()


# -- limits and lockouts ----------------------------------------------------------------------
async def test_a_rate_limit_holds_across_processes(redis_url: str, redis_prefix: str) -> None:
    clients = [connect(redis_url) for _ in range(2)]
    try:
        one, two = (RedisLimiter(c, redis_prefix, "upvote", 3) for c in clients)
        assert [await one.retry_after("ip:1"), await two.retry_after("ip:1")] == [0, 0]
        assert await one.retry_after("ip:1") == 0
        assert 1 <= await two.retry_after("ip:1") <= 60, "the fourth hit, in either process"
        assert await two.retry_after("ip:2") == 0, "each key has its own count"
        await one.give_back("ip:1")  # a hit that turned out not to count, in either process
        assert await two.retry_after("ip:1") == 0
        assert await one.retry_after("ip:1") >= 1
    finally:
        for client in clients:
            await client.aclose()


async def test_limits_fall_back_to_this_process_while_redis_is_away(clock: FakeClock) -> None:
    client = connect("redis://127.0.0.1:1/0")
    try:
        limiter = RedisLimiter(client, "nowhere:", "upvote", 2)
        assert [await limiter.retry_after("ip:1") for _ in range(3)][-1] >= 1
        await limiter.give_back("ip:1")  # given back in this process's count
        assert await limiter.retry_after("ip:1") == 0
        lockouts = RedisLockouts(client, "nowhere:", clock)
        for _ in range(MAX_FAILED_LOGINS):
            await lockouts.failed("ghost", "10.0.0.1")
        assert (await lockouts.standing("ghost", "10.0.0.1")).refused
    finally:
        await client.aclose()


async def test_an_unknown_username_locks_across_processes(
    redis_url: str, redis_prefix: str, clock: FakeClock
) -> None:
    clients = [connect(redis_url) for _ in range(2)]
    try:
        one, two = (RedisLockouts(c, redis_prefix, clock) for c in clients)
        for attempt in range(MAX_FAILED_LOGINS - 1):
            await (one if attempt % 2 else two).failed("nobody", "10.0.0.1")
        for lockouts in (one, two):
            assert not (await lockouts.standing("nobody", "10.0.0.1")).refused
        await one.failed("nobody", "10.0.0.1")
        for lockouts in (one, two):
            assert (await lockouts.standing("nobody", "10.0.0.1")).refused
        assert not (await two.standing("somebody", "10.0.0.1")).refused
        assert not (await two.standing("nobody", "10.0.0.2")).refused, "another address"
    finally:
        for client in clients:
            await client.aclose()


# -- two app instances on one database and one Redis -----------------------------------------------
@pytest.fixture
def shared_settings(tmp_path: Path, redis_url: str, redis_prefix: str) -> Settings:
    return Settings(
        db_url=f"sqlite:///{tmp_path}/livepanel.db",
        redis_url=redis_url,
        redis_prefix=redis_prefix,
        secret="test-secret-not-for-production",
        uploads_dir=tmp_path / "uploads",
        presence_interval=0.2,
        upvotes_per_minute_ip=3,
    )


@pytest.fixture
def pair(shared_settings: Settings, clock: FakeClock) -> Iterator[list[LiveServer]]:
    servers: list[LiveServer] = []
    try:
        for _ in range(2):
            servers.append(LiveServer(shared_settings, clock))
            servers[-1].start()
        yield servers
    finally:
        for server in servers:
            server.stop()


def broker_of(server: LiveServer) -> RedisBroker:
    broker = server.services.broker
    assert isinstance(broker, RedisBroker)
    return broker


async def approve_all(server: LiveServer, ids: list[int]) -> None:
    for question_id in ids:
        await server.acall(lambda q=question_id: server.actions.moderate(q, "approve", EDITOR))


async def test_a_reader_on_one_process_gets_the_others_frames_once_in_order(
    pair: list[LiveServer],
) -> None:
    a, b = pair
    info = await seed_live(b)
    reader = await Reader.open(a, info["slug"], since=0)
    try:
        start = await reader.until_seq(1)
        questions = [await post_as(b, info["id"], f"r{i}", f"Question {i}?") for i in range(5)]
        await approve_all(b, [q.id for q in questions])
        last = start[-1]["seq"] + 5
        frames = await reader.until_seq(last)
        assert_gapless(frames, 1, last)
        assert [f["data"]["question"]["body"] for f in frames[-5:]] == [
            f"Question {i}?" for i in range(5)
        ]
        assert broker_of(a).connections == 1, "no reconnect was needed"
    finally:
        await reader.close()


async def test_frames_redis_never_carried_reach_readers_from_the_log(
    redis_url: str, pair: list[LiveServer], shared_settings: Settings
) -> None:
    """A frame committed without any publish (the missing last frame), and frames committed
    while a process's subscription was killed: every reader still gets each once, in order."""
    a, b = pair
    info = await seed_live(b)
    on_a = await Reader.open(a, info["slug"], since=0)
    on_b = await Reader.open(b, info["slug"], since=0)
    try:
        first = (await on_a.until_seq(1))[-1]["seq"]
        # Straight into the log: no process publishes it. The presence tick finds it.
        bare = store_for_url(shared_settings.db_url)
        await bare.open()
        try:

            async def job(repo: Repo) -> None:
                await repo.append_frame(info["id"], "question.withdrawn", {"id": 0}, a.clock.now())

            await bare.write(job)
        finally:
            await bare.close()
        for reader in (on_a, on_b):
            assert_gapless(await reader.until_seq(first + 1), 1, first + 1)
        assert a.services.hub.filled >= 1 and b.services.hub.filled >= 1, "read from the log"

        kill_subscription(redis_url, broker_of(a))
        questions = [await post_as(b, info["id"], f"k{i}", f"Killed {i}?") for i in range(3)]
        await approve_all(b, [q.id for q in questions])
        await wait_for(lambda: broker_of(a).connections == 2, message="a resubscribed")
        for reader in (on_a, on_b):
            assert_gapless(await reader.until_seq(first + 4), 1, first + 4)
        assert on_a.raw and all('"seq":' in m or "presence" in m for m in on_a.raw)
    finally:
        await on_a.close()
        await on_b.close()


def audiences(reader: Reader) -> list[int]:
    return [f["data"]["audience"] for f in reader.frames if f["type"] == "presence"]


async def test_the_audience_counts_readers_in_every_process(pair: list[LiveServer]) -> None:
    a, b = pair
    info = await seed_live(a)
    on_a = await Reader.open(a, info["slug"], since=0, reader="browser-a")
    others = [await Reader.open(b, info["slug"], 0, reader=f"browser-b{i}") for i in range(2)]
    try:
        await on_a.until(lambda _: audiences(on_a)[-1:] == [3], what="an audience of 3 on A")
        await others[0].close()
        await on_a.until(lambda _: audiences(on_a)[-1:] == [2], what="an audience of 2 on A")
        late = await Reader.open(a, info["slug"], since=0, reader="browser-late")
        try:
            first: Any = await late.until_type("presence")
            assert first["data"]["audience"] == 3, "a newcomer's own count includes B's"
        finally:
            await late.close()
    finally:
        await on_a.close()
        await others[1].close()


async def test_upvotes_per_address_are_limited_across_processes(pair: list[LiveServer]) -> None:
    a, b = pair
    info = await seed_live(a, moderation="post")
    questions = [await post_as(a, info["id"], f"u{i}", f"Upvote me {i}?") for i in range(4)]
    statuses = []
    for i, question in enumerate(questions):
        server = (a, b)[i % 2]
        async with httpx.AsyncClient(base_url=server.url, timeout=15) as client:
            response = await client.post(f"/api/v1/questions/{question.id}/upvote")
            statuses.append(response.status_code)
    assert statuses[:3] == [200, 200, 200] and statuses[3] == 429, statuses


async def test_an_unknown_username_locks_on_every_process(pair: list[LiveServer]) -> None:
    import re

    def error_of(html: str) -> str:
        match = re.search(r'id="login-error">([^<]*)<', html)
        return match.group(1) if match else ""

    messages = []
    for attempt in range(MAX_FAILED_LOGINS + 1):
        server = pair[attempt % 2]
        async with httpx.AsyncClient(base_url=server.url, timeout=15) as client:
            response = await desk_login(client, "ghost", "x" * 9)
            messages.append(error_of(response.text))
    assert messages[:MAX_FAILED_LOGINS] == ["Wrong username or password."] * MAX_FAILED_LOGINS
    assert "Too many failed attempts" in messages[-1]


def test_redis_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEPANEL_REDIS", "redis://example:6379/2")
    monkeypatch.setenv("LIVEPANEL_REDIS_PREFIX", "site-b:")
    monkeypatch.setenv("LIVEPANEL_PRESENCE_INTERVAL", "2.5")
    settings = Settings.from_env()
    assert dataclasses.astuple(settings)[1:3] == ("redis://example:6379/2", "site-b:")
    assert settings.presence_interval == 2.5
    assert public_channel(4) == "event:4"
