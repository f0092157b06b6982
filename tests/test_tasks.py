"""Background tasks stop for good on shutdown, even when a library swallows a cancellation
(panel/tasks.py): redis-py 8 can return normally from a command cancelled mid-flight, and a
server once hung on SIGTERM because the presence tick's loop went on."""

from __future__ import annotations

import asyncio
import logging

import pytest

from panel.live.audience import RedisAudience
from panel.redis_client import connect
from panel.tasks import cancel_and_wait


async def test_a_task_that_swallows_its_first_cancellation_is_cancelled_again() -> None:
    swallowed = asyncio.Event()

    async def loop_that_swallows_once() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            swallowed.set()  # what the library did: return normally, so the loop goes on
        await asyncio.sleep(3600)

    task = asyncio.create_task(loop_that_swallows_once())
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_and_wait([task], patience=10, retry=0.05), 5)
    assert swallowed.is_set() and task.cancelled()


async def test_a_task_that_will_not_end_is_named_in_the_log_after_the_patience(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue

    task = asyncio.create_task(stubborn(), name="stubborn")
    await asyncio.sleep(0)
    with caplog.at_level(logging.WARNING, logger="panel.tasks"):
        await asyncio.wait_for(cancel_and_wait([task], patience=0.3, retry=0.05), 5)
    assert not task.done()
    assert "stubborn" in caplog.text and "still running" in caplog.text
    release.set()
    task.cancel()
    await asyncio.wait_for(task, 5)


async def test_a_loop_around_real_redis_commands_always_stops(
    redis_url: str, redis_prefix: str
) -> None:
    """The presence tick's shape against the real Redis (a command, then a pause), cancelled
    while a command is in flight: where the client swallows that (redis-py 8 can), one cancel
    and an await would wait for ever; cancel_and_wait ends the task in the pause."""
    client = connect(redis_url)
    audience = RedisAudience(client, redis_prefix, interval=0.2)
    in_flight = asyncio.Event()

    async def presence_tick() -> None:
        while True:
            in_flight.set()
            await audience.totals({"event:1": ["a", "b"], "event:2": ["c"]})
            in_flight.clear()
            await asyncio.sleep(0.01)

    try:
        for n in range(20):  # at moments across the command's round trip
            in_flight.clear()
            task = asyncio.create_task(presence_tick())
            await asyncio.wait_for(in_flight.wait(), 10)
            await asyncio.sleep(n * 0.00005)
            await asyncio.wait_for(cancel_and_wait([task], patience=5, retry=0.05), 10)
            assert task.done()
    finally:
        await audience.close()
        await client.aclose()
