"""Trusted proxies, HSTS, the header cap, the public-URL warning and /metrics' guard, over
real uvicorn servers (in-process, and `livepanel serve` as a subprocess)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.types import Receive, Scope, Send
from websockets.asyncio.client import connect

from panel.app import PublicStream, create_app
from panel.clock import FakeClock
from panel.config import Settings
from panel.web.proxies import Networks, TrustedProxies, forwarded_client
from tests.cliserver import cli_server
from tests.conftest import LiveServer, wait_for

MISSING_QUESTION = "/api/v1/questions/987654/upvote"  # past the per-IP limit: 404, else 429


@asynccontextmanager
async def serving(settings: Settings, clock: FakeClock) -> AsyncIterator[LiveServer]:
    live = LiveServer(settings, clock)
    await asyncio.to_thread(live.start)
    try:
        yield live
    finally:
        await asyncio.to_thread(live.stop)


async def upvote_statuses(server: LiveServer, forwarded_for: list[str]) -> list[int]:
    """One upvote per X-Forwarded-For value, each from a new reader (no cookie)."""
    statuses = []
    for value in forwarded_for:
        async with httpx.AsyncClient(base_url=server.url, timeout=15) as client:
            response = await client.post(MISSING_QUESTION, headers={"X-Forwarded-For": value})
            statuses.append(response.status_code)
    return statuses


async def get(
    server: LiveServer, path: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, timeout=15) as client:
        return await client.get(path, headers=headers)


def limited(settings: Settings, **changes: object) -> Settings:
    return dataclasses.replace(settings, upvotes_per_minute_ip=2, **changes)  # type: ignore[arg-type]


# -- X-Forwarded-For over HTTP ------------------------------------------------------------------
def test_the_client_is_the_right_most_address_that_is_not_a_trusted_proxy() -> None:
    trusted = Networks(["127.0.0.1", "10.0.0.0/8", "::1"])
    assert forwarded_client("127.0.0.1", ["203.0.113.7"], trusted) == "203.0.113.7"
    # What the client wrote itself (left of the first untrusted hop) is never believed.
    assert forwarded_client("127.0.0.1", ["6.6.6.6, 203.0.113.7, 10.1.1.1"], trusted) == (
        "203.0.113.7"
    )
    assert forwarded_client("127.0.0.1", ["6.6.6.6", "203.0.113.7"], trusted) == "203.0.113.7"
    # An untrusted peer's header is ignored; a malformed hop ends the walk at the proxy.
    assert forwarded_client("198.51.100.1", ["203.0.113.7"], trusted) == "198.51.100.1"
    assert forwarded_client("127.0.0.1", ["203.0.113.7, bogus"], trusted) == "127.0.0.1"
    assert forwarded_client("::1", ["2001:db8::5"], trusted) == "2001:db8::5"
    assert forwarded_client("127.0.0.1", [], trusted) == "127.0.0.1"
    assert "::ffff:10.2.3.4" in trusted and "11.0.0.1" not in trusted
    with pytest.raises(ValueError, match="not an IP address or CIDR range"):
        Networks(["10.0.0.0/33"])


async def test_forwarded_for_is_ignored_without_trusted_proxies(
    settings: Settings, clock: FakeClock
) -> None:
    """By default a local client cannot pose as many addresses: the limit counts the peer."""
    async with serving(limited(settings), clock) as server:
        addresses = ["203.0.113.1", "203.0.113.2", "203.0.113.3"]
        assert await upvote_statuses(server, addresses) == [404, 404, 429]


async def test_forwarded_for_from_a_trusted_proxy_is_the_client_the_limit_counts(
    settings: Settings, clock: FakeClock
) -> None:
    trusting = limited(settings, trusted_proxies=("127.0.0.0/8",))
    async with serving(trusting, clock) as server:
        # Three readers behind the proxy: three addresses, three buckets.
        assert await upvote_statuses(server, ["203.0.113.1", "203.0.113.2", "203.0.113.3"]) == [
            404,
            404,
            404,
        ]
        # One reader who writes a different address of their own in front each time: the
        # proxy's entry (right-most untrusted) is the one counted.
        spoofs = [f"198.51.100.{i}, 203.0.113.9" for i in range(3)]
        assert await upvote_statuses(server, spoofs) == [404, 404, 429]


async def test_a_peer_that_is_not_a_trusted_proxy_cannot_spoof(
    settings: Settings, clock: FakeClock
) -> None:
    elsewhere = limited(settings, trusted_proxies=("10.0.0.0/8",))
    async with serving(elsewhere, clock) as server:
        addresses = ["203.0.113.1", "203.0.113.2", "203.0.113.3"]
        assert await upvote_statuses(server, addresses) == [404, 404, 429]


# -- X-Forwarded-For on WebSockets ------------------------------------------------------------
async def echo_client(scope: Scope, receive: Receive, send: Send) -> None:
    """A socket that says whom the app believes it is talking to."""
    if scope["type"] != "websocket":
        return
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    client = {"host": scope["client"][0], "scheme": scope["scheme"]}
    await send({"type": "websocket.send", "text": json.dumps(client)})
    await send({"type": "websocket.close", "code": 1000})


@pytest.fixture
def echo_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """TrustedProxies in front of echo_client on a real uvicorn, served as the CLI serves."""
    app = TrustedProxies(echo_client, Networks(request.param))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="off", proxy_headers=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    try:
        asyncio.run(wait_for(lambda: server.started, message="the echo server"))
        yield f"ws://127.0.0.1:{sock.getsockname()[1]}/"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


async def who_am_i(url: str, headers: dict[str, str]) -> dict[str, str]:
    async with connect(url, additional_headers=headers, open_timeout=10) as ws:
        return dict(json.loads(await asyncio.wait_for(ws.recv(), 10)))


@pytest.mark.parametrize("echo_server", [["127.0.0.1"]], indirect=True)
async def test_a_socket_through_a_trusted_proxy_is_the_forwarded_client(echo_server: str) -> None:
    headers = {"X-Forwarded-For": "6.6.6.6, 203.0.113.7", "X-Forwarded-Proto": "https"}
    assert await who_am_i(echo_server, headers) == {"host": "203.0.113.7", "scheme": "wss"}


@pytest.mark.parametrize("echo_server", [[]], indirect=True)
async def test_a_socket_without_trusted_proxies_is_its_peer(echo_server: str) -> None:
    headers = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    assert await who_am_i(echo_server, headers) == {"host": "127.0.0.1", "scheme": "ws"}


def test_the_readers_socket_is_served_inside_the_proxy_layer(settings: Settings) -> None:
    """PublicStream answers the readers' socket before the other middleware: it must see
    the client TrustedProxies settled, as every per-IP socket cap will."""
    layers = [m.cls for m in create_app(settings).user_middleware]
    assert layers[:2] == [TrustedProxies, PublicStream]


# -- HSTS -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("public_url", "hsts"),
    [("https://panel.example.org", "max-age=31536000"), ("http://panel.example.org", None)],
)
async def test_hsts_only_when_the_public_url_is_https(
    settings: Settings, clock: FakeClock, public_url: str, hsts: str | None
) -> None:
    async with serving(dataclasses.replace(settings, public_url=public_url), clock) as server:
        for path in ("/", "/healthz", "/no-such-page"):
            response = await get(server, path)
            assert response.headers.get("strict-transport-security") == hsts, path


# -- /metrics ---------------------------------------------------------------------------------
async def test_metrics_refused_without_the_token_when_one_is_set(
    settings: Settings, clock: FakeClock
) -> None:
    guarded = dataclasses.replace(settings, metrics_token="s3cret-metrics-token")
    async with serving(guarded, clock) as server:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
            refused = await get(server, "/metrics", headers)
            assert refused.status_code == 401, headers
            assert refused.json()["error"]["code"] == "unauthorized"
            assert refused.headers["www-authenticate"].startswith("Bearer")
            assert "livepanel_" not in refused.text
        allowed = await get(server, "/metrics", {"Authorization": "Bearer s3cret-metrics-token"})
        assert allowed.status_code == 200
        assert "livepanel_frames_published_total" in allowed.text


async def test_metrics_allowlist_counts_the_client_a_trusted_proxy_reports(
    settings: Settings, clock: FakeClock
) -> None:
    allowlist = dataclasses.replace(
        settings, metrics_allow=("10.0.0.0/8",), trusted_proxies=("127.0.0.1",)
    )
    async with serving(allowlist, clock) as server:
        refused = await get(server, "/metrics")  # 127.0.0.1 itself is not on the list
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "forbidden"
        outside = await get(server, "/metrics", {"X-Forwarded-For": "203.0.113.4"})
        assert outside.status_code == 403
        inside = await get(server, "/metrics", {"X-Forwarded-For": "10.20.30.40"})
        assert inside.status_code == 200 and "livepanel_audience" in inside.text


async def test_metrics_stay_open_by_default(server: LiveServer) -> None:
    assert (await get(server, "/metrics")).status_code == 200


# -- the CLI's server: header cap and start-up warning ---------------------------------------
def raw_request(port: int, head: bytes) -> bytes:
    """Send a request head over a plain socket; the status line that comes back."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        # Refused before it all went out: the answer is still there to read.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head)
        return sock.recv(4096).split(b"\r\n", 1)[0]


def head_of(header_bytes: int) -> bytes:
    lines = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"a" * 1000) for i in range(header_bytes // 1000))
    return b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + lines + b"\r\n"


async def test_the_served_app_refuses_oversized_headers_and_warns_without_a_public_url(
    tmp_path: Path,
) -> None:
    async with cli_server(tmp_path) as served:
        ok = await asyncio.to_thread(raw_request, served.port, head_of(8_000))
        assert ok == b"HTTP/1.1 200 OK"
        for size in (20_000, 200_000):  # in one piece, and spread over many reads
            refused = await asyncio.to_thread(raw_request, served.port, head_of(size))
            assert refused == b"HTTP/1.1 431 Request Header Fields Too Large", size
        one_endless_header = b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 300_000 + b"\r\n\r\n"
        refused = await asyncio.to_thread(raw_request, served.port, one_endless_header)
        assert refused == b"HTTP/1.1 431 Request Header Fields Too Large"
        # Still serving.
        async with httpx.AsyncClient(timeout=15) as client:
            assert (await client.get(served.url + "/healthz")).status_code == 200
        output = served.output()
    assert "no public URL is set" in output


async def test_no_warning_with_a_public_url(tmp_path: Path) -> None:
    async with cli_server(tmp_path, "--public-url", "https://panel.example.org") as served:
        output = served.output()
    assert "Serving on https://panel.example.org" in output
    assert "no public URL is set" not in output
