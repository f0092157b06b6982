"""`livepanel copy-db`: a whole site SQLite -> PostgreSQL -> SQLite, run as subprocesses."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from panel.actions import Actions
from panel.clock import SystemClock
from panel.config import Settings
from panel.demo import DEMO_DESK
from panel.store import store_for_url
from panel.store.migrations import load_migrations
from tests.pgdb import admin, scratch_schema
from tests.test_cli import LIVE_SLUG, livepanel, one_clear_line

DERIVED = ("archive_fts", "schema_migrations")  # rebuilt by each store, or checked, not copied


def sqlite_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every data table, sorted, keyed by table."""
    db = sqlite3.connect(path)
    try:
        names = [
            r[0]
            for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
            if not r[0].startswith(DERIVED)
        ]
        return {
            name: sorted(db.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr)
            for name in names
        }
    finally:
        db.close()


def fts_hits(path: Path, word: str) -> int:
    db = sqlite3.connect(path)
    try:
        query = "SELECT count(*) FROM archive_fts WHERE archive_fts MATCH ?"
        return int(db.execute(query, (word,)).fetchone()[0])
    finally:
        db.close()


def demo_db(tmp_path: Path) -> Path:
    path = tmp_path / "site.db"
    result = livepanel(tmp_path, "demo", "--db", f"sqlite:///{path}")
    assert result.returncode == 0, result.stderr
    # A merge, pointing at a later question: the copy must hold a reference to its own table.
    db = sqlite3.connect(path)
    with db:
        first, last = db.execute("SELECT min(id), max(id) FROM questions").fetchone()
        db.execute("UPDATE questions SET merged_into = ? WHERE id = ?", (last, first))
        # Mail (migration 0015): a panelist's address, a sent and a failed message, a schedule.
        at = "2026-09-14T12:00:00.000000Z"
        event = db.execute("SELECT min(id) FROM events").fetchone()[0]
        db.execute("UPDATE panelists SET email = 'p@example.org' WHERE id = 1")
        db.execute(
            "INSERT INTO mail_outbox (event_id, to_address, subject, text_body, html_body, kind,"
            " dedupe_key, created_at, attempts, next_try_at, sent_at, last_error, status) VALUES"
            " (?, 'p@example.org', 'S', 'T', '<p>H</p>', 'digest', 'k:1', ?, 1, ?, ?, '', 'sent'),"
            " (NULL, 'q@example.org', 'S', 'T', '<p>H</p>', 'test', NULL, ?, 1, ?, NULL,"
            " '550 No such user', 'failed')",
            (event, at, at, at, at, at),
        )
        db.execute(
            "INSERT INTO digest_schedules (event_id, hours_before, include_pending, created_at)"
            " VALUES (?, 24, 1, ?)",
            (event, at),
        )
    db.close()
    return path


async def ask_on_copy(url: str) -> tuple[int, list[int]]:
    """A new question on the copy, through the store API: its id, and its event's log seqs."""
    store = store_for_url(url)
    await store.open()
    try:
        settings = Settings.from_env(db_url=url)
        async with store.read() as repo:
            event = await repo.event_by_slug(LIVE_SLUG)
        assert event is not None
        actions = Actions(store, SystemClock(), settings)
        question, _ = await actions.post_question(
            event.id, "copy-reader", "Is this question numbered after the copied ones?", "", None
        )
        await actions.moderate(question.id, "approve", DEMO_DESK)  # a frame in the log
        async with store.read() as repo:
            rows = await repo.conn.fetchall(
                "SELECT seq FROM event_log WHERE event_id = :e ORDER BY seq", {"e": event.id}
            )
        return question.id, [int(r["seq"]) for r in rows]
    finally:
        await store.close()


def test_round_trip_sqlite_postgresql_sqlite(tmp_path: Path) -> None:
    source = demo_db(tmp_path)
    before = sqlite_rows(source)
    assert sum(map(len, before.values())) > 100  # the demo has something in it
    back = tmp_path / "back.db"
    with scratch_schema() as pg:
        there = livepanel(tmp_path, "copy-db", "--from", f"sqlite:///{source}", "--to", pg)
        assert there.returncode == 0, there.stderr
        assert "Copied" in there.stdout
        home = livepanel(tmp_path, "copy-db", "--from", pg, "--to", f"sqlite:///{back}")
        assert home.returncode == 0, home.stderr

        after = sqlite_rows(back)
        assert set(after) == set(before)
        for table, rows in before.items():
            assert after[table] == rows, table

        # The archive's search index (derived, not copied) is rebuilt on the SQLite side.
        hits = fts_hits(back, "teacher")
        assert hits == fts_hits(source, "teacher") > 0
        # ... and PostgreSQL's generated tsvector is there too.
        pg_hits = admin(
            lambda conn: conn.fetchval(
                "SELECT count(*) FROM archive_items"
                " WHERE search @@ plainto_tsquery('english', 'teacher')"
            ),
            pg,
        )
        assert pg_hits == hits

        # On the PostgreSQL copy the sequences continue: the next id, the next seq.
        last_id = max(row[0] for row in before["questions"])
        question_id, seqs = asyncio.run(ask_on_copy(pg))
        assert question_id == last_id + 1
        assert seqs == list(range(1, len(seqs) + 1))
        copied_seqs = sum(1 for row in before["event_log"] if row[0] == _live_event_id(source))
        assert len(seqs) > copied_seqs


def _live_event_id(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("SELECT id FROM events WHERE slug = ?", (LIVE_SLUG,)).fetchone()[0])
    finally:
        db.close()


def test_sqlite_copy_continues_ids(tmp_path: Path) -> None:
    source = demo_db(tmp_path)
    target = tmp_path / "copy.db"
    result = livepanel(
        tmp_path, "copy-db", "--from", f"sqlite:///{source}", "--to", f"sqlite:///{target}"
    )
    assert result.returncode == 0, result.stderr
    last_id = max(row[0] for row in sqlite_rows(source)["questions"])
    question_id, seqs = asyncio.run(ask_on_copy(f"sqlite:///{target}"))
    assert question_id == last_id + 1
    assert seqs == list(range(1, len(seqs) + 1))


def test_refuses_a_target_with_rows(tmp_path: Path) -> None:
    source = demo_db(tmp_path)
    target = tmp_path / "busy.db"
    shutil.copy(source, target)
    before = sqlite_rows(target)
    result = livepanel(
        tmp_path, "copy-db", "--from", f"sqlite:///{source}", "--to", f"sqlite:///{target}"
    )
    line = one_clear_line(result)
    assert "is not empty" in line
    assert sqlite_rows(target) == before


def test_refuses_a_postgresql_target_with_rows(tmp_path: Path) -> None:
    source = demo_db(tmp_path)
    with scratch_schema() as pg:
        first = livepanel(tmp_path, "copy-db", "--from", f"sqlite:///{source}", "--to", pg)
        assert first.returncode == 0, first.stderr
        count = admin(lambda conn: conn.fetchval("SELECT count(*) FROM questions"), pg)
        again = livepanel(tmp_path, "copy-db", "--from", f"sqlite:///{source}", "--to", pg)
        assert "is not empty" in one_clear_line(again)
        assert admin(lambda conn: conn.fetchval("SELECT count(*) FROM questions"), pg) == count


def test_refuses_a_source_behind_the_latest_schema(tmp_path: Path) -> None:
    source = demo_db(tmp_path)
    latest = max(version for version, _ in load_migrations("sqlite"))
    db = sqlite3.connect(source)
    with db:
        db.execute("DELETE FROM schema_migrations WHERE version = ?", (latest,))
    db.close()
    target = tmp_path / "new.db"
    result = livepanel(
        tmp_path, "copy-db", "--from", f"sqlite:///{source}", "--to", f"sqlite:///{target}"
    )
    line = one_clear_line(result)
    assert "livepanel migrate" in line
    assert f"not the latest ({latest})" in line
