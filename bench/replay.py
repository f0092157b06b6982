"""python -m bench replay: N parallel full replays (`since=0`) of an event with more frames
than the hub's ring, from client processes, while /healthz is asked every 50 ms.

Reports the bytes the replays pulled, the time until every replay had every frame, and
/healthz's latency meanwhile. With `--before PATH` (a tree of an older version, e.g.
`git archive main | tar -x -C /tmp/before`) the same run is made against it first, and the
figures come as ratios. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.fanout import free_port, percentile, stop_process, wait_port

ROOT = Path(__file__).resolve().parent.parent
SLUG = "replay-bench"
SEED = """
import asyncio, sys
from datetime import UTC, datetime, timedelta
from panel.actions import Actions
from panel.clock import SystemClock
from panel.config import Settings
from panel.store import store_for_url

async def main(url, frames):
    store = store_for_url(url)
    await store.open()
    try:
        actions = Actions(store, SystemClock(), Settings(db_url=url))
        now = datetime.now(UTC)
        event = await actions.create_event(
            slug=sys.argv[3], title="Replay bench", starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(hours=5), moderation="post", status="live", slots=[])
        body = "A question long enough to look like a real one, asked for the benchmark %d?"
        await asyncio.gather(*(actions.post_question(event, f"reader-{i}", body % i)
                               for i in range(frames)))
    finally:
        await store.close()

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


def _client(url: str, replays: int, out: Any) -> None:
    asyncio.run(_replays(url, replays, out))


async def _replays(url: str, replays: int, out: Any) -> None:
    from websockets.asyncio.client import connect

    async def one() -> tuple[int, int]:
        size = frames = 0
        async with connect(url, max_size=None, open_timeout=120, ping_interval=None) as ws:
            while True:
                message = await asyncio.wait_for(ws.recv(), 120)
                size += len(message)
                value = json.loads(message)
                batch = value if isinstance(value, list) else [value]
                frames += sum(1 for f in batch if "seq" in f)
                if any(f.get("type") == "presence" for f in batch):
                    return size, frames  # the presence frame follows the catch-up

    results = await asyncio.gather(*(one() for _ in range(replays)))
    out.put([list(r) for r in results])


async def _healthz(port: int, stop: asyncio.Event) -> list[float]:
    import httpx

    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
        while not stop.is_set():
            start = time.perf_counter()
            await http.get("/healthz")
            latencies.append(time.perf_counter() - start)
            await asyncio.sleep(0.05)
    return latencies


async def run_once(tree: Path, db: str, replays: int, procs: int) -> dict[str, Any]:
    port = free_port()
    env = {**os.environ, "LIVEPANEL_SECRET": "bench-secret", "PYTHONPATH": str(tree)}
    serve = [sys.executable, "-m", "panel.cli", "serve", "--db", db, "--port", str(port)]
    server = subprocess.Popen(serve, env=env, cwd=tree, stdout=subprocess.DEVNULL)
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    clients: list[Any] = []
    try:
        await wait_port(port)
        url = f"ws://127.0.0.1:{port}/events/{SLUG}/live?since=0"
        stop = asyncio.Event()
        health = asyncio.create_task(_healthz(port, stop))
        started = time.perf_counter()
        shares = [replays // procs + (i < replays % procs) for i in range(procs)]
        clients = [ctx.Process(target=_client, args=(url, n, out)) for n in shares]
        for client in clients:
            client.start()
        results: list[list[int]] = []
        for _ in clients:
            results += await asyncio.to_thread(out.get, True, 600)
        seconds = time.perf_counter() - started
        stop.set()
        latencies = sorted(await health)
    finally:
        for client in clients:
            client.join(10)
            if client.is_alive():
                client.kill()
        stop_process(server)
    return {
        "replays": replays,
        "frames_each": sorted({frames for _, frames in results}),
        "megabytes": round(sum(size for size, _ in results) / 1e6, 1),
        "seconds": round(seconds, 2),
        "healthz_p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
        "healthz_max_ms": round(latencies[-1] * 1000, 1),
    }


def seed(frames: int, tree: Path) -> str:
    db = f"sqlite:///{tempfile.mkdtemp(prefix='livepanel-replay-')}/replay.db"
    env = {**os.environ, "PYTHONPATH": str(tree)}
    subprocess.run([sys.executable, "-m", "panel.cli", "migrate", "--db", db], env=env, check=True)
    subprocess.run([sys.executable, "-c", SEED, db, str(frames), SLUG], env=env, check=True)
    return db


def main(args: argparse.Namespace) -> int:
    if args.procs < 2:
        raise SystemExit("--procs must be at least 2: replays come from separate processes")
    runs: dict[str, Any] = {}
    trees = [("before", args.before)] if args.before else []
    for name, tree in [*trees, ("after", ROOT)]:
        db = seed(args.frames, tree)  # each tree its own database, migrated by itself
        runs[name] = asyncio.run(run_once(tree, db, args.replays, args.procs))
    if "before" in runs:
        before, after = runs["before"], runs["after"]
        runs["after_over_before"] = {
            key: round(after[key] / before[key], 2) if before[key] else None
            for key in ("megabytes", "seconds", "healthz_p50_ms", "healthz_max_ms")
        }
    print(json.dumps(runs, indent=2))
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--replays", type=int, default=50)
    p.add_argument("--frames", type=int, default=1100, help="frames in the event (> the ring)")
    p.add_argument("--procs", type=int, default=2, help="client processes (at least 2)")
    p.add_argument("--before", type=Path, help="a tree of the version to compare against")
