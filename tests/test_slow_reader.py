"""A reader that stops reading is released: the server resets its connection (its side of
the socket is gone, not left ESTABLISHED holding the send buffer), the readers that keep up
get every frame once, in order, and the slow one resumes exactly from the last seq it saw.

Ordinary frames (answers of ~1 KB), a real uvicorn, a raw client that completes the
handshake and then never reads. Once bound by bytes (the send timeout out of reach), once
by time (the byte bound out of reach)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from panel.clock import FakeClock
from panel.config import Settings
from tests.conftest import LiveServer, wait_for
from tests.livehelpers import Reader, assert_gapless, panelist, post_as, seed_live
from tests.tcptable import server_side_established
from tests.test_live import RawSocket, ResumingReader, approve

NORMAL_READERS = 3
MAX_FRAMES = 3000  # bound on the publishing; the release comes after a few hundred
BOUNDS = {
    # 16 KiB kernel buffer (Linux doubles it), 96 KiB of backlog and transport buffer.
    "bytes": {"live_unread_bytes": 96 * 1024, "live_send_timeout": 600.0},
    # Nothing held counts; one send blocked for 1.5 s is enough.
    "time": {"live_unread_bytes": 1 << 40, "live_send_timeout": 1.5, "send_queue_frames": 10**6},
}


@pytest.fixture(params=sorted(BOUNDS))
def bounded_server(
    request: pytest.FixtureRequest, settings: Settings, clock: FakeClock
) -> Iterator[LiveServer]:
    changes = {"live_socket_sndbuf": 16 * 1024, **BOUNDS[request.param]}
    live = LiveServer(dataclasses.replace(settings, **changes), clock)  # type: ignore[arg-type]
    live.start()
    try:
        yield live
    finally:
        live.stop()


async def test_a_reader_that_stops_reading_is_reset_and_resumes_exactly(
    bounded_server: LiveServer,
) -> None:
    server = bounded_server
    info = await seed_live(server)
    slug, channel = info["slug"], f"event:{info['id']}"
    q = await post_as(server, info["id"], "r", "What is the work like?")
    await approve(server, q.id)
    hub = server.services.hub
    start = hub_last = await server.acall(lambda: _last_seq(server, info["id"]))
    normal = [ResumingReader(server, slug) for _ in range(NORMAL_READERS)]
    slow = await RawSocket.open(server, f"/events/{slug}/live?since={start}")
    client_port = slow.writer.get_extra_info("sockname")[1]
    try:
        await wait_for(
            lambda: hub.sockets(channel) == NORMAL_READERS + 1, message="every reader subscribed"
        )
        assert server_side_established(server.port, client_port)
        sent = 0
        while not hub.dropped and sent < MAX_FRAMES:
            body = f"Answer {sent}: " + "an ordinary answer, a sentence or two long. " * 24
            who = panelist(info, sent % 2)
            await server.acall(lambda b=body, w=who: server.actions.answer(q.id, b, w))
            sent += 1
        await wait_for(lambda: hub.dropped >= 1, timeout=60, message="the slow reader's drop")
        # Released without the client reading a byte: the server's end is gone.
        await wait_for(
            lambda: not server_side_established(server.port, client_port),
            timeout=30,
            message="the server to let the slow connection go",
        )
        await wait_for(
            lambda: hub.sockets(channel) == NORMAL_READERS, message="the hub to forget it"
        )
        hub_last = start + sent

        # Now it reads: what it got is in order, then a reset or EOF, never a close frame that
        # took its turn behind megabytes.
        code, seen = await slow.read_to_close(timeout=30)
        assert code is None
        if seen:
            assert_gapless([{"seq": s} for s in seen], start + 1, seen[-1])
        resumed_from = seen[-1] if seen else start
        resumed = await Reader.open(server, slug, since=resumed_from)
        try:
            await resumed.until_seq(hub_last, timeout=30)
            assert_gapless(resumed.logged, resumed_from + 1, hub_last)
        finally:
            await resumed.close()

        # The readers that keep up have every frame once, in order.
        for reader in normal:
            await wait_for(
                lambda r=reader: r.last_seq >= hub_last, timeout=60, message="a normal reader"
            )
            assert_gapless(reader.frames, 1, hub_last)
        assert sum(len(r.closes) for r in normal) + 1 == hub.dropped, "only the slow one dropped"
        # The slow one was reset, not closed (it read nothing); /metrics counts the resets.
        assert 1 <= hub.resets <= hub.dropped
    finally:
        slow.close()
        for reader in normal:
            await reader.stop()


async def _last_seq(server: LiveServer, event_id: int) -> int:
    async with server.services.store.read() as repo:
        return int(await repo.last_seq(event_id))
