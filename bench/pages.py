"""Page speed: the event page with 300 answered questions, the home page and a trivial route
(`/healthz`) of the same server, in the same run.

A fresh SQLite file is filled through the real actions (so answers carry their stored HTML),
then `livepanel serve` runs as a separate process on 127.0.0.1. For each route this process
keeps C requests in flight for D seconds after a short warm-up, and reports requests per
second and p50/p99 latency, and the ratio of each p99 to the trivial route's.

    python bench/pages.py --concurrency 8 --seconds 5

Bounded: every request has a timeout, the load stops after D seconds, the server is stopped
by pid. The client is one Python process, so the trivial route's figure is partly the
client's own limit: the ratios are the honest part.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from panel.actions import Actions  # noqa: E402
from panel.clock import SystemClock  # noqa: E402
from panel.config import Settings  # noqa: E402
from panel.domain import Actor  # noqa: E402
from panel.store import store_for_url  # noqa: E402

SLUG = "bench-300"
EDITOR = Actor("editor", 0, "bench")
ANSWER = (
    "Yes, and it is **paid**: the first year is a trainee post with a salary, and the "
    "qualification is funded. See [the official page](https://example.org/careers) for "
    "the current figures.\n\n- a caseload from month three\n- a mentor throughout"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def seed(url: str, questions: int) -> None:
    """One live event with `questions` published questions, each answered once."""
    store = store_for_url(url)
    await store.open()
    try:
        actions = Actions(store, SystemClock(), Settings())
        now = datetime.now(UTC)
        event_id = await actions.create_event(
            slug=SLUG,
            title="Working and training as a probation officer",
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(hours=3),
            status="live",
        )
        panelist = await actions.add_panelist(event_id, "Maria Ashdown", "Officer", "Bio.")
        maria = Actor("panelist", panelist, "Maria Ashdown")
        for i in range(questions):
            question, _ = await actions.post_question(
                event_id, f"reader-{i}", f"Question {i}: is the training paid, and how long?"
            )
            await actions.moderate(question.id, "approve", EDITOR)
            await actions.answer(question.id, ANSWER, maria)
    finally:
        await store.close()


async def load(base: str, path: str, concurrency: int, seconds: float) -> dict[str, float]:
    """Keep `concurrency` GETs of `path` in flight for `seconds`; latencies of 200s only."""
    latencies: list[float] = []
    errors = 0
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:

        async def worker(stop_at: float, record: bool) -> None:
            nonlocal errors
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                response = await client.get(path, headers={"Accept-Encoding": "gzip"})
                elapsed = time.perf_counter() - started
                if record:
                    if response.status_code == 200:
                        latencies.append(elapsed)
                    else:
                        errors += 1

        warm = time.monotonic() + 1.0
        await asyncio.gather(*(worker(warm, False) for _ in range(concurrency)))
        begin = time.monotonic()
        await asyncio.gather(*(worker(begin + seconds, True) for _ in range(concurrency)))
        took = time.monotonic() - begin
    ordered = sorted(latencies)
    return {
        "rps": round(len(ordered) / took, 1),
        "p50_ms": round(ordered[len(ordered) // 2] * 1000, 2),
        "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))] * 1000, 2),
        "errors": errors,
    }


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    url = f"sqlite:///{tempfile.mkdtemp(prefix='livepanel-pages-')}/bench.db"
    await seed(url, args.questions)
    port = free_port()
    env = {**os.environ, "LIVEPANEL_SECRET": "bench-secret"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "panel.cli", "serve", "--db", url, "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient(base_url=base, timeout=5) as probe:
            while True:
                try:
                    if (await probe.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError("the server did not start")
                await asyncio.sleep(0.2)
            size = len((await probe.get(f"/events/{SLUG}")).content)
        results = {}
        for name, path in (
            ("trivial /healthz", "/healthz"),
            ("home /", "/"),
            (f"event page ({args.questions} answered)", f"/events/{SLUG}"),
        ):
            results[name] = await load(base, path, args.concurrency, args.seconds)
    finally:
        stop(proc)
    trivial = results["trivial /healthz"]["p99_ms"]
    print(f"event page: {size:,} bytes uncompressed; concurrency {args.concurrency}")
    print("| route | req/s | p50 ms | p99 ms | p99 / trivial | errors |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        ratio = r["p99_ms"] / trivial
        print(
            f"| {name} | {r['rps']} | {r['p50_ms']} | {r['p99_ms']} | {ratio:.1f} | {r['errors']} |"
        )


if __name__ == "__main__":
    asyncio.run(main())
