"""Helpers for the live-loop tests (test_live, test_api, test_console_desk): real clients only."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from panel.domain import Actor, Question
from tests.conftest import LiveServer, seed_event, wait_for

Frame = dict[str, Any]
PASSWORD = "correct horse battery staple"
# No keepalive pings from the client: the tests decide what goes over the wire.
WS_OPTIONS: dict[str, Any] = {
    "open_timeout": 10,
    "close_timeout": 3,
    "max_size": None,
    "ping_interval": None,
}


def flatten(message: str | bytes) -> list[Frame]:
    """One WebSocket message is one frame object or a JSON array of frames: always a list."""
    value = json.loads(message)
    frames = value if isinstance(value, list) else [value]
    assert frames, "an empty array is not a frame"
    for frame in frames:
        assert isinstance(frame, dict), f"a frame must be a JSON object: {frame!r}"
        assert isinstance(frame.get("type"), str) and "data" in frame and "at" in frame, frame
    return frames


def logged(frames: list[Frame]) -> list[Frame]:
    """Only the frames of the event log (presence and notices carry no seq)."""
    return [f for f in frames if "seq" in f]


class Reader:
    """One reader's socket: keeps every message raw (for leak checks) and the frames in order."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.raw: list[str] = []
        self.frames: list[Frame] = []
        self.close_reason: str | None = None  # set by close_code

    @classmethod
    async def open(
        cls,
        server: LiveServer,
        slug: str,
        since: int | str | None = None,
        path: str = "/events/{slug}/live",
        reader: str | None = None,
        **options: Any,
    ) -> Reader:
        """`reader`: the per-browser id live.js sends, so that the audience counts this
        socket as that reader's (sockets without one, from one address, count once)."""
        url = server.ws_url + path.format(slug=quote(slug, safe=""))
        query = {"since": since, "reader": reader}
        params = "&".join(f"{k}={v}" for k, v in query.items() if v is not None)
        if params:
            url += f"?{params}"
        ws = await connect(url, **{**WS_OPTIONS, **options})
        return cls(ws)

    @property
    def logged(self) -> list[Frame]:
        return logged(self.frames)

    @property
    def seqs(self) -> list[int]:
        return [f["seq"] for f in self.logged]

    @property
    def last_seq(self) -> int:
        return self.seqs[-1] if self.seqs else 0

    async def receive(self, timeout: float = 10.0) -> list[Frame]:
        message = await asyncio.wait_for(self.ws.recv(), timeout)
        text = message if isinstance(message, str) else message.decode()
        self.raw.append(text)
        frames = flatten(text)
        self.frames.extend(frames)
        return frames

    async def until(
        self, check: Callable[[list[Frame]], Any], timeout: float = 10.0, what: str = "a frame"
    ) -> Any:
        """Receive until `check(all frames so far)` is truthy, or fail at the deadline."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (result := check(self.frames)):
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what}; got "
                    f"{[(f.get('seq'), f['type']) for f in self.frames]}"
                )
            try:
                await self.receive(left)
            except TimeoutError:
                continue
        return result

    async def until_seq(self, seq: int, timeout: float = 10.0) -> list[Frame]:
        await self.until(lambda _: self.last_seq >= seq, timeout, f"seq {seq}")
        return self.logged

    async def until_type(self, type_: str, timeout: float = 10.0) -> Frame:
        found: Frame = await self.until(
            lambda frames: next((f for f in frames if f["type"] == type_), None),
            timeout,
            f"a {type_} frame",
        )
        return found

    async def close_code(self, timeout: float = 10.0) -> int | None:
        """Read until the server closes the socket; the close code it sent."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"the server did not close the socket within {timeout}s")
            try:
                await self.receive(left)
            except ConnectionClosed as exc:
                self.close_reason = exc.rcvd.reason if exc.rcvd is not None else None
                return exc.rcvd.code if exc.rcvd is not None else None
            except TimeoutError:
                continue

    async def close(self) -> None:
        await self.ws.close()


def assert_gapless(frames: list[Frame], start: int, end: int) -> None:
    """Exactly the seqs start..end, each once, in order."""
    seqs = [f["seq"] for f in frames]
    assert seqs == list(range(start, end + 1)), f"expected {start}..{end}, got {seqs}"


async def log_frames(client: httpx.AsyncClient, slug: str, since: int = 0) -> list[Frame]:
    """The whole public log after `since`, through the polling API (it pages)."""
    frames: list[Frame] = []
    for _ in range(1000):
        response = await client.get(f"/api/v1/events/{slug}/stream", params={"since": since})
        assert response.status_code == 200, response.text
        page = response.json()
        frames.extend(page["frames"])
        if not page.get("more"):
            return frames
        since = page["frames"][-1]["seq"]
    raise AssertionError("the stream API kept saying there is more")


async def last_seq(client: httpx.AsyncClient, slug: str) -> int:
    response = await client.get(f"/api/v1/events/{slug}")
    assert response.status_code == 200, response.text
    return int(response.json()["last_seq"])


async def seed_live(server: LiveServer, **kwargs: Any) -> dict[str, Any]:
    """The standard event, and wait until the scheduler has made it live (its frames logged)."""
    info = await server.acall(lambda: seed_event(server.actions, **kwargs))

    async def is_live() -> bool:
        async def read() -> str:
            async with server.services.store.read() as repo:
                event = await repo.event_by_id(info["id"])
            assert event is not None
            return str(event.status)

        return await server.acall(read) == "live"

    await wait_for(is_live, message="the scheduler to open the event")
    return info


def client_for(server: LiveServer) -> httpx.AsyncClient:
    """A new cookie jar: a new anonymous reader."""
    return httpx.AsyncClient(base_url=server.url, timeout=15)


def panelist(info: dict[str, Any], index: int = 0) -> Actor:
    return Actor("panelist", info["core"][index], f"panelist {index}")


async def post_as(
    server: LiveServer, event_id: int, reader: str, body: str, **kwargs: Any
) -> Question:
    """Post a question straight through the action (no HTTP rate limit)."""
    question, _ = await server.acall(
        lambda: server.actions.post_question(event_id, reader, body, **kwargs)
    )
    return question


async def questions_in_store(
    server: LiveServer,
    event_id: int,
    statuses: tuple[str, ...] = ("pending", "approved", "rejected", "withdrawn"),
) -> list[Question]:
    async def read() -> list[Question]:
        async with server.services.store.read() as repo:
            return await repo.questions(event_id, list(statuses))

    return await server.acall(read)


async def question_in_store(server: LiveServer, question_id: int) -> Question | None:
    async def read() -> Question | None:
        async with server.services.store.read() as repo:
            return await repo.question(question_id)

    return await server.acall(read)


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no csrf_token hidden input on the page"
    return match.group(1)


def from_site(server: LiveServer) -> dict[str, str]:
    """The headers a browser adds to a form posted from one of the site's own pages."""
    return {"Origin": server.url, "Sec-Fetch-Site": "same-origin"}


def cookie_header(client: httpx.AsyncClient) -> str:
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


async def desk_login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    """Fill in and send the real desk login form (its CSRF token from the page)."""
    page = await client.get("/desk/login")
    assert page.status_code == 200
    return await client.post(
        "/desk/login",
        data={"csrf_token": csrf_from(page.text), "username": username, "password": password},
    )


async def editor_client(server: LiveServer, username: str = "desk-editor") -> httpx.AsyncClient:
    """An httpx client signed in to the desk through the real login form."""
    await server.acall(lambda: server.actions.create_editor(username, PASSWORD))
    client = httpx.AsyncClient(base_url=server.url, timeout=15)
    response = await desk_login(client, username, PASSWORD)
    assert response.status_code == 303, response.text
    assert response.headers["location"].endswith("/desk")
    return client


def assert_error_shape(response: httpx.Response, status: int, code: str | None = None) -> None:
    """The one JSON error shape: {"error": {"code": str, "message": str}}."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"].get("code"), str) and body["error"]["code"], body
    assert isinstance(body["error"].get("message"), str) and body["error"]["message"], body
    if code is not None:
        assert body["error"]["code"] == code, body
