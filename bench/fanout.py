"""Fan-out latency: Livepanel's live stream against a bare `websockets` broadcast server.

Both servers run as separate processes on 127.0.0.1; this process holds R reader sockets and
sends M messages, one at a time. For each message it times from just before the publish
request to the moment the last reader has it. Livepanel's figure covers the whole path of a
moderation action (HTTP, the durable SQLite commit with synchronous=FULL, the event log, the
hub); the baseline only relays a text frame, so the ratio is an upper bound on our overhead.

    python bench/fanout.py --readers 1000 --messages 50

Prints p50/p95/max per server and the ratios livepanel/baseline. Bounded: every wait has a
timeout, and both servers are stopped by pid at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
SLUG = "probation-officer-careers"
BASELINE_SERVER = """
import asyncio, sys
from websockets.asyncio.server import broadcast, serve

clients = set()

async def handler(ws):
    if ws.request.path == "/publish":
        async for message in ws:
            broadcast(clients, message)
        return
    clients.add(ws)
    try:
        await ws.wait_closed()
    finally:
        clients.discard(ws)

async def main():
    async with serve(handler, "127.0.0.1", int(sys.argv[1])):
        await asyncio.get_running_loop().create_future()

asyncio.run(main())
"""
Publish = Callable[[str], Awaitable[object]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise TimeoutError(f"nothing listening on port {port}")


class Readers:
    """R reader sockets; counts, per message key, how many readers have it."""

    def __init__(self, url: str, count: int, keys_in: Callable[[str], list[str]]) -> None:
        self.url, self.count, self.keys_in = url, count, keys_in
        self.arrived: dict[str, int] = {}
        self.complete: dict[str, asyncio.Event] = {}
        self.tasks: list[asyncio.Task[None]] = []

    def expect(self, key: str) -> asyncio.Event:
        self.arrived[key] = 0
        self.complete[key] = asyncio.Event()
        return self.complete[key]

    def _seen(self, key: str) -> None:
        if key in self.arrived:
            self.arrived[key] += 1
            if self.arrived[key] == self.count:
                self.complete[key].set()

    def open(self) -> None:
        handshakes = asyncio.Semaphore(100)  # not thousands of handshakes at once

        async def reader() -> None:
            async with handshakes:
                ws = await connect(self.url, max_size=None, ping_interval=None, open_timeout=60)
            try:
                async for message in ws:
                    for key in self.keys_in(message):
                        self._seen(key)
            finally:
                await ws.close()

        self.tasks = [asyncio.create_task(reader()) for _ in range(self.count)]

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def settle(readers: Readers, publish: Publish) -> None:
    """Publish warm-up messages until every reader is connected and receiving."""
    deadline = time.monotonic() + 180
    attempt = 0
    while time.monotonic() < deadline:
        key = f"warmup-{attempt}"
        complete = readers.expect(key)
        await publish(key)
        try:
            await asyncio.wait_for(complete.wait(), 5)
            return
        except TimeoutError:
            attempt += 1
    raise TimeoutError("the readers did not all connect")


async def timed(readers: Readers, messages: int, publish: Publish) -> list[float]:
    """Seconds from publishing each message until the last reader has it."""
    samples = []
    for n in range(messages):
        key = f"m{n}"
        complete = readers.expect(key)
        start = time.perf_counter()
        await publish(key)
        await asyncio.wait_for(complete.wait(), 30)
        samples.append(time.perf_counter() - start)
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)


async def run_baseline(count: int, messages: int) -> list[float]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", BASELINE_SERVER, str(port)])
    try:
        await wait_port(port)
        readers = Readers(
            f"ws://127.0.0.1:{port}/", count, lambda message: [json.loads(message)["data"]["key"]]
        )
        readers.open()
        try:
            async with connect(f"ws://127.0.0.1:{port}/publish") as publisher:

                async def publish(key: str) -> None:
                    frame = {"type": "question.updated", "data": {"key": key}}
                    await publisher.send(json.dumps(frame))

                await settle(readers, publish)
                return await timed(readers, messages, publish)
        finally:
            await readers.close()
    finally:
        stop(proc)


async def run_livepanel(count: int, messages: int) -> list[float]:
    port = free_port()
    db = f"sqlite:///{tempfile.mkdtemp(prefix='livepanel-bench-')}/bench.db"
    env = {**os.environ, "LIVEPANEL_SECRET": "bench-secret"}
    cli = [sys.executable, "-m", "panel.cli"]
    setup = {"check": True, "capture_output": True, "env": env, "cwd": ROOT, "timeout": 120}
    subprocess.run([*cli, "demo", "--db", db], **setup)
    subprocess.run(
        [*cli, "create-editor", "bench", "--password-stdin", "--db", db],
        input=b"bench-password\n",
        **setup,
    )
    proc = subprocess.Popen(
        [*cli, "serve", "--db", db, "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await wait_port(port)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as desk:
            login = (await desk.get("/desk/login")).text
            token = re.search(r'name="csrf_token" value="([^"]+)"', login)
            assert token, "the login page has a CSRF token"
            await desk.post(
                "/desk/login",
                data={
                    "csrf_token": token.group(1),
                    "username": "bench",
                    "password": "bench-password",
                },
            )
            listed = (await desk.get(f"/api/v1/events/{SLUG}/questions")).json()
            question_id = listed["questions"][0]["id"]
            last = (await desk.get(f"/api/v1/events/{SLUG}")).json()["last_seq"]
            keys: dict[int, str] = {}

            def keys_in(message: str) -> list[str]:
                value = json.loads(message)
                frames = value if isinstance(value, list) else [value]
                return [keys[f["seq"]] for f in frames if f.get("seq") in keys]

            readers = Readers(
                f"ws://127.0.0.1:{port}/events/{SLUG}/live?since={last}", count, keys_in
            )
            readers.open()
            state = {"pinned": False, "next_seq": last + 1}

            async def publish(key: str) -> None:
                # One durable moderation action (pin or unpin) makes one question.updated
                # frame with the next seq: nothing else writes to this event meanwhile.
                keys[state["next_seq"]] = key
                state["next_seq"] += 1
                state["pinned"] = not state["pinned"]
                action = "pin" if state["pinned"] else "unpin"
                response = await desk.post(
                    f"/api/v1/questions/{question_id}/moderate", json={"action": action}
                )
                response.raise_for_status()

            try:
                await settle(readers, publish)
                return await timed(readers, messages, publish)
            finally:
                await readers.close()
    finally:
        stop(proc)


async def main() -> None:
    parser = argparse.ArgumentParser(description="Fan-out latency against a bare baseline.")
    parser.add_argument("--readers", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=50)
    args = parser.parse_args()
    baseline = summary(await run_baseline(args.readers, args.messages))
    livepanel = summary(await run_livepanel(args.readers, args.messages))
    print(
        json.dumps(
            {
                "readers": args.readers,
                "messages": args.messages,
                "baseline_websockets": baseline,
                "livepanel": livepanel,
                "ratio_p50": round(livepanel["p50_ms"] / baseline["p50_ms"], 2),
                "ratio_p95": round(livepanel["p95_ms"] / baseline["p95_ms"], 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
