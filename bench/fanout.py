"""Fan-out, measured as a sceptical outsider would: Livepanel against a bare `websockets` relay.

Both servers run as separate processes on 127.0.0.1, one after the other, in the same run.
The N readers are spread over P separate client processes (multiprocessing, spawn), each
holding N/P WebSocket connections: to `/events/{slug}/live?since=<last_seq>` (Livepanel,
the demo event) or to the relay. The publisher (this process) sends M messages at a fixed
rate:

- **baseline**: a text frame of the same shape and size as Livepanel's `answer.published`
  frame, sent to the relay's `/publish` socket; the relay calls `websockets.broadcast`.
- **livepanel**: a real answer, `POST /api/v1/questions/{id}/answers` by a signed-in editor,
  so each message is a durable `answer.published` frame (HTTP, the commit with
  `synchronous=FULL`, the event log, the hub, N sockets).

The publisher takes `time.time()` just before each publish; every reader takes `time.time()`
when the frame arrives (same host, same wall clock), so one delivery's latency is
`receive - publish`. Per server it reports delivery p50/p99/max over every (reader, message)
pair; lost, duplicated and out-of-order frames (Livepanel: every reader checks that logged
frames arrive with consecutive seqs and that it got each of the M answers exactly once);
server CPU seconds (utime+stime from /proc/PID/stat) during the burst per delivered frame;
server RSS per connection ((RSS with N readers - RSS idle) / N, from /proc/PID/status); and
connect time (from starting the handshake until caught up: for Livepanel, until the
`presence` frame that follows the catch-up; for the relay, the open handshake).

    python -m bench fanout --readers 1000 5000 --messages 50 --procs 2
    python -m bench all --quick        # CI: exits 1 on any lost, repeated or out-of-order frame

Bounded: every wait has a timeout; servers, client processes and py-spy are stopped by pid
at the end, also on error. Traffic goes only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SLUG = "probation-officer-careers"
MARK = re.compile(r"bench message (\d+)\b")
BODY = (
    "bench message {i}. Expect a lot of **shadowing** in week one: you sit in on supervision "
    "sessions, read case files and meet the team. By the end of the first month you hold a "
    "small caseload of your own, with a practice tutor who checks every assessment."
)
RELAY_SERVER = """
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
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- /proc readings


def cpus(text: str) -> set[int]:
    return {int(c) for c in text.split(",") if c}


def add_shared_options(p: argparse.ArgumentParser, compression: str, why: str) -> None:
    """The options `fanout`, `all` and `full` share: what readers offer, handshakes, pinning."""
    p.add_argument("--compression", choices=["deflate", "none"], default=compression, help=why)
    p.add_argument("--handshakes", type=int, default=100, help="handshakes in flight, in all")
    p.add_argument("--server-cpus", type=cpus, help="pin the servers, e.g. 0")
    p.add_argument("--client-cpus", type=cpus, help="pin the client processes, e.g. 1")


def _stat_fields(pid: int) -> list[str]:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2 :].split()


def family(pid: int) -> list[int]:
    """`pid` and every process below it: `livepanel serve --workers N` is a supervisor and
    its N workers, and the server's cost is theirs together."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                children.setdefault(int(_stat_fields(int(entry.name))[1]), []).append(
                    int(entry.name)
                )
            except (OSError, ValueError, IndexError):
                continue  # the process ended meanwhile
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process and every process below it, in seconds."""
    total = 0
    for member in family(pid):
        with contextlib.suppress(OSError):
            fields = _stat_fields(member)
            total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def rss_kib(pid: int) -> int:
    """Resident memory of a process and every process below it."""
    total = 0
    for member in family(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    if total == 0:
        raise RuntimeError(f"no VmRSS for pid {pid}")
    return total


# --------------------------------------------------------------------------- client process


@dataclass
class Reader:
    messages: int
    recv: list[float | None] = field(default_factory=list)
    connect_s: float | None = None
    duplicates: int = 0
    seq_errors: int = 0  # a logged frame whose seq is not last + 1
    last_seq: int | None = None
    other_frames: int = 0
    ws_messages: int = 0  # WebSocket messages (an array of frames is one message)
    got: int = 0
    error: str | None = None

    def __post_init__(self) -> None:
        self.recv = [None] * self.messages

    def arrived(self, index: int, at: float) -> None:
        if not 0 <= index < self.messages:
            self.other_frames += 1
        elif self.recv[index] is not None:
            self.duplicates += 1
        else:
            self.recv[index] = at
            self.got += 1


def _relay_frames(reader: Reader, message: str | bytes, at: float) -> bool:
    value = json.loads(message)
    reader.arrived(int(value["data"]["answer"]["bench_index"]), at)
    return False


def _livepanel_frames(reader: Reader, message: str | bytes, at: float) -> bool:
    """Apply one message; True if it held a presence frame (the end of the catch-up)."""
    value = json.loads(message)
    frames = value if isinstance(value, list) else [value]
    presence = False
    for frame in frames:
        seq = frame.get("seq")
        if seq is not None:
            if reader.last_seq is not None and seq != reader.last_seq + 1:
                reader.seq_errors += 1
            reader.last_seq = seq if reader.last_seq is None else max(reader.last_seq, seq)
        kind = frame.get("type")
        if kind == "presence":
            presence = True
        elif kind == "answer.published":
            found = MARK.match(frame["data"]["answer"]["body_md"])
            if found:
                reader.arrived(int(found.group(1)), at)
            else:
                reader.other_frames += 1
        else:
            reader.other_frames += 1
    return presence


async def _client(conn: Connection, spec: dict[str, Any]) -> None:
    from websockets.asyncio.client import connect

    kind, url, count, messages = spec["kind"], spec["url"], spec["count"], spec["messages"]
    handle = _livepanel_frames if kind == "livepanel" else _relay_frames
    readers = [Reader(messages) for _ in range(count)]
    if kind == "livepanel":
        for reader in readers:
            reader.last_seq = spec["since"]
    handshakes = asyncio.Semaphore(spec["handshakes"])
    ready = asyncio.Event()
    done = asyncio.Event()
    state = {"ready": 0, "complete": 0}
    span = {"first_handshake_at": float("inf"), "last_caught_up_at": 0.0}  # time.time()
    compression = None if spec["compression"] == "none" else "deflate"
    extensions: dict[str, int] = {}

    def mark_ready() -> None:
        state["ready"] += 1
        if state["ready"] == count:
            ready.set()

    async def run(reader: Reader) -> None:
        caught_up = False
        try:
            async with handshakes:
                start = time.monotonic()
                span["first_handshake_at"] = min(span["first_handshake_at"], time.time())
                ws = await connect(
                    url,
                    max_size=None,
                    ping_interval=None,
                    open_timeout=spec["connect_timeout"],
                    compression=compression,
                    close_timeout=1,
                )
                names = ",".join(e.name for e in ws.protocol.extensions) or "none"
                extensions[names] = extensions.get(names, 0) + 1
                if kind == "livepanel":
                    while not caught_up:
                        message = await asyncio.wait_for(ws.recv(), spec["connect_timeout"])
                        caught_up = handle(reader, message, time.time())
                caught_up = True
                reader.connect_s = time.monotonic() - start
                span["last_caught_up_at"] = max(span["last_caught_up_at"], time.time())
            mark_ready()
            complete = reader.got == messages
            async for message in ws:
                reader.ws_messages += 1
                handle(reader, message, time.time())
                if not complete and reader.got == messages:
                    complete = True
                    state["complete"] += 1
                    if state["complete"] == count:
                        done.set()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - recorded, reported, counted as lost
            reader.error = f"{type(error).__name__}: {error}"[:200]
            if not caught_up:
                mark_ready()

    tasks = [asyncio.create_task(run(reader)) for reader in readers]

    async def command() -> str:
        while not conn.poll():
            await asyncio.sleep(0.02)
        return str(conn.recv())

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(ready.wait(), spec["ramp_timeout"])
    conn.send(("ready", state["ready"]))
    # Wait for "stop" (the publisher's deadline), telling the publisher when all readers are done.
    stop = asyncio.create_task(command())
    finished = asyncio.create_task(done.wait())
    await asyncio.wait({stop, finished}, return_when=asyncio.FIRST_COMPLETED)
    if finished.done():
        conn.send(("done", None))
    await stop
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    conn.send(
        (
            "result",
            {
                "recv": [r.recv for r in readers],
                "connect_s": [r.connect_s for r in readers if r.connect_s is not None],
                "duplicates": sum(r.duplicates for r in readers),
                "seq_errors": sum(r.seq_errors for r in readers),
                "other_frames": sum(r.other_frames for r in readers),
                "ws_messages": sum(r.ws_messages for r in readers),
                "errors": [r.error for r in readers if r.error][:5],
                "failed_readers": sum(1 for r in readers if r.error),
                "extensions": extensions,
                **span,
            },
        )
    )


def run_client(
    client: Callable[[Connection, dict[str, Any]], Awaitable[None]],
    conn: Connection,
    spec: dict[str, Any],
) -> None:
    """A client process's entry point (fan-out's readers, ingest's askers): pin it if asked,
    run `client` until it is done, then close its pipe to the parent."""
    if spec.get("cpus"):
        os.sched_setaffinity(0, spec["cpus"])
    try:
        asyncio.run(client(conn, spec))
    finally:
        conn.close()


# --------------------------------------------------------------------------- orchestration


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


def stop_process(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, sig)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)


def percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Options:
    readers: int
    messages: int
    rate: float
    procs: int
    compression: str = "deflate"
    handshakes: int = 100
    server_cpus: set[int] | None = None
    client_cpus: set[int] | None = None
    profile: Path | None = None  # py-spy raw output for the Livepanel burst
    # Livepanel as N worker processes sharing one port and a Redis (`serve --workers N`).
    workers: int = 1
    redis: str = "redis://127.0.0.1:6379/0"
    log: Any = sys.stderr
    tree: Path = ROOT  # the Livepanel served: this checkout, or an older one to compare

    def timeout(self, base: float) -> float:
        """`base` seconds plus slack in proportion to the readers and the frames to deliver,
        so 10,000 readers get the same slack per reader as 200 (10,000 x 100: base + 250 s)."""
        return base + self.readers / 50 + self.readers * self.messages / 20_000


def raise_fd_limit(needed: int) -> None:
    """Raise this process's soft open-file limit to `needed` (servers and client processes
    inherit it); fail clearly when the hard limit is lower."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise RuntimeError(
            f"{needed} open files needed (the server holds one per reader), but the hard "
            f"limit is {hard}: raise it (ulimit -Hn, /etc/security/limits.conf) first"
        )
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


class Clients:
    """P client processes holding N readers between them; stopped by pid on exit."""

    def __init__(self, kind: str, url: str, opts: Options, since: int = 0) -> None:
        ctx = mp.get_context("spawn")
        self.procs: list[Any] = []
        self.conns: list[Connection] = []
        share = [opts.readers // opts.procs] * opts.procs
        for i in range(opts.readers % opts.procs):
            share[i] += 1
        self.ramp_timeout = opts.timeout(30)
        self.result_timeout = opts.timeout(60)
        for count in share:
            parent, child = ctx.Pipe()
            spec = {
                "kind": kind,
                "url": url,
                "count": count,
                "messages": opts.messages,
                "since": since,
                "handshakes": max(1, opts.handshakes // opts.procs),
                "connect_timeout": 60,
                "ramp_timeout": self.ramp_timeout,
                "compression": opts.compression,
                "cpus": sorted(opts.client_cpus) if opts.client_cpus else None,
            }
            proc = ctx.Process(target=run_client, args=(_client, child, spec), daemon=True)
            proc.start()
            child.close()
            self.procs.append(proc)
            self.conns.append(parent)

    async def expect(self, conn: Connection, kind: str, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if conn.poll():
                got, value = conn.recv()
                if got == kind:
                    return value
                continue
            await asyncio.sleep(0.02)
        raise TimeoutError(f"a client process sent no {kind!r} within {timeout:.0f} s")

    async def ready(self) -> int:
        counts = [await self.expect(c, "ready", self.ramp_timeout + 30) for c in self.conns]
        return sum(counts)

    async def done(self, timeout: float) -> bool:
        try:
            for conn in self.conns:
                await self.expect(conn, "done", max(0.1, timeout))
            return True
        except TimeoutError:
            return False

    async def results(self) -> list[dict[str, Any]]:
        for conn in self.conns:
            conn.send("stop")
        return [await self.expect(c, "result", self.result_timeout) for c in self.conns]

    def stop(self) -> None:
        stop_clients(self.procs)


def stop_clients(procs: list[Any]) -> None:
    """Stop client processes by pid: SIGTERM, then SIGKILL if one is still alive after 10 s."""
    for proc in procs:
        if proc.is_alive():
            os.kill(proc.pid, signal.SIGTERM)
        proc.join(10)
        if proc.is_alive():
            os.kill(proc.pid, signal.SIGKILL)
            proc.join(10)


def relay_frame(i: int) -> str:
    """A frame of the same shape and size as Livepanel's answer.published, marked with i."""
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    body = BODY.format(i=i)
    answer = {
        "id": 1000 + i,
        "question_id": 11,
        "by": {"id": None, "name": "The editors", "role": ""},
        "body_md": body,
        "body_html": f"<p>{body}</p>\n",
        "created_at": now,
        "updated_at": now,
        "edited": False,
        "bench_index": i,
    }
    return json.dumps(
        {"seq": 100 + i, "type": "answer.published", "at": now, "data": {"answer": answer}}
    )


async def burst(server_pid: int, clients: Clients, opts: Options, publish: Any) -> dict[str, Any]:
    """Connect the readers, publish M messages at a fixed rate, collect every reader's times."""
    idle_rss = rss_kib(server_pid)
    ramp_start = time.monotonic()
    connected = await clients.ready()
    ramp_s = time.monotonic() - ramp_start
    await asyncio.sleep(1.0)  # let the server's allocator settle before reading RSS
    loaded_rss = rss_kib(server_pid)
    print(f"  {connected}/{opts.readers} readers ready after {ramp_s:.1f} s", file=opts.log)
    profiler = None
    if opts.profile is not None:
        profiler = subprocess.Popen(
            [
                "py-spy",
                "record",
                "--pid",
                str(server_pid),
                "--format",
                "raw",
                "--rate",
                "100",
                "--nonblocking",
                "-o",
                str(opts.profile),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        await asyncio.sleep(1.0)
    try:
        cpu_before = cpu_seconds(server_pid)
        wall_before = time.monotonic()
        # Open loop: message i goes out at start + i/rate whether or not earlier publishes
        # were acknowledged, so a slow server cannot slow the offered rate down (no
        # coordinated omission); the publish time is taken just before each request.
        published: list[float] = [0.0] * opts.messages
        acks: list[float] = [0.0] * opts.messages

        async def one(i: int) -> None:
            published[i] = time.time()
            await asyncio.wait_for(publish(i), opts.timeout(30))
            acks[i] = time.time() - published[i]

        start = time.monotonic() + 0.2
        sends = []
        for i in range(opts.messages):
            delay = start + i / opts.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sends.append(asyncio.create_task(one(i)))
        await asyncio.gather(*sends)
        offered_s = max(published) - min(published)
        complete = await clients.done(opts.timeout(60))
        cpu_s = cpu_seconds(server_pid) - cpu_before
        wall_s = time.monotonic() - wall_before
    finally:
        stop_process(profiler, signal.SIGINT)
    results = await clients.results()
    latencies: list[float] = []
    per_message: list[list[float]] = [[] for _ in published]
    recv_count = 0
    for result in results:
        for row in result["recv"]:
            for i, at in enumerate(row):
                if at is not None:
                    recv_count += 1
                    latencies.append(at - published[i])
                    per_message[i].append(at - published[i])
    latencies.sort()
    connects = sorted(c for r in results for c in r["connect_s"])
    first_handshake = min(r["first_handshake_at"] for r in results)
    last_caught_up = max(r["last_caught_up_at"] for r in results)
    expected = opts.readers * opts.messages
    extensions: dict[str, int] = {}
    for result in results:
        for name, n in result["extensions"].items():
            extensions[name] = extensions.get(name, 0) + n
    ms = 1000
    return {
        "readers_connected": connected,
        "all_delivered_before_deadline": complete,
        "delivered": recv_count,
        "expected": expected,
        "lost": expected - recv_count,
        "duplicates": sum(r["duplicates"] for r in results),
        "out_of_order": sum(r["seq_errors"] for r in results),
        "failed_readers": sum(r["failed_readers"] for r in results),
        "errors": [e for r in results for e in r["errors"]][:5],
        "other_frames": sum(r["other_frames"] for r in results),
        "ws_messages": sum(r["ws_messages"] for r in results),
        "extensions": extensions,
        "latency_p50_ms": round(percentile(latencies, 0.50) * ms, 2),
        "latency_p99_ms": round(percentile(latencies, 0.99) * ms, 2),
        "latency_max_ms": round(latencies[-1] * ms, 2) if latencies else float("nan"),
        "per_message_max_ms": [round(max(m, default=float("nan")) * ms, 1) for m in per_message],
        "publish_ack_p50_ms": round(percentile(sorted(acks), 0.5) * ms, 2),
        "publish_ack_max_ms": round(max(acks) * ms, 2),
        "offered_rate_per_s": round((opts.messages - 1) / offered_s, 2) if offered_s else None,
        "burst_wall_s": round(wall_s, 2),
        "server_cpu_s": round(cpu_s, 3),
        "server_cpu_share": round(cpu_s / wall_s, 3),
        "cpu_us_per_frame": round(cpu_s / max(1, recv_count) * 1e6, 2),
        "rss_idle_kib": idle_rss,
        "rss_loaded_kib": loaded_rss,
        "rss_kib_per_conn": round((loaded_rss - idle_rss) / max(1, connected), 2),
        "connect_p50_ms": round(percentile(connects, 0.50) * ms, 1),
        "connect_p99_ms": round(percentile(connects, 0.99) * ms, 1),
        "connect_max_ms": round(connects[-1] * ms, 1) if connects else float("nan"),
        "ramp_s": round(ramp_s, 2),
        "connect_all_s": round(max(0.0, last_caught_up - first_handshake), 2),
    }


def _server(cmd: list[str], opts: Options, **kw: Any) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    if opts.server_cpus:
        os.sched_setaffinity(proc.pid, opts.server_cpus)
    return proc


async def run_baseline(opts: Options) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    port = free_port()
    proc = _server([sys.executable, "-c", RELAY_SERVER, str(port)], opts)
    clients = None
    try:
        await wait_port(port)
        clients = Clients("relay", f"ws://127.0.0.1:{port}/", opts)
        async with connect(f"ws://127.0.0.1:{port}/publish", open_timeout=30) as publisher:

            async def publish(i: int) -> None:
                await publisher.send(relay_frame(i))

            return await burst(proc.pid, clients, opts, publish)
    finally:
        if clients is not None:
            clients.stop()
        stop_process(proc)


async def run_livepanel(opts: Options) -> dict[str, Any]:
    import httpx

    port = free_port()
    db = f"sqlite:///{tempfile.mkdtemp(prefix='livepanel-bench-')}/bench.db"
    # Every reader connects from 127.0.0.1, standing for thousands of addresses: lift the
    # per-address cap on sockets (256 by default) above the largest run.
    env = {
        **os.environ,
        "LIVEPANEL_SECRET": "bench-secret",
        "LIVEPANEL_MAX_SOCKETS_PER_IP": "100000",
        "PYTHONPATH": str(opts.tree),
    }
    cli = [sys.executable, "-m", "panel.cli"]
    setup: dict[str, Any] = {"check": True, "capture_output": True, "env": env, "cwd": opts.tree}
    subprocess.run([*cli, "demo", "--db", db], timeout=120, **setup)
    subprocess.run(
        [*cli, "create-editor", "bench", "--password-stdin", "--db", db],
        input=b"bench-password\n",
        timeout=120,
        **setup,
    )
    serve = [*cli, "serve", "--db", db, "--port", str(port)]
    if opts.workers > 1:  # a key prefix of this run's own, removed afterwards
        prefix = f"livepanel-bench-{os.getpid()}-{port}:"
        serve += ["--workers", str(opts.workers), "--redis", opts.redis]
        env["LIVEPANEL_REDIS_PREFIX"] = prefix
    proc = _server(serve, opts, env=env, cwd=opts.tree)
    clients = None
    try:
        await wait_port(port)
        base_url, timeout = f"http://127.0.0.1:{port}", opts.timeout(30)
        async with httpx.AsyncClient(base_url=base_url, timeout=timeout) as desk:
            login = (await desk.get("/desk/login")).text
            token = re.search(r'name="csrf_token" value="([^"]+)"', login)
            if token is None:
                raise RuntimeError("the login page has no CSRF token")
            await desk.post(
                "/desk/login",
                data={
                    "csrf_token": token.group(1),
                    "username": "bench",
                    "password": "bench-password",
                },
            )
            listed = (await desk.get(f"/api/v1/events/{SLUG}/questions")).json()["questions"]
            question_id = next(q["id"] for q in listed if q["merged_into"] is None)
            last = (await desk.get(f"/api/v1/events/{SLUG}")).json()["last_seq"]
            url = f"ws://127.0.0.1:{port}/events/{SLUG}/live?since={last}"
            clients = Clients("livepanel", url, opts, since=last)

            async def publish(i: int) -> None:
                response = await desk.post(
                    f"/api/v1/questions/{question_id}/answers", json={"body": BODY.format(i=i)}
                )
                if response.status_code != 201:
                    raise RuntimeError(f"answer {i}: HTTP {response.status_code} {response.text}")

            return await burst(proc.pid, clients, opts, publish)
    finally:
        if clients is not None:
            clients.stop()
        stop_process(proc)
        if opts.workers > 1:
            await _forget_redis_keys(opts.redis, prefix)


async def _forget_redis_keys(url: str, prefix: str) -> None:
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


COMPARED = [
    ("latency_p50_ms", "delivery p50 (ms)"),
    ("latency_p99_ms", "delivery p99 (ms)"),
    ("latency_max_ms", "delivery max (ms)"),
    ("lost", "lost frames"),
    ("duplicates", "duplicated frames"),
    ("out_of_order", "seq gaps / out of order"),
    ("cpu_us_per_frame", "server CPU per delivered frame (µs)"),
    ("server_cpu_share", "server CPU during the burst (cores)"),
    ("burst_wall_s", "burst wall time (s)"),
    ("ws_messages", "WebSocket messages received (arrays count once)"),
    ("rss_kib_per_conn", "server RSS per connection (KiB)"),
    ("connect_p50_ms", "connect + caught up p50 (ms)"),
    ("connect_p99_ms", "connect + caught up p99 (ms)"),
    ("ramp_s", "all readers connected (s)"),
    ("connect_all_s", "first handshake to last reader caught up (s)"),
]


def ratio(a: float, b: float) -> float | None:
    if b == 0:
        return None if a else 1.0
    return round(a / b, 2)


async def fanout(opts: Options) -> dict[str, Any]:
    raise_fd_limit(opts.readers + 1024)
    print(
        f"fanout: {opts.readers} readers, {opts.messages} messages at {opts.rate}/s, "
        f"{opts.procs} client processes",
        file=opts.log,
    )
    print(" baseline (websockets.broadcast relay)", file=opts.log)
    baseline = await run_baseline(Options(**{**opts.__dict__, "profile": None}))
    print(" livepanel", file=opts.log)
    livepanel = await run_livepanel(opts)
    return {
        "readers": opts.readers,
        "messages": opts.messages,
        "rate_per_s": opts.rate,
        "client_processes": opts.procs,
        "compression": opts.compression,
        "livepanel_workers": opts.workers,
        "baseline": baseline,
        "livepanel": livepanel,
        "ratio": {key: ratio(livepanel[key], baseline[key]) for key, _ in COMPARED},
    }


def failures(run: dict[str, Any]) -> list[str]:
    """What makes --quick fail: frames lost, repeated or out of order. Never timings."""
    found = []
    for server in ("baseline", "livepanel"):
        r = run[server]
        for key in ("lost", "duplicates", "out_of_order", "failed_readers"):
            if r[key]:
                found.append(f"{run['readers']} readers, {server}: {key} = {r[key]} {r['errors']}")
    return found


def markdown(runs: list[dict[str, Any]]) -> str:
    lines = []
    for run in runs:
        lines += [
            f"**{run['readers']:,} readers**, {run['messages']} messages at {run['rate_per_s']}/s, "
            f"{run['client_processes']} client processes, compression {run['compression']}",
            "",
            "| figure | baseline | livepanel | ratio |",
            "|---|---:|---:|---:|",
        ]
        for key, label in COMPARED:
            value = run["ratio"][key]
            shown = "–" if value is None else f"{value}×"
            lines.append(
                f"| {label} | {run['baseline'][key]} | {run['livepanel'][key]} | {shown} |"
            )
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    from bench.__main__ import main

    sys.exit(main(["fanout", *sys.argv[1:]]))
