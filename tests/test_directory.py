"""The readers' socket's slug lookup (panel/live/directory.py), on a real SQLite store."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from panel.actions import Actions
from panel.live.directory import EventDirectory
from panel.store import Repo, Store
from tests.conftest import EDITOR, seed_event, wait_for


def listening(store: Store, ttl: float = 1.0) -> EventDirectory:
    """A directory told of this store's commits, as Services.running() wires it."""
    directory = EventDirectory(store, ttl)
    store.on_commit(directory.forget_changed)
    return directory


async def test_a_visible_event_is_read_once_within_the_ttl(store: Store, actions: Actions) -> None:
    info = await seed_event(actions, slug="open")
    directory = listening(store, ttl=60)
    found = [await directory.visible("open") for _ in range(50)]
    assert found == [info["id"]] * 50
    assert directory.reads == 1


async def test_drafts_and_unknown_slugs_are_read_every_time(store: Store, actions: Actions) -> None:
    info = await seed_event(actions, slug="later", status="draft")
    directory = listening(store, ttl=60)
    assert await directory.visible("later") is None
    assert await directory.visible("nothing-here") is None
    assert await directory.visible("later") is None
    assert directory.reads == 3, "a refusal is never kept"
    await actions.set_status(info["id"], "scheduled", EDITOR)
    assert await directory.visible("later") == info["id"], "visible as soon as it is scheduled"


async def test_an_event_set_back_to_draft_is_refused_at_once_here(
    store: Store, actions: Actions
) -> None:
    """This process's commit is heard (the listener): no wait for the ttl."""
    info = await seed_event(actions, slug="oops")
    directory = listening(store, ttl=60)
    assert await directory.visible("oops") == info["id"]
    await actions.set_status(info["id"], "draft", EDITOR)
    assert await directory.visible("oops") is None
    await actions.events.delete(info["id"], EDITOR)
    assert await directory.visible("oops") is None
    assert directory.reads == 3


class HeldRead:
    """The real store, whose reads stay open after their query until `release` is set."""

    def __init__(self, store: Store) -> None:
        self.inner = store
        self.queried = asyncio.Event()
        self.release = asyncio.Event()

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[Repo]:
        async with self.inner.read() as repo:
            yield repo
            self.queried.set()
            await self.release.wait()


async def test_a_read_that_overlaps_a_status_change_is_not_kept(
    store: Store, actions: Actions
) -> None:
    info = await seed_event(actions, slug="race")
    held = HeldRead(store)
    directory = EventDirectory(held, ttl=60)  # type: ignore[arg-type]
    store.on_commit(directory.forget_changed)
    reading = asyncio.create_task(directory.visible("race"))
    await asyncio.wait_for(held.queried.wait(), 10)  # it has read "scheduled"
    await actions.set_status(info["id"], "draft", EDITOR)  # committed before it returns
    held.release.set()
    assert await reading == info["id"], "what it read, in its snapshot"
    assert await directory.visible("race") is None, "but not kept"
    assert directory.reads == 2


async def test_a_change_committed_elsewhere_is_seen_within_the_ttl(
    store: Store, actions: Actions
) -> None:
    """Another process's commit is not heard here (no listener): the entry expires."""
    event_id = (await seed_event(actions, slug="elsewhere"))["id"]
    unaware = EventDirectory(store, ttl=0.3)
    kept = [await unaware.visible("elsewhere")]
    await actions.set_status(event_id, "draft", EDITOR)
    kept.append(await unaware.visible("elsewhere"))
    assert kept == [event_id, event_id], "still kept: within the ttl"

    async def refused() -> bool:
        return await unaware.visible("elsewhere") is None

    await wait_for(refused, timeout=5, message="the entry to expire")
