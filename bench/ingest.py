"""Ingest: readers' questions offered at a fixed open-loop rate, each acknowledged only after a
durable commit, then checked in the SQLite file.

One `livepanel serve` (the CLI, unchanged settings) runs on a fresh SQLite file with the demo
data, on 127.0.0.1. For each offered rate R, P client processes (multiprocessing, spawn)
share the load: each sends its R/P questions a second for S seconds, question i at
`start + i/(R/P)` whether or not earlier ones were answered (open loop, so a slow server
cannot slow the offered rate down), each a `POST /api/v1/events/{slug}/questions` with a JSON
body and an `Idempotency-Key`, over keep-alive HTTP/1.1 connections (a small asyncio client;
at most `--connections` per process, opened as needed). Latency is measured from the
question's scheduled time to the end of its response, so a queue in the client counts too.

Rate limits (5 questions a minute per reader, 30 per IP) are those of a default server; the
benchmark stays inside them as a crowd would: every reader (a `livepanel` session cookie
holding a reader id, signed before the run with the server's secret, as the server signs
it: a reader who has asked before) asks at most 4 questions, and every client
address at most 25. The address is sent as `X-Forwarded-For`, which the app believes from
peers in `LIVEPANEL_TRUSTED_PROXIES` (here: 127.0.0.1), as behind a reverse proxy.

After the last rate the server is killed (SIGKILL, no graceful shutdown), and the SQLite file
is opened: every acknowledged question (201, not replayed) must be there exactly once, with
its id, its Idempotency-Key and its text. Lost = acknowledged but missing; duplicated = a key
stored more than once or an id acknowledged twice.

    python -m bench ingest --rates 100 300 1000 --seconds 5 --procs 2
    python -m bench ingest --quick     # CI: exits 1 on lost or duplicated questions only

Bounded: every wait has a timeout; the server and client processes are stopped by pid, also
on error. Traffic goes only to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import multiprocessing as mp
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import itsdangerous

from bench.fanout import (
    ROOT,
    SLUG,
    cpu_seconds,
    free_port,
    percentile,
    run_client,
    stop_clients,
    stop_process,
    wait_port,
)

SECRET = "bench-secret"  # the server's LIVEPANEL_SECRET, which signs the reader cookies
PER_READER = 4  # questions per reader cookie (the default limit is 5 a minute)
PER_ADDRESS = 25  # questions per client address (the default limit is 30 a minute)
TEXT = "Ingest {key}: what does a typical first week look like for a new trainee officer?"


# --------------------------------------------------------------------------- HTTP client


class HttpConn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.used = time.monotonic()

    async def call(self, raw: bytes) -> tuple[int, dict[str, list[str]], bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers: dict[str, list[str]] = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers.setdefault(name.strip().lower(), []).append(value.strip())
        length = int(headers.get("content-length", ["0"])[0])
        body = await self.reader.readexactly(length) if length else b""
        self.used = time.monotonic()
        return status, headers, body

    def close(self) -> None:
        self.writer.close()


class Pool:
    """Keep-alive connections to 127.0.0.1:port, at most `cap` in use at once.

    Like a browser, it drops connections idle for longer than the server keeps them (uvicorn:
    5 s), and retries a request once on a new connection when a reused one is closed before
    any response arrives (safe here: every question carries an Idempotency-Key).
    """

    IDLE_S = 4.0

    def __init__(self, port: int, cap: int) -> None:
        self.port = port
        self.idle: list[HttpConn] = []
        self.slots = asyncio.Semaphore(cap)
        self.opened = 0
        self.retried = 0

    async def call(self, raw: bytes) -> tuple[int, dict[str, list[str]], bytes]:
        async with self.slots:
            now = time.monotonic()
            while self.idle and now - self.idle[-1].used > self.IDLE_S:
                self.idle.pop().close()
            reused = bool(self.idle)
            conn = self.idle.pop() if reused else await self._open()
            try:
                status, headers, body = await conn.call(raw)
            except (asyncio.IncompleteReadError, ConnectionError) as error:
                conn.close()
                partial = getattr(error, "partial", b"")
                if not reused or partial:
                    raise
                self.retried += 1
                conn = await self._open()
                status, headers, body = await conn.call(raw)
            except BaseException:
                conn.close()
                raise
            if "close" in headers.get("connection", []):
                conn.close()
            else:
                self.idle.append(conn)
            return status, headers, body

    async def _open(self) -> HttpConn:
        self.opened += 1
        return HttpConn(*await asyncio.open_connection("127.0.0.1", self.port))

    def close(self) -> None:
        for conn in self.idle:
            conn.close()
        self.idle.clear()


def request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def address(n: int) -> str:
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


# --------------------------------------------------------------------------- client process


def reader_cookie(secret: str) -> str:
    """A reader who has asked before: a `livepanel` session cookie holding a reader id,
    signed as the server signs its own (Starlette's SessionMiddleware: base64 JSON under an
    itsdangerous TimestampSigner, with the server's LIVEPANEL_SECRET). The server would
    only set one in answer to a question or an upvote (viewing starts no session), and
    neither may happen before the timed part."""
    session = {"reader": secrets.token_urlsafe(16)}
    data = base64.b64encode(json.dumps(session).encode("utf-8"))
    return "livepanel=" + itsdangerous.TimestampSigner(secret).sign(data).decode("utf-8")


async def _client(conn: Connection, spec: dict[str, Any]) -> None:
    pool = Pool(spec["port"], spec["connections"])
    count, rate, tag = spec["count"], spec["rate"], spec["tag"]
    base = spec["address_base"]
    timeout = spec["timeout"]
    path = f"/api/v1/events/{SLUG}/questions"

    cookies = [reader_cookie(SECRET) for _ in range(math.ceil(count / PER_READER))]
    conn.send(("ready", len(cookies)))
    start = None
    while start is None:
        if conn.poll(0.05):
            kind, start = conn.recv()
        await asyncio.sleep(0)
    # Question i: (key, scheduled, sent, done, status, id, replayed, error)
    rows: list[list[Any]] = []

    async def one(i: int, scheduled: float) -> None:
        key = f"{tag}-{i}"
        body = json.dumps({"body": TEXT.format(key=key), "name": "Bench"}).encode()
        raw = request(
            "POST",
            path,
            {
                "Content-Type": "application/json",
                "Cookie": cookies[i // PER_READER],
                "Idempotency-Key": key,
                "X-Forwarded-For": address(base + i // PER_ADDRESS),
            },
            body,
        )
        row: list[Any] = [key, scheduled, time.time(), None, None, None, False, None]
        rows.append(row)
        try:
            status, headers, data = await asyncio.wait_for(pool.call(raw), timeout)
            row[3], row[4] = time.time(), status
            if status == 201:
                row[5] = json.loads(data)["id"]
                row[6] = "true" in headers.get("idempotent-replayed", [])
        except TimeoutError:
            row[3], row[7] = time.time(), "timeout"
        except Exception as error:  # noqa: BLE001 - counted as an error by kind
            row[3], row[7] = time.time(), type(error).__name__

    cpu_before = time.process_time()
    tasks = []
    for i in range(count):
        scheduled = start + i / rate
        delay = scheduled - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, scheduled)))
    await asyncio.gather(*tasks)
    pool.close()
    conn.send(
        (
            "result",
            {
                "rows": rows,
                "connections": pool.opened,
                "retried": pool.retried,
                "cpu_s": time.process_time() - cpu_before,
            },
        )
    )


# --------------------------------------------------------------------------- orchestration


@dataclass
class Options:
    rates: list[float] = field(default_factory=lambda: [100.0, 300.0, 1000.0])
    seconds: float = 5.0
    procs: int = 2
    connections: int = 256  # per client process
    server_cpus: set[int] | None = None
    client_cpus: set[int] | None = None
    profile: Path | None = None  # py-spy raw profile of the server at the largest rate
    log: Any = sys.stderr


def expect(conn: Connection, kind: str, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if conn.poll(0.05):
                got, value = conn.recv()
                if got == kind:
                    return value
        except EOFError:  # the client process ended (its traceback is on stderr)
            raise RuntimeError(f"a client process ended before sending {kind!r}") from None
    raise TimeoutError(f"a client process sent no {kind!r} within {timeout:.0f} s")


async def offer(
    port: int, server_pid: int, index: int, rate: float, opts: Options, profile: Path | None
) -> dict[str, Any]:
    """One offered rate: P client processes, then every question's row and the figures."""
    ctx = mp.get_context("spawn")
    total = max(1, round(rate * opts.seconds))
    share = [total // opts.procs + (1 if p < total % opts.procs else 0) for p in range(opts.procs)]
    procs, conns = [], []
    timeout = 30.0
    try:
        for p, count in enumerate(share):
            parent, child = ctx.Pipe()
            spec = {
                "port": port,
                "count": count,
                "rate": rate * count / total,
                "tag": f"r{index}p{p}",
                "address_base": (index * opts.procs + p) * 100_000,
                "connections": opts.connections,
                "timeout": timeout,
                "cpus": sorted(opts.client_cpus) if opts.client_cpus else None,
            }
            proc = ctx.Process(target=run_client, args=(_client, child, spec), daemon=True)
            proc.start()
            child.close()
            procs.append(proc)
            conns.append(parent)
        readers = sum([await asyncio.to_thread(expect, c, "ready", 120) for c in conns])
        start = time.time() + 0.5
        # Stagger the processes so the merged stream is evenly spaced at the offered rate.
        for p, c in enumerate(conns):
            c.send(("go", start + p / rate))
        cpu_before = cpu_seconds(server_pid)
        profiler = None
        if profile is not None:
            profiler = subprocess.Popen(
                ["py-spy", "record", "--pid", str(server_pid), "--format", "raw"]
                + ["--rate", "100", "--nonblocking", "-o", str(profile)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        try:
            wait = opts.seconds + timeout + 30
            results = [await asyncio.to_thread(expect, c, "result", wait) for c in conns]
        finally:
            stop_process(profiler, signal.SIGINT)
        cpu_s = cpu_seconds(server_pid) - cpu_before
        wall_s = time.time() - start
    finally:
        stop_clients(procs)
    rows = [row for r in results for row in r["rows"]]
    return {
        "rate": rate,
        "total": total,
        "readers": readers,
        "rows": rows,
        "cpu_s": cpu_s,
        "wall_s": wall_s,
        "client_cpu_s": sum(r["cpu_s"] for r in results),
        "retried": sum(r["retried"] for r in results),
        "connections": sum(r["connections"] for r in results),
    }


def summarise(run: dict[str, Any], stored: dict[str, list[tuple[int, str]]]) -> dict[str, Any]:
    rows = run["rows"]
    acked = [r for r in rows if r[4] == 201 and not r[6]]
    latencies = sorted(r[3] - r[1] for r in acked)
    lags = sorted(r[2] - r[1] for r in rows)
    errors: dict[str, int] = {}
    for r in rows:
        if r[4] != 201 or r[6]:
            kind = r[7] or (f"{r[4]} replayed" if r[4] == 201 else str(r[4]))
            errors[kind] = errors.get(kind, 0) + 1
    first = min(r[1] for r in rows)
    last_ack = max((r[3] for r in acked), default=first)
    span = max(r[1] for r in rows) - first
    lost, wrong = 0, 0
    for r in acked:
        found = stored.get(r[0], [])
        if not found:
            lost += 1
        elif found[0][0] != r[5] or found[0][1] != TEXT.format(key=r[0]):
            wrong += 1
    ids = [r[5] for r in acked]
    duplicated = sum(1 for r in acked if len(stored.get(r[0], [])) > 1)
    duplicated += len(ids) - len(set(ids))
    acked_keys = {r[0] for r in acked}
    unacked_stored = sum(1 for r in rows if r[0] not in acked_keys and stored.get(r[0]))
    ms = 1000
    return {
        "offered_per_s": run["rate"],
        "offered": run["total"],
        "offered_actual_per_s": round((len(rows) - 1) / span, 1) if span else None,
        "acknowledged": len(acked),
        "acknowledged_per_s": round(len(acked) / max(1e-9, last_ack - first), 1),
        "ack_p50_ms": round(percentile(latencies, 0.50) * ms, 1),
        "ack_p99_ms": round(percentile(latencies, 0.99) * ms, 1),
        "ack_max_ms": round(latencies[-1] * ms, 1) if latencies else float("nan"),
        "client_send_lag_p99_ms": round(percentile(lags, 0.99) * ms, 1),
        "errors": errors,
        "lost": lost,
        "duplicated": duplicated,
        "wrong_row": wrong,
        "unacknowledged_but_stored": unacked_stored,
        "server_cpu_s": round(run["cpu_s"], 2),
        "server_cpu_ms_per_question": round(run["cpu_s"] / max(1, len(acked)) * ms, 3),
        "server_cpu_share": round(run["cpu_s"] / run["wall_s"], 2),
        "client_cpu_s": round(run["client_cpu_s"], 2),
        "wall_s": round(run["wall_s"], 2),
        "retried_on_new_connection": run["retried"],
        "readers": run["readers"],
        "connections_opened": run["connections"],
    }


def stored_questions(db_path: str) -> dict[str, list[tuple[int, str]]]:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30) as db:
        cursor = db.execute(
            "SELECT client_key, id, body FROM questions WHERE client_key LIKE 'r%p%-%'"
        )
        out: dict[str, list[tuple[int, str]]] = {}
        for key, qid, body in cursor:
            out.setdefault(key, []).append((qid, body))
    return out


async def ingest(opts: Options) -> dict[str, Any]:
    if opts.procs < 2:
        raise ValueError("--procs must be at least 2")
    print(
        f"ingest: {opts.rates} questions/s offered, {opts.seconds} s each, "
        f"{opts.procs} client processes",
        file=opts.log,
    )
    port = free_port()
    folder = tempfile.mkdtemp(prefix="livepanel-ingest-")
    path = f"{folder}/bench.db"
    env = {**os.environ, "LIVEPANEL_SECRET": SECRET, "LIVEPANEL_TRUSTED_PROXIES": "127.0.0.1"}
    cli = [sys.executable, "-m", "panel.cli"]
    subprocess.run(
        [*cli, "demo", "--db", f"sqlite:///{path}"],
        check=True,
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    proc = subprocess.Popen(
        [*cli, "serve", "--db", f"sqlite:///{path}", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
    )
    if opts.server_cpus:
        os.sched_setaffinity(proc.pid, opts.server_cpus)
    runs = []
    try:
        await wait_port(port)
        for index, rate in enumerate(opts.rates):
            print(f" {rate:g}/s for {opts.seconds:g} s", file=opts.log)
            profile = opts.profile if rate == max(opts.rates) else None
            runs.append(await offer(port, proc.pid, index, rate, opts, profile))
            await asyncio.sleep(1.0)
    finally:
        # No graceful shutdown: what was acknowledged must already be in the file.
        stop_process(proc, signal.SIGKILL)
    stored = stored_questions(path)
    results = [summarise(run, stored) for run in runs]
    for r in results:
        print(
            f"  {r['offered_per_s']:g}/s: {r['acknowledged_per_s']}/s acknowledged, "
            f"p50 {r['ack_p50_ms']} ms, p99 {r['ack_p99_ms']} ms, lost {r['lost']}, "
            f"errors {r['errors']}",
            file=opts.log,
        )
    return {
        "seconds_per_rate": opts.seconds,
        "client_processes": opts.procs,
        "connections_per_process": opts.connections,
        "per_reader": PER_READER,
        "per_address": PER_ADDRESS,
        "runs": results,
    }


def failures(result: dict[str, Any]) -> list[str]:
    """What makes --quick fail: acknowledged questions lost, duplicated or wrong. Never timings."""
    found = []
    for r in result["runs"]:
        for key in ("lost", "duplicated", "wrong_row"):
            if r[key]:
                found.append(f"ingest at {r['offered_per_s']:g}/s: {key} = {r[key]}")
        if not r["acknowledged"]:
            found.append(f"ingest at {r['offered_per_s']:g}/s: nothing acknowledged {r['errors']}")
    return found


COLUMNS = [
    ("offered_per_s", "offered /s"),
    ("acknowledged", "acknowledged"),
    ("acknowledged_per_s", "acknowledged /s"),
    ("ack_p50_ms", "ack p50 (ms)"),
    ("ack_p99_ms", "ack p99 (ms)"),
    ("ack_max_ms", "ack max (ms)"),
    ("errors", "errors by status"),
    ("lost", "lost"),
    ("duplicated", "duplicated"),
    ("server_cpu_ms_per_question", "server CPU per question (ms)"),
    ("server_cpu_share", "server CPU (cores)"),
    ("client_send_lag_p99_ms", "client send lag p99 (ms)"),
]


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"**Ingest**, {result['seconds_per_rate']:g} s per rate, "
        f"{result['client_processes']} client processes, `synchronous=FULL`",
        "",
        "| " + " | ".join(label for _, label in COLUMNS) + " |",
        "|" + "---:|" * len(COLUMNS),
    ]
    for r in result["runs"]:
        cells = []
        for key, _ in COLUMNS:
            value = r[key]
            if key == "errors":
                value = ", ".join(f"{k}: {v}" for k, v in sorted(value.items())) or "none"
            cells.append(str(value))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    from bench.__main__ import main

    sys.exit(main(["ingest", *sys.argv[1:]]))
