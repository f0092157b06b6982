"""Where the ingest tail comes from: checkpoints in the writer's commit, garbage collection, or
neither. In one process, without HTTP: the real SQLite store and the real `Questions.post`
action on a fresh file with the demo data, questions offered at a fixed open-loop rate (each
a task started at `start + i/rate`, a fresh reader each), acknowledged when the write
returns. Meanwhile it records:

- every write group's COMMIT time, and whether SQLite checkpointed inside it (the WAL
  index's backfill count, read from the `-shm` file, went up);
- every checkpoint the store ran off the commit path, and its time;
- every garbage collection (`gc.callbacks`) and its pause;
- the event loop's lag (a task that asks to sleep 2 ms).

Then it attributes each acknowledgement slower than `--slow` ms to what overlapped its wait.

    python -m bench.stalls                          # checkpoints off the commit path (now)
    python -m bench.stalls --checkpoints inline     # SQLite's own, inside the COMMIT (before)
    python -m bench.stalls --rate 300 --seconds 20 --json stalls.json
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import struct
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.fanout import percentile
from panel.clock import SystemClock
from panel.config import Settings
from panel.demo import LIVE_SLUG, load_demo
from panel.questions import Questions
from panel.store.sqlite import SQLiteStore

Span = tuple[float, float]  # start, end (time.perf_counter)


class TimedDb:
    """The writer's sqlite3 connection, timing each COMMIT and noticing checkpoints in it."""

    def __init__(self, db: Any, shm: Path, commits: list[tuple[float, float, bool]]) -> None:
        self._db, self._shm, self._commits = db, shm, commits

    def backfilled(self) -> int:
        # WalCkptInfo follows the two copies of the 48-byte WAL index header: nBackfill first.
        with self._shm.open("rb") as f:
            f.seek(96)
            return int(struct.unpack("=I", f.read(4))[0])

    def execute(self, sql: str, *args: Any) -> Any:
        if sql != "COMMIT":
            return self._db.execute(sql, *args)
        before = self.backfilled()
        start = time.perf_counter()
        try:
            return self._db.execute(sql, *args)
        finally:
            end = time.perf_counter()
            after = self.backfilled()
            # Up: pages were copied. Down to 0: the WAL was only restarted from its start
            # (after a complete checkpoint), which copies nothing.
            self._commits.append((start, end, after > before or 0 < after < before))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


async def run(rate: float, seconds: float, inline: bool, slow_ms: float) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="livepanel-stalls-"))
    url = f"sqlite:///{folder}/stalls.db"
    settings = Settings(db_url=url, secret="stalls", uploads_dir=folder / "uploads")
    store = SQLiteStore(url, checkpoint_every=None if inline else 1.0)
    await store.open()
    commits: list[tuple[float, float, bool]] = []
    checkpoints: list[Span] = []
    collections: list[tuple[float, float, int]] = []
    lags: list[Span] = []
    acks: list[Span] = []
    try:
        await load_demo(store, settings, SystemClock())
        async with store.read() as repo:
            event = await repo.event_by_slug(LIVE_SLUG)
        assert event is not None
        writer = store._writer  # noqa: SLF001 - a measurement, not a use
        assert writer is not None
        writer.db = TimedDb(writer.db, Path(f"{store.path}-shm"), commits)  # type: ignore[assignment]
        if not inline:
            checkpoint = store.checkpoint

            async def timed_checkpoint() -> tuple[int, int, int]:
                start = time.perf_counter()
                try:
                    return await checkpoint()
                finally:
                    checkpoints.append((start, time.perf_counter()))

            store.checkpoint = timed_checkpoint  # type: ignore[method-assign]

        started: dict[int, float] = {}

        def on_gc(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                started[info["generation"]] = time.perf_counter()
            elif info["generation"] in started:
                start = started.pop(info["generation"])
                collections.append((start, time.perf_counter(), info["generation"]))

        gc.callbacks.append(on_gc)
        questions = Questions(store, SystemClock(), settings)

        async def ask(i: int, due: float) -> None:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            await questions.post(event.id, f"stalls-reader-{i}", f"Stalls {i}: a question?")
            acks.append((due, time.perf_counter()))

        async def watch_loop(until: float) -> None:
            while time.perf_counter() < until:
                start = time.perf_counter()
                await asyncio.sleep(0.002)
                lags.append((start + 0.002, time.perf_counter()))

        total = int(rate * seconds)
        begin = time.perf_counter() + 0.2
        watcher = asyncio.create_task(watch_loop(begin + seconds + 1))
        await asyncio.gather(*[ask(i, begin + i / rate) for i in range(total)])
        await watcher
        gc.callbacks.remove(on_gc)
    finally:
        await store.close()
    return summary(rate, seconds, inline, slow_ms, acks, commits, checkpoints, collections, lags)


def summary(
    rate: float,
    seconds: float,
    inline: bool,
    slow_ms: float,
    acks: list[Span],
    commits: list[tuple[float, float, bool]],
    checkpoints: list[Span],
    collections: list[tuple[float, float, int]],
    lags: list[Span],
) -> dict[str, Any]:
    ms = 1000.0
    latencies = sorted(end - due for due, end in acks)

    def overlaps(span: Span, spans: list[Span]) -> bool:
        return any(s < span[1] and e > span[0] for s, e in spans)

    # The WAL's backfill moving during a COMMIT is SQLite's own checkpoint inside it, unless
    # the store's checkpoint ran at the same time (then the commit only overlapped it).
    inside = [(s, e) for s, e, moved in commits if moved and not overlaps((s, e), checkpoints)]
    beside = [(s, e) for s, e, _ in commits if overlaps((s, e), checkpoints)]
    slow_commits = [(s, e) for s, e, _ in commits if (e - s) * ms >= slow_ms / 4]
    long_gc = [(s, e) for s, e, _ in collections if (e - s) * ms >= slow_ms / 4]
    causes = {
        "checkpoint inside a commit": 0,
        "slow commit beside a checkpoint": 0,
        "other slow commit (fsync)": 0,
        "gc": 0,
        "none seen (CPU)": 0,
    }
    for due, end in acks:
        if (end - due) * ms < slow_ms:
            continue
        span = (due, end)
        slow_here = [c for c in slow_commits if overlaps(span, [c])]
        if overlaps(span, inside):
            causes["checkpoint inside a commit"] += 1
        elif any(overlaps(c, beside) for c in slow_here):
            causes["slow commit beside a checkpoint"] += 1
        elif slow_here:
            causes["other slow commit (fsync)"] += 1
        elif overlaps(span, long_gc):
            causes["gc"] += 1
        else:
            causes["none seen (CPU)"] += 1

    def stats(durations: list[float]) -> dict[str, Any]:
        d = sorted(durations)
        return {
            "count": len(d),
            "p50_ms": round(percentile(d, 0.5) * ms, 2) if d else None,
            "p99_ms": round(percentile(d, 0.99) * ms, 2) if d else None,
            "max_ms": round(d[-1] * ms, 2) if d else None,
        }

    return {
        "checkpoints": "inline (SQLite's, inside COMMIT)" if inline else "off the commit path",
        "offered_per_s": rate,
        "seconds": seconds,
        "acknowledged": len(acks),
        "ack": stats(latencies),
        f"acks_over_{slow_ms:g}_ms_by_cause": causes,
        "commits": stats([e - s for s, e, _ in commits]),
        "commits_with_checkpoint_inside": stats([e - s for s, e in inside]),
        "commits_beside_a_checkpoint": stats([e - s for s, e in beside]),
        "checkpoints_off_commit_path": stats([e - s for s, e in checkpoints]),
        "gc": {
            f"gen{g}": stats([e - s for s, e, gen in collections if gen == g]) for g in (0, 1, 2)
        },
        "loop_lag": stats([max(0.0, e - s) for s, e in lags]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stalls", description=__doc__)
    parser.add_argument("--rate", type=float, default=300.0, help="questions/s")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--checkpoints", choices=["inline", "off-path"], default="off-path")
    parser.add_argument("--slow", type=float, default=20.0, help="a slow acknowledgement, ms")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.rate, args.seconds, args.checkpoints == "inline", args.slow))
    text = json.dumps(result, indent=2)
    if args.json:
        args.json.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
