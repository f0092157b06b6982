"""`livepanel serve` as several processes: two servers on different ports, and `--workers`,
sharing one database (a SQLite file, or a PostgreSQL schema) and one Redis prefix, act as one
site. Real subprocesses, real PostgreSQL and Redis, real WebSocket clients."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.livehelpers import WS_OPTIONS, Reader, assert_gapless, csrf_from, desk_login
from tests.pgdb import scratch_schema
from tests.serverprocess import until_serving
from tests.test_cli import (
    LIVE_SLUG,
    STOPPED_BY_SIGTERM,
    env,
    free_port,
    livepanel,
    one_clear_line,
)

SECRET = {"LIVEPANEL_SECRET": "scale-out-test-secret"}


# -- refusals ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "flags", [["--redis", "redis://127.0.0.1:6379/0"], ["--workers", "2"]], ids=["redis", "workers"]
)
def test_scale_out_without_livepanel_secret_is_refused(tmp_path: Path, flags: list[str]) -> None:
    db = f"sqlite:///{tmp_path}/x.db"
    result = livepanel(tmp_path, "serve", "--db", db, "--port", str(free_port()), *flags)
    assert "LIVEPANEL_SECRET" in one_clear_line(result)
    assert not (tmp_path / "x.db").exists()


def test_the_redis_url_may_come_from_the_environment_and_needs_the_secret(tmp_path: Path) -> None:
    result = livepanel(
        tmp_path,
        "serve",
        "--db",
        f"sqlite:///{tmp_path}/x.db",
        "--port",
        str(free_port()),
        extra_env={"LIVEPANEL_REDIS": "redis://127.0.0.1:6379/0"},
    )
    assert "LIVEPANEL_SECRET" in one_clear_line(result)


def test_workers_without_redis_and_an_unreachable_redis_are_refused(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/x.db"
    port = str(free_port())
    line = one_clear_line(
        livepanel(tmp_path, "serve", "--db", db, "--port", port, "--workers", "2", extra_env=SECRET)
    )
    assert "--redis" in line
    line = one_clear_line(
        livepanel(
            tmp_path,
            "serve",
            *("--db", db, "--port", port, "--redis", "redis://127.0.0.1:1/0"),
            extra_env=SECRET,
        )
    )
    assert "cannot reach Redis" in line
    assert "1 or more" in one_clear_line(
        livepanel(tmp_path, "serve", "--db", db, "--port", port, "--workers", "0")
    )


# -- several processes, one site -----------------------------------------------------------------
class Serve:
    """One `livepanel serve` subprocess, stopped by its pid (SIGTERM) at the end."""

    def __init__(self, cwd: Path, name: str, args: list[str], extra_env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.log = cwd / f"{name}.log"
        self.killed = False
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "panel.cli", "serve", "--port", str(self.port), *args],
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**env(), **extra_env},
            )

    async def ready(self) -> None:
        await until_serving(self.url, self.proc, self.log, timeout=60)

    def kill(self) -> None:
        """SIGKILL, as a crash would: no graceful shutdown."""
        self.killed = True
        self.proc.kill()
        self.proc.wait(timeout=30)

    def stop(self) -> int:
        """SIGTERM, then its exit status. One still running 30 s later is killed, so that no
        process outlives the test; its status (-9) then fails the caller's check, with its log."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout=30)


@contextlib.contextmanager
def serving(
    cwd: Path, count: int, args: list[str], extra_env: dict[str, str]
) -> Iterator[list[Serve]]:
    servers: list[Serve] = []
    try:
        for i in range(count):
            servers.append(Serve(cwd, f"serve-{i}", args, extra_env))
        yield servers
    finally:
        codes = [server.stop() for server in servers]
    for server, code in zip(servers, codes, strict=True):
        output = server.log.read_text()
        if server.killed:
            assert code == -signal.SIGKILL, output
            continue
        assert code in STOPPED_BY_SIGTERM, f"exit status {code} after SIGTERM:\n{output}"
        assert "Traceback" not in output, output


@contextlib.contextmanager
def site_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database the processes share: a SQLite file, or a PostgreSQL
    schema of the test's own."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path}/site.db"
    else:
        with scratch_schema() as url:
            yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def site(
    request: pytest.FixtureRequest, tmp_path: Path, redis_url: str, redis_prefix: str
) -> Iterator[dict[str, Any]]:
    """A demo database, its editor's password, and the environment of every process."""
    with site_database(request.param, tmp_path) as db:
        yield demo_site(tmp_path, db, redis_url, redis_prefix)


def demo_site(tmp_path: Path, db: str, redis_url: str, redis_prefix: str) -> dict[str, Any]:
    """Load the demo into `db`: the processes' arguments and environment, the editor's password."""
    loaded = livepanel(tmp_path, "demo", "--db", db)
    assert loaded.returncode == 0, loaded.stderr
    password = re.search(r"user: editor\s+password: (\S+)", loaded.stdout)
    assert password
    return {
        "args": ["--db", db, "--redis", redis_url],
        "env": {
            **SECRET,
            "LIVEPANEL_REDIS_PREFIX": redis_prefix,
            "LIVEPANEL_PRESENCE_INTERVAL": "0.3",
        },
        "password": password.group(1),
    }


async def open_reader(server: Serve, since: int) -> Reader:
    # Its own browser id: each socket is another reader in the audience.
    url = f"{server.ws_url}/events/{LIVE_SLUG}/live?since={since}&reader=browser-{id(server)}"
    return Reader(await connect(url, **WS_OPTIONS))


@contextlib.asynccontextmanager
async def editor_on(server: Serve, password: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=15) as client:
        signed_in = await desk_login(client, "editor", password)
        assert signed_in.status_code == 303, signed_in.text
        yield client


async def ask(reader: httpx.AsyncClient, server: Serve, body: str) -> httpx.Response:
    return await reader.post(
        f"{server.url}/api/v1/events/{LIVE_SLUG}/questions",
        content=json.dumps({"body": body}),
        headers={"Content-Type": "application/json"},
    )


def audiences(reader: Reader) -> list[int]:
    return [f["data"]["audience"] for f in reader.frames if f["type"] == "presence"]


async def test_two_serve_processes_act_as_one_site(tmp_path: Path, site: dict[str, Any]) -> None:
    """A reader on A gets, once and in order, what an editor approved through B; A's audience
    counts B's reader; the question limit per reader holds across A and B."""
    with serving(tmp_path, 2, site["args"], site["env"]) as (a, b):
        await a.ready()
        await b.ready()
        async with httpx.AsyncClient(timeout=15) as person:
            start = (await person.get(f"{a.url}/api/v1/events/{LIVE_SLUG}")).json()["last_seq"]
        on_a = await open_reader(a, start)
        on_b = await open_reader(b, start)
        try:
            # One reader (one cookie, signed with the shared secret) asks on both processes.
            async with httpx.AsyncClient(timeout=15) as person:
                answers = [await ask(person, (a, b)[i % 2], f"Shared limit {i}?") for i in range(6)]
            assert [r.status_code for r in answers] == [201] * 5 + [429], [r.text for r in answers]
            ids = [r.json()["id"] for r in answers[:5]]
            async with editor_on(b, site["password"]) as editor:
                for question_id in ids:
                    approved = await editor.post(
                        f"/api/v1/questions/{question_id}/moderate", json={"action": "approve"}
                    )
                    assert approved.status_code == 200, approved.text
            frames = await on_a.until_seq(start + 5)
            assert_gapless(frames, start + 1, start + 5)
            assert [f["data"]["question"]["id"] for f in frames] == ids
            await on_a.until(lambda _: 2 in audiences(on_a), what="an audience of 2 on A")
            assert_gapless(await on_b.until_seq(start + 5), start + 1, start + 5)
        finally:
            await on_a.close()
            await on_b.close()


async def test_serve_with_workers_shares_one_port(tmp_path: Path, site: dict[str, Any]) -> None:
    with serving(tmp_path, 1, [*site["args"], "--workers", "2"], site["env"]) as (server,):
        await server.ready()
        async with httpx.AsyncClient(timeout=15) as person:
            start = (await person.get(f"{server.url}/api/v1/events/{LIVE_SLUG}")).json()["last_seq"]
            readers = [await open_reader(server, start) for _ in range(4)]
            try:
                asked = await ask(person, server, "Which worker am I on?")
                assert asked.status_code == 201, asked.text
                async with editor_on(server, site["password"]) as editor:
                    approved = await editor.post(
                        f"/api/v1/questions/{asked.json()['id']}/moderate",
                        json={"action": "approve"},
                    )
                    assert approved.status_code == 200, approved.text
                for reader in readers:  # whichever worker each socket landed on
                    assert_gapless(await reader.until_seq(start + 1), start + 1, start + 1)
            finally:
                for reader in readers:
                    await reader.close()
    output = server.log.read_text()
    assert len(re.findall(r"Started server process \[(\d+)\]", output)) == 2, output


async def test_signing_out_on_one_process_closes_the_staff_socket_on_another(
    tmp_path: Path, site: dict[str, Any]
) -> None:
    """The session ends in the shared database, and the notice goes through Redis: B refuses
    the cookie at once and closes the staff socket it holds (1008 "signed out")."""
    with serving(tmp_path, 2, site["args"], site["env"]) as (a, b):
        await a.ready()
        await b.ready()
        async with editor_on(a, site["password"]) as editor:
            cookie = "; ".join(f"{k}={v}" for k, v in editor.cookies.items())
            on_b = Reader(
                await connect(
                    f"{b.ws_url}/staff/events/{LIVE_SLUG}/live",
                    additional_headers={"Cookie": cookie},
                    **WS_OPTIONS,
                )
            )
            async with httpx.AsyncClient(base_url=b.url, timeout=15) as copy:
                copy.cookies.set("livepanel", editor.cookies.get("livepanel") or "")
                assert (await copy.get("/desk")).status_code == 200
                # The socket on B is live: a question asked on A reaches it as a notice.
                async with httpx.AsyncClient(timeout=15) as reader:
                    assert (await ask(reader, a, "Is the desk listening?")).status_code == 201
                await on_b.until(
                    lambda frames: any(f["type"] == "queue.changed" for f in frames),
                    what="a staff notice on B",
                )
                home = await editor.get("/desk")
                out = await editor.post("/desk/logout", data={"csrf_token": csrf_from(home.text)})
                assert out.status_code == 303
                assert await on_b.close_code() == 1008 and on_b.close_reason == "signed out"
                assert (await copy.get("/desk")).status_code == 303
