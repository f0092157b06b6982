"""The hub's ordered streams, the local broker and the publisher, on a real SQLite store."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

from panel.clock import FakeClock
from panel.domain import Frame
from panel.live import protocol
from panel.live.broker import (
    LocalBroker,
    Message,
    broker_for_url,
    mark,
    public_channel,
    staff_channel,
)
from panel.live.hub import Hub, Subscriber
from panel.live.publisher import Publisher
from panel.store import Repo, Store, StoreError
from tests.conftest import EVENT_START, wait_for

T = TypeVar("T")
AT = datetime(2026, 9, 15, 12, 30, tzinfo=UTC)


class CountingStore:
    """The real store, counting how often it is read (the hub only reads)."""

    def __init__(self, store: Store, fail: bool = False) -> None:
        self.inner = store
        self.url = store.url
        self.reads = 0
        self.fail = fail

    def read(self) -> AbstractAsyncContextManager[Repo]:
        self.reads += 1
        if self.fail:
            raise StoreError("the database is unreachable (test)")
        return self.inner.read()

    async def write(self, job: Callable[[Repo], Awaitable[T]]) -> T:
        return await self.inner.write(job)


@dataclass
class Rig:
    """A real store and LocalBroker, a hub over them, and one event to write frames to."""

    store: Store
    counted: CountingStore
    broker: LocalBroker
    hub: Hub
    publisher: Publisher
    event_id: int
    stack: AsyncExitStack
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def channel(self) -> str:
        return public_channel(self.event_id)

    def publish_commits(self) -> None:
        """Wire the writer to the publisher and run its task, as Services.running() does."""
        self.store.on_commit(self.publisher.hand_over)
        self.tasks.append(asyncio.create_task(self.publisher.run()))

    async def commit(self, n: int) -> list[Frame]:
        """One write job appending `n` public frames."""

        async def job(repo: Repo) -> list[Frame]:
            return [
                await repo.append_frame(self.event_id, "question.updated", {"n": i}, AT)
                for i in range(n)
            ]

        return await asyncio.wait_for(self.store.write(job), 10)

    async def join(
        self, since: int | None, channel: str | None = None
    ) -> tuple[Subscriber, list[str]]:
        """Subscribe (until the test ends) and take the whole catch-up."""
        sub = await self.stack.enter_async_context(
            self.hub.subscribe(channel or self.channel, since)
        )
        return sub, [message async for message in sub.catch_up]


@pytest.fixture
async def rig(store: Store, clock: FakeClock) -> AsyncIterator[Rig]:
    event_id = await store.write(
        lambda repo: repo.insert_event(
            slug="hub",
            title="The hub",
            starts_at=EVENT_START,
            ends_at=EVENT_START + timedelta(hours=3),
            timezone="Europe/London",
            now=AT,
        )
    )
    counted = CountingStore(store)
    broker = LocalBroker()
    hub = Hub(counted, broker, clock, queue_size=64, ring_frames=8)  # type: ignore[arg-type]
    async with AsyncExitStack() as stack:
        rig = Rig(store, counted, broker, hub, Publisher(broker), event_id, stack)
        try:
            yield rig
        finally:
            await stack.aclose()  # the subscriptions first, while the hub still runs
            for task in rig.tasks:
                task.cancel()
            await asyncio.gather(*rig.tasks, return_exceptions=True)
            await hub.close()


def frames_in(messages: list[str]) -> list[dict[str, Any]]:
    """Every frame of some messages, each one object or an array of them."""
    out: list[dict[str, Any]] = []
    for message in messages:
        value = json.loads(message)
        out.extend(value if isinstance(value, list) else [value])
    return out


def seqs(messages: list[str]) -> list[int]:
    return [f["seq"] for f in frames_in(messages) if "seq" in f]


async def queued(sub: Subscriber, n: int) -> list[str]:
    """Wait until `sub` has `n` messages queued, then take them all."""
    await wait_for(lambda: len(sub.pending) >= n, message=f"{n} queued messages")
    return sub.drain()


# -- catch-up and resume ----------------------------------------------------------------------
async def test_catch_up_inside_the_ring_reads_nothing_from_the_store(rig: Rig) -> None:
    rig.publish_commits()
    first, catch_up = await rig.join(since=0)
    assert catch_up == []
    assert rig.counted.reads == 1, "following the channel reads the log's end once"
    await rig.commit(5)
    assert seqs(await queued(first, 5)) == [1, 2, 3, 4, 5]

    reads = rig.counted.reads
    second, catch_up = await rig.join(since=2)
    assert seqs(catch_up) == [3, 4, 5]
    assert rig.counted.reads == reads, "served from the ring, not the database"
    # Then live frames, without a repeat at the seam.
    await rig.commit(1)
    assert seqs(await queued(second, 1)) == [6]
    assert seqs(await queued(first, 1)) == [6]
    assert rig.counted.reads == reads


async def test_a_new_stream_fills_its_ring_from_the_log_once(rig: Rig) -> None:
    await rig.commit(20)  # before anyone follows the event
    first, catch_up = await rig.join(since=15)
    assert seqs(catch_up) == [16, 17, 18, 19, 20]
    assert rig.counted.reads == 1, "one read: the log's end and the ring's 8 frames"
    _, catch_up = await rig.join(since=12)
    assert seqs(catch_up) == list(range(13, 21))
    assert rig.counted.reads == 1
    assert not first.pending


async def test_resume_from_before_the_ring_reads_the_older_frames_from_the_log(rig: Rig) -> None:
    rig.publish_commits()
    watcher, _ = await rig.join(since=0)
    await rig.commit(30)
    await queued(watcher, 30)
    reads = rig.counted.reads

    sub, catch_up = await rig.join(since=3)
    assert seqs(catch_up) == list(range(4, 31)), "every missed frame once, in order"
    assert rig.counted.reads == reads + 1, "one page from the log; the rest from the ring"
    await rig.commit(2)
    assert seqs(await queued(sub, 2)) == [31, 32]


async def test_a_catch_up_longer_than_a_batch_is_sent_in_batches(
    store: Store, clock: FakeClock, rig: Rig
) -> None:
    await rig.commit(450)
    hub = Hub(store, LocalBroker(), clock, ring_frames=1024)
    try:
        async with hub.subscribe(rig.channel, 0) as sub:
            messages = [message async for message in sub.catch_up]
    finally:
        await hub.close()
    assert [len(frames_in([m])) for m in messages] == [200, 200, 50]
    assert seqs(messages) == list(range(1, 451))


async def test_since_ahead_of_the_log_gets_one_stream_reset_then_live_frames(rig: Rig) -> None:
    rig.publish_commits()
    await rig.commit(3)
    sub, catch_up = await rig.join(since=13)
    assert len(catch_up) == 1
    reset = json.loads(catch_up[0])
    assert reset["type"] == protocol.STREAM_RESET
    assert reset["data"] == {"last_seq": 3}
    assert "seq" not in reset
    await rig.commit(1)
    assert seqs(await queued(sub, 1)) == [4]


async def test_since_ahead_of_the_hub_but_not_of_the_log_waits_for_the_frames(rig: Rig) -> None:
    first, _ = await rig.join(since=0)
    frames = await rig.commit(3)  # committed, not yet published
    second, catch_up = await rig.join(since=2)
    assert catch_up == [], "no reset: the log does reach seq 2"
    for frame in frames:
        await rig.broker.publish(rig.channel, Message(frame.seq, protocol.encode(frame)))
    assert seqs(await queued(first, 3)) == [1, 2, 3]
    assert seqs(await queued(second, 1)) == [3]


async def test_joining_while_frames_flow_misses_and_repeats_nothing(rig: Rig) -> None:
    """Catch-up (log, then ring) and live frames overlap while commits go on: an exact seam."""
    rig.publish_commits()
    watcher, _ = await rig.join(since=0)
    total = 60

    async def produce() -> None:
        for _ in range(total):
            await rig.commit(1)

    producer = asyncio.create_task(produce())
    joined: list[tuple[int, Subscriber, list[str]]] = []
    try:
        for progress in (5, 15, 25, 35, 45):
            await wait_for(lambda p=progress: len(watcher.pending) >= p, message=f"seq {progress}")
            for since in (0, max(0, progress - 12), progress - 3, progress):
                sub, catch_up = await rig.join(since)
                joined.append((since, sub, catch_up))
        await asyncio.wait_for(producer, 30)
    finally:
        producer.cancel()
    for since, sub, catch_up in joined:
        live = await queued(sub, total - since - len(seqs(catch_up)))
        assert seqs(catch_up) + seqs(live) == list(range(since + 1, total + 1)), since
    assert rig.counted.reads > 1, "some joins were older than the ring and read the log"


# -- the hub's order --------------------------------------------------------------------------
async def test_a_skipped_message_is_filled_from_the_log_before_delivery(rig: Rig) -> None:
    sub, _ = await rig.join(since=0)
    frames = await rig.commit(3)
    third = frames[2]
    await rig.broker.publish(rig.channel, Message(third.seq, protocol.encode(third)))
    delivered = frames_in(await queued(sub, 3))
    assert [f["seq"] for f in delivered] == [1, 2, 3]
    assert [f["data"] for f in delivered] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert rig.hub.filled == 2


async def test_a_mark_fills_a_lost_last_frame_from_the_log(rig: Rig) -> None:
    """Nothing was published for seqs 1..3 (all lost): the mark with the log's end, as the
    presence tick sends it, delivers them, once, in order."""
    sub, _ = await rig.join(since=0)
    await rig.commit(3)
    await rig.broker.publish(rig.channel, mark(3))
    assert seqs(await queued(sub, 3)) == [1, 2, 3]
    await rig.broker.publish(rig.channel, mark(3))  # nothing new: nothing read or sent
    await rig.broker.publish(rig.channel, mark(None))  # "look where the log ends"
    frames = await rig.commit(1)
    await rig.broker.publish(rig.channel, Message(4, protocol.encode(frames[0])))
    assert seqs(await queued(sub, 1)) == [4]
    assert rig.hub.filled == 3 and rig.hub.duplicates == 0


async def test_a_mark_without_a_seq_reads_where_the_log_ends(rig: Rig) -> None:
    sub, _ = await rig.join(since=0)
    await rig.commit(2)
    await rig.broker.publish(rig.channel, mark(None))
    assert seqs(await queued(sub, 2)) == [1, 2]
    channel = staff_channel(rig.event_id)
    staff, _ = await rig.join(since=None, channel=channel)
    await wait_for(lambda: rig.broker.subscriptions(channel) == 1, message="staff followed")
    await rig.broker.publish(channel, mark(None))
    await rig.broker.publish(channel, Message(None, "notice"))
    assert await queued(staff, 1) == ["notice"], "staff channels ignore marks"


async def test_duplicates_are_dropped(rig: Rig) -> None:
    sub, _ = await rig.join(since=0)
    frames = await rig.commit(4)
    for frame in [frames[0], frames[1], frames[0], frames[1], frames[2], frames[1], frames[3]]:
        await rig.broker.publish(rig.channel, Message(frame.seq, protocol.encode(frame)))
    assert seqs(await queued(sub, 4)) == [1, 2, 3, 4]
    assert rig.hub.duplicates == 3
    assert not sub.pending


async def test_staff_channels_pass_notices_through_without_a_seq(rig: Rig) -> None:
    rig.publish_commits()
    staff, catch_up = await rig.join(since=None, channel=staff_channel(rig.event_id))
    assert catch_up == []

    async def job(repo: Repo) -> None:
        await repo.append_frame(rig.event_id, "question.published", {"id": 7}, AT)
        repo.notify_staff(rig.event_id, {"question_id": 7, "action": "approve"}, AT)

    await rig.store.write(job)
    notices = frames_in(await queued(staff, 2))
    assert [n["type"] for n in notices] == [protocol.QUEUE_CHANGED] * 2
    assert [n["data"] for n in notices] == [{"seq": 1}, {"question_id": 7, "action": "approve"}]
    assert all("seq" not in n for n in notices)
    assert rig.publisher.published == 1, "only the public frame counts as published"


async def test_a_full_queue_ends_the_subscriber_and_counts_a_drop(
    store: Store, clock: FakeClock, rig: Rig
) -> None:
    broker = LocalBroker()
    hub = Hub(store, broker, clock, queue_size=4)
    publisher = Publisher(broker)
    store.on_commit(publisher.hand_over)
    task = asyncio.create_task(publisher.run())
    try:
        async with hub.subscribe(rig.channel, 0) as sub:
            async for _ in sub.catch_up:
                pass
            await rig.commit(3)
            await wait_for(lambda: len(sub.pending) == 3, message="3 frames kept")
            await rig.commit(7)  # one burst, which would not fit behind them
            await asyncio.wait_for(asyncio.shield(sub.ended), 10)
            assert sub.overflowed
            assert seqs(sub.drain()) == [1, 2, 3], "a gapless prefix, then nothing more"
        assert hub.dropped == 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await hub.close()


async def test_a_stream_that_cannot_read_the_log_ends_its_subscribers(
    store: Store, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    failing = CountingStore(store, fail=True)
    hub = Hub(failing, LocalBroker(), clock)  # type: ignore[arg-type]
    try:
        with caplog.at_level(logging.ERROR, logger="panel.live.hub"):
            async with hub.subscribe(public_channel(1), 0) as sub:
                assert [message async for message in sub.catch_up] == []
                await asyncio.wait_for(asyncio.shield(sub.ended), 10)
                assert not sub.overflowed, "not a slow reader: it resumes, uncounted"
        assert "hub stream event:1 died" in caplog.text
        assert hub.count(public_channel(1)) == 0
        assert hub.dropped == 0
    finally:
        await hub.close()


# -- the broker -------------------------------------------------------------------------------
async def test_local_broker_delivers_in_order_and_cleans_up_on_exit() -> None:
    broker = LocalBroker()
    async with broker.subscribe("a") as first, broker.subscribe("a") as second:
        assert broker.subscriptions("a") == 2
        await broker.publish("b", Message(None, "elsewhere"))
        await broker.publish("a", Message(1, "one"))
        await broker.publish("a", Message(None, "notice"))
        for messages in (first, second):
            got = [await asyncio.wait_for(anext(messages), 5) for _ in range(2)]
            assert got == [Message(1, "one"), Message(None, "notice")]
    assert broker.subscriptions("a") == 0
    await broker.publish("a", Message(2, "nobody listens"))  # a no-op, not an error
    assert broker.subscriptions("a") == 0


def test_the_broker_is_chosen_by_url_scheme() -> None:
    from panel.live.redis_broker import RedisBroker

    assert isinstance(broker_for_url(None), LocalBroker)
    redis = broker_for_url("redis://127.0.0.1:6379/0", "site-a:")
    assert isinstance(redis, RedisBroker) and redis.prefix == "site-a:"
    with pytest.raises(ValueError, match="expected a redis:// URL") as refused:
        broker_for_url("amqp://localhost")
    assert "\n" not in str(refused.value)


async def test_the_hub_follows_a_channel_only_while_it_has_subscribers(rig: Rig) -> None:
    async with rig.hub.subscribe(rig.channel, 0) as one, rig.hub.subscribe(rig.channel, 0) as two:
        for sub in (one, two):
            async for _ in sub.catch_up:
                pass
        await wait_for(lambda: rig.broker.subscriptions(rig.channel) == 1, message="one follower")
        assert rig.hub.count(rig.channel) == 2
        assert rig.hub.channels("event:") == [rig.channel]
    assert rig.hub.count(rig.channel) == 0
    assert rig.hub.channels("event:") == []
    await wait_for(
        lambda: rig.broker.subscriptions(rig.channel) == 0, message="the broker unsubscribed"
    )


async def test_a_stream_whose_cancellation_was_swallowed_ends_at_its_next_message(
    rig: Rig,
) -> None:
    """redis-py 8 can swallow a cancellation (panel/tasks.py): a stream stopped that way must
    not follow its channel for ever."""
    async with rig.hub.subscribe(rig.channel, 0) as sub:
        async for _ in sub.catch_up:
            pass
        stream = rig.hub._streams[rig.channel]
        task, stream.task = stream.task, None  # leaving below then cancels nothing: "swallowed"
    assert task is not None and not task.done() and stream.stopped
    notice = protocol.unlogged(protocol.PRESENCE, {"audience": 0}, AT)
    await rig.broker.publish(rig.channel, Message(None, notice))
    await asyncio.wait_for(task, 5)
    assert rig.broker.subscriptions(rig.channel) == 0


# -- the writer never waits for fan-out -------------------------------------------------------
async def test_a_commit_returns_before_any_fan_out_has_run(rig: Rig) -> None:
    rig.store.on_commit(rig.publisher.hand_over)  # the publisher task is not running yet
    subs = [(await rig.join(since=0))[0] for _ in range(50)]
    frames = await rig.commit(3)
    assert [f.seq for f in frames] == [1, 2, 3], "the write returned: committed"
    assert rig.publisher.pending == 3, "handed over, not published"
    assert rig.hub.delivered == 0
    assert all(not sub.pending for sub in subs)

    rig.tasks.append(asyncio.create_task(rig.publisher.run()))
    for sub in subs:
        assert seqs(await queued(sub, 3)) == [1, 2, 3]
    assert rig.publisher.pending == 0
    assert rig.hub.delivered == 150


async def test_polling_uses_the_ring_only_when_it_holds_the_whole_page(rig: Rig) -> None:
    rig.publish_commits()
    assert rig.hub.recent(rig.channel, 0, 0) is None, "not followed: no ring"
    sub, _ = await rig.join(since=0)
    await rig.commit(12)
    await queued(sub, 12)
    recent = rig.hub.recent(rig.channel, 6, 12)
    assert recent is not None and seqs(recent) == [7, 8, 9, 10, 11, 12]
    assert rig.hub.recent(rig.channel, 6, 9) is not None
    assert seqs(rig.hub.recent(rig.channel, 6, 9) or []) == [7, 8, 9]
    assert rig.hub.recent(rig.channel, 2, 12) is None, "older than the ring of 8"
    assert rig.hub.recent(rig.channel, 6, 13) is None, "beyond what the hub has"


async def test_a_rewritten_log_drops_the_ring_and_the_replay_pages(rig: Rig) -> None:
    """forget-reader rewrites logged frames behind their seqs (and counts it); told so by the
    presence tick, the hub serves catch-ups from the log as it is now."""
    rig.publish_commits()
    watcher, _ = await rig.join(since=0)  # keeps the stream, and its ring, alive
    last = protocol.CATCH_UP_BATCH + 10  # 210: one full page, one partial
    for _ in range(last // 30):  # within the watcher's queue of 64
        await rig.commit(30)
        await queued(watcher, 30)
    await wait_for(lambda: rig.hub.recent(rig.channel, last - 1, last) is not None)

    def n_of(messages: list[str]) -> dict[int, Any]:
        return {f["seq"]: f["data"]["n"] for f in frames_in(messages) if "seq" in f}

    _, before = await rig.join(since=0)  # page 0 is now kept, the ring holds the last 8
    original = n_of(before)
    assert sorted(original) == list(range(1, last + 1)) and "erased" not in original.values()

    async def rewrite(repo: Repo) -> None:
        for seq in (5, last):
            await repo.rewrite_frame(rig.event_id, seq, {"n": "erased"})
        await repo.count_log_rewrite([rig.event_id])

    await rig.store.write(rewrite)
    _, stale = await rig.join(since=0)
    assert n_of(stale)[5] == original[5], "kept in memory until the hub is told"

    rig.hub.log_rewritten(rig.channel, 1, last)
    reads = rig.counted.reads
    _, fresh = await rig.join(since=0)
    assert n_of(fresh)[5] == "erased" and n_of(fresh)[last] == "erased"
    assert sorted(n_of(fresh)) == list(range(1, last + 1)), "each frame once, in order"
    assert rig.counted.reads == reads + 2, "both pages read from the log again"

    # The same count again drops nothing: the pages read just now are kept.
    rig.hub.log_rewritten(rig.channel, 1, last)
    reads = rig.counted.reads
    _, again = await rig.join(since=0)
    assert n_of(again) == n_of(fresh) and rig.counted.reads == reads + 1  # page 1 is not full

    # Frames up to the seq the tick read (here: still to come) stay out of the ring; newer ones
    # go in, and a catch-up spanning both is still exact.
    rig.hub.log_rewritten(rig.channel, 2, last + 3)
    await rig.commit(5)
    await wait_for(lambda: rig.hub.recent(rig.channel, last + 4, last + 5) is not None)
    assert rig.hub.recent(rig.channel, last + 2, last + 5) is None, "not kept: seqs ≤ last+3"
    _, tail = await rig.join(since=last)
    assert seqs(tail) == list(range(last + 1, last + 6))
