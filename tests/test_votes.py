"""Upvote counts reach readers without one frame per vote (panel/votes.py): a quiet question
shows each vote at once, a storm costs one more frame per question per window, and what a
stop left owed is announced on the next start."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from panel.actions import Actions
from panel.clock import FakeClock
from panel.config import Settings
from panel.store import Store
from tests.conftest import EDITOR, LiveServer, seed_event, wait_for
from tests.livehelpers import Reader, client_for, log_frames, post_as, seed_live


def counts(frames: list[dict[str, Any]], question_id: int) -> list[int]:
    """The upvote counts the question.updated frames of one question carried, in order."""
    return [
        f["data"]["question"]["upvotes"]
        for f in frames
        if f["type"] == "question.updated" and f["data"]["question"]["id"] == question_id
    ]


async def logged_counts(store: Store, event_id: int, question_id: int) -> list[int]:
    async with store.read() as repo:
        frames = await repo.frames_since(event_id, 0, 10_000)
    return counts([{"type": f.type, "data": f.data} for f in frames], question_id)


@pytest.fixture
async def long_window(
    store: Store, clock: FakeClock, settings: Settings
) -> tuple[Actions, dict[str, Any]]:
    """Actions whose vote window is far longer than a test, and a live event: only the first
    vote of each question goes out with it; the rest wait for the tally, which the tests run
    by hand (no tally task runs here)."""
    actions = Actions(store, clock, dataclasses.replace(settings, vote_frame_seconds=3600))
    return actions, await seed_event(actions, status="live")


async def published(actions: Actions, event_id: int, body: str) -> int:
    question, _ = await actions.post_question(event_id, "asker", body)
    await actions.moderate(question.id, "approve", EDITOR)
    return question.id


async def test_a_storm_of_votes_costs_one_frame_per_question_per_window(
    store: Store, long_window: tuple[Actions, dict[str, Any]]
) -> None:
    actions, event = long_window
    busy = await published(actions, event["id"], "Which qualification do I need?")
    quiet = await published(actions, event["id"], "Is there shift work?")

    totals = [await actions.upvote(busy, f"reader-{i}") for i in range(10)]
    totals += [await actions.upvote(quiet, f"reader-{i}") for i in range(3)]
    await actions.upvote(busy, "reader-0")  # a repeat vote counts nothing and owes nothing

    assert totals == [*range(1, 11), *range(1, 4)], "each voter is told the new total at once"
    assert await logged_counts(store, event["id"], busy) == [1]
    assert await logged_counts(store, event["id"], quiet) == [1]

    assert await actions.votes.announce_owed() == 2  # one frame per question, not 11
    assert await logged_counts(store, event["id"], busy) == [1, 10]
    assert await logged_counts(store, event["id"], quiet) == [1, 3]
    assert await actions.votes.announce_owed() == 0, "nothing is owed twice"


async def test_a_frame_that_carries_the_count_for_another_reason_settles_the_debt(
    store: Store, long_window: tuple[Actions, dict[str, Any]]
) -> None:
    actions, event = long_window
    qid = await published(actions, event["id"], "Do you work weekends?")
    await actions.upvote(qid, "first")
    await actions.upvote(qid, "second")  # owed
    await actions.moderate(qid, "pin", EDITOR)  # its question.updated carries 2 votes
    assert await logged_counts(store, event["id"], qid) == [1, 2]
    assert await actions.votes.announce_owed() == 0


async def test_votes_on_a_question_taken_down_are_not_announced(
    store: Store, long_window: tuple[Actions, dict[str, Any]]
) -> None:
    actions, event = long_window
    qid = await published(actions, event["id"], "A question withdrawn later")
    await actions.upvote(qid, "first")
    await actions.upvote(qid, "second")  # owed
    await actions.moderate(qid, "withdraw", EDITOR)
    assert await actions.votes.announce_owed() == 0
    assert await logged_counts(store, event["id"], qid) == [1]


async def test_live_readers_get_the_windows_count_soon_after_a_burst(
    settings: Settings, clock: FakeClock
) -> None:
    server = LiveServer(dataclasses.replace(settings, vote_frame_seconds=0.3), clock)
    server.start()
    try:
        info = await seed_live(server)
        qid = (await post_as(server, info["id"], "asker", "A popular question")).id
        await server.acall(lambda: server.actions.moderate(qid, "approve", EDITOR))
        reader = await Reader.open(server, info["slug"])
        try:
            async with client_for(server) as voters:
                for _ in range(8):  # each a new anonymous reader: clear the cookie jar
                    voters.cookies.clear()
                    assert (await voters.post(f"/api/v1/questions/{qid}/upvote")).status_code == 200
            await reader.until(lambda frames: 8 in counts(frames, qid), what="the count of 8")
            shown = counts(reader.frames, qid)
            assert shown[-1] == 8 and shown == sorted(shown)
            assert len(shown) < 8, f"fewer frames than votes, got {shown}"
        finally:
            await reader.close()
    finally:
        server.stop()


async def test_votes_a_stop_left_owed_are_announced_on_the_next_start(
    settings: Settings, clock: FakeClock
) -> None:
    long_window = dataclasses.replace(settings, vote_frame_seconds=3600)
    first = LiveServer(long_window, clock)
    first.start()
    try:
        info = await seed_live(first)
        qid = (await post_as(first, info["id"], "asker", "Asked before the restart")).id
        await first.acall(lambda: first.actions.moderate(qid, "approve", EDITOR))
        for voter in ("a", "b", "c"):
            await first.acall(lambda voter=voter: first.actions.upvote(qid, voter))
        async with client_for(first) as client:
            assert counts(await log_frames(client, info["slug"]), qid) == [1]
    finally:
        first.stop()  # two votes owed, the window an hour away

    second = LiveServer(long_window, clock)
    second.start()
    try:
        async with client_for(second) as client:

            async def announced() -> bool:
                return counts(await log_frames(client, info["slug"]), qid) == [1, 3]

            await wait_for(announced, message="the owed count announced at start")
    finally:
        second.stop()
