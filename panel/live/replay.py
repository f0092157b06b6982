"""Catch-up pages older than the hub's ring: read from the log, encoded and joined once, and
shared by every socket that replays through them.

The log does not change behind a seq, so page `i` (seqs i*PAGE+1 … (i+1)*PAGE) is the same
message for everyone. Fifty replays from 0 read it from the log once, not fifty times: a page
being loaded is awaited by the others rather than read again. The pages go with their
channel's stream (as the ring does), within one byte budget for the whole process; past it,
a page is served without being kept. The one exception to the rule, forget-reader erasing a
name from logged frames, makes the hub `discard` the kept pages.
"""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from panel.live import protocol

PAGE = protocol.CATCH_UP_BATCH  # frames per page: one catch-up message


@dataclass(frozen=True)
class Page:
    """Frames read from the log as one JSON array, their seqs, and where each starts in it.
    Full when it holds exactly the PAGE seqs of its index; only a full page is kept."""

    index: int
    seqs: tuple[int, ...]
    message: str
    starts: tuple[int, ...]

    @classmethod
    def of(cls, index: int, frames: Sequence[tuple[int, str]]) -> Page:
        starts, at = [], 1  # after the "["
        for _, text in frames:
            starts.append(at)
            at += len(text) + 1  # and its comma
        message = "[" + ",".join(text for _, text in frames) + "]"
        return cls(index, tuple(seq for seq, _ in frames), message, tuple(starts))

    @property
    def full(self) -> bool:
        first = self.index * PAGE + 1
        return self.seqs == tuple(range(first, first + PAGE))

    def after(self, cursor: int) -> str | None:
        """The frames with seq > cursor as one message (the page itself when that is all of
        them: no copy), or None if there are none."""
        skip = bisect.bisect_right(self.seqs, cursor)
        if skip >= len(self.seqs):
            return None
        return self.message if skip == 0 else "[" + self.message[self.starts[skip] :]


class ReplayBudget:
    """The bytes every stream's pages may hold together, in this process."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.used = 0

    def take(self, size: int) -> bool:
        if self.used + size > self.max_bytes:
            return False
        self.used += size
        return True


class ReplayPages:
    """One channel's pages (see the module doc)."""

    def __init__(self, budget: ReplayBudget) -> None:
        self.budget = budget
        self._pages: dict[int, Page] = {}
        self._loading: dict[int, asyncio.Future[Page | None]] = {}
        self.closed = False  # the stream stopped: a load finishing now is not kept
        self.generation = 0  # moved by `discard`: a load begun before it is not kept

    async def get(self, index: int, load: Callable[[], Awaitable[Page]]) -> Page | None:
        """Page `index`: kept, being loaded by another socket, or loaded now with `load`.
        None only when another socket's load of it was cancelled: read it yourself."""
        if (page := self._pages.get(index)) is not None:
            return page
        if (loading := self._loading.get(index)) is not None:
            return await asyncio.shield(loading)
        loading = asyncio.get_running_loop().create_future()
        self._loading[index] = loading
        generation = self.generation
        page = None
        try:
            page = await load()
            keep = page.full and not self.closed and generation == self.generation
            if keep and self.budget.take(len(page.message)):
                self._pages[index] = page
        finally:
            del self._loading[index]
            loading.set_result(page)  # a cancelled load: the others read for themselves
        return page

    def clear(self) -> None:
        """The stream stopped: give its bytes back."""
        self.closed = True
        self.discard()

    def discard(self) -> None:
        """The log changed behind its seqs: forget the kept pages (and any being loaded)."""
        self.generation += 1
        self.budget.used -= sum(len(page.message) for page in self._pages.values())
        self._pages.clear()
