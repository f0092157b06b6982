"""Privacy: logs without invite tokens or raw addresses, and `livepanel forget-reader` on a
real SQLite file and on PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from panel.clock import FakeClock
from panel.config import Settings
from panel.forgetting import _unname_document
from panel.live.replay import PAGE
from panel.logs import AddressPseudonyms, PrivateLogRecords, redact_path
from panel.reports import ReportInput
from tests.cliserver import ROOT, cli_server
from tests.conftest import EDITOR, EVENT_START, LiveServer, wait_for
from tests.livehelpers import Reader, client_for, seed_live
from tests.pgdb import BOTH_STORES

TOKEN = "Zq8sSECRETinviteTOKENx91"


# -- logs -------------------------------------------------------------------------------------
def test_paths_lose_their_tokens() -> None:
    assert redact_path(f"/invite/{TOKEN}") == "/invite/[redacted]"
    assert redact_path(f"/invite/{TOKEN}?next=/x") == "/invite/[redacted]?next=/x"
    assert redact_path(f"/x?a=1&token={TOKEN}&b=2") == "/x?a=1&token=[redacted]&b=2"
    assert redact_path("/events/probation/live?since=4") == "/events/probation/live?since=4"


def test_address_pseudonyms_are_keyed_and_change_every_day() -> None:
    clock = FakeClock(EVENT_START)
    names = AddressPseudonyms("secret-one", clock)
    today = names.of("203.0.113.7")
    assert re.fullmatch(r"ip-[0-9a-f]{12}", today)
    assert names.of("203.0.113.7") == today != names.of("203.0.113.8")
    assert AddressPseudonyms("secret-two", clock).of("203.0.113.7") != today
    clock.advance(days=1)
    assert names.of("203.0.113.7") != today  # logs of two days cannot be joined
    # uvicorn's forms: with a port, IPv6, and a path beside them.
    assert names.scrub("203.0.113.7:51234") == names.of("203.0.113.7")
    assert names.scrub("2001:db8::1:443") == names.of("2001:db8::1")
    assert names.scrub("1.1") == "1.1" and names.scrub("GET") == "GET"


def test_the_filter_rewrites_a_records_arguments() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("198.51.100.23:40000", "GET", f"/invite/{TOKEN}", "1.1", 303),
        None,
    )
    assert PrivateLogRecords("k").filter(record)
    line = record.getMessage()
    assert TOKEN not in line and "198.51.100.23" not in line
    assert re.fullmatch(r'ip-[0-9a-f]{12} - "GET /invite/\[redacted\] HTTP/1.1" 303', line)


async def test_the_access_log_holds_no_invite_token_and_no_raw_address(tmp_path: Path) -> None:
    """uvicorn's own access and connection lines, from `livepanel serve`."""
    async with cli_server(tmp_path, env={"LIVEPANEL_SECRET": "log-test-secret"}) as served:
        async with httpx.AsyncClient(base_url=served.url, timeout=15) as client:
            await client.get(f"/invite/{TOKEN}")
            await client.get(f"/healthz?token={TOKEN}")

        def logged() -> list[str]:
            return [line for line in served.output().splitlines() if "/invite/" in line]

        lines = await wait_for(logged, timeout=20, message="the access log line")
        output = served.output()
    access = [line for line in output.splitlines() if '"GET ' in line]
    assert any("/invite/[redacted]" in line for line in access), access
    assert any("token=[redacted]" in line for line in access), access
    assert all(re.search(r"ip-[0-9a-f]{12} - ", line) for line in access), access
    assert TOKEN not in output
    assert not any("127.0.0.1" in line for line in access), access
    assert lines


# -- forget-reader ----------------------------------------------------------------------------
async def rows(server: LiveServer, sql: str, **params: Any) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        async with server.services.store.read() as repo:
            return [dict(r) for r in await repo.conn.fetchall(sql, params)]

    return await server.acall(read)


def forget_reader(db_url: str, question_id: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "panel.cli", "forget-reader", str(question_id)]
        + ["--db", db_url, "--by", "privacy desk"],
        capture_output=True,
        text=True,
        timeout=90,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )


@BOTH_STORES
async def test_forget_reader_erases_what_identifies_the_reader(
    server: LiveServer, db_url: str
) -> None:
    info = await seed_live(server)
    url = f"/api/v1/events/{info['slug']}/questions"
    async with client_for(server) as reader, client_for(server) as other:
        asked = []
        for body in ("Is the training paid?", "Can I apply at 50?"):
            response = await reader.post(
                url, json={"body": body, "name": "Sam Q. Person"}, headers={"Idempotency-Key": body}
            )
            assert response.status_code == 201, response.text
            asked.append(response.json()["id"])
        theirs = (await other.post(url, json={"body": "Other one?", "name": "Alex"})).json()["id"]
        for qid in (*asked, theirs):
            await server.acall(lambda qid=qid: server.actions.moderate(qid, "approve", EDITOR))
        (row,) = await rows(server, "SELECT reader_id FROM questions WHERE id = :q", q=asked[0])
        reader_id = row["reader_id"]
        await server.acall(lambda: server.actions.upvote(theirs, reader_id))
        report = ReportInput("question", theirs, "other", "I know who this is")
        await server.acall(lambda: server.actions.reports.report(info["id"], reader_id, report))
        (event,) = await rows(server, "SELECT last_seq FROM events WHERE id = :e", e=info["id"])
        seq_before = event["last_seq"]

        done = await asyncio.to_thread(forget_reader, db_url, asked[1])
        assert done.returncode == 0, done.stderr
        assert "2 question(s) unlinked" in done.stdout

        mine = (await reader.get(url, params={"mine": "1"})).json()["questions"]
        assert mine == [], "the reader's cookie no longer finds the questions"

    questions = await rows(
        server,
        "SELECT id, reader_id, display_name, client_key, key_hash, request_hash, body"
        " FROM questions ORDER BY id",
    )
    by_id = {q["id"]: q for q in questions}
    forgotten = [by_id[qid] for qid in asked]
    assert all(q["display_name"] == "" and q["client_key"] is None for q in forgotten)
    assert all(q["key_hash"] is None and q["request_hash"] is None for q in forgotten)
    assert all(q["reader_id"].startswith("forgotten:") for q in forgotten)
    assert forgotten[0]["reader_id"] != forgotten[1]["reader_id"]
    assert [q["body"] for q in forgotten] == ["Is the training paid?", "Can I apply at 50?"]
    assert by_id[theirs]["display_name"] == "Alex"  # another reader is untouched
    for table in ("questions", "upvotes", "reports"):
        left = await rows(server, f"SELECT 1 AS x FROM {table} WHERE reader_id = :r", r=reader_id)
        assert left == [], table
    (vote,) = await rows(server, "SELECT reader_id FROM upvotes WHERE question_id = :q", q=theirs)
    assert vote["reader_id"].startswith("forgotten:")  # the count stays true
    (kept,) = await rows(server, "SELECT reason, detail FROM reports")
    assert kept == {"reason": "other", "detail": "I know who this is"}
    # The public log, replayed to anyone who catches up, no longer names the reader...
    log = await rows(
        server, "SELECT seq, payload FROM event_log WHERE event_id = :e ORDER BY seq", e=info["id"]
    )
    assert not any("Sam Q. Person" in entry["payload"] for entry in log)
    assert any("Alex" in entry["payload"] for entry in log)
    # ...and open pages were told: one question.updated per public question of theirs.
    updates = [json.loads(e["payload"]) for e in log if e["seq"] > seq_before]
    assert sorted(u["question"]["id"] for u in updates) == sorted(asked)
    assert all(u["question"]["name"] == "" for u in updates)

    def named_in(payload: str) -> bool:
        return any(f'"question":{{"id":{qid},' in payload for qid in asked)

    (audit,) = await rows(
        server, "SELECT actor, target, after_json FROM audit_log WHERE action = 'reader.forget'"
    )
    assert audit["target"] == f"question:{asked[1]}" and "privacy desk" in audit["actor"]
    assert json.loads(audit["after_json"]) == {
        "questions": 2,
        "names": 2,
        "upvotes": 1,
        "reports": 1,
        "frames": len([e for e in log if e["seq"] <= seq_before and named_in(e["payload"])]),
        "transcripts": 0,
        "mails": 0,
    }
    assert "Sam Q. Person" not in audit["after_json"]
    # Asking again for the same question changes nothing and says why.
    again = await asyncio.to_thread(forget_reader, db_url, asked[0])
    assert again.returncode == 2 and "forgotten already" in again.stderr


@BOTH_STORES
async def test_forgetting_reaches_the_frames_a_running_server_keeps(
    settings: Settings, clock: FakeClock, db_url: str
) -> None:
    """A running server keeps logged frames in memory: recent ones in its ring, older ones as
    replay pages. forget-reader, run from another process on the same database, must reach
    them too: within a presence tick, a catch-up from 0 no longer carries the erased name."""
    server = LiveServer(dataclasses.replace(settings, ring_frames=8), clock)
    server.start()
    try:
        info = await seed_live(server)
        slug, name = info["slug"], "Sam Q. Person"

        async def ask_and_approve(reader: str, body: str, name: str = "") -> int:
            question, _ = await server.actions.post_question(info["id"], reader, body, name)
            await server.actions.moderate(question.id, "approve", EDITOR)
            return question.id

        async def fill_a_replay_page() -> list[int]:
            """One named question early (in the first replay page), a page of others, then
            one more named question (in the ring)."""
            early = await ask_and_approve("reader-sam", "Is the training paid?", name)
            for n in range(PAGE + 8):
                await ask_and_approve(f"reader-{n}", f"Question number {n}?")
            return [early, await ask_and_approve("reader-sam", "Can I apply at 50?", name)]

        asked = await server.acall(fill_a_replay_page, timeout=120)
        (event,) = await rows(server, "SELECT last_seq FROM events WHERE id = :e", e=info["id"])
        last = event["last_seq"]
        assert last > PAGE + 8, "the first named frame must lie in a full page, older than the ring"
        follower = await Reader.open(server, slug)  # keeps the channel's stream (and ring) alive

        async def catch_up_from_0() -> str:
            reader = await Reader.open(server, slug, since=0)
            try:
                await reader.until_seq(last)
                return "".join(reader.raw)
            finally:
                await reader.close()

        assert (await catch_up_from_0()).count(name) == 2  # and page 0 is now kept

        done = await asyncio.to_thread(forget_reader, db_url, asked[0])
        assert done.returncode == 0, done.stderr

        async def clean() -> bool:
            return name not in await catch_up_from_0()

        await wait_for(clean, timeout=15, interval=0.1, message="a catch-up without the name")
        # The follower was told as well, and stays in step.
        await follower.until_seq(last + 2)
        updates = [f for f in follower.logged if f["seq"] > last]
        assert sorted(f["data"]["question"]["id"] for f in updates) == sorted(asked)
        assert all(f["data"]["question"]["name"] == "" for f in updates)
        await follower.close()
    finally:
        server.stop()


def test_a_published_transcript_loses_the_name_on_items_and_credits() -> None:
    document = {
        "sections": [
            {
                "items": [
                    {"id": 7, "name": "Sam", "also_asked": [{"name": "Sam", "body": "Dup?"}]},
                    {"id": 8, "name": "Alex", "also_asked": [{"name": "Sam", "body": "Else"}]},
                ]
            }
        ]
    }
    assert _unname_document(document, {7}, {("Sam", "Dup?")})
    items = document["sections"][0]["items"]
    assert items[0]["name"] == "" and items[0]["also_asked"][0]["name"] == ""
    assert items[1]["name"] == "Alex" and items[1]["also_asked"][0]["name"] == "Sam"
    assert not _unname_document(document, {7}, {("Sam", "Dup?")})  # nothing left to erase
