"""The live stream over a real uvicorn: order, gapless resume, privacy, limits, slow readers."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import json
import os
import socket
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.exceptions import ConnectionClosed

from panel.clock import FakeClock
from panel.config import Settings
from panel.domain import RuleError
from tests.conftest import EDITOR, EVENT_START, LiveServer, seed_event, wait_for
from tests.livehelpers import (
    Frame,
    Reader,
    assert_gapless,
    cookie_header,
    editor_client,
    flatten,
    last_seq,
    log_frames,
    logged,
    panelist,
    post_as,
    seed_live,
)
from tests.pgdb import BOTH_STORES

CLOSE_POLICY, CLOSE_TOO_BIG, CLOSE_TRY_AGAIN = 1008, 1009, 1013


def api(server: LiveServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, timeout=15)


async def approve(server: LiveServer, question_id: int) -> None:
    await server.acall(lambda: server.actions.moderate(question_id, "approve", EDITOR))


async def reject(server: LiveServer, question_id: int, reason: str = "") -> None:
    await server.acall(
        lambda: server.actions.moderate(question_id, "reject", EDITOR, reason=reason)
    )


async def answer(
    server: LiveServer, info: dict[str, Any], question_id: int, body: str, who: int = 0
) -> int:
    return await server.acall(lambda: server.actions.answer(question_id, body, panelist(info, who)))


async def upvote(server: LiveServer, question_id: int, reader: str) -> int:
    return await server.acall(lambda: server.actions.upvote(question_id, reader))


# -- order ------------------------------------------------------------------------------------
@BOTH_STORES
async def test_posted_approved_answered_reach_three_readers_in_log_order(
    server: LiveServer,
) -> None:
    info = await seed_live(server)
    slug = info["slug"]
    async with api(server) as client:
        start = await last_seq(client, slug)
        assert start >= 1, "the scheduler's opening frames are in the log"
        # One reader with no since (means 0), one from 0, one from the current end.
        readers = [
            await Reader.open(server, slug),
            await Reader.open(server, slug, since=0),
            await Reader.open(server, slug, since=start),
        ]
        try:
            await readers[0].until_seq(start)
            await readers[1].until_seq(start)
            posted = await client.post(
                f"/api/v1/events/{slug}/questions",
                json={"body": "What does a first week on the job look like?", "name": "Sam"},
            )
            assert posted.status_code == 201, posted.text
            assert posted.json()["status"] == "pending"
            qid = posted.json()["id"]
            await approve(server, qid)
            answer_id = await answer(server, info, qid, "Mostly **shadowing** a colleague.")
            voted = await client.post(f"/api/v1/questions/{qid}/upvote")
            assert voted.status_code == 200 and voted.json()["upvotes"] == 1, voted.text

            end = await last_seq(client, slug)
            assert end == start + 3, "a pending post logs nothing; approve, answer, upvote do"
            log = await log_frames(client, slug)
            assert_gapless(log, 1, end)
            for reader in readers:
                await reader.until_seq(end)
            assert readers[0].logged == log
            assert readers[1].logged == log
            assert readers[2].logged == log[start:]

            published, answered, updated = log[start:]
            assert published["type"] == "question.published"
            assert published["data"]["question"]["id"] == qid
            assert published["data"]["question"]["body"] == (
                "What does a first week on the job look like?"
            )
            assert "reader_id" not in published["data"]["question"]
            assert answered["type"] == "answer.published"
            assert answered["data"]["answer"]["id"] == answer_id
            assert answered["data"]["answer"]["question_id"] == qid
            assert "<strong>shadowing</strong>" in answered["data"]["answer"]["body_html"]
            assert updated["type"] == "question.updated"
            assert updated["data"]["question"]["upvotes"] == 1
            for frame in log:
                assert frame["at"].endswith(("Z", "+00:00")), frame["at"]
        finally:
            for reader in readers:
                await reader.close()


async def test_presence_counts_the_audience_without_a_seq(server: LiveServer) -> None:
    info = await seed_live(server)
    readers = [await Reader.open(server, info["slug"], reader=f"browser-{i}") for i in range(2)]
    try:
        frame = await readers[0].until(
            lambda frames: next(
                (f for f in frames if f["type"] == "presence" and f["data"].get("audience") == 2),
                None,
            ),
            what="presence with an audience of 2",
        )
        assert "seq" not in frame
        await readers[1].close()
        await readers[0].until(
            lambda frames: any(
                f["type"] == "presence" and f["data"].get("audience") == 1 for f in frames
            ),
            what="presence with an audience of 1",
        )
    finally:
        await readers[0].close()


async def test_a_newcomer_gets_the_audience_and_the_counts_right_after_catching_up(
    settings: Settings, clock: FakeClock
) -> None:
    # With the timed announcement an hour away, only the greeting can deliver this. The
    # counts: a change made while a socket joins goes out only to the sockets already live,
    # and a cached page may show older ones, so each newcomer gets them as of now.
    quiet = LiveServer(dataclasses.replace(settings, presence_interval=3600), clock)
    quiet.start()
    try:
        info = await seed_live(quiet)
        await post_as(quiet, info["id"], "asker", "Asked before the socket opened?")
        reader = await Reader.open(quiet, info["slug"])
        try:
            frames = await reader.until(
                lambda fs: [f for f in fs if f["type"] == "presence"], what="a presence frame"
            )
            assert frames[0]["data"]["audience"] == 1
            catch_up = [f for f in reader.frames if "seq" in f]
            assert catch_up, "the seeded event has frames to catch up on"
            greeting = reader.frames[len(catch_up) :]  # right after them
            assert [f["type"] for f in greeting] == ["counts", "presence"]
            assert greeting[0]["data"]["received"] == 1 and greeting[0]["data"]["waiting"] == 1
            assert "seq" not in greeting[0]
        finally:
            await reader.close()
    finally:
        quiet.stop()


# -- resume -----------------------------------------------------------------------------------
@BOTH_STORES
async def test_resume_after_fifty_missed_frames_gets_each_exactly_once(server: LiveServer) -> None:
    info = await seed_live(server)
    slug, event_id = info["slug"], info["id"]
    async with api(server) as client:
        reader = await Reader.open(server, slug, since=0)
        first = await last_seq(client, slug)
        await reader.until_seq(first)
        # One live frame while connected, so the resume point is a live frame's seq.
        q0 = await post_as(server, event_id, "reader-0", "Warm-up question")
        await approve(server, q0.id)
        await reader.until_seq(first + 1)
        seen = reader.last_seq
        await reader.close()

        questions = [
            await post_as(server, event_id, f"reader-{i}", f"Missed question {i}")
            for i in range(10)
        ]
        for q in questions:  # 10 x question.published
            await approve(server, q.id)
        # 20 x question.updated: each question's second vote comes within its first one's
        # window, so its frame follows when the window ends (panel/votes.py).
        for i, q in enumerate(questions):
            await upvote(server, q.id, f"voter-a-{i}")
            await upvote(server, q.id, f"voter-b-{i}")
        for i, q in enumerate(questions):  # 20 x answer.published
            await answer(server, info, q.id, f"First answer {i}", who=0)
            await answer(server, info, q.id, f"Second answer {i}", who=1)
        end = seen + 50

        async def all_logged() -> bool:
            return await last_seq(client, slug) == end

        await wait_for(all_logged, message="50 frames in the log")

        back = await Reader.open(server, slug, since=seen)
        try:
            await back.until_seq(end)
            assert_gapless(back.logged, seen + 1, end)
            assert back.logged == await log_frames(client, slug, since=seen)
            # Then live frames follow, still without a duplicate.
            await answer(server, info, questions[0].id, "A live answer after the resume")
            await back.until_seq(end + 1)
            assert_gapless(back.logged, seen + 1, end + 1)
            assert back.logged[-1]["data"]["answer"]["body_md"] == "A live answer after the resume"
        finally:
            await back.close()


async def approve_burst(server: LiveServer, question_ids: list[int]) -> None:
    """Approve the questions all at once: the writer commits them as one group, so their
    frames reach the hub together, faster than it can send them one by one."""

    async def burst() -> None:
        await asyncio.gather(
            *(server.actions.moderate(qid, "approve", EDITOR) for qid in question_ids)
        )

    await server.acall(burst)


async def test_a_burst_reaches_every_reader_once_in_order_coalesced(server: LiveServer) -> None:
    info = await seed_live(server)
    slug, event_id = info["slug"], info["id"]
    pending = [await post_as(server, event_id, f"r{i}", f"Burst question {i}") for i in range(65)]
    ids = [q.id for q in pending]
    async with api(server) as client:
        start = await last_seq(client, slug)
        readers = [await Reader.open(server, slug, since=start) for _ in range(5)]
        try:
            for reader in readers:
                await reader.until_type("presence")  # caught up: what follows is live
            live_from = [len(reader.raw) for reader in readers]
            await approve_burst(server, ids[:30])
            await approve_burst(server, ids[30:60])
            end = await last_seq(client, slug)
            assert end == start + 60
            log = await log_frames(client, slug, since=start)
            for reader, first in zip(readers, live_from, strict=True):
                await reader.until_seq(end)
                assert_gapless(reader.logged, start + 1, end)
                assert reader.logged == log
                arrays = [m for m in reader.raw[first:] if len(logged(flatten(m))) > 1]
                assert arrays, "a burst waiting for the hub goes out as one array message"

            # Resume from inside a coalesced message: exactly the rest, then live frames.
            middle = start + 25
            back = await Reader.open(server, slug, since=middle)
            try:
                await back.until_seq(end)
                assert_gapless(back.logged, middle + 1, end)
                await approve_burst(server, ids[60:])
                await back.until_seq(end + 5)
                assert_gapless(back.logged, middle + 1, end + 5)
                assert back.logged == await log_frames(client, slug, since=middle)
            finally:
                await back.close()
        finally:
            for reader in readers:
                await reader.close()


@BOTH_STORES
async def test_connecting_while_frames_are_written_misses_and_repeats_nothing(
    server: LiveServer,
) -> None:
    """Catch-up and live frames overlap at connect time: the seam must be exact."""
    info = await seed_live(server)
    slug, event_id = info["slug"], info["id"]
    questions = [await post_as(server, event_id, f"r{i}", f"Race question {i}") for i in range(40)]

    async def produce() -> None:
        for i, q in enumerate(questions):
            await approve(server, q.id)
            await upvote(server, q.id, f"v{i}")

    opened: list[tuple[int, Reader]] = []
    async with api(server) as client:
        producer = asyncio.create_task(produce())
        try:
            for k in range(6):
                target = 3 + 12 * k
                await wait_for(
                    lambda t=target: _at_least(client, slug, t),
                    message=f"the log to reach {target}",
                )
                since = 0 if k % 2 == 0 else max(0, await last_seq(client, slug) - 5)
                opened.append((since, await Reader.open(server, slug, since=since)))
            await asyncio.wait_for(producer, 60)
            end = await last_seq(client, slug)
            log = await log_frames(client, slug)
            assert_gapless(log, 1, end)
            for since, reader in opened:
                await reader.until_seq(end, timeout=20)
                assert_gapless(reader.logged, since + 1, end)
                assert reader.logged == log[since:]
        finally:
            producer.cancel()
            with contextlib.suppress(BaseException):
                await producer
            for _, reader in opened:
                await reader.close()


async def test_catch_up_longer_than_a_page_of_the_log_is_complete(
    settings: Settings, clock: FakeClock
) -> None:
    """Over 1,000 frames: the catch-up and the polling API both page through the log."""
    # Votes make the frames here: with no window, each vote logs its own frame.
    server = LiveServer(dataclasses.replace(settings, vote_frame_seconds=0), clock)
    server.start()
    try:
        await _page_through_a_long_log(server)
    finally:
        server.stop()


async def _page_through_a_long_log(server: LiveServer) -> None:
    info = await seed_live(server)
    slug = info["slug"]
    q = await post_as(server, info["id"], "asker", "Popular question")
    await approve(server, q.id)

    async def votes(first: int) -> None:
        # Issued together on the server's loop: they commit in groups, quickly.
        await asyncio.gather(
            *[server.actions.upvote(q.id, f"voter-{first + i}") for i in range(200)]
        )

    for first in range(0, 1200, 200):
        await server.acall(lambda first=first: votes(first), timeout=60)
    async with api(server) as client:
        end = await last_seq(client, slug)
        assert end > 1200
        page = (await client.get(f"/api/v1/events/{slug}/stream")).json()
        assert page["more"] is True and len(page["frames"]) < end
        log = await log_frames(client, slug)
    assert_gapless(log, 1, end)
    assert log[-1]["data"]["question"]["upvotes"] == 1200
    reader = await Reader.open(server, slug, since=0)
    try:
        await reader.until_seq(end, timeout=30)
        assert reader.logged == log
        assert len(reader.raw) < end, "the catch-up is sent in batches, not frame by frame"
    finally:
        await reader.close()


async def _at_least(client: httpx.AsyncClient, slug: str, seq: int) -> bool:
    return await last_seq(client, slug) >= seq


async def test_since_ahead_of_the_log_gets_one_stream_reset_then_live_frames(
    server: LiveServer,
) -> None:
    info = await seed_live(server)
    slug = info["slug"]
    async with api(server) as client:
        end = await last_seq(client, slug)
        reader = await Reader.open(server, slug, since=end + 100)
        try:
            first = await reader.receive()
            assert len(first) == 1
            reset = first[0]
            assert reset["type"] == "stream.reset"
            assert reset["data"]["last_seq"] == end
            assert "seq" not in reset
            # The client reloads; meanwhile the socket carries live frames from the real end.
            q = await post_as(server, info["id"], "r", "After the reset")
            await approve(server, q.id)
            await reader.until_seq(end + 1)
            assert reader.seqs == [end + 1]
            assert sum(f["type"] == "stream.reset" for f in reader.frames) == 1
        finally:
            await reader.close()
        # The polling twin says the same.
        polled = (
            await client.get(f"/api/v1/events/{slug}/stream", params={"since": end + 100})
        ).json()
        assert [f["type"] for f in polled["frames"]] == ["stream.reset"]
        assert polled["frames"][0]["data"]["last_seq"] == end + 1


@pytest.mark.parametrize("since", ["abc", "-1", "1.5", "1e3", "%201", "9" * 30, "%C2%B2", "%D9%A1"])
async def test_a_bad_since_is_refused_with_1008(server: LiveServer, since: str) -> None:
    info = await seed_live(server)
    reader = await Reader.open(server, info["slug"], since=since)
    assert await reader.close_code() == CLOSE_POLICY
    assert logged(reader.frames) == [], "no frames before the refusal"


async def test_unknown_and_draft_events_are_refused_with_1008(server: LiveServer) -> None:
    await server.acall(lambda: seed_event(server.actions, slug="draft-one", status="draft"))
    for slug in ("no-such-event", "draft-one"):
        reader = await Reader.open(server, slug, since=0)
        assert await reader.close_code() == CLOSE_POLICY, slug
        assert reader.frames == []


async def test_an_event_set_back_to_draft_refuses_the_next_reader_at_once(
    server: LiveServer,
) -> None:
    """The connect's slug lookup is kept in memory, but never past a status change."""
    tomorrow = EVENT_START + timedelta(days=1)  # stays scheduled: the scheduler leaves it be
    info = await server.acall(
        lambda: seed_event(server.actions, slug="second-thoughts", start=tomorrow)
    )
    first = await Reader.open(server, info["slug"], since=0)
    await first.until_type("presence")  # accepted: the lookup is now kept
    await server.acall(lambda: server.actions.set_status(info["id"], "draft", EDITOR))
    second = await Reader.open(server, info["slug"], since=0)
    assert await second.close_code() == CLOSE_POLICY
    assert second.frames == []
    await first.close()


# -- privacy ----------------------------------------------------------------------------------
async def test_no_reader_socket_ever_receives_pending_or_rejected_text(server: LiveServer) -> None:
    info = await seed_live(server)
    slug, event_id = info["slug"], info["id"]
    tag = uuid.uuid4().hex[:8]
    secret: list[str] = []
    public: list[str] = []
    readers = [await Reader.open(server, slug, since=0) for _ in range(3)]
    try:
        async with api(server) as client:
            for i in range(6):
                # A fresh reader (cookie jar) each round keeps clear of the rate limit.
                client.cookies.clear()
                kept, dropped, waiting = (
                    f"APPROVED-{tag}-{i}",
                    f"REJECTED-{tag}-{i}",
                    f"PENDING-{tag}-{i}",
                )
                secret += [dropped, waiting, f"REASON-{tag}-{i}", f"NAME-{tag}-{i}"]
                public.append(kept)
                # Through HTTP (as readers do) and through the action, alternately.
                ids = []
                for body in (kept, dropped, waiting):
                    if i % 2:
                        ids.append(
                            (
                                await post_as(
                                    server,
                                    event_id,
                                    f"reader-{i}",
                                    body,
                                    name=f"NAME-{tag}-{i}" if body != kept else "",
                                )
                            ).id
                        )
                    else:
                        response = await client.post(
                            f"/api/v1/events/{slug}/questions",
                            json={
                                "body": body,
                                **({"name": f"NAME-{tag}-{i}"} if body != kept else {}),
                            },
                        )
                        assert response.status_code == 201, response.text
                        ids.append(response.json()["id"])
                await approve(server, ids[0])
                await reject(server, ids[1], reason=f"REASON-{tag}-{i}")
                await answer(server, info, ids[0], f"An answer to {kept}")
                await upvote(server, ids[0], f"voter-{i}")
                if i == 2:
                    await server.acall(lambda q=ids[0]: server.actions.moderate(q, "pin", EDITOR))
                    # A pending question cannot be upvoted, pinned or answered into view.
                    for attempt in (
                        lambda q=ids[2]: server.actions.upvote(q, "voter-x"),
                        lambda q=ids[2]: server.actions.moderate(q, "pin", EDITOR),
                        lambda q=ids[2]: server.actions.answer(q, "Sneaky", panelist(info)),
                    ):
                        with pytest.raises(RuleError):
                            await server.acall(attempt)
            end = await last_seq(client, slug)
            late = await Reader.open(server, slug, since=0)
            readers.append(late)
            for reader in readers:
                await reader.until_seq(end)
            polled = (await client.get(f"/api/v1/events/{slug}/stream", params={"since": 0})).text
            listing = (await client.get(f"/api/v1/events/{slug}/questions")).text
        async with api(server) as stranger:
            page = (await stranger.get(f"/events/{slug}")).text
        seen = {
            "socket": "".join(r for reader in readers for r in reader.raw),
            "stream api": polled,
            "questions api": listing,
            "event page": page,
        }
        for where, text in seen.items():
            for marker in secret:
                assert marker not in text, f"{marker} leaked to the {where}"
            for marker in public:
                assert marker in text, f"{marker} missing from the {where}"
    finally:
        for reader in readers:
            await reader.close()


# -- malformed and oversized client frames ----------------------------------------------------
async def test_malformed_client_frames_get_an_error_and_the_socket_stays_usable(
    server: LiveServer,
) -> None:
    info = await seed_live(server)
    slug = info["slug"]
    async with api(server) as client:
        end = await last_seq(client, slug)
    reader = await Reader.open(server, slug, since=end)
    try:

        def count(kind: str) -> int:
            return sum(f["type"] == kind for f in reader.frames)

        bad: list[str | bytes] = [
            "this is not json",
            "[1, 2]",
            '{"type": "subscribe"}',
            "{",
            b"\xff\xfe\x00",
            "x" * (60 * 1024),
            "[" * 50_000,
            '{"type": "ping", "x": ' + "[" * 50_000,
        ]
        for n, message in enumerate(bad, start=1):
            await reader.ws.send(message)
            await reader.until(lambda _, n=n: count("error") >= n, what=f"error frame {n}")
        errors = [f for f in reader.frames if f["type"] == "error"]
        assert all(e["data"]["code"] and e["data"]["message"] for e in errors)
        assert all("seq" not in e for e in errors)
        await reader.ws.send(json.dumps({"type": "ping"}))
        pong = await reader.until_type("pong")
        assert "seq" not in pong
        q = await post_as(server, info["id"], "r", "Still listening?")
        await approve(server, q.id)
        await reader.until_seq(end + 1)
        assert reader.seqs == [end + 1]
    finally:
        await reader.close()


@pytest.mark.parametrize("kind", ["text", "bytes"])
async def test_a_client_frame_over_64_kib_closes_with_1009(server: LiveServer, kind: str) -> None:
    info = await seed_live(server)
    reader = await Reader.open(server, info["slug"])
    big = "x" * (64 * 1024 + 1)
    await reader.ws.send(big if kind == "text" else big.encode())
    assert await reader.close_code() == CLOSE_TOO_BIG
    # The server shrugs it off.
    async with api(server) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
    again = await Reader.open(server, info["slug"])
    try:
        await again.ws.send(json.dumps({"type": "ping"}))
        await again.until_type("pong")
    finally:
        await again.close()


# -- a slow reader ----------------------------------------------------------------------------
@pytest.fixture
def slow_server(settings: Settings, clock: FakeClock) -> Iterator[LiveServer]:
    """A small per-socket send queue, and answers big enough to fill TCP buffers quickly."""
    live = LiveServer(
        dataclasses.replace(settings, send_queue_frames=8, answer_max_chars=100_000), clock
    )
    live.start()
    try:
        yield live
    finally:
        live.stop()


class RawSocket:
    """A WebSocket client made by hand that completes the handshake and then stops reading."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, server: LiveServer, path: str) -> RawSocket:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.wait_for(loop.sock_connect(sock, ("127.0.0.1", server.port)), 10)
        reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert head.split(b"\r\n")[0].split()[1] == b"101", head
        return cls(reader, writer)

    async def read_to_close(self, timeout: float = 30.0) -> tuple[int | None, list[int]]:
        """Now read everything: (close code, or None at EOF without one; the seqs received)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        buffer = b""
        seqs: list[int] = []
        while True:
            while (parsed := _parse_frame(buffer)) is not None:
                opcode, payload, buffer = parsed
                if opcode == 0x8:
                    code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                    return code, seqs
                if opcode == 0x1:
                    seqs += [f["seq"] for f in logged(flatten(payload))]
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError("the slow socket was neither closed nor finished")
            try:
                chunk = await asyncio.wait_for(self.reader.read(1 << 20), left)
            except ConnectionResetError:  # a slow reader's connection is reset, not closed
                return None, seqs
            if not chunk:
                return None, seqs
            buffer += chunk

    def close(self) -> None:
        self.writer.transport.abort()


def _parse_frame(buffer: bytes) -> tuple[int, bytes, bytes] | None:
    """(opcode, payload, rest) of one unmasked server frame, or None if incomplete."""
    if len(buffer) < 2:
        return None
    opcode, length, offset = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
    if length == 126:
        if len(buffer) < 4:
            return None
        length, offset = int.from_bytes(buffer[2:4], "big"), 4
    elif length == 127:
        if len(buffer) < 10:
            return None
        length, offset = int.from_bytes(buffer[2:10], "big"), 10
    assert not buffer[1] & 0x80, "a server must not mask its frames"
    if len(buffer) < offset + length:
        return None
    return opcode, buffer[offset : offset + length], buffer[offset + length :]


class ResumingReader:
    """A reader that keeps up, and resumes with since=<last seq> if it is ever closed."""

    def __init__(self, server: LiveServer, slug: str) -> None:
        self.server, self.slug = server, slug
        self.frames: list[Frame] = []
        self.closes: list[int | None] = []
        self.task = asyncio.create_task(self._run())

    @property
    def last_seq(self) -> int:
        return self.frames[-1]["seq"] if self.frames else 0

    async def _run(self) -> None:
        for _ in range(20):
            reader = await Reader.open(self.server, self.slug, since=self.last_seq)
            try:
                while True:
                    self.frames.extend(logged(await reader.receive(timeout=120)))
            except ConnectionClosed as exc:
                self.closes.append(exc.rcvd.code if exc.rcvd else None)

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(BaseException):
            await self.task


async def test_a_reader_that_never_reads_is_dropped_and_others_keep_up(
    slow_server: LiveServer,
) -> None:
    server = slow_server
    info = await seed_live(server)
    slug = info["slug"]
    q = await post_as(server, info["id"], "r", "Tell us everything, at length")
    await approve(server, q.id)
    async with api(server) as client:
        start = await last_seq(client, slug)
    hub = server.services.hub
    healthy = ResumingReader(server, slug)
    slow = await RawSocket.open(server, f"/events/{slug}/live?since={start}")
    try:
        await wait_for(
            lambda: hub.sockets(f"event:{info['id']}") == 2, message="both readers subscribed"
        )
        await wait_for(lambda: healthy.last_seq >= start, message="the healthy catch-up")
        sent = 0
        for i in range(150):  # at most 18 MB on the wire: far beyond loopback buffers
            if hub.dropped:
                break
            await answer(server, info, q.id, f"Answer {i}: " + "long " * 12_000, who=i % 2)
            sent += 1
        await wait_for(lambda: hub.dropped >= 1, timeout=30, message="the slow reader's drop")
        assert sent > 8, "the queue holds 8 frames, so more were needed to overflow it"
        # Disconnected: a 1013 close frame, or (since it could not even take that) a reset.
        code, slow_seqs = await slow.read_to_close()
        assert code in (CLOSE_TRY_AGAIN, None), code
        # What it did get was in order and without gaps, then it was cut off before the end.
        if slow_seqs:
            assert_gapless([{"seq": s} for s in slow_seqs], start + 1, slow_seqs[-1])
        assert len(slow_seqs) < sent

        # Everyone else is fine: the keeping-up reader has every frame once, in order.
        async with api(server) as client:
            end = await last_seq(client, slug)
            assert end == start + sent
            await wait_for(
                lambda: healthy.last_seq >= end,
                timeout=30,
                message="the healthy reader to catch up",
            )
            assert_gapless(healthy.frames, 1, end)
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            metrics = (await client.get("/metrics")).text
            # The slow one, plus the keeping-up one if a loaded machine ever made it lag too.
            dropped = 1 + healthy.closes.count(CLOSE_TRY_AGAIN)
            counted = {
                sample.name: sample.value
                for family in text_string_to_metric_families(metrics)
                for sample in family.samples
            }
            assert counted["livepanel_readers_dropped_total"] == dropped
        late = await Reader.open(server, slug, since=start)
        try:
            await late.until_seq(end, timeout=30)
            assert_gapless(late.logged, start + 1, end)
        finally:
            await late.close()
    finally:
        slow.close()
        await healthy.stop()


async def test_a_burst_beyond_the_send_queue_reaches_a_reader_that_keeps_up_whole(
    slow_server: LiveServer,
) -> None:
    """More frames in one commit group than a socket's queue holds: a reader that keeps up
    gets them all, in order, and stays connected. The hub writes to a socket directly while
    it takes more bytes; the bounded queue (and the 1013 close when it overflows) is only for
    a reader that falls behind (see the test above)."""
    server = slow_server
    info = await seed_live(server)
    slug = info["slug"]
    q = await post_as(server, info["id"], "r", "Burst me")
    await approve(server, q.id)
    async with api(server) as client:
        start = await last_seq(client, slug)
    reader = await Reader.open(server, slug, since=start)
    try:

        async def burst() -> list[int]:
            # Started together on the server's loop, the writes share one commit group, so
            # their 20 frames reach the hub at once: more than the queue of 8 could hold.
            return list(
                await asyncio.gather(
                    *[
                        server.actions.answer(q.id, f"Burst answer {i}", panelist(info, i % 2))
                        for i in range(20)
                    ]
                )
            )

        await server.acall(burst)
        await reader.until_seq(start + 20)
        assert_gapless(reader.logged, start + 1, start + 20)
        assert server.services.hub.dropped == 0
        assert server.services.settings.send_queue_frames < 20
    finally:
        await reader.close()


# -- staff streams ----------------------------------------------------------------------------
async def test_staff_stream_refuses_strangers_and_foreign_origins(server: LiveServer) -> None:
    info = await seed_live(server)
    path = "/staff/events/{slug}/live"
    stranger = await Reader.open(server, info["slug"], path=path)
    assert await stranger.close_code() == CLOSE_POLICY
    async with api(server) as reader_client:  # a reader's cookie is not a staff session
        await reader_client.get(f"/events/{info['slug']}")
        as_reader = await Reader.open(
            server,
            info["slug"],
            path=path,
            additional_headers={"Cookie": cookie_header(reader_client)},
        )
        assert await as_reader.close_code() == CLOSE_POLICY
    editor = await editor_client(server)
    try:
        cookie = {"Cookie": cookie_header(editor)}
        foreign = await Reader.open(
            server, info["slug"], path=path, additional_headers=cookie, origin="http://evil.example"
        )
        assert await foreign.close_code() == CLOSE_POLICY
        unknown = await Reader.open(server, "no-such-event", path=path, additional_headers=cookie)
        assert await unknown.close_code() == CLOSE_POLICY
        for frames in (stranger.frames, as_reader.frames, foreign.frames, unknown.frames):
            assert frames == []
        # The same session from our own origin is let in (it gets a pong, not a close).
        ours = await Reader.open(
            server, info["slug"], path=path, additional_headers=cookie, origin=server.url
        )
        try:
            await ours.ws.send(json.dumps({"type": "ping"}))
            await ours.until_type("pong")
        finally:
            await ours.close()
    finally:
        await editor.aclose()


async def test_staff_stream_announces_queue_changes_without_question_text(
    server: LiveServer,
) -> None:
    info = await seed_live(server)
    slug = info["slug"]
    tag = uuid.uuid4().hex[:8]
    editor = await editor_client(server)
    staff = await Reader.open(
        server,
        slug,
        path="/staff/events/{slug}/live",
        additional_headers={"Cookie": cookie_header(editor)},
        origin=server.url,
    )
    try:
        async with api(server) as reader_client:
            posted = await reader_client.post(
                f"/api/v1/events/{slug}/questions",
                json={"body": f"SECRET-{tag} about pay", "name": f"NAME-{tag}"},
            )
            assert posted.status_code == 201
            qid = posted.json()["id"]
        notice = await staff.until(
            lambda frames: next(
                (
                    f
                    for f in frames
                    if f["type"] == "queue.changed" and f["data"].get("question_id") == qid
                ),
                None,
            ),
            what="a queue.changed notice for the new question",
        )
        assert "seq" not in notice
        # The editor approves through the JSON API with the session: another notice.
        before = len(staff.frames)
        approved = await editor.post(
            f"/api/v1/questions/{qid}/moderate", json={"action": "approve"}
        )
        assert approved.status_code == 200, approved.text
        await staff.until(
            lambda frames: (
                len(frames) > before and all(f["type"] == "queue.changed" for f in frames[before:])
            ),
            what="a notice after approval",
        )
        assert {f["type"] for f in staff.frames} == {"queue.changed"}
        everything = "".join(staff.raw)
        assert f"SECRET-{tag}" not in everything
        assert f"NAME-{tag}" not in everything
    finally:
        await staff.close()
        await editor.aclose()


async def test_a_panelist_invite_session_opens_the_staff_stream(server: LiveServer) -> None:
    info = await seed_live(server)
    token = await server.acall(lambda: server.actions.create_invite(info["id"], info["core"][0]))
    async with api(server) as console:
        redeemed = await console.get(f"/invite/{token}")
        assert redeemed.status_code == 303
        staff = await Reader.open(
            server,
            info["slug"],
            path="/staff/events/{slug}/live",
            additional_headers={"Cookie": cookie_header(console)},
        )
        try:
            q = await post_as(server, info["id"], "r", "For the panel")
            await staff.until(
                lambda frames: any(f["data"].get("question_id") == q.id for f in frames),
                what="the notice",
            )
        finally:
            await staff.close()
    # The same invite session is for its own event only.
    other = await server.acall(lambda: seed_event(server.actions, slug="other-event"))
    async with api(server) as console:
        await console.get(f"/invite/{token}")
        elsewhere = await Reader.open(
            server,
            other["slug"],
            path="/staff/events/{slug}/live",
            additional_headers={"Cookie": cookie_header(console)},
        )
        assert await elsewhere.close_code() == CLOSE_POLICY


# -- post-moderation --------------------------------------------------------------------------
async def test_post_moderation_publishes_a_question_at_once(server: LiveServer) -> None:
    info = await seed_live(server, slug="open-mic", moderation="post")
    slug = info["slug"]
    async with api(server) as client:
        start = await last_seq(client, slug)
        reader = await Reader.open(server, slug, since=start)
        try:
            posted = await client.post(
                f"/api/v1/events/{slug}/questions", json={"body": "Straight out, no waiting?"}
            )
            assert posted.status_code == 201
            assert posted.json()["status"] == "approved"
            frames = await reader.until_seq(start + 1)
            assert frames[0]["type"] == "question.published"
            assert frames[0]["data"]["question"]["id"] == posted.json()["id"]
            assert frames[0]["data"]["question"]["body"] == "Straight out, no waiting?"
            listed = (await client.get(f"/api/v1/events/{slug}/questions")).json()
            assert [q["id"] for q in listed["questions"]] == [posted.json()["id"]]
        finally:
            await reader.close()
