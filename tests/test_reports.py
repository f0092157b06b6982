"""Readers' reports of published questions and answers (issue 15, item 7), and the readers'
forms answering JSON when posted in place, on a real uvicorn and a real SQLite file: limited
per reader and per IP, stored, shown to editors, and never public."""

from __future__ import annotations

import html
from dataclasses import replace
from typing import Any

import pytest

from panel.config import Settings
from panel.domain import Actor
from panel.web.feedback import ALREADY_UPVOTED
from panel.web.reports import THANKS
from tests.conftest import EDITOR, LiveServer
from tests.livehelpers import (
    assert_error_shape,
    client_for,
    editor_client,
    from_site,
    log_frames,
    seed_live,
)

SECRET = "private-note-7f3a"  # a report's words: must never reach a reader
JSON = {"Accept": "application/json"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Small report limits, to reach them."""
    return replace(settings, reports_per_minute_reader=3, reports_per_minute_ip=5)


@pytest.fixture
async def site(server: LiveServer) -> dict[str, Any]:
    """A live event with one answered question and one waiting for moderation."""
    live = await seed_live(server, slug="probation")

    async def build() -> dict[str, int]:
        published, _ = await server.actions.post_question(live["id"], "asker", "Is it paid?")
        await server.actions.moderate(published.id, "approve", EDITOR)
        maria = Actor("panelist", live["core"][0], "Maria Ashdown")
        answer_id = await server.actions.answer(published.id, "Yes, from day one.", maria)
        waiting, _ = await server.actions.post_question(live["id"], "asker", "Still waiting?")
        return {"question": published.id, "answer": int(answer_id), "waiting": waiting.id}

    return {**live, **await server.acall(build)}


async def stored_reports(server: LiveServer, event_id: int) -> list[Any]:
    async def read() -> list[Any]:
        async with server.services.store.read() as repo:
            return await repo.reports_for_event(event_id)

    return await server.acall(read)


def report(kind: str, target: int, reason: str = "rude", detail: str = "") -> dict[str, str]:
    return {"kind": kind, "id": str(target), "reason": reason, "detail": detail}


async def test_a_report_without_javascript_is_stored_and_said_on_the_page(
    server: LiveServer, site: dict[str, Any]
) -> None:
    async with client_for(server) as reader:
        sent = await reader.post(
            "/events/probation/reports",
            data=report("question", site["question"], "identifies", SECRET),
            headers=from_site(server),
        )
        assert sent.status_code == 303
        assert sent.headers["location"] == f"/events/probation#q-{site['question']}"
        page = await reader.get("/events/probation")
        assert THANKS in page.text
        assert page.headers["cache-control"] == "private, no-store"
    rows = await stored_reports(server, site["id"])
    assert [(r["target_kind"], r["target_id"], r["reason"], r["detail"]) for r in rows] == [
        ("question", site["question"], "identifies", SECRET)
    ]


async def test_a_report_in_place_answers_json_and_counts_once_per_reader(
    server: LiveServer, site: dict[str, Any]
) -> None:
    async with client_for(server) as reader:
        for _ in range(2):  # the same reader reporting again changes nothing
            sent = await reader.post(
                "/events/probation/reports",
                data=report("answer", site["answer"], "wrong"),
                headers={**from_site(server), **JSON},
            )
            assert sent.status_code == 201, sent.text
            assert sent.json()["message"] == THANKS
        assert "livepanel" in reader.cookies  # the report made the reader's session
    rows = await stored_reports(server, site["id"])
    assert [(r["target_kind"], r["target_id"], r["reason"]) for r in rows] == [
        ("answer", site["answer"], "wrong")
    ]


async def test_only_published_items_of_this_event_and_known_reasons_are_taken(
    server: LiveServer, site: dict[str, Any]
) -> None:
    async with client_for(server) as reader:
        post = lambda data: reader.post(  # noqa: E731
            "/events/probation/reports", data=data, headers={**from_site(server), **JSON}
        )
        assert_error_shape(await post(report("question", site["waiting"])), 404, "not_found")
        assert_error_shape(await post(report("answer", 999999)), 404, "not_found")
        assert_error_shape(await post(report("question", site["question"], "boring")), 422)
        assert_error_shape(await post(report("comment", site["question"])), 422)
        too_long = await post(report("question", site["question"], "other", "x" * 301))
        assert_error_shape(too_long, 422, "too_long")
        forged = await reader.post(
            "/events/probation/reports",
            data=report("question", site["question"]),
            headers={"Origin": "https://evil.example", **JSON},
        )
        assert_error_shape(forged, 403, "csrf")
    assert await stored_reports(server, site["id"]) == []


async def test_reports_are_limited_per_reader_and_per_ip(
    server: LiveServer, site: dict[str, Any]
) -> None:
    headers = {**from_site(server), **JSON}
    targets = [("question", site["question"]), ("answer", site["answer"])] * 3
    async with client_for(server) as reader:
        statuses = [
            (await reader.post("/events/probation/reports", data=report(k, t), headers=headers))
            for k, t in targets[:4]
        ]
    assert [r.status_code for r in statuses] == [201, 201, 201, 429]  # 3 a minute per reader
    assert "too fast" in statuses[-1].json()["error"]["message"]
    # A new cookie is a new reader, but the same address: 5 a minute per IP in all.
    async with client_for(server) as second:
        codes = [
            (await second.post("/events/probation/reports", data=report(k, t), headers=headers))
            for k, t in targets[:3]
        ]
    assert [r.status_code for r in codes] == [201, 201, 429]


async def test_the_desk_and_the_editors_api_show_reports_and_readers_never_see_them(
    server: LiveServer, site: dict[str, Any]
) -> None:
    async with client_for(server) as reader:
        for kind, target in (("question", site["question"]), ("answer", site["answer"])):
            sent = await reader.post(
                "/events/probation/reports",
                data=report(kind, target, "rude", SECRET),
                headers=from_site(server),
            )
            assert sent.status_code == 303
        mine = await reader.get("/events/probation")
    editor = await editor_client(server)
    try:
        queue = await editor.get("/desk/events/probation/queue")
        listed = await editor.get("/api/v1/events/probation/reports")
    finally:
        await editor.aclose()
    assert "Reported 1 time: Rude 1" in queue.text
    assert "Answer by Maria Ashdown reported 1 time: Rude 1" in queue.text
    assert SECRET in html.unescape(queue.text)
    reports = listed.json()["reports"]
    assert {(r["target"]["kind"], r["target"]["id"]) for r in reports} == {
        ("question", site["question"]),
        ("answer", site["answer"]),
    }
    assert all("reader_id" not in r for r in reports)

    async with client_for(server) as anyone:
        assert_error_shape(await anyone.get("/api/v1/events/probation/reports"), 401)
        public = [
            mine.text,
            (await anyone.get("/events/probation")).text,
            (await anyone.get("/events/probation/embed")).text,
            (await anyone.get("/api/v1/events/probation")).text,
            (await anyone.get("/api/v1/events/probation/questions")).text,
            (await anyone.get("/api/v1/events/probation/stream?since=0")).text,
            (await anyone.get("/archive/feed.atom")).text,
            (await anyone.get("/events/probation/calendar.ics")).text,
        ]
        frames = await log_frames(anyone, "probation")
    for text in public:
        assert SECRET not in text
        assert "Reported 1 time" not in text
    assert all("report" not in frame["type"] for frame in frames)


async def test_a_second_upvote_says_it_was_counted_with_and_without_javascript(
    server: LiveServer, site: dict[str, Any]
) -> None:
    upvote = f"/questions/{site['question']}/upvote"
    async with client_for(server) as reader:
        first = await reader.post(upvote, headers={**from_site(server), **JSON})
        assert first.json() | {"upvotes": 0} == {
            "id": site["question"],
            "upvotes": 0,
            "counted": True,
            "message": "Upvoted",
        }
        again = await reader.post(upvote, headers={**from_site(server), **JSON})
        assert (again.json()["counted"], again.json()["message"]) == (False, "You already upvoted")
        assert again.json()["upvotes"] == first.json()["upvotes"]
        by_form = await reader.post(upvote, headers=from_site(server))
        assert by_form.status_code == 303
        page = await reader.get(by_form.headers["location"].split("#")[0])
        assert html.escape(ALREADY_UPVOTED, quote=False) in page.text
    async with client_for(server) as other:  # a counted form upvote says nothing extra
        counted = await other.post(upvote, headers=from_site(server))
        assert counted.headers["location"].endswith(f"#q-{site['question']}")
        page = await other.get("/events/probation")
        assert html.escape(ALREADY_UPVOTED, quote=False) not in page.text


async def test_asking_in_place_answers_json_sets_the_cookie_and_keeps_errors_out_of_the_page(
    server: LiveServer, site: dict[str, Any]
) -> None:
    async with client_for(server) as reader:
        asked = await reader.post(
            "/events/probation/questions",
            data={"body": "Will there be a transcript?", "name": ""},
            headers={**from_site(server), **JSON},
        )
        assert asked.status_code == 201, asked.text
        body = asked.json()
        assert (body["status"], body["message"]) == ("pending", "Thanks — an editor will read it.")
        assert body["csrf_token"] and "livepanel" in reader.cookies
        assert asked.headers["cache-control"] == "private, no-store"
        refused = await reader.post(
            "/events/probation/questions",
            data={"body": "x" * 5000, "csrf_token": body["csrf_token"]},
            headers={**from_site(server), **JSON},
        )
        assert refused.status_code == 422
        assert "limit" in refused.json()["error"]["message"]
        mine = await reader.get("/events/probation")
    assert f'data-mine-id="{body["id"]}"' in mine.text
