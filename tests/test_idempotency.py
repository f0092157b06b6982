"""Idempotency-Keys that hold across a restart, without a cookie, and refuse a reused key with
another question (panel/idempotency.py). Real servers: uvicorn in a thread, and a real
`livepanel serve` restarted on the same SQLite file with no LIVEPANEL_SECRET set."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import LiveServer, seed_event
from tests.livehelpers import client_for
from tests.serverprocess import DEMO_SLUG, ServerProcess


def ask(key: str, body: str, name: str = "") -> dict[str, Any]:
    return {"headers": {"Idempotency-Key": key}, "json": {"body": body, "name": name}}


async def test_a_cookieless_retry_finds_the_first_question(server: LiveServer) -> None:
    event = await server.acall(lambda: seed_event(server.actions))
    path = f"/api/v1/events/{event['slug']}/questions"
    key = str(uuid.uuid4())
    answers = []
    for _ in range(3):
        async with client_for(server) as browser:  # a new cookie jar each time: no cookie
            answers.append(await browser.post(path, **ask(key, "Is the pay fair?")))
    assert [r.status_code for r in answers] == [201, 201, 201]
    assert len({r.json()["id"] for r in answers}) == 1
    assert [r.headers.get("Idempotent-Replayed") for r in answers] == [None, "true", "true"]


async def test_a_reused_key_with_another_question_is_refused(server: LiveServer) -> None:
    event = await server.acall(lambda: seed_event(server.actions))
    path = f"/api/v1/events/{event['slug']}/questions"
    async with client_for(server) as browser:
        first = await browser.post(path, **ask("key-1", "Is the pay fair?"))
        same = await browser.post(path, **ask("key-1", "  Is the pay fair?  "))  # trimmed
        other = await browser.post(path, **ask("key-1", "What are the hours?"))
        renamed = await browser.post(path, **ask("key-1", "Is the pay fair?", "Sam"))
    assert first.status_code == 201 and same.json()["id"] == first.json()["id"]
    for refused in (other, renamed):
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "idempotency_mismatch"
        assert "different question" in refused.json()["error"]["message"]
    mine = await server.acall(lambda: _bodies(server, event["id"]))
    assert mine == ["Is the pay fair?"]


async def _bodies(server: LiveServer, event_id: int) -> list[str]:
    async with server.services.store.read() as repo:
        return [q.body for q in await repo.questions(event_id, ["pending", "approved"])]


async def test_a_retry_after_a_restart_with_a_random_secret_is_not_a_duplicate(
    tmp_path: Path,
) -> None:
    db = tmp_path / "site.db"
    path = f"/api/v1/events/{DEMO_SLUG}/questions"
    key = str(uuid.uuid4())
    body = "Does a restart make my question twice?"
    first_run = ServerProcess(tmp_path, "--db", f"sqlite:///{db}", "--demo")
    try:
        await first_run.ready()
        async with httpx.AsyncClient(base_url=first_run.url, timeout=15) as reader:
            first = await reader.post(path, **ask(key, body))
            cookie = reader.cookies.get("livepanel")
    finally:
        first_run.stop()
    assert first.status_code == 201 and cookie, first.text

    second_run = ServerProcess(tmp_path, "--db", f"sqlite:///{db}")
    try:
        await second_run.ready()
        async with httpx.AsyncClient(base_url=second_run.url, timeout=15) as reader:
            reader.cookies.set("livepanel", cookie or "")  # signed by the old, lost secret
            with_cookie = await reader.post(path, **ask(key, body))
        async with httpx.AsyncClient(base_url=second_run.url, timeout=15) as stranger:
            without_cookie = await stranger.post(path, **ask(key, body))
            mismatch = await stranger.post(path, **ask(key, "Another question entirely?"))
    finally:
        second_run.stop()
    for retry in (with_cookie, without_cookie):
        assert retry.status_code == 201, retry.text
        assert retry.json()["id"] == first.json()["id"]
        assert retry.headers.get("Idempotent-Replayed") == "true"
    assert mismatch.status_code == 422
    assert mismatch.json()["error"]["code"] == "idempotency_mismatch"
    with sqlite3.connect(db) as conn:
        query = "SELECT count(*) FROM questions WHERE body = ?"
        (stored,) = conn.execute(query, (body,)).fetchone()
    assert stored == 1
    assert "LIVEPANEL_SECRET is not set" in first_run.output()  # the start-up warning
