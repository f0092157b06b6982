"""Which event a reader's socket names: slug → event id, kept briefly in memory.

A socket's connect should not cost a read transaction: thousands of readers (re)connecting at
once would queue on the store's few reader connections, and the 3,000-reader connect profile
spent about 40% of its samples in that read. So the directory keeps the events readers may
see (not drafts) for `ttl` seconds. It stays correct because:

- only visible events are kept: an unknown slug or a draft is read again on every connect, so
  an event is visible the moment it is scheduled;
- a visible event can stop being visible only by a status change (back to draft; only a draft
  can be deleted, and slugs never change), and every status change commits an `event.status`
  frame. `forget_changed`, a commit listener, drops the event's entry when this process
  commits one, and a read that overlapped that commit does not keep what it read;
- a change committed by another process (`--workers`, or several servers sharing Redis) is
  not heard here: it is seen within `ttl` (1 s), when the entry expires.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from panel.domain import EventStatus, Frame
from panel.live import protocol
from panel.store.base import Store


class EventDirectory:
    """slug → id of the events readers may see, read from the store at most once per `ttl`."""

    def __init__(self, store: Store, ttl: float = 1.0) -> None:
        self.store = store
        self.ttl = ttl
        self._known: dict[str, tuple[float, int]] = {}  # slug -> (expires at, event id)
        self._changes = 0  # status changes seen: a read that overlapped one is not kept
        self.reads = 0  # read transactions made, for tests

    async def visible(self, slug: str) -> int | None:
        """The id of the event called `slug` if readers may see it (not a draft), else None."""
        known = self._known.get(slug)
        if known is not None and known[0] > time.monotonic():
            return known[1]
        changes = self._changes
        self.reads += 1
        async with self.store.read() as repo:
            event = await repo.event_by_slug(slug)
        if event is None or event.status == EventStatus.DRAFT:
            self._known.pop(slug, None)
            return None
        if changes == self._changes:
            self._known[slug] = (time.monotonic() + self.ttl, event.id)
        return event.id

    def forget_changed(self, frames: Sequence[Frame]) -> None:
        """Commit listener: drop the events whose status a committed write changed."""
        changed = {f.event_id for f in frames if f.type == protocol.EVENT_STATUS}
        if changed:
            self._changes += 1
            for slug, (_, event_id) in list(self._known.items()):
                if event_id in changed:
                    del self._known[slug]
