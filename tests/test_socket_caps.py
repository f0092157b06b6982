"""Limits on live sockets (issue 16, item 1): caps per address and in all, presence per
reader, and replays from 0 that read the log once. Real uvicorn, real sockets, real SQLite
(and Redis for the audience across processes)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from panel.clock import FakeClock
from panel.config import Settings
from panel.live.broker import public_channel
from panel.live.caps import address_bucket
from panel.store.base import Store
from tests.conftest import LiveServer, wait_for
from tests.livehelpers import WS_OPTIONS, Reader, client_for, post_as, seed_live
from tests.test_redis import pair, shared_settings  # noqa: F401 F811 (fixtures)


@contextlib.contextmanager
def serving(settings: Settings, clock: FakeClock, **changes: Any) -> Iterator[LiveServer]:
    server = LiveServer(dataclasses.replace(settings, **changes), clock)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.asynccontextmanager
async def readers(server: LiveServer, slug: str, *ids: str | None) -> AsyncIterator[list[Reader]]:
    """Sockets that are through their catch-up (their first presence frame came)."""
    opened: list[Reader] = []
    try:
        for reader in ids:
            opened.append(await Reader.open(server, slug, reader=reader))
            await opened[-1].until_type("presence")
        yield opened
    finally:
        for socket in opened:
            await socket.close()


async def refused(url: str, **options: Any) -> InvalidStatus:
    """Open `url` and expect the handshake to be refused with an HTTP status."""
    with pytest.raises(InvalidStatus) as caught:
        async with connect(url, **{**WS_OPTIONS, **options}):
            pass
    return caught.value


def audience(frames: list[dict[str, Any]]) -> int:
    return int(next(f for f in frames if f["type"] == "presence")["data"]["audience"])


async def test_one_address_gets_at_most_its_cap_of_sockets(
    settings: Settings, clock: FakeClock
) -> None:
    with serving(settings, clock, max_sockets_per_ip=3) as server:
        info = await seed_live(server)
        svc = server.services
        url = f"{server.ws_url}/events/{info['slug']}/live"
        async with readers(server, info["slug"], "browser-1", "browser-2", "browser-3") as open_:
            refusal = await refused(url)
            assert refusal.response.status_code == 429
            assert refusal.response.headers["Retry-After"].isdigit()
            error = json.loads(refusal.response.body or b"{}")["error"]
            assert error["code"] == "too_many_sockets"
            assert "your address" in error["message"]
            # Refused before anything was kept: no subscriber, no place in the audience.
            assert svc.hub.sockets(public_channel(info["id"])) == 3
            assert svc.socket_caps.open == 3 and svc.socket_caps.refused == 1
            # The staff stream counts apart per address: not refused for the readers' cap
            # (closed instead for want of a session, as before).
            staff = await Reader.open(server, info["slug"], path="/staff/events/{slug}/live")
            assert await staff.close_code() == 1008
            # A place given back is a place to take.
            await open_[0].close()
            await wait_for(lambda: svc.socket_caps.open == 2, message="the place given back")
            again = await Reader.open(server, info["slug"], reader="browser-4")
            try:
                await again.until_type("presence")
            finally:
                await again.close()


async def test_the_server_gets_at_most_its_cap_of_sockets_in_all(
    settings: Settings, clock: FakeClock
) -> None:
    with serving(settings, clock, max_sockets=2) as server:
        info = await seed_live(server)
        svc = server.services
        async with readers(server, info["slug"], "browser-1", "browser-2"):
            for path in ("/events/{slug}/live", "/staff/events/{slug}/live"):
                url = server.ws_url + path.format(slug=info["slug"])
                refusal = await refused(url)
                assert refusal.response.status_code == 429, path
                error = json.loads(refusal.response.body or b"{}")["error"]
                assert "this server" in error["message"]
            assert svc.socket_caps.refused == 2
            assert svc.hub.sockets(public_channel(info["id"])) == 2


def test_an_ipv6_address_counts_in_its_64_and_ipv4_by_itself() -> None:
    assert address_bucket("2001:db8:1:2:aaaa::1") == address_bucket("2001:db8:1:2:bbbb::9")
    assert address_bucket("2001:db8:1:2::1") != address_bucket("2001:db8:1:3::1")
    assert address_bucket("::ffff:192.0.2.7") == "192.0.2.7"
    assert address_bucket("192.0.2.7") != address_bucket("192.0.2.8")
    assert address_bucket(None) == "unknown"


async def test_the_audience_counts_readers_not_sockets(server: LiveServer) -> None:
    info = await seed_live(server)
    slug = info["slug"]
    # Two readers by their browser id: five tabs and three tabs.
    async with readers(server, slug, *["browser-aaaa"] * 5, *["browser-bbbb"] * 3) as tabs:
        assert audience(tabs[-1].frames) == 2
        assert server.services.hub.sockets(public_channel(info["id"])) == 8
        # Tabs come and go; the reader stays until the last one goes.
        for tab in tabs[:4]:
            await tab.close()
        await tabs[-1].until(
            lambda frames: (
                [f for f in frames if f["type"] == "presence"][-1]["data"]["audience"] == 2
            )
        )
        await tabs[4].close()
        await tabs[-1].until(
            lambda frames: (
                [f for f in frames if f["type"] == "presence"][-1]["data"]["audience"] == 1
            ),
            what="an audience of 1 once reader A's last tab closed",
        )


async def test_without_a_browser_id_the_session_cookie_names_the_reader(
    server: LiveServer,
) -> None:
    info = await seed_live(server, moderation="post")
    cookies: list[str] = []
    for name in ("first", "second"):
        async with client_for(server) as reader:  # a question starts the reader's session
            response = await reader.post(
                f"/api/v1/events/{info['slug']}/questions",
                json={"body": f"A question from the {name} reader?"},
            )
            assert response.status_code == 201, response.text
            cookies.append(f"livepanel={reader.cookies['livepanel']}")
    tabs: list[Reader] = []
    try:
        for cookie in [cookies[0]] * 3 + [cookies[1]] * 2:
            header = {"additional_headers": {"Cookie": cookie}}
            tabs.append(await Reader.open(server, info["slug"], **header))
            await tabs[-1].until_type("presence")
        assert audience(tabs[-1].frames) == 2
        # A forged cookie is not a reader: it counts as its address, once.
        forged = {"additional_headers": {"Cookie": "livepanel=" + cookies[0][10:-4] + "AAAA"}}
        tabs.append(await Reader.open(server, info["slug"], **forged))
        assert audience([await tabs[-1].until_type("presence")]) == 3
    finally:
        for tab in tabs:
            await tab.close()


async def test_the_audience_counts_a_reader_once_across_processes(
    pair: list[LiveServer],  # noqa: F811 (the fixture imported above)
) -> None:
    a, b = pair
    info = await seed_live(a)
    # One reader with tabs on both processes, and a second reader on B.
    on_a = await Reader.open(a, info["slug"], since=0, reader="browser-one")
    on_b = [
        await Reader.open(b, info["slug"], since=0, reader=who)
        for who in ("browser-one", "browser-one", "browser-two")
    ]
    try:
        await on_a.until(
            lambda frames: (
                [f["data"]["audience"] for f in frames if f["type"] == "presence"][-1:] == [2]
            ),
            what="an audience of 2 on A",
        )
    finally:
        for socket in (on_a, *on_b):
            await socket.close()


# -- replays ------------------------------------------------------------------------------


async def test_parallel_replays_from_0_read_the_log_once_and_health_stays_quick(
    settings: Settings, clock: FakeClock
) -> None:
    # A ring of 300 and 650 frames: replays from 0 need the log's first two pages.
    with serving(settings, clock, ring_frames=300, presence_interval=3600) as server:
        info = await seed_live(server, moderation="post")
        await asyncio.gather(
            *(post_as(server, info["id"], f"reader-{i}", f"Question {i}?") for i in range(650))
        )
        async with client_for(server) as http:
            last = (await http.get(f"/api/v1/events/{info['slug']}")).json()["last_seq"]
            assert last > 600
            # A socket keeps the event followed (its ring loaded) as replays arrive.
            async with readers(server, info["slug"], "browser-watch"):
                reads = counting_reads(server.services.store)
                replays = [
                    replay(server, info["slug"], since) for since in [0] * 20 + [57] * 5 + [401]
                ]
                health = asyncio.create_task(healthz_while(http, asyncio.gather(*replays)))
                results, checks = await health
                assert checks and all(status == 200 for status in checks)
                for since, seqs in results:
                    assert seqs == list(range(since + 1, last + 1)), f"since={since}"
                # Two pages from the log for all 26 replays (and the health checks' pings).
                assert reads["log"] <= 2, reads


def counting_reads(store: Store) -> dict[str, int]:
    """Count the store's reads of the event log from now on (the real store still answers)."""
    counts = {"log": 0}
    original = store.read

    @contextlib.asynccontextmanager
    async def read() -> AsyncIterator[Any]:
        async with original() as repo:
            frames_since = repo.frames_since

            async def counted(*args: Any, **kwargs: Any) -> Any:
                counts["log"] += 1
                return await frames_since(*args, **kwargs)

            repo.frames_since = counted
            yield repo

    store.read = read  # type: ignore[method-assign]
    return counts


async def replay(server: LiveServer, slug: str, since: int) -> tuple[int, list[int]]:
    reader = await Reader.open(server, slug, since=since, reader=f"browser-replay-{since}")
    try:
        await reader.until_type("presence", timeout=60)  # comes right after the catch-up
        return since, reader.seqs
    finally:
        await reader.close()


async def healthz_while(
    http: httpx.AsyncClient, work: asyncio.Future[list[tuple[int, list[int]]]]
) -> tuple[list[tuple[int, list[int]]], list[int]]:
    """Ask /healthz over and over while `work` runs, each within a generous deadline."""
    statuses: list[int] = []
    while not work.done() or not statuses:
        response = await asyncio.wait_for(http.get("/healthz"), 10)
        statuses.append(response.status_code)
        await asyncio.wait([work], timeout=0.05)
    return await work, statuses
