"""The crash battery: `kill -9` a real `livepanel serve` under posting load at random moments.

Several client tasks post questions over the API, each with its own Idempotency-Key, from
their own loopback addresses and with no cookie (every post a new reader, within the rate
limits). At a random moment the server is killed with SIGKILL; it is started again on the
same SQLite file (no LIVEPANEL_SECRET: cookies would not survive, the keys must), and every
post that was never acknowledged is retried. At the end every acknowledged question is
stored exactly once under its id, `PRAGMA integrity_check` is ok, and each event's log has
gapless seqs.

CI runs LIVEPANEL_CRASH_CYCLES=20 (the default); the long run is
`LIVEPANEL_CRASH_CYCLES=200 python -m pytest tests/test_crash.py` (figures in
docs/security.md, "Crash safety"). The seed is printed; LIVEPANEL_CRASH_SEED replays one.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.conftest import wait_for
from tests.serverprocess import DEMO_SLUG, ServerProcess

CYCLES = int(os.environ.get("LIVEPANEL_CRASH_CYCLES", "20"))
CLIENTS = 6
PER_CYCLE = 25  # posts per client task and cycle: below the 30 a minute per address
PATH = f"/api/v1/events/{DEMO_SLUG}/questions"


@dataclass
class Ledger:
    """What the clients know: acknowledged keys with their ids, and keys still in doubt."""

    acked: dict[str, int] = field(default_factory=dict)
    in_doubt: dict[str, str] = field(default_factory=dict)  # key -> body
    unexpected: list[str] = field(default_factory=list)

    def outcome(self, key: str, body: str, response: httpx.Response | None) -> None:
        if response is None:
            self.in_doubt[key] = body  # no answer: it may or may not be stored
        elif response.status_code == 201:
            self.acked[key] = int(response.json()["id"])
            self.in_doubt.pop(key, None)
        else:
            self.unexpected.append(f"{response.status_code} {response.text[:200]}")


async def post(client: httpx.AsyncClient, key: str, body: str) -> httpx.Response | None:
    client.cookies.clear()  # no cookie: a first post, the hardest to retry safely
    try:
        return await client.post(PATH, json={"body": body}, headers={"Idempotency-Key": key})
    except httpx.TransportError:
        return None


async def client_task(
    url: str, address: str, ledger: Ledger, stop: asyncio.Event, retries: list[tuple[str, str]]
) -> None:
    """Retry this task's share of the posts in doubt, then post new ones until the server
    dies, `stop` is set or PER_CYCLE are done."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(base_url=url, timeout=10, transport=transport) as client:
        for key, body in retries:
            ledger.outcome(key, body, await post(client, key, body))
        for _ in range(PER_CYCLE - len(retries)):
            if stop.is_set():
                return
            key = str(uuid.uuid4())
            body = f"Crash question {key[:8]}?"
            response = await post(client, key, body)
            ledger.outcome(key, body, response)
            if response is None:
                return  # the server is gone


async def cycle(
    server: ServerProcess, number: int, ledger: Ledger, rng: random.Random, kill: bool
) -> None:
    doubt = list(ledger.in_doubt.items())
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(
            client_task(
                server.url,
                f"127.0.{2 + number % 250}.{1 + t}",  # fresh addresses: within the IP limit
                ledger,
                stop,
                doubt[t::CLIENTS],
            )
        )
        for t in range(CLIENTS)
    ]
    try:
        # A random moment under load: after a random number of acknowledgements this cycle.
        target = len(ledger.acked) + rng.randint(1, CLIENTS * PER_CYCLE // 2)
        await wait_for(
            lambda: len(ledger.acked) >= target or all(t.done() for t in tasks),
            timeout=60,
            interval=0.005,
            message="posts to be acknowledged",
        )
        if kill:
            server.kill()
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def check_database(db: Path, ledger: Ledger) -> None:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = conn.execute("SELECT client_key, id FROM questions WHERE client_key IS NOT NULL")
        stored: dict[str, list[int]] = {}
        for key, question_id in rows:
            stored.setdefault(key, []).append(question_id)
        twice = {key: ids for key, ids in stored.items() if len(ids) > 1}
        assert not twice, f"stored more than once: {twice}"
        for key, question_id in ledger.acked.items():
            assert stored.get(key) == [question_id], (key, stored.get(key))
        for event_id, count, low, high in conn.execute(
            "SELECT event_id, count(*), min(seq), max(seq) FROM event_log GROUP BY event_id"
        ):
            assert (low, high) == (1, count), f"event {event_id}: seqs {low}..{high} of {count}"


async def test_acknowledged_questions_survive_kill_9_exactly_once(tmp_path: Path) -> None:
    seed = int(os.environ.get("LIVEPANEL_CRASH_SEED") or random.randrange(2**32))
    print(f"crash battery: {CYCLES} cycles, LIVEPANEL_CRASH_SEED={seed}")
    rng = random.Random(seed)
    db = tmp_path / "crash.db"
    ledger = Ledger()
    for number in range(CYCLES + 1):
        args = ["--db", f"sqlite:///{db}"] + (["--demo"] if number == 0 else [])
        server = ServerProcess(tmp_path, *args)
        try:
            await server.ready()
            # The last round only retries what is in doubt, then stops cleanly.
            await cycle(server, number, ledger, rng, kill=number < CYCLES)
        finally:
            server.stop() if number == CYCLES else server.kill()
    assert not ledger.unexpected, ledger.unexpected[:5]
    assert not ledger.in_doubt, f"{len(ledger.in_doubt)} posts never acknowledged"
    assert len(ledger.acked) >= CYCLES, "too little load to mean anything"
    check_database(db, ledger)
    print(f"crash battery: {len(ledger.acked)} questions acknowledged, all stored once")
