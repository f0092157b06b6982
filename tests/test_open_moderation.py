"""Transparent moderation (panel/openness.py): public question counts, live and throttled;
a reason shown to the asker only; the transcript's received/answered line."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest

from panel.actions import Actions
from panel.clock import FakeClock
from panel.domain import RuleError
from panel.live.broker import LocalBroker, public_channel
from panel.live.counts import CountsAnnouncer
from panel.openness import ASKER_NOTE_MAX_CHARS, QuestionCounts, asker_reason
from panel.store import Store
from tests.conftest import EDITOR, LiveServer, seed_event
from tests.livehelpers import (
    Reader,
    client_for,
    csrf_from,
    editor_client,
    from_site,
    log_frames,
    panelist,
    question_in_store,
    seed_live,
)
from tests.pgdb import BOTH_STORES
from tests.test_redis import pair, shared_settings  # noqa: F401 - two processes, one Redis


async def counts_of(store: Store, event_id: int) -> QuestionCounts:
    async with store.read() as repo:
        return await repo.question_counts(event_id)


# -- counts ------------------------------------------------------------------------------------
@BOTH_STORES
async def test_counts_put_every_question_in_one_place(actions: Actions, store: Store) -> None:
    event = await seed_event(actions, status="live")
    ids = [
        (await actions.post_question(event["id"], f"r{i}", f"Question {i}?"))[0].id
        for i in range(6)
    ]
    kept, answered, rejected, withdrawn, duplicate, _waiting = ids
    await actions.moderate(kept, "approve", EDITOR)
    await actions.moderate(answered, "approve", EDITOR)
    await actions.moderate(answered, "answered", EDITOR)
    await actions.moderate(rejected, "reject", EDITOR)
    await actions.moderate(withdrawn, "approve", EDITOR)
    await actions.moderate(withdrawn, "withdraw", EDITOR)
    await actions.moderate(duplicate, "merge", EDITOR, into=answered)  # shown under it

    counts = await counts_of(store, event["id"])
    # The duplicate is received and published with its kept question, and answered with it.
    assert counts == QuestionCounts(received=6, published=3, answered=2, rejected=2, waiting=1)
    assert counts.published + counts.rejected + counts.waiting == counts.received
    other = await seed_event(actions, slug="other", status="live")
    assert await counts_of(store, other["id"]) == QuestionCounts()


@BOTH_STORES
async def test_a_burst_of_questions_sends_one_counts_frame_per_window(
    actions: Actions, store: Store, clock: FakeClock
) -> None:
    event = await seed_event(actions, status="live")
    other = await seed_event(actions, slug="other", status="live")
    broker = LocalBroker()
    announcer = CountsAnnouncer(store, broker, clock, window=1.0)
    store.on_commit(announcer.changed)
    async with broker.subscribe(public_channel(event["id"])) as messages:
        task = asyncio.create_task(announcer.run())
        try:
            question, _ = await actions.post_question(event["id"], "r0", "First question?")
            first_id = question.id
            first = await asyncio.wait_for(messages.__anext__(), 10)
            assert first.seq is None and '"type":"counts"' in first.text
            assert '"received":1' in first.text and '"waiting":1' in first.text
            for i in range(1, 5):  # inside the window: counted, not sent yet
                await actions.post_question(event["id"], f"r{i}", f"Question {i}?")
            await actions.moderate(first_id, "approve", EDITOR)
            await actions.moderate(first_id, "pin", EDITOR)  # pins change no count
            # Another event's first change does not wait for this one's window.
            async with broker.subscribe(public_channel(other["id"])) as elsewhere:
                await actions.post_question(other["id"], "r9", "Elsewhere?")
                theirs = await asyncio.wait_for(elsewhere.__anext__(), 10)
            assert '"received":1' in theirs.text
            assert messages.drain(10) == []
            clock.advance(seconds=1)
            second = await asyncio.wait_for(messages.__anext__(), 10)
            assert '"received":5' in second.text and '"waiting":4' in second.text
            assert '"published":1' in second.text
            assert announcer.frames == 3
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


# -- the reason for the asker ------------------------------------------------------------------
def test_the_reason_for_the_asker_is_a_standard_reason_a_note_or_both() -> None:
    assert asker_reason(None, None) == ""
    assert asker_reason("off_topic", "") == "Off topic"
    assert asker_reason("", "  We  covered this. ") == "We covered this."
    assert asker_reason("already_answered", "See 12:40.") == "Already answered: See 12:40."
    assert asker_reason("", "x" * ASKER_NOTE_MAX_CHARS) == "x" * ASKER_NOTE_MAX_CHARS
    with pytest.raises(RuleError) as long:
        asker_reason("off_topic", "x" * (ASKER_NOTE_MAX_CHARS + 1))
    assert long.value.code == "too_long" and "301 characters" in long.value.message
    with pytest.raises(RuleError) as unknown:
        asker_reason("rude", "")
    assert unknown.value.code == "invalid" and "off_topic" in unknown.value.message


async def _editor_api(server: LiveServer) -> httpx.AsyncClient:
    editor = await editor_client(server)
    editor.headers.update(from_site(server))
    return editor


async def _ask(server: LiveServer, slug: str, body: str) -> tuple[httpx.AsyncClient, int]:
    asker = client_for(server)
    response = await asker.post(f"/api/v1/events/{slug}/questions", json={"body": body})
    assert response.status_code == 201, response.text
    return asker, int(response.json()["id"])


@BOTH_STORES
async def test_only_the_asker_sees_the_shared_reason(server: LiveServer) -> None:
    info = await seed_live(server)
    slug = info["slug"]
    editor = await _editor_api(server)
    asker, question_id = await _ask(server, slug, "Secret question about my neighbour?")
    other = client_for(server)
    await other.post(f"/api/v1/events/{slug}/questions", json={"body": "Other reader asks?"})
    watcher = await Reader.open(server, slug, since=0)
    try:
        long_note = "Please " + "x" * ASKER_NOTE_MAX_CHARS
        refused = await editor.post(
            f"/api/v1/questions/{question_id}/moderate",
            json={"action": "reject", "asker_reason": "identifies_person", "asker_note": long_note},
        )
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "too_long"
        still = await question_in_store(server, question_id)
        assert still is not None and still.status == "pending" and still.public_reason == ""

        done = await editor.post(
            f"/api/v1/questions/{question_id}/moderate",
            json={
                "action": "reject",
                "reason": "private: names a neighbour",
                "asker_reason": "identifies_person",
                "asker_note": "Ask again without the name.",
            },
        )
        assert done.status_code == 200, done.text
        shared = "Identifies a person: Ask again without the name."
        audit = await editor.get(f"/desk/events/{slug}/audit")
        assert f"told the asker: {shared}" in audit.text
        assert "private: names a neighbour" in audit.text

        mine = await asker.get(f"/events/{slug}/mine")
        assert mine.headers["cache-control"] == "private, no-store"
        assert mine.json()["questions"] == [
            {
                "body": "Secret question about my neighbour?",
                "status": "Not published",
                "id": question_id,
                "public": False,
                "reason": shared,
            }
        ]
        page = await asker.get(f"/events/{slug}")
        assert shared in page.text and page.headers["cache-control"] == "private, no-store"

        # Everyone else: the private endpoint, the page, the socket, polling and the API.
        theirs = await other.get(f"/events/{slug}/mine")
        assert [q["body"] for q in theirs.json()["questions"]] == ["Other reader asks?"]
        anonymous = await client_for(server).get(f"/events/{slug}/mine")
        assert anonymous.json() == {"questions": []}
        for client in (other, client_for(server)):
            html = (await client.get(f"/events/{slug}")).text
            assert "neighbour" not in html and "without the name" not in html
        notice = await watcher.until_type("asker.notice")
        assert notice["data"] == {"question_id": question_id}
        polled = (await other.get(f"/api/v1/events/{slug}/stream?since=0")).text
        api = (await other.get(f"/api/v1/events/{slug}/questions")).text
        refused_list = await other.get(f"/api/v1/events/{slug}/questions?status=rejected")
        assert refused_list.status_code in (401, 403)
        for text in (*watcher.raw, polled, api, refused_list.text):
            assert "neighbour" not in text and "without the name" not in text
            assert "Identifies a person" not in text
    finally:
        await watcher.close()
        for client in (editor, asker, other):
            await client.aclose()


async def test_counts_are_on_the_page_in_the_api_and_live(server: LiveServer) -> None:
    info = await seed_live(server)
    slug = info["slug"]
    reader = await Reader.open(server, slug, since=0)
    try:
        _, question_id = await _ask(server, slug, "How long is the training?")
        frame = await reader.until(
            lambda frames: next(
                (f for f in frames if f["type"] == "counts" and f["data"]["received"] == 1), None
            ),
            what="a counts frame",
        )
        assert "seq" not in frame
        assert frame["data"] == {
            "received": 1,
            "published": 0,
            "answered": 0,
            "rejected": 0,
            "waiting": 1,
        }
        async with client_for(server) as client:
            event = (await client.get(f"/api/v1/events/{slug}")).json()
            assert event["counts"] == frame["data"]
            page = await client.get(f"/events/{slug}")
            assert 'data-count="waiting">1<' in page.text
            assert page.headers["cache-control"].startswith("public")
            # Counts frames are not logged: the polling twin does not carry them.
            assert all(f["type"] != "counts" for f in await log_frames(client, slug))
        assert question_id > 0
    finally:
        await reader.close()


async def test_a_refused_reject_keeps_the_editors_text_in_the_desk(server: LiveServer) -> None:
    info = await seed_live(server)
    editor = await editor_client(server)
    _, question_id = await _ask(server, info["slug"], "A question to reject?")
    try:
        desk = await editor.get(f"/desk/events/{info['slug']}")
        assert 'name="asker_reason"' in desk.text and ">Tell the asker<" in desk.text
        note = "Sorry. " + "y" * ASKER_NOTE_MAX_CHARS
        response = await editor.post(
            f"/desk/questions/{question_id}/moderate",
            data={
                "csrf_token": csrf_from(desk.text),
                "action": "reject",
                "reason": "private words",
                "asker_reason": "off_topic",
                "asker_note": note,
            },
            headers=from_site(server),
            follow_redirects=True,
        )
        assert response.status_code == 200
        assert "the limit is 300" in response.text
        assert note in response.text and 'value="private words"' in response.text
        assert 'value="off_topic" selected' in response.text
        still = await question_in_store(server, question_id)
        assert still is not None and still.status == "pending"
    finally:
        await editor.aclose()


# -- the transcript ----------------------------------------------------------------------------
async def test_the_transcript_states_received_and_answered(server: LiveServer) -> None:
    info = await seed_live(server)
    acts = server.actions

    async def run() -> None:
        ids = [
            (await acts.post_question(info["id"], f"r{i}", f"Question {i}?"))[0].id
            for i in range(3)
        ]
        await acts.moderate(ids[0], "approve", EDITOR)
        await acts.answer(ids[0], "The answer.", panelist(info))
        await acts.moderate(ids[0], "answered", EDITOR)
        await acts.moderate(ids[1], "reject", EDITOR)
        await acts.set_status(info["id"], "closed", EDITOR)
        await acts.publish_transcript(info["id"], EDITOR)

    await server.acall(run)
    line = "Readers sent 3 questions; 1 was answered."
    async with client_for(server) as client:
        page = await client.get(f"/archive/{info['slug']}")
        assert page.status_code == 200 and line in page.text
        markdown = await client.get(f"/archive/{info['slug']}.md")
        assert line in markdown.text
        exported = (await client.get(f"/archive/{info['slug']}.json")).json()
        assert exported["questions"] == {"received": 3, "answered": 1}


# -- several processes -------------------------------------------------------------------------
async def test_counts_and_notices_reach_readers_of_another_process(
    pair: list[LiveServer],  # noqa: F811 - the fixture imported above
) -> None:
    a, b = pair
    info = await seed_live(b)
    reader = await Reader.open(a, info["slug"], since=0)
    asker = httpx.AsyncClient(base_url=b.url, timeout=15)
    try:
        posted = await asker.post(
            f"/api/v1/events/{info['slug']}/questions", json={"body": "Asked on B?"}
        )
        question_id = int(posted.json()["id"])
        frame = await reader.until(
            lambda frames: next(
                (f for f in frames if f["type"] == "counts" and f["data"]["received"] == 1), None
            ),
            what="the counts from the other process",
        )
        assert frame["data"]["waiting"] == 1
        await b.acall(
            lambda: b.actions.moderate(
                question_id, "reject", EDITOR, asker_reason="off_topic", asker_note=""
            )
        )
        notice = await reader.until_type("asker.notice")
        assert notice["data"] == {"question_id": question_id}
        # The asker's cookie works on either process: the reason comes from the store.
        async with httpx.AsyncClient(base_url=a.url, cookies=asker.cookies) as same_reader:
            on_a = await same_reader.get(f"/events/{info['slug']}/mine")
        assert on_a.json()["questions"][0]["reason"] == "Off topic"
    finally:
        await reader.close()
        await asker.aclose()
