"""Exactly-once resume, as a property: under any interleaving of publishes, disconnects,
reads and resumes, every reader that resumes with the last seq it saw ends with each frame
of the log once, in order.

Against a real uvicorn with real WebSocket clients (one server for the whole test, since a
server per example would spend most of the run starting up; each example starts from where
the log ends, so examples do not depend on each other). CI runs a short, derandomized
profile (40 examples, a few seconds); LIVEPANEL_RESUME_EXAMPLES=500 runs a long, random one."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from tests.conftest import LiveServer
from tests.livehelpers import Reader, assert_gapless, logged, panelist, post_as, seed_live
from tests.test_live import approve

CLIENTS = 3
EXAMPLES = int(os.environ.get("LIVEPANEL_RESUME_EXAMPLES", "40"))

step = st.one_of(
    st.tuples(st.just("publish"), st.integers(1, 4)),
    st.tuples(st.just("drop"), st.integers(0, CLIENTS - 1)),
    st.tuples(st.just("resume"), st.integers(0, CLIENTS - 1)),
    st.tuples(st.just("read"), st.integers(0, CLIENTS - 1)),
)


class Client:
    """One reader across its connections: the frames it saw, and its socket if open."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.socket: Reader | None = None

    @property
    def last_seq(self) -> int:
        return self.frames[-1]["seq"] if self.frames else 0

    async def resume(self, server: LiveServer, slug: str) -> None:
        if self.socket is None:
            self.socket = await Reader.open(server, slug, since=self.last_seq)

    async def drop(self) -> None:
        """Leave without reading what is in flight: the resume must bring it back."""
        if self.socket is not None:
            await self.socket.close()
            self.socket = None

    async def read_to(self, seq: int) -> None:
        """Read until it saw `seq` (open sockets only)."""
        if self.socket is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while self.last_seq < seq:
            assert loop.time() < deadline, f"stuck at {self.last_seq}, waiting for {seq}"
            try:
                self.frames.extend(logged(await self.socket.receive(timeout=30)))
            except ConnectionClosed:  # dropped by the server: resume, as a client does
                self.socket = None
                return


async def scenario(server: LiveServer, event: dict[str, Any], steps: list[tuple[str, int]]) -> None:
    async def last_seq() -> int:
        async with server.services.store.read() as repo:
            return int(await repo.last_seq(event["id"]))

    start = await server.acall(last_seq)
    clients = [Client() for _ in range(CLIENTS)]
    for client in clients:
        client.frames.append({"seq": start})  # where it starts: since=start
        await client.resume(server, event["slug"])
    end = start
    try:
        for action, arg in steps:
            if action == "publish":
                who = panelist(event, arg % 2)
                qid = event["question"]

                async def publish(n: int = arg, w: Any = who, q: int = qid) -> None:
                    await asyncio.gather(
                        *[server.actions.answer(q, f"Answer {i}", w) for i in range(n)]
                    )

                await server.acall(publish)
                end = await server.acall(last_seq)
            elif action == "drop":
                await clients[arg].drop()
            elif action == "resume":
                await clients[arg].resume(server, event["slug"])
            else:
                await clients[arg].read_to(end)
        for client in clients:
            await client.resume(server, event["slug"])
            await client.read_to(end)
            while client.socket is None:  # dropped by the server while reading: again
                await client.resume(server, event["slug"])
                await client.read_to(end)
        for client in clients:
            assert_gapless(client.frames[1:], start + 1, end)
    finally:
        for client in clients:
            await client.drop()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES <= 50,  # CI: the same examples every run; long runs explore
    # One server for all examples (see the module doc); each example uses it afresh.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=1, max_size=25))
def test_resume_by_last_seq_is_exactly_once(
    server: LiveServer, steps: list[tuple[str, int]]
) -> None:
    event = _event(server)
    asyncio.run(scenario(server, event, steps))


def _event(server: LiveServer) -> dict[str, Any]:
    """The test's one live event with an approved question to answer (made once)."""
    cached = getattr(server, "_resume_event", None)
    if cached is not None:
        return cached

    async def make() -> dict[str, Any]:
        info = await seed_live(server)
        question = await post_as(server, info["id"], "r", "Answer me, again and again")
        await approve(server, question.id)
        return {**info, "question": question.id}

    event = asyncio.run(make())
    server._resume_event = event  # type: ignore[attr-defined]
    return event
