"""The `livepanel` command, run as real subprocesses in a temporary directory."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from panel.store.migrations import load_migrations
from tests.conftest import wait_for
from tests.pgdb import admin

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 90  # seconds for any one command; they normally take about one
CORE = ["Maria Ashdown", "Jenna Holt", "Martin Oakes", "Dr Priya Hamid"]
SLOT_PEOPLE = [
    ["Sandra Kemp"],
    ["Kerry Dale", "Emma Marsh", "Ravi Hollins"],
    ["Chloe Lam", "Claire Fenwick"],
]
LIVE_SLUG = "probation-officer-careers"
# uvicorn shuts down gracefully on SIGTERM, then re-raises the signal for its parent to see.
STOPPED_BY_SIGTERM = (0, -signal.SIGTERM)


def env() -> dict[str, str]:
    """The test's environment without LIVEPANEL_* settings, importing this checkout."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LIVEPANEL_")}
    clean["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), clean.get("PYTHONPATH")]))
    return clean


def livepanel(
    cwd: Path, *args: str, stdin: str | None = None, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m panel.cli ARGS` in `cwd`; killed if it outlives the timeout."""
    return subprocess.run(
        [sys.executable, "-m", "panel.cli", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env={**env(), **(extra_env or {})},
    )


def one_clear_line(result: subprocess.CompletedProcess[str]) -> str:
    """The failure contract: exit 2, exactly one `livepanel: ...` line, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("livepanel: "), lines[0]
    return lines[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def query(db: Path, sql: str, *params: object) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


@pytest.fixture
def console_script() -> Path:
    """The installed `livepanel` entry point, next to this Python."""
    found = Path(sys.executable).with_name("livepanel")
    if not found.exists():
        which = shutil.which("livepanel")
        if which is None:
            pytest.skip("the livepanel console script is not installed (pip install -e .)")
        found = Path(which)
    return found


# -- migrate -----------------------------------------------------------------------------------


def test_migrate_twice(tmp_path: Path) -> None:
    """Two migrate runs both succeed; every migration is recorded exactly once."""
    db = tmp_path / "x.db"
    for _ in range(2):
        result = livepanel(tmp_path, "migrate", "--db", f"sqlite:///{db}")
        assert result.returncode == 0, result.stderr
        assert "up to date" in result.stdout
        assert "Traceback" not in result.stderr
    expected = [version for version, _ in load_migrations("sqlite")]
    assert [
        v for (v,) in query(db, "SELECT version FROM schema_migrations ORDER BY version")
    ] == expected
    tables = {name for (name,) in query(db, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert {
        "events",
        "slots",
        "panelists",
        "questions",
        "answers",
        "event_log",
        "audit_log",
        "invites",
        "editors",
        "transcripts",
        "upvotes",
    } <= tables


def test_migrate_defaults_to_livepanel_db_in_the_working_directory(
    tmp_path: Path, console_script: Path
) -> None:
    """Without --db the console script uses sqlite:///livepanel.db in the current folder."""
    result = subprocess.run(
        [str(console_script), "migrate"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env(),
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "livepanel.db").is_file()


def test_db_from_the_environment(tmp_path: Path) -> None:
    """LIVEPANEL_DB is read when --db is not given."""
    db = tmp_path / "from-env.db"
    result = livepanel(tmp_path, "migrate", extra_env={"LIVEPANEL_DB": f"sqlite:///{db}"})
    assert result.returncode == 0, result.stderr
    assert db.is_file() and not (tmp_path / "livepanel.db").exists()


# -- bad databases ---------------------------------------------------------------------------------


def bad_urls(tmp_path: Path) -> dict[str, str]:
    not_a_db = tmp_path / "notes.db"
    not_a_db.write_text("this is not a database\n" * 200)
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:  # someone else's schema with a clashing table
        conn.execute("CREATE TABLE events (name TEXT)")
    conn.close()
    return {
        "mysql": "mysql://x",
        "missing folder": "sqlite:///no/such/dir/x.db",
        "empty path": "sqlite:///",
        "a folder": f"sqlite:///{tmp_path}",
        "not a database": f"sqlite:///{not_a_db}",
        "clashing schema": f"sqlite:///{foreign}",
        "postgres unreachable": "postgresql://nobody@127.0.0.1:1/none",
        "garbage": "::::",
    }


@pytest.mark.parametrize(
    "case",
    [
        "mysql",
        "missing folder",
        "empty path",
        "a folder",
        "not a database",
        "clashing schema",
        "postgres unreachable",
        "garbage",
    ],
)
def test_bad_db_gives_one_clear_line(tmp_path: Path, case: str) -> None:
    """Malformed or unusable --db: exit 2, one `livepanel:` line, no traceback, no hang."""
    url = bad_urls(tmp_path)[case]
    before = sorted(p.name for p in tmp_path.iterdir())
    line = one_clear_line(livepanel(tmp_path, "migrate", "--db", url))
    assert "database" in line.lower() or "url" in line.lower() or "postgresql" in line.lower()
    assert not (tmp_path / "no").exists()
    assert (
        sorted(
            p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm", "-journal"))
        )
        == before
    )


@pytest.mark.parametrize(
    "command",
    [
        ["demo"],
        ["create-editor", "alice", "--password-stdin"],
        ["invite", LIVE_SLUG, "1"],
        ["serve", "--port", "0"],
    ],
)
def test_bad_db_for_every_command(tmp_path: Path, command: list[str]) -> None:
    """Every command that opens the database fails the same clear way."""
    for url in ("mysql://x", "sqlite:///no/such/dir/x.db"):
        one_clear_line(livepanel(tmp_path, *command, "--db", url, stdin="long enough pw\n"))


def test_bad_db_from_the_environment(tmp_path: Path) -> None:
    """A bad LIVEPANEL_DB fails as clearly as a bad --db."""
    line = one_clear_line(livepanel(tmp_path, "migrate", extra_env={"LIVEPANEL_DB": "mysql://x"}))
    assert "mysql://x" in line


# -- demo ------------------------------------------------------------------------------------------


def test_demo_loads_then_is_already_present(tmp_path: Path) -> None:
    """The first run loads three events and prints the login and invites; the second, nothing."""
    db = tmp_path / "demo.db"
    before = datetime.now(UTC)
    first = livepanel(tmp_path, "demo", "--db", f"sqlite:///{db}")
    after = datetime.now(UTC)
    assert first.returncode == 0, first.stderr
    assert "Livepanel demo loaded." in first.stdout
    assert re.search(r"user: editor\s+password: \S{8,}", first.stdout)
    invites = re.findall(r"^\s+(.+): (http://\S+/invite/[\w-]+)$", first.stdout, re.M)
    assert sorted(name for name, _ in invites) == sorted(
        CORE + [n for slot in SLOT_PEOPLE for n in slot]
    )

    second = livepanel(tmp_path, "demo", "--db", f"sqlite:///{db}")
    assert second.returncode == 0, second.stderr
    assert "already present" in second.stdout
    assert "/invite/" not in second.stdout and "password:" not in second.stdout

    events = dict(query(db, "SELECT slug, status FROM events"))
    assert events == {
        LIVE_SLUG: "live",
        "becoming-a-paramedic": "scheduled",
        "teaching-as-a-second-career": "published",
    }
    assert query(db, "SELECT COUNT(*) FROM editors") == [(1,)]
    (panel_size,) = query(
        db,
        "SELECT COUNT(*) FROM assignments a JOIN events e ON e.id = a.event_id WHERE e.slug = ?",
        LIVE_SLUG,
    )[0]
    assert panel_size == 10
    # Placed so that the moment it was loaded falls inside the first slot.
    slots = query(
        db,
        "SELECT s.starts_at, s.ends_at FROM slots s JOIN events e ON"
        " e.id = s.event_id WHERE e.slug = ? ORDER BY s.starts_at",
        LIVE_SLUG,
    )
    assert len(slots) == 3
    start, end = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in slots[0])
    assert start <= after and end > before and end - start == timedelta(hours=1)
    assert start.astimezone(ZoneInfo("Europe/London")).minute == 0


def test_demo_at_pins_the_demo(tmp_path: Path) -> None:
    """--demo-at places the live event's first slot around the given instant."""
    db = tmp_path / "pinned.db"
    result = livepanel(
        tmp_path, "demo", "--db", f"sqlite:///{db}", "--demo-at", "2026-10-25T13:20:00Z"
    )  # the day the clocks go back
    assert result.returncode == 0, result.stderr
    (starts,) = query(db, "SELECT starts_at FROM events WHERE slug = ?", LIVE_SLUG)[0]
    assert datetime.fromisoformat(starts.replace("Z", "+00:00")) == datetime(
        2026, 10, 25, 13, tzinfo=UTC
    )  # 1pm GMT
    bad = livepanel(tmp_path, "demo", "--db", f"sqlite:///{db}", "--demo-at", "teatime")
    assert "teatime" in one_clear_line(bad)


# -- editors and invites ---------------------------------------------------------------------------


def test_create_editor_then_duplicate(tmp_path: Path, console_script: Path) -> None:
    """An editor is created with a hashed password; the same name again is one clear line."""
    db = tmp_path / "ed.db"

    def create(password: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                str(console_script),
                "create-editor",
                "alice",
                "--password-stdin",
                "--db",
                f"sqlite:///{db}",
            ],
            cwd=tmp_path,
            input=password + "\n",
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env=env(),
        )

    first = create("correct horse battery")
    assert first.returncode == 0, first.stderr
    assert "alice" in first.stdout
    rows = query(db, "SELECT username, password_hash FROM editors")
    assert len(rows) == 1 and rows[0][0] == "alice"
    assert rows[0][1].startswith("$argon2id$") and "correct horse" not in rows[0][1]

    line = one_clear_line(create("another long password"))
    assert "alice" in line and "exists" in line
    assert query(db, "SELECT COUNT(*) FROM editors") == [(1,)]


def test_create_editor_refuses_a_short_password(tmp_path: Path) -> None:
    """Too short a password: one clear line and no account."""
    db = tmp_path / "ed.db"
    line = one_clear_line(
        livepanel(
            tmp_path,
            "create-editor",
            "bob",
            "--password-stdin",
            "--db",
            f"sqlite:///{db}",
            stdin="short\n",
        )
    )
    assert "password" in line.lower()
    assert query(db, "SELECT COUNT(*) FROM editors") == [(0,)]


def test_invite_prints_a_working_invite_url(tmp_path: Path) -> None:
    """invite SLUG PANELIST_ID prints a /invite/ URL whose token's hash is stored."""
    db = tmp_path / "inv.db"
    url = f"sqlite:///{db}"
    assert livepanel(tmp_path, "demo", "--db", url).returncode == 0
    (pid,) = query(
        db,
        "SELECT a.panelist_id FROM assignments a JOIN events e ON"
        " e.id = a.event_id WHERE e.slug = ? ORDER BY a.id LIMIT 1",
        LIVE_SLUG,
    )[0]
    result = livepanel(tmp_path, "invite", LIVE_SLUG, str(pid), "--db", url)
    assert result.returncode == 0, result.stderr
    printed = result.stdout.strip()
    match = re.fullmatch(r"http://127\.0\.0\.1:8000/invite/([A-Za-z0-9_-]{40,})", printed)
    assert match, printed
    digest = hashlib.sha256(match.group(1).encode()).hexdigest()
    assert query(
        db, "SELECT panelist_id, revoked_at FROM invites WHERE token_hash = ?", digest
    ) == [(pid, None)]
    assert query(db, "SELECT COUNT(*) FROM invites WHERE token_hash = ?", match.group(1)) == [(0,)]

    public = livepanel(
        tmp_path,
        "invite",
        LIVE_SLUG,
        str(pid),
        "--db",
        url,
        "--public-url",
        "https://qa.example.org",
    )
    assert public.returncode == 0
    assert public.stdout.startswith("https://qa.example.org/invite/")
    assert public.stdout.strip() != printed  # a fresh token each time


def test_invite_refuses_unknown_event_and_outsiders(tmp_path: Path) -> None:
    """An unknown slug, or a panelist from another event, is one clear line."""
    db = tmp_path / "inv.db"
    url = f"sqlite:///{db}"
    assert livepanel(tmp_path, "demo", "--db", url).returncode == 0
    assert "no-such-event" in one_clear_line(
        livepanel(tmp_path, "invite", "no-such-event", "1", "--db", url)
    )
    (outsider,) = query(
        db,
        "SELECT a.panelist_id FROM assignments a JOIN events e ON"
        " e.id = a.event_id WHERE e.slug = 'becoming-a-paramedic'"
        " LIMIT 1",
    )[0]
    one_clear_line(livepanel(tmp_path, "invite", LIVE_SLUG, str(outsider), "--db", url))
    one_clear_line(livepanel(tmp_path, "invite", LIVE_SLUG, "999999", "--db", url))


# -- serve -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["console script", "server.py"])
def test_serve_on_a_port_in_use_says_so(tmp_path: Path, how: str, console_script: Path) -> None:
    """Another program holds the port: a clear message, non-zero exit, database untouched."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        start = (
            [str(console_script), "serve"]
            if how == "console script"
            else [sys.executable, str(ROOT / "server.py")]
        )
        result = subprocess.run(
            [
                *start,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--db",
                f"sqlite:///{tmp_path}/x.db",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env=env(),
        )
    line = one_clear_line(result)
    assert str(port) in line and "in use" in line
    assert not (tmp_path / "x.db").exists()


async def test_serve_demo_serves_the_demo(tmp_path: Path) -> None:
    """`serve --demo --port P` prints the logins, serves the demo page, stops on SIGTERM."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    london = ZoneInfo("Europe/London")
    hour_before = datetime.now(london).hour
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "panel.cli", "serve", "--demo", "--port", str(port)],
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env(),
        )
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:

            async def healthy() -> bool:
                if proc.poll() is not None:
                    raise AssertionError(f"serve exited early:\n{log_path.read_text()}")
                try:
                    response = await client.get("/healthz")
                except httpx.TransportError:
                    return False
                return response.status_code == 200 and response.json() == {"status": "ok"}

            await wait_for(healthy, timeout=60, interval=0.1, message="serve --demo to answer")
            page = await client.get(f"/events/{LIVE_SLUG}")
            front = await client.get("/")
        hour_after = datetime.now(london).hour
        assert page.status_code == 200
        assert len(re.findall(r'<li class="panelist"', page.text)) == 10
        assert len(re.findall(r'<li class="slot[ "]', page.text)) == 3
        on_now = re.search(r'<ul id="on-now"[^>]*>(.*?)</ul>', page.text, re.S)
        assert on_now, "no on-now list"
        names = [
            re.sub(r"\s+", " ", n).strip()
            for n in re.findall(r"<li[^>]*>(.*?)</li>", on_now.group(1), re.S)
        ]
        # The demo is placed so that now is in slot 1 (unless the hour turned meanwhile).
        allowed = [CORE + SLOT_PEOPLE[0]] + (
            [CORE + SLOT_PEOPLE[1]] if hour_after != hour_before else []
        )
        assert names in allowed, names
        assert front.status_code == 200 and f"/events/{LIVE_SLUG}" in front.text
    finally:
        if proc.poll() is None:
            proc.terminate()  # SIGTERM to this pid: uvicorn shuts down gracefully
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
            raise
    output = log_path.read_text()
    assert code in STOPPED_BY_SIGTERM, output
    assert "Application shutdown complete" in output and "Traceback" not in output
    assert "Livepanel demo loaded." in output
    assert f"{base}/desk/login" in output and "password:" in output
    assert len(re.findall(rf"{re.escape(base)}/invite/[\w-]+", output)) == 10
    assert (tmp_path / "livepanel-demo.db").is_file()


@asynccontextmanager
async def serving(cwd: Path, *args: str) -> AsyncIterator[httpx.AsyncClient]:
    """`serve --port P ARGS` as a subprocess; yields a client once /healthz answers, then
    stops it with SIGTERM and checks that it exited as uvicorn does."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "panel.cli", "serve", "--port", str(port), *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env(),
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:

            async def healthy() -> bool:
                assert proc.poll() is None, "serve exited early"
                try:
                    return (await client.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_for(healthy, timeout=60, interval=0.1, message="serve to answer")
            yield client
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)
            raise
    assert proc.returncode in STOPPED_BY_SIGTERM


async def test_serve_starts_on_an_empty_database(tmp_path: Path) -> None:
    """Plain `serve` migrates a new file first and then answers; SIGTERM stops it."""
    db = tmp_path / "site.db"
    async with serving(tmp_path, "--db", f"sqlite:///{db}") as client:
        front = await client.get("/")
    assert front.status_code == 200 and "Live now" in front.text
    expected = [version for version, _ in load_migrations("sqlite")]
    assert [
        v for (v,) in query(db, "SELECT version FROM schema_migrations ORDER BY version")
    ] == expected


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_migrate_demo_and_serve_on_postgresql(tmp_path: Path, db_url: str) -> None:
    """`migrate`, `demo` and `serve` take a postgresql:// URL: migrations are recorded once,
    and the server answers from the demo data in that database."""
    for _ in range(2):
        migrated = livepanel(tmp_path, "migrate", "--db", db_url)
        assert migrated.returncode == 0 and "up to date" in migrated.stdout, migrated.stderr
    demo = livepanel(tmp_path, "demo", "--db", db_url)
    assert demo.returncode == 0 and "Livepanel demo loaded." in demo.stdout, demo.stderr
    recorded = admin(
        lambda conn: conn.fetch("SELECT version FROM schema_migrations ORDER BY version"), db_url
    )
    assert [r["version"] for r in recorded] == [v for v, _ in load_migrations("postgresql")]
    async with serving(tmp_path, "--db", db_url) as client:
        page = await client.get(f"/events/{LIVE_SLUG}")
    assert page.status_code == 200 and "Maria Ashdown" in page.text


def test_commands_finish_promptly(tmp_path: Path) -> None:
    """A failing open leaves no thread behind: the process exits well inside its timeout."""
    notes = tmp_path / "notes.db"
    notes.write_text("not a database\n" * 50)
    started = time.monotonic()
    one_clear_line(livepanel(tmp_path, "migrate", "--db", f"sqlite:///{notes}"))
    assert time.monotonic() - started < 15
