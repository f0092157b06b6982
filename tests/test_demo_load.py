"""`kill -9` during `livepanel demo` never leaves a half-loaded demo for good.

A real `livepanel demo` process is killed with SIGKILL at random moments of its load, once
or twice in a row on the same database; then a normal load must succeed, and the demo must
be complete: the same events, panels, questions, answers, drafts, notes, invites, transcript
and archive rows as an uninterrupted load, no stray panelists, one editor whose password is
the last one printed, every event's log gapless, and the database sound.

The kill moments are spread over the load by its progress, not by the clock, so that they
land inside the load on a loaded machine too: the test watches the audit log (which only
grows, even across a discard) from outside and kills when it reaches a random count between
none and a whole load's worth. The seed is printed; LIVEPANEL_DEMO_KILL_SEED replays it,
LIVEPANEL_DEMO_KILLS sets the number of tries on SQLite (default 8).
"""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

from panel.demo import ARCHIVE_SLUG, DEMO_EDITOR, LIVE_SLUG, UPCOMING_SLUG
from panel.security import verify_password
from tests.conftest import wait_for
from tests.pgdb import scratch_schema, unavailable
from tests.serverprocess import clean_env

TRIES = int(os.environ.get("LIVEPANEL_DEMO_KILLS", "8"))
PG_TRIES = 3
SLUGS = (ARCHIVE_SLUG, LIVE_SLUG, UPCOMING_SLUG)
AT = "2026-10-25T13:20:00Z"  # one instant for every load, so that they can be compared
TIMEOUT = 90  # for any one load; one normally takes well under a second
PASSWORD = re.compile(r"^\s+Editor desk: \S+ +user: \S+ +password: (\S+)$", re.M)

# What a complete demo holds, per event; `?` is the event's slug. Portable SQL.
PER_EVENT = {
    "status": "SELECT status FROM events WHERE slug = ?",
    "slots": "SELECT COUNT(*) FROM slots s JOIN events e ON e.id = s.event_id WHERE e.slug = ?",
    "panel": "SELECT COUNT(*) FROM assignments a JOIN events e ON e.id = a.event_id"
    " WHERE e.slug = ?",
    "invites": "SELECT COUNT(*) FROM invites i JOIN events e ON e.id = i.event_id WHERE e.slug = ?",
    "questions": "SELECT q.status, COUNT(*) FROM questions q JOIN events e ON e.id = q.event_id"
    " WHERE e.slug = ? GROUP BY q.status ORDER BY q.status",
    "answers": "SELECT COUNT(*) FROM answers a JOIN questions q ON q.id = a.question_id"
    " JOIN events e ON e.id = q.event_id WHERE e.slug = ?",
    "drafts": "SELECT COUNT(*) FROM answer_drafts d JOIN events e ON e.id = d.event_id"
    " WHERE e.slug = ?",
    "notes": "SELECT COUNT(*) FROM backstage_notes n JOIN events e ON e.id = n.event_id"
    " WHERE e.slug = ?",
    "published": "SELECT COUNT(*) FROM transcripts t JOIN events e ON e.id = t.event_id"
    " WHERE e.slug = ? AND t.published_json IS NOT NULL",
    "archive": "SELECT COUNT(*) FROM archive_items a JOIN events e ON e.id = a.event_id"
    " WHERE e.slug = ?",
    "seqs": "SELECT l.seq FROM event_log l JOIN events e ON e.id = l.event_id"
    " WHERE e.slug = ? ORDER BY l.seq",
    "last_seq": "SELECT last_seq FROM events WHERE slug = ?",
}
OVERALL = {
    "events": "SELECT slug FROM events ORDER BY slug",
    "panelists": "SELECT COUNT(*) FROM panelists",
    "editors": "SELECT username FROM editors ORDER BY username",
}

Rows = Callable[..., Awaitable[list[tuple[Any, ...]]]]


async def snapshot(rows: Rows) -> dict[str, Any]:
    """The demo's content, without ids or times; fails if an event's log has a gap."""
    found: dict[str, Any] = {name: await rows(sql) for name, sql in OVERALL.items()}
    for slug in SLUGS:
        facts = {name: await rows(sql, slug) for name, sql in PER_EVENT.items()}
        if not facts["last_seq"]:
            found[slug] = "missing"
            continue
        seqs = [seq for (seq,) in facts["seqs"]]
        (last_seq,) = facts.pop("last_seq")[0]
        assert seqs == list(range(1, last_seq + 1)), f"{slug}'s log is not gapless: {seqs}"
        found[slug] = facts
    return found


class Load:
    """One `livepanel demo --db URL --demo-at AT` process, its output kept in a file."""

    def __init__(self, workdir: Path, db_url: str, number: int) -> None:
        self.out = workdir / f"demo-{number}.out"
        with self.out.open("w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "panel.cli", "demo", "--db", db_url, "--demo-at", AT],
                cwd=workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=clean_env(),
            )

    def kill(self) -> int:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        return self.proc.wait(timeout=TIMEOUT)

    def finish(self) -> str:
        try:
            code = self.proc.wait(timeout=TIMEOUT)
        finally:
            self.kill()
        output = self.out.read_text()
        assert code == 0, f"the load after the kills failed ({code}):\n{output}"
        return output


class Database:
    """A demo database seen from outside: audit entries so far, and any query."""

    def __init__(self, rows: Rows, workdir: Path, url: str) -> None:
        self.rows, self.workdir, self.url = rows, workdir, url
        self.loads = 0
        self.printed: list[str] = []  # every password any load printed, in order

    async def audited(self) -> int:
        try:
            return int((await self.rows("SELECT COUNT(*) FROM audit_log"))[0][0])
        except Exception:  # not created or not migrated yet: no progress
            return 0

    def start(self) -> Load:
        self.loads += 1
        return Load(self.workdir, self.url, self.loads)

    def heard(self, load: Load) -> str:
        output = load.out.read_text()
        self.printed += PASSWORD.findall(output)
        return output

    async def kill_at(self, load: Load, audited: int) -> bool:
        """SIGKILL `load` once the audit log holds `audited` entries (or it ended first);
        True if it was still running, i.e. the kill cut its work short."""

        async def reached() -> bool:
            return load.proc.poll() is not None or await self.audited() >= audited

        await wait_for(reached, timeout=TIMEOUT, interval=0.002, message="the load to progress")
        interrupted = load.kill() == -signal.SIGKILL
        self.heard(load)
        return interrupted

    async def full_load(self) -> str:
        load = self.start()
        load.finish()
        return self.heard(load)

    async def editor_password_is_the_last_printed(self) -> None:
        ((stored,),) = await self.rows(
            "SELECT password_hash FROM editors WHERE username = ?", DEMO_EDITOR
        )
        assert self.printed, "no load printed the editor's password"
        assert await verify_password(stored, self.printed[-1]), (
            "the last printed password does not sign the editor in"
        )


async def kill_then_load(
    db: Database, reference: dict[str, Any], whole: int, rng: random.Random
) -> int:
    """One or two loads killed at random points, then a normal load, which must leave the
    demo complete; how many of the kills cut a load short."""
    interrupted = 0
    for _ in range(rng.choice((1, 2))):
        target = await db.audited() + rng.randint(1, whole)
        interrupted += await db.kill_at(db.start(), target)
    output = await db.full_load()
    assert "Livepanel demo loaded." in output or "already present" in output, output
    assert await snapshot(db.rows) == reference
    await db.editor_password_is_the_last_printed()
    return interrupted


def sqlite_rows(path: Path) -> Rows:
    async def rows(sql: str, *args: Any) -> list[tuple[Any, ...]]:
        if not path.exists():  # never create the file before the load does
            raise FileNotFoundError(path)
        with closing(sqlite3.connect(path, timeout=5)) as conn:
            return conn.execute(sql, args).fetchall()

    return rows


def assert_sound(path: Path) -> None:
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        # The archive's full-text index agrees with its rows (raises if not).
        conn.execute("INSERT INTO archive_fts (archive_fts) VALUES ('integrity-check')")


def seeded() -> random.Random:
    seed = int(os.environ.get("LIVEPANEL_DEMO_KILL_SEED", random.randrange(10**9)))
    print(f"LIVEPANEL_DEMO_KILL_SEED={seed}")
    return random.Random(seed)


async def test_sqlite_demo_survives_kills_during_its_load(tmp_path: Path) -> None:
    rng = seeded()
    reference_db = Database(
        sqlite_rows(tmp_path / "ref.db"), tmp_path, f"sqlite:///{tmp_path}/ref.db"
    )
    assert "Livepanel demo loaded." in await reference_db.full_load()
    reference = await snapshot(reference_db.rows)
    whole = await reference_db.audited()
    # The reference itself is the whole demo: three events, answered questions, a log.
    assert reference["events"] == [(slug,) for slug in sorted(SLUGS)]
    assert reference[LIVE_SLUG]["answers"][0][0] > 0 and reference[LIVE_SLUG]["seqs"]
    attempts = interrupted = 0
    for round_ in range(TRIES):
        path = tmp_path / f"round-{round_}.db"
        db = Database(sqlite_rows(path), tmp_path, f"sqlite:///{path}")
        interrupted += await kill_then_load(db, reference, whole, rng)
        attempts += db.loads - 1
        assert_sound(path)
    # Most kills must land inside a load, or the test proves little.
    print(f"{interrupted} of {attempts} kills cut a load short")
    assert interrupted >= attempts // 2, (interrupted, attempts)
    # Loading a complete demo again changes nothing.
    assert "already present" in await db.full_load()
    assert await snapshot(db.rows) == reference


@asynccontextmanager
async def postgresql_database(workdir: Path) -> AsyncIterator[Database]:
    """A schema of its own, watched through one connection (closed before the drop)."""
    try:
        import asyncpg
    except ImportError:
        unavailable("asyncpg is not installed: pip install -e '.[postgres]'")
    with scratch_schema() as url:
        conn = await asyncpg.connect(url, timeout=10)
        try:

            async def rows(sql: str, *args: Any) -> list[tuple[Any, ...]]:
                return [tuple(r) for r in await conn.fetch(sql.replace("?", "$1"), *args)]

            yield Database(rows, workdir, url)
        finally:
            await conn.close()


async def test_postgresql_demo_survives_kills_during_its_load(tmp_path: Path) -> None:
    rng = seeded()
    async with postgresql_database(tmp_path) as reference_db:
        assert "Livepanel demo loaded." in await reference_db.full_load()
        reference = await snapshot(reference_db.rows)
        whole = await reference_db.audited()
    interrupted = 0
    for _ in range(PG_TRIES):
        async with postgresql_database(tmp_path) as db:
            interrupted += await kill_then_load(db, reference, whole, rng)
    assert interrupted >= 1
