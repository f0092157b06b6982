"""Round trips into SQLite's threads, and SQL statements, per question asked through the API.

The app runs in this process (Starlette's TestClient, its lifespan included) on a fresh SQLite
file with the demo data. Questions are posted one at a time, each by a fresh reader (no
cookie) with an `Idempotency-Key`, to `POST /api/v1/events/{slug}/questions`; the first
`--warm` are not counted. Two things are counted while the others are posted:

- hops: every call handed to another thread, whichever way the store does it: its own
  `ConnThread.call` (panel/store/sqlite_conn.py), a write group taken by the writer's
  thread from its queue (`_run_group_here`), aiosqlite's `Connection._execute` (as the
  store did before) and `loop.run_in_executor` (which `asyncio.to_thread` uses too). Each
  is labelled by the function, plus the first word of its SQL when it has some.
- statements: every SQL statement SQLite starts, on any connection (`set_trace_callback`
  on every `sqlite3.connect`).

    python -m bench.hops                     # 50 questions after 2 warm-up ones
    python -m bench.hops --questions 200 --json hops.json
    python -m bench.hops --moderation post   # each question published: a frame too

It counts only; it measures no time. The same script runs against an older tree, whose
store used aiosqlite: from that tree's root, `PYTHONPATH=. python /path/to/bench/hops.py`
imports that tree's `panel`.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import sqlite3
import sys
import tempfile
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

SLUG = "probation-officer-careers"


class Counts:
    def __init__(self) -> None:
        self.on = False
        self.hops: Counter[str] = Counter()
        self.statements: Counter[str] = Counter()

    def hop(self, fn: Any, args: tuple[Any, ...]) -> None:
        if self.on:
            self.hops[label(fn, args)] += 1

    def statement(self, sql: str) -> None:
        if self.on and not sql.startswith("--"):  # "-- TRIGGER name": inside a statement
            self.statements[sql.split(None, 1)[0].upper() if sql.strip() else "?"] += 1


def label(fn: Any, args: tuple[Any, ...]) -> str:
    while isinstance(fn, functools.partial):
        args, fn = fn.args + args, fn.func
    name = getattr(fn, "__name__", type(fn).__name__)
    sql = next((a for a in args if isinstance(a, str)), None)
    return f"{name} {sql.split(None, 1)[0].upper()}" if sql and sql.strip() else name


def instrument(counts: Counts) -> None:
    """Count hops and statements from now on (patches sqlite3.connect and the hop points)."""
    connect = sqlite3.connect

    def traced_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        db = connect(*args, **kwargs)
        db.set_trace_callback(counts.statement)
        return db

    sqlite3.connect = traced_connect  # type: ignore[assignment]

    run_in_executor = asyncio.BaseEventLoop.run_in_executor

    def counted_run_in_executor(
        self: asyncio.BaseEventLoop, executor: Any, func: Callable[..., Any], *args: Any
    ) -> Any:
        counts.hop(func, args)
        return run_in_executor(self, executor, func, *args)

    asyncio.BaseEventLoop.run_in_executor = counted_run_in_executor  # type: ignore[method-assign]

    try:
        from panel.store.sqlite import SQLiteStore
        from panel.store.sqlite_conn import ConnThread
    except ImportError:
        pass
    else:
        call = ConnThread.call

        async def counted_call(self: Any, fn: Any, *args: Any) -> Any:
            counts.hop(fn, args)
            return await call(self, fn, *args)

        ConnThread.call = counted_call  # type: ignore[method-assign]
        if hasattr(SQLiteStore, "_write_here"):
            # Jobs reach the writer's thread through its own queue; the thread wakes once
            # per group: count that as the group's hop.
            run_group = SQLiteStore._run_group_here

            def counted_group(self: Any, batch: Any) -> Any:
                counts.hop(run_group, ())
                return run_group(self, batch)

            SQLiteStore._run_group_here = counted_group  # type: ignore[method-assign]

    try:
        import aiosqlite.core
    except ImportError:
        return
    execute = aiosqlite.core.Connection._execute

    async def counted_execute(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        counts.hop(fn, args)
        return await execute(self, fn, *args, **kwargs)

    aiosqlite.core.Connection._execute = counted_execute  # type: ignore[method-assign]


def run(questions: int, warm: int, moderation: str = "pre") -> dict[str, Any]:
    counts = Counts()
    instrument(counts)  # before the store connects: its connections are traced

    with warnings.catch_warnings():  # Starlette's note on its httpx-based client
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from panel.actions import Actions
    from panel.app import create_app
    from panel.clock import SystemClock
    from panel.config import Settings
    from panel.demo import load_demo
    from panel.domain import SYSTEM
    from panel.store import store_for_url

    folder = Path(tempfile.mkdtemp(prefix="livepanel-hops-"))
    settings = Settings(
        db_url=f"sqlite:///{folder}/hops.db",
        secret="hops-secret",
        uploads_dir=folder / "uploads",
        questions_per_minute_ip=10 * (questions + warm),  # one client address asks them all
    )

    async def demo() -> None:
        store = store_for_url(settings.db_url)
        await store.open()
        try:
            await load_demo(store, settings, SystemClock())
            if moderation == "post":  # every question then appends a frame too
                actions = Actions(store, SystemClock(), settings)
                async with store.read() as repo:
                    event = await repo.event_by_slug(SLUG)
                assert event is not None
                await actions.set_event_rules(
                    event.id, SYSTEM, moderation="post", slow_mode_seconds=0, blocked_terms=""
                )
        finally:
            await store.close()

    asyncio.run(demo())
    statuses: Counter[int] = Counter()
    with TestClient(create_app(settings, SystemClock())) as client:
        for i in range(warm + questions):
            client.cookies.clear()  # a fresh reader each time, as in the ingest benchmark
            counts.on = i >= warm
            response = client.post(
                f"/api/v1/events/{SLUG}/questions",
                json={"body": f"Hops {i}: what does a first week look like?"},
                headers={"Idempotency-Key": f"hops-{i}"},
            )
            counts.on = False
            if i >= warm:
                statuses[response.status_code] += 1
    per = {k: round(v / questions, 2) for k, v in counts.hops.most_common()}
    return {
        "questions": questions,
        "moderation": moderation,
        "statuses": dict(statuses),
        "hops_per_question": round(sum(counts.hops.values()) / questions, 2),
        "statements_per_question": round(sum(counts.statements.values()) / questions, 2),
        "hops": per,
        "statements": {k: round(v / questions, 2) for k, v in counts.statements.most_common()},
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"{result['questions']} questions ({result['moderation']}-moderated), "
        f"statuses {result['statuses']}: "
        f"**{result['hops_per_question']} hops** and "
        f"**{result['statements_per_question']} SQL statements** per question",
        "",
        "| hop (function, SQL) | per question |",
        "|---|---:|",
        *(f"| `{k}` | {v} |" for k, v in result["hops"].items()),
        "",
        "| statement | per question |",
        "|---|---:|",
        *(f"| `{k}` | {v} |" for k, v in result["statements"].items()),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hops", description=__doc__)
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--warm", type=int, default=2, help="questions not counted, first")
    parser.add_argument(
        "--moderation",
        choices=["pre", "post"],
        default="pre",
        help="the demo event's (pre, as in the ingest benchmark) or post: each question "
        "is then published, a frame appended",
    )
    parser.add_argument("--json", type=Path, help="also write the counts here")
    args = parser.parse_args(argv)
    result = run(args.questions, args.warm, args.moderation)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(markdown(result))
    return 0 if set(result["statuses"]) == {201} else 1


if __name__ == "__main__":
    sys.exit(main())
