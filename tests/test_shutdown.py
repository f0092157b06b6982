"""`livepanel serve` as a real process: on SIGTERM readers and staff get close code 1001, a
request stalled mid-body gets a 503 (not a 500), and the process exits 0; broken clients
(one that sends a text frame that is not UTF-8, one that leaves during its catch-up) cost
one line in the log. Nowhere a traceback."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from panel.clock import FakeClock
from panel.config import Settings
from tests.conftest import LiveServer, wait_for
from tests.livehelpers import WS_OPTIONS, cookie_header, desk_login, panelist, post_as, seed_live
from tests.tcptable import server_has_read_everything
from tests.test_cli import LIVE_SLUG, env, free_port
from tests.test_live import RawSocket, approve

GOING_AWAY, INVALID_DATA = 1001, 1007


@dataclass
class Serving:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text()


@asynccontextmanager
async def serve(
    tmp_path: Path, *args: str, extra_env: dict[str, str] | None = None
) -> AsyncIterator[Serving]:
    """`livepanel serve --demo` on its own port, its output in a file; killed if it is still
    running at the end (the test stops it with SIGTERM itself)."""
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "panel.cli",
                "serve",
                "--demo",
                "--port",
                str(port),
                "--db",
                f"sqlite:///{tmp_path}/site.db",
                *args,
            ],
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**env(), **(extra_env or {})},
        )
    serving = Serving(proc, port, log)
    try:
        async with httpx.AsyncClient(base_url=serving.base, timeout=5) as client:

            async def healthy() -> bool:
                assert proc.poll() is None, f"serve exited early:\n{serving.output()}"
                try:
                    return (await client.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_for(healthy, timeout=90, interval=0.1, message="serve to answer")
        yield serving
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


async def close_code(ws, timeout: float = 30) -> int | None:  # type: ignore[no-untyped-def]
    """Read until the server closes; its close code."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                await ws.recv()
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd is not None else None


async def raw_handshake(port: int, path: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    await writer.drain()
    return reader, writer


def masked_text_frame(payload: bytes) -> bytes:
    """One client text frame (masked, as clients must), payload under 126 bytes."""
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + mask + body


def editor_login(output: str) -> tuple[str, str]:
    found = re.search(r"user: (\S+)\s+password: (\S+)", output)
    assert found, output
    return found.group(1), found.group(2)


@pytest.mark.parametrize("workers", [1, 2], ids=["one-process", "two-workers"])
async def test_sigterm_says_going_away_and_exits_zero_without_a_traceback(
    tmp_path: Path, workers: int, request: pytest.FixtureRequest
) -> None:
    args: tuple[str, ...] = ()
    extra: dict[str, str] = {}
    if workers > 1:
        redis_url = request.getfixturevalue("redis_url")
        prefix = request.getfixturevalue("redis_prefix")
        args = ("--workers", "2", "--redis", redis_url)
        extra = {"LIVEPANEL_SECRET": "shutdown-test-secret", "LIVEPANEL_REDIS_PREFIX": prefix}
    async with serve(tmp_path, *args, extra_env=extra) as site:
        live = f"ws://127.0.0.1:{site.port}/events/{LIVE_SLUG}/live?since=0"
        reader = await connect(live, **WS_OPTIONS)
        await reader.recv()  # in its catch-up: the socket is open and served
        async with httpx.AsyncClient(base_url=site.base, timeout=10) as editor:
            username, password = editor_login(site.output())
            assert (await desk_login(editor, username, password)).status_code == 303
            staff = await connect(
                f"ws://127.0.0.1:{site.port}/staff/events/{LIVE_SLUG}/live",
                **WS_OPTIONS,
                origin=site.base,  # type: ignore[arg-type]
                additional_headers={"Cookie": cookie_header(editor)},
            )
        await staff.send('{"type": "ping"}')
        assert "pong" in str(await asyncio.wait_for(staff.recv(), 10))

        # A text frame that is not UTF-8: closed with 1007.
        bad_reader, bad_writer = await raw_handshake(site.port, f"/events/{LIVE_SLUG}/live")
        await asyncio.wait_for(bad_reader.readuntil(b"\r\n\r\n"), 10)
        bad_writer.write(masked_text_frame(b"\xff\xfe not utf-8"))
        await bad_writer.drain()
        rest = await asyncio.wait_for(bad_reader.read(), 30)  # the server closes it
        close_frames = re.findall(rb"\x88[\x02-\x7d](..)", rest, re.S)
        assert close_frames and int.from_bytes(close_frames[-1], "big") == INVALID_DATA, rest
        bad_writer.close()

        # A request stalled mid-body: 10 of 1,000 bytes, then nothing.
        stalled_reader, stalled_writer = await asyncio.open_connection("127.0.0.1", site.port)
        stalled_writer.write(
            f"POST /api/v1/events/{LIVE_SLUG}/questions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"body": "'.encode()
        )
        await stalled_writer.drain()
        # Only a request the server has read is in progress; one still in the kernel's queue
        # would be reset when the listener closes.
        stalled_port = stalled_writer.get_extra_info("sockname")[1]
        await wait_for(
            lambda: server_has_read_everything(site.port, stalled_port),
            timeout=10,
            message="the server reading the stalled request",
        )
        site.proc.send_signal(signal.SIGTERM)
        assert await close_code(reader) == GOING_AWAY
        assert await close_code(staff) == GOING_AWAY
        stalled = await asyncio.wait_for(stalled_reader.read(), 60)
        assert stalled.startswith(b"HTTP/1.1 503"), stalled[:200]
        stalled_writer.close()
        code = await asyncio.to_thread(site.proc.wait, 60)
    output = site.output()
    assert code == 0, output
    assert "Traceback" not in output, output
    assert "Exception in ASGI application" not in output, output
    assert "not UTF-8; closed" in output
    assert "cut off by shutdown" in output


@pytest.fixture
def big_server(settings: Settings, clock: FakeClock) -> Iterator[LiveServer]:
    """Answers long enough that a catch-up outgrows the kernel's buffers."""
    live = LiveServer(dataclasses.replace(settings, answer_max_chars=100_000), clock)
    live.start()
    try:
        yield live
    finally:
        live.stop()


def backed_up(server: LiveServer, client_port: int) -> bool:
    """Whether the server's side of this connection is waiting for its reader to read."""
    for protocol in list(server.server.server_state.connections):
        if protocol.client and protocol.client[1] == client_port:
            return bool(protocol.transport.get_write_buffer_size())
    return False


async def test_a_reader_that_leaves_during_its_catch_up_costs_one_log_line(
    big_server: LiveServer, caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest
) -> None:
    """A long catch-up (megabytes) to a client that stops reading, then resets: the catch-up's
    send fails inside reader_stream; one line, no "Exception in ASGI application"."""
    server = big_server
    info = await seed_live(server)
    q = await post_as(server, info["id"], "r", "Tell us everything")
    await approve(server, q.id)
    for i in range(60):
        body = f"Answer {i}: " + "long " * 18_000
        who = panelist(info, i % 2)
        await server.acall(lambda b=body, w=who: server.actions.answer(q.id, b, w))
    caplog.set_level(logging.INFO)
    uvicorn_log = logging.getLogger("uvicorn")  # it does not propagate to the root logger
    uvicorn_log.addHandler(caplog.handler)
    request.addfinalizer(lambda: uvicorn_log.removeHandler(caplog.handler))
    slow = await RawSocket.open(server, f"/events/{info['slug']}/live?since=0")
    port = slow.writer.get_extra_info("sockname")[1]
    await wait_for(lambda: backed_up(server, port), timeout=30, message="a blocked catch-up")
    slow.close()  # a reset, in the middle of the catch-up
    await wait_for(
        lambda: (
            any("the client left" in r.getMessage() for r in caplog.records)
            or any(r.exc_info for r in caplog.records)
        ),
        timeout=30,
        message="the server to notice",
    )
    messages = [r.getMessage() for r in caplog.records]
    assert not [r for r in caplog.records if r.exc_info], messages
    assert "Exception in ASGI application" not in "\n".join(messages)
    assert any("the client left" in m for m in messages), messages
