"""The hub: each channel's ordered stream in this process, and the sockets that follow it.

For every channel with at least one local subscriber, the hub runs one task that consumes the
broker's subscription. On a public channel (`event:{id}`) that task is the one place that
knows the channel's last seq: it drops a message whose seq was already delivered, fills a gap
from the event log before delivering, and keeps a ring of the most recent encoded frames. A
socket that joins with `since` is caught up from the ring, and the part older than the ring
comes in pages read from the log once and shared by every socket (`replay.py`), at most
`replay_log_reads` reads at a time. Staff channels carry no seq: their messages pass straight
through. The audience of a channel counts its readers (each socket's `reader` key), not its
sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
from collections import Counter, deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

from panel.clock import Clock
from panel.domain import Frame
from panel.live import protocol
from panel.live.broker import Broker, Message, event_of
from panel.live.replay import PAGE, Page, ReplayBudget, ReplayPages
from panel.store.base import Store
from panel.tasks import cancel_and_wait

log = logging.getLogger(__name__)
LOG_PAGE = 1000  # frames read from the event log at a time
# At most this many broker messages already waiting are sent to each socket as one message
# (the same bound as a catch-up message's).
BURST = protocol.CATCH_UP_BATCH


async def _no_catch_up() -> AsyncGenerator[str, None]:
    """Staff channels: nothing to catch up on."""
    return
    yield  # makes this an async generator


def _new_future() -> asyncio.Future[None]:
    return asyncio.get_running_loop().create_future()


@dataclass(eq=False)
class Subscriber:
    """One socket on one channel: first `catch_up` (public channels), then live frames.
    Those are written at once by the socket's `send_now`, or kept in `pending` (at most
    `limit` frames) while it cannot take them. `ended` is done when the socket must close and
    resume by seq (1013). Plain structures, not a queue and an event: nobody waits on them
    per frame, and a socket's memory counts 5,000 times over. A reader that falls behind
    is dropped (`overflowed`) once `pending` would hold more than `limit` frames, or once
    it and the socket's unsent bytes (`unsent`, set by the socket) exceed `max_bytes`."""

    limit: int
    max_bytes: int = 1 << 62
    pending: deque[str] = field(default_factory=deque)
    catch_up: AsyncGenerator[str, None] = field(default_factory=_no_catch_up)
    ended: asyncio.Future[None] = field(default_factory=_new_future)
    overflowed: bool = False  # ended because `pending` was full
    after: int = 0  # public channels: the catch-up reached this seq; later ones come live
    # Set by the socket once it is live: writes a message to the socket now, if it can take
    # it without waiting (True), else leaves it to be kept in `pending` (False). See
    # web/live.py.
    send_now: Callable[[str], bool] | None = None
    unsent: Callable[[], int] = field(default=lambda: 0)
    pending_bytes: int = 0  # characters in `pending` (the bytes, near enough)

    def end(self) -> None:
        if not self.ended.done():
            self.ended.set_result(None)

    def drop(self) -> None:
        """End a reader that is too slow: it never reads what it holds (see web/live.py)."""
        self.overflowed = True
        self.end()

    def offer(self, texts: Sequence[str], message: str) -> bool:
        """Send encoded frames now as one message (`message`: them, joined), or keep them,
        without awaiting; when `pending` would overflow, end instead of growing. Nothing is
        sent directly while earlier frames are pending."""
        if self.ended.done():
            return False
        if self.send_now is not None and not self.pending and self.send_now(message):
            return True
        held = self.pending_bytes + len(message) + self.unsent()
        if len(self.pending) + len(texts) > self.limit or held > self.max_bytes:
            # Never grow memory for a slow reader: it is dropped and resumes by seq.
            self.drop()
            return False
        self.pending.extend(texts)
        self.pending_bytes += len(message)
        return True

    def drain(self) -> list[str]:
        items = list(self.pending)
        self.pending.clear()
        self.pending_bytes = 0
        return items


class _Stream:
    """One channel in this process: its subscribers and, if public, its last seq and ring."""

    def __init__(self, channel: str, ring_frames: int, budget: ReplayBudget) -> None:
        self.channel = channel
        self.event_id = event_of(channel)
        self.last = 0
        self.ring: deque[tuple[int, str]] = deque(maxlen=ring_frames)  # consecutive seqs
        self.joining: set[Subscriber] = set()  # catching up: not yet given live frames
        self.live: set[Subscriber] = set()
        self.readers: Counter[str] = Counter()  # each reader's sockets here
        self.pages = ReplayPages(budget)  # catch-up pages older than the ring
        self.rewrites = 0  # the log's rewrite count (forget-reader) when the ring was loaded
        self.counts: str | None = None  # the newest `counts` frame: read at load, then received
        self.ring_from = 0  # frames below this seq stay out of the ring (see log_rewritten)
        self.ready = asyncio.Event()  # `last` and the ring are loaded, or the stream stopped
        self.stopped = False
        self.task: asyncio.Task[None] | None = None

    @property
    def members(self) -> int:
        return len(self.joining) + len(self.live)

    def covers(self, cursor: int) -> bool:
        """Whether the ring holds every frame after `cursor` (or there is none yet)."""
        return cursor >= self.last or (bool(self.ring) and self.ring[0][0] <= cursor + 1)

    def after(self, cursor: int) -> list[str]:
        """The ring's encoded frames with seq > cursor."""
        if cursor >= self.last or not self.ring:
            return []
        skip = max(0, cursor + 1 - self.ring[0][0])
        return [text for _, text in itertools.islice(self.ring, skip, None)]

    def append(self, seq: int, text: str) -> None:
        if seq != self.last + 1:
            self.ring.clear()  # only a run of consecutive seqs can serve a catch-up
        if seq >= self.ring_from:
            self.ring.append((seq, text))
        self.last = seq


_Out = tuple[int | None, str]  # a frame to deliver: its seq (None: not logged), its text


def _encoded(frames: Sequence[Frame]) -> list[tuple[int, str]]:
    """Logged frames, each encoded once, with their seqs."""
    return [(f.seq, protocol.encode(f)) for f in frames if f.seq is not None]


class Hub:
    """Channels of subscribers in this process, fed from the broker (see the module doc)."""

    def __init__(
        self,
        store: Store,
        broker: Broker,
        clock: Clock,
        queue_size: int = 256,
        ring_frames: int = 1024,
        replay_cache_bytes: int = 32 * 1024 * 1024,
        replay_log_reads: int = 2,
        queue_bytes: int = 1 << 62,
    ) -> None:
        self.store = store
        self.broker = broker
        self.clock = clock
        self.queue_size = queue_size
        self.ring_frames = ring_frames
        self.queue_bytes = queue_bytes  # per socket: backlog plus unsent bytes
        self._streams: dict[str, _Stream] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.delivered = 0  # frames written or queued to sockets, for /metrics
        self.dropped = 0  # subscribers closed for falling behind
        self.resets = 0  # of those, connections reset (web/live.py: unread bytes), for /metrics
        self.duplicates = 0  # public messages dropped because their seq was delivered already
        self.filled = 0  # frames read from the log to fill a gap
        self.replay_reads = 0  # catch-up reads of the log (pages shared by every socket)
        self._replay_budget = ReplayBudget(replay_cache_bytes)
        # Bounds the store's read connections a replay storm may hold, so other requests
        # (/healthz, pages) still find one.
        self._replay_reads = asyncio.Semaphore(max(1, replay_log_reads))

    @contextlib.asynccontextmanager
    async def subscribe(
        self, channel: str, since: int | None = None, reader: str | None = None
    ) -> AsyncIterator[Subscriber]:
        """Follow `channel`. On a public channel, send every message of `sub.catch_up` first:
        the frames after `since` (None: from now), or a stream.reset if `since` is ahead of
        the log. Live frames reach the socket only once that catch-up has been taken. On a
        staff channel, every message published once this returns. `reader` names who the
        socket belongs to, so that several sockets of one reader count once (None: the
        socket counts on its own)."""
        stream = self._streams.get(channel) or self._start(channel)
        sub = Subscriber(self.queue_size, self.queue_bytes)
        who = reader if reader is not None else f"socket:{id(sub)}"
        stream.readers[who] += 1
        if stream.event_id is None:
            stream.live.add(sub)
        else:
            stream.joining.add(sub)
            sub.catch_up = self._catch_up(stream, sub, since)
        try:
            if stream.event_id is None:
                # A channel without a log (staff notices) cannot fill a gap: go on only once
                # the broker subscription is in place, so nothing published from now on is lost.
                await stream.ready.wait()
            yield sub
        finally:
            stream.joining.discard(sub)
            stream.live.discard(sub)
            stream.readers[who] -= 1
            if not stream.readers[who]:
                del stream.readers[who]
            if not stream.members:
                self._stop(stream)
            if sub.overflowed:
                self.dropped += 1
            await sub.catch_up.aclose()

    def count(self, channel: str) -> int:
        """Readers on `channel` in this process (each once, however many sockets they hold),
        catching up or live."""
        stream = self._streams.get(channel)
        return len(stream.readers) if stream else 0

    def readers(self, channel: str) -> list[str]:
        """The keys of the readers on `channel` in this process (for counts across processes)."""
        stream = self._streams.get(channel)
        return list(stream.readers) if stream else []

    def sockets(self, channel: str) -> int:
        """Sockets on `channel` in this process, catching up or live."""
        stream = self._streams.get(channel)
        return stream.members if stream else 0

    def channels(self, prefix: str) -> list[str]:
        return [name for name in self._streams if name.startswith(prefix)]

    def counts(self, channel: str) -> str | None:
        """The event's newest `counts` frame, for a socket that has just gone live: a
        change while it was joining (or since a cached page was rendered) is not missed."""
        stream = self._streams.get(channel)
        return stream.counts if stream else None

    def log_rewritten(self, channel: str, rewrites: int, last: int) -> None:
        """The presence tick read the event's log state: `rewrites` is how many times
        forget-reader has rewritten frames of it, `last` where it ended then. If that moved
        since the ring was loaded, the ring and the replay pages may hold a frame as it was
        (a name since erased): drop both, so catch-ups read the log as it is now. A frame up
        to `last` still on its way from the broker stays out of the ring too."""
        stream = self._streams.get(channel)
        if stream is None or not stream.ready.is_set() or rewrites <= stream.rewrites:
            return
        stream.rewrites = rewrites
        stream.ring.clear()
        stream.ring_from = last + 1
        stream.pages.discard()

    def send_local(self, channel: str, text: str) -> None:
        """An unlogged frame (presence) to this process's live subscribers of `channel`."""
        stream = self._streams.get(channel)
        if stream is not None:
            self._deliver(stream, [(None, text)])

    def recent(self, channel: str, since: int, upto: int) -> list[str] | None:
        """The encoded frames with since < seq <= upto if the ring holds them all, else None."""
        stream = self._streams.get(channel)
        if stream is None or stream.stopped or not stream.ready.is_set():
            return None
        if upto > stream.last or not stream.covers(since):
            return None
        return stream.after(since)[: max(0, upto - since)]

    async def close(self) -> None:
        """Stop following every channel (on shutdown; the sockets were closed with 1001 by
        then, see web/wsprotocol.py)."""
        await cancel_and_wait(list(self._tasks))  # failures were logged

    # -- one task per channel -------------------------------------------------------------
    def _start(self, channel: str) -> _Stream:
        stream = _Stream(channel, self.ring_frames, self._replay_budget)
        self._streams[channel] = stream
        stream.task = asyncio.create_task(self._follow(stream), name=f"hub {channel}")
        self._tasks.add(stream.task)
        stream.task.add_done_callback(functools.partial(self._ended, stream))
        return stream

    def _stop(self, stream: _Stream) -> None:
        """The last subscriber left: stop following the channel; its ring goes too."""
        if self._streams.get(stream.channel) is stream:
            del self._streams[stream.channel]
        stream.stopped = True
        stream.pages.clear()
        if stream.task is not None:
            stream.task.cancel()

    def _ended(self, stream: _Stream, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._streams.get(stream.channel) is stream:
            del self._streams[stream.channel]
        stream.stopped = True
        stream.ready.set()
        stream.pages.clear()
        if not task.cancelled() and task.exception() is not None:
            log.error("hub stream %s died", stream.channel, exc_info=task.exception())
        for sub in (*stream.joining, *stream.live):
            sub.end()  # its socket closes with 1013 and resumes by seq

    async def _follow(self, stream: _Stream) -> None:
        """The channel's one consumer: broker messages in, ordered frames out to subscribers."""
        async with self.broker.subscribe(stream.channel) as messages:
            # Subscribed before reading the log: whatever is published after the read arrives.
            if stream.event_id is not None:
                await self._load(stream, stream.event_id)
            stream.ready.set()
            async for message in messages:
                if stream.stopped:
                    return  # its cancellation was swallowed (panel/tasks.py): end anyway
                # Whatever else has arrived meanwhile (a commit group, or frames published
                # while the last fan-out ran) goes to each socket in the same message.
                burst = [message, *messages.drain(BURST - 1)]
                self._deliver(stream, await self._receive(stream, burst))

    async def _receive(self, stream: _Stream, burst: list[Message]) -> list[_Out]:
        """The frames of `burst` to deliver, in order: duplicates dropped, gaps (and marks)
        filled from the log, each logged frame kept in the ring."""
        out: list[_Out] = []
        for message in burst:
            if message.is_mark:
                if stream.event_id is not None:
                    await self._reach(stream, stream.event_id, message.seq, out)
            elif stream.event_id is None:
                out.append((None, message.text))  # a staff notice
            elif message.seq is None:
                if protocol.is_unlogged(message.text, protocol.COUNTS):
                    stream.counts = message.text  # for the sockets that join from now on
                out.append((None, message.text))
            elif message.seq <= stream.last:
                self.duplicates += 1  # delivered already (read from the log, or sent twice)
            else:
                if message.seq > stream.last + 1:
                    await self._fill_gap(stream, stream.event_id, message.seq, out)
                stream.append(message.seq, message.text)
                out.append((message.seq, message.text))
        return out

    async def _load(self, stream: _Stream, event_id: int) -> None:
        """Where the log ends now, and its most recent frames for the ring (one snapshot)."""
        async with self.store.read() as repo:
            last, stream.rewrites = await repo.log_state(event_id)
            counts = (await repo.question_counts(event_id)).payload()
            recent = []
            if self.ring_frames > 0 and last > 0:
                start = max(0, last - self.ring_frames)
                recent = await repo.frames_since(event_id, start, self.ring_frames)
        # Each counts frame the broker brings from now on replaces it (`_receive`).
        stream.counts = protocol.unlogged(protocol.COUNTS, counts, self.clock.now())
        frames = _encoded(recent)
        stream.last = frames[0][0] - 1 if frames else last
        for seq, text in frames:
            stream.append(seq, text)
        if stream.last != last:  # a log with holes: trust the counter, serve from the log
            stream.ring.clear()
            stream.last = last

    async def _reach(
        self, stream: _Stream, event_id: int, seq: int | None, out: list[_Out]
    ) -> None:
        """A mark: add the log's frames up to `seq` (None: up to where the log ends now) to
        `out`. This catches a lost last frame, and whatever was lost while Redis was away."""
        if seq is None:
            async with self.store.read() as repo:
                seq = await repo.last_seq(event_id)
        if seq > stream.last:
            await self._fill_gap(stream, event_id, seq + 1, out)

    async def _fill_gap(self, stream: _Stream, event_id: int, seq: int, out: list[_Out]) -> None:
        """Add the frames between the last one received and `seq` to `out`, read from the
        log. A socket that goes live meanwhile takes them from the ring instead: `_deliver`
        gives it only what is newer than its catch-up."""
        while stream.last < seq - 1:
            async with self.store.read() as repo:
                page = await repo.frames_since(
                    event_id, stream.last, min(LOG_PAGE, seq - 1 - stream.last)
                )
            if not page:
                return  # not in the log (a store restored from backup): go on from `seq`
            for found, text in _encoded(page):
                self.filled += 1
                stream.append(found, text)
                out.append((found, text))

    def _deliver(self, stream: _Stream, frames: list[_Out]) -> None:
        """Hand encoded frames (seq order) to every live subscriber as one message, joined
        once, without awaiting. A socket whose catch-up already reached some of them gets
        only the newer ones."""
        if not frames or not stream.live:
            return
        texts = [text for _, text in frames]
        message = protocol.encode_batch(texts)
        oldest = min((seq for seq, _ in frames if seq is not None), default=None)
        for sub in stream.live:
            if oldest is None or oldest > sub.after:
                if sub.offer(texts, message):
                    self.delivered += len(texts)
                continue
            newer = [text for seq, text in frames if seq is None or seq > sub.after]
            if newer and sub.offer(newer, protocol.encode_batch(newer)):
                self.delivered += len(newer)

    # -- catch-up, run by the joining socket's task ---------------------------------------
    async def _read_log(self, event_id: int, cursor: int, limit: int) -> list[tuple[int, str]]:
        """Up to `limit` logged frames after `cursor`, encoded; a bounded number at a time."""
        async with self._replay_reads:
            self.replay_reads += 1
            async with self.store.read() as repo:
                return _encoded(await repo.frames_since(event_id, cursor, limit))

    async def _page(self, event_id: int, index: int) -> Page:
        """The (at most PAGE) logged frames after page `index`'s start, read from the log."""
        return Page.of(index, await self._read_log(event_id, index * PAGE, PAGE))

    async def _catch_up(
        self, stream: _Stream, sub: Subscriber, since: int | None
    ) -> AsyncGenerator[str, None]:
        """The messages after `since`: from the log while it is older than the ring, then from
        the ring; `sub` goes live in the same step that reads the ring, so nothing is missed
        or repeated between catch-up and live frames."""
        await stream.ready.wait()
        if stream.stopped or stream.event_id is None:
            sub.end()
            return
        event_id = stream.event_id
        cursor = stream.last if since is None else since
        if cursor > stream.last:
            # Ahead of this hub: frames still on their way here, or `since` is ahead of the log.
            async with self.store.read() as repo:
                logged = await repo.last_seq(event_id)
            if cursor > logged:
                yield protocol.stream_reset(logged, self.clock.now())
                cursor = logged
        while not stream.covers(cursor):
            index = cursor // PAGE
            load = functools.partial(self._page, event_id, index)
            page = await stream.pages.get(index, load) or await load()
            message = page.after(cursor)
            if message is None:
                break  # the log ends here
            yield message
            cursor = page.seqs[-1]
        # No await from here until `sub` is live.
        texts = stream.after(cursor)
        sub.after = max(cursor, stream.last)
        stream.joining.discard(sub)
        stream.live.add(sub)
        for message in protocol.catch_up_messages(texts):
            yield message
