"""The JSON API over a real uvicorn: idempotent posts, rate limits, bad input, OpenAPI."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import EDITOR, LiveServer, seed_event, wait_for
from tests.livehelpers import (
    assert_error_shape,
    client_for,
    editor_client,
    panelist,
    post_as,
    questions_in_store,
    seed_live,
)
from tests.pgdb import BOTH_STORES


@pytest.fixture
async def event(server: LiveServer) -> dict[str, Any]:
    return await seed_live(server)


async def stored_bodies(server: LiveServer, event_id: int) -> list[str]:
    return [q.body for q in await questions_in_store(server, event_id)]


# -- idempotency ------------------------------------------------------------------------------
@BOTH_STORES
async def test_a_retried_post_with_the_same_idempotency_key_stores_one_question(
    server: LiveServer, event: dict[str, Any]
) -> None:
    url = f"/api/v1/events/{event['slug']}/questions"
    async with client_for(server) as reader, client_for(server) as other:
        first = await reader.post(
            url, json={"body": "Is the training paid?"}, headers={"Idempotency-Key": "key-1"}
        )
        assert first.status_code == 201, first.text
        qid = first.json()["id"]
        assert first.json() == {"id": qid, "status": "pending"}
        for _ in range(3):  # the client did not hear back and tries again
            retry = await reader.post(
                url, json={"body": "Is the training paid?"}, headers={"Idempotency-Key": "key-1"}
            )
            assert retry.status_code == 201
            assert retry.json() == {"id": qid, "status": "pending"}
        # The key in the body (for forms and simple clients) means the same.
        by_field = await reader.post(
            url, json={"body": "Is the training paid?", "client_key": "key-1"}
        )
        assert by_field.json()["id"] == qid
        assert await stored_bodies(server, event["id"]) == ["Is the training paid?"]
        mine = (await reader.get(url, params={"mine": "1"})).json()["questions"]
        assert [(q["id"], q["status"]) for q in mine] == [(qid, "pending")]

        # Keys are per event, not per cookie (a retry after a restart or from a first post
        # has no cookie that verifies): the same key and text from anyone is this question;
        # the same key with another text is refused (tests/test_idempotency.py).
        theirs = await other.post(
            url, json={"body": "Is the training paid?"}, headers={"Idempotency-Key": "key-1"}
        )
        assert theirs.status_code == 201 and theirs.json()["id"] == qid
        # And the same reader with a new key asks a new question.
        again = await reader.post(
            url, json={"body": "Is the training paid?"}, headers={"Idempotency-Key": "key-2"}
        )
        assert again.status_code == 201 and again.json()["id"] != qid
        assert len(await stored_bodies(server, event["id"])) == 2
        # Retries did not use up the reader's rate limit: 2 questions so far, 3 more allowed.
        for i in range(3):
            ok = await reader.post(url, json={"body": f"More {i}"})
            assert ok.status_code == 201, ok.text


@BOTH_STORES
async def test_concurrent_retries_with_one_key_store_one_question(
    server: LiveServer, event: dict[str, Any]
) -> None:
    url = f"/api/v1/events/{event['slug']}/questions"
    async with client_for(server) as reader:
        # The reader cookie first, so that every retry comes from the same reader: an upvote
        # makes it (asking whose questions they are makes none).
        assert (await reader.get(url, params={"mine": "1"})).json() == {"questions": []}
        assert not reader.cookies.get("livepanel")

        async def published() -> int:
            q, _ = await server.actions.post_question(event["id"], "other", "Upvote me")
            await server.actions.moderate(q.id, "approve", EDITOR)
            return q.id

        voted = await reader.post(f"/api/v1/questions/{await server.acall(published)}/upvote")
        assert voted.status_code == 200 and reader.cookies.get("livepanel")
        responses = await asyncio.gather(
            *[
                reader.post(
                    url,
                    json={"body": "Sent five times at once"},
                    headers={"Idempotency-Key": "same-key"},
                )
                for _ in range(5)
            ]
        )
    assert [r.status_code for r in responses] == [201] * 5, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert sorted(await stored_bodies(server, event["id"])) == [
        "Sent five times at once",
        "Upvote me",
    ]


# -- rate limits ------------------------------------------------------------------------------
async def test_at_the_limit_a_retry_still_gets_its_question_and_a_new_one_does_not(
    server: LiveServer, event: dict[str, Any]
) -> None:
    url = f"/api/v1/events/{event['slug']}/questions"
    async with client_for(server) as reader:
        firsts = []
        for i in range(5):
            response = await reader.post(
                url, json={"body": f"Question {i}"}, headers={"Idempotency-Key": f"k{i}"}
            )
            assert response.status_code == 201, response.text
            firsts.append(response.json()["id"])
        retry = await reader.post(
            url, json={"body": "Question 0"}, headers={"Idempotency-Key": "k0"}
        )
        assert retry.status_code == 201 and retry.json()["id"] == firsts[0]
        assert retry.headers["idempotent-replayed"] == "true"
        fresh = await reader.post(
            url, json={"body": "Question 5"}, headers={"Idempotency-Key": "k5"}
        )
        assert_error_shape(fresh, 429, "rate_limited")
    assert len(await stored_bodies(server, event["id"])) == 5


async def test_questions_to_no_event_or_a_draft_are_404_and_cost_no_quota(
    server: LiveServer, event: dict[str, Any]
) -> None:
    draft = await server.acall(lambda: seed_event(server.actions, slug="draft", status="draft"))
    async with client_for(server) as reader:
        for i in range(6):
            missing = await reader.post(
                "/api/v1/events/no-such-event/questions", json={"body": f"Hello {i}?"}
            )
            assert_error_shape(missing, 404, "not_found")
            hidden = await reader.post(
                "/api/v1/events/draft/questions", json={"body": f"Hello {i}?"}
            )
            assert_error_shape(hidden, 404, "not_found")
        for i in range(5):  # the reader's whole quota is still there
            ok = await reader.post(
                f"/api/v1/events/{event['slug']}/questions", json={"body": f"Real {i}?"}
            )
            assert ok.status_code == 201, ok.text
    assert await stored_bodies(server, draft["id"]) == []


async def test_the_sixth_question_in_a_minute_gets_429_with_retry_after(
    server: LiveServer, event: dict[str, Any]
) -> None:
    url = f"/api/v1/events/{event['slug']}/questions"
    async with client_for(server) as reader, client_for(server) as neighbour:
        for i in range(5):
            response = await reader.post(url, json={"body": f"Question {i}"})
            assert response.status_code == 201, response.text
        refused = await reader.post(url, json={"body": "Question 5"})
        assert_error_shape(refused, 429, "rate_limited")
        assert re.fullmatch(r"[1-9][0-9]*", refused.headers["retry-after"])
        assert int(refused.headers["retry-after"]) <= 60
        assert "Question 5" not in await stored_bodies(server, event["id"])
        # Someone else is not held back by this reader.
        assert (await neighbour.post(url, json={"body": "Mine"})).status_code == 201
    assert len(await stored_bodies(server, event["id"])) == 6


async def test_one_address_cannot_post_more_than_its_limit_with_fresh_cookies(
    server: LiveServer, event: dict[str, Any]
) -> None:
    url = f"/api/v1/events/{event['slug']}/questions"
    limit = server.services.settings.questions_per_minute_ip
    statuses = []
    for i in range(limit + 1):
        async with client_for(server) as reader:  # a new anonymous reader each time
            statuses.append((await reader.post(url, json={"body": f"Q{i}"})).status_code)
    assert statuses == [201] * limit + [429]
    assert len(await stored_bodies(server, event["id"])) == limit


# -- bad input --------------------------------------------------------------------------------
JSON = {"content-type": "application/json"}
BAD_POSTS: list[tuple[str, dict[str, Any], int]] = [
    ("body over 2000 chars", {"json": {"body": "x" * 2001}}, 422),
    ("empty body", {"json": {"body": ""}}, 422),
    ("blank body", {"json": {"body": "  \n\t "}}, 422),
    ("no body field", {"json": {"name": "Sam"}}, 422),
    ("body not text", {"json": {"body": 12}}, 422),
    ("body a list", {"json": {"body": ["a"]}}, 422),
    ("control character", {"json": {"body": "bad\x00byte"}}, 422),
    ("name over 60", {"json": {"body": "Fine", "name": "n" * 61}}, 422),
    ("name not text", {"json": {"body": "Fine", "name": {"a": 1}}}, 422),
    ("to not a number", {"json": {"body": "Fine", "to": "abc"}}, 422),
    ("to not on the panel", {"json": {"body": "Fine", "to": 999999}}, 422),
    ("key too long", {"json": {"body": "Fine"}, "headers": {"Idempotency-Key": "k" * 201}}, 422),
    ("client_key not text", {"json": {"body": "Fine", "client_key": 5}}, 422),
    ("not JSON", {"content": b"{not json", "headers": JSON}, 400),
    ("invalid UTF-8", {"content": b'{"body": "\xff\xfe"}', "headers": JSON}, 400),
    (
        "text/plain",
        {"content": b'{"body": "Fine"}', "headers": {"content-type": "text/plain"}},
        400,
    ),
    ("form encoded", {"data": {"body": "Fine"}}, 400),
    ("no content type", {"content": b'{"body": "Fine"}'}, 400),
    ("JSON array", {"json": [{"body": "Fine"}]}, 400),
    ("JSON string", {"json": "Fine"}, 400),
    ("JSON null", {"content": b"null", "headers": JSON}, 400),
    ("over 64 KiB", {"json": {"body": "x" * (70 * 1024)}}, 413),
    ("over 64 KiB of padding", {"json": {"body": "Fine", "pad": "p" * (65 * 1024)}}, 413),
]


@pytest.mark.parametrize(
    ("case", "request_args", "status"), BAD_POSTS, ids=[case for case, _, _ in BAD_POSTS]
)
async def test_bad_question_posts_get_the_one_error_shape(
    server: LiveServer, event: dict[str, Any], case: str, request_args: dict[str, Any], status: int
) -> None:
    async with client_for(server) as reader:
        response = await reader.post(f"/api/v1/events/{event['slug']}/questions", **request_args)
    assert_error_shape(response, status)
    assert await stored_bodies(server, event["id"]) == []


@BOTH_STORES
async def test_hostile_numbers_and_nesting_are_client_errors_not_500s(
    server: LiveServer, event: dict[str, Any]
) -> None:
    slug = event["slug"]
    q = await post_as(server, event["id"], "asker", "A real question")
    await server.acall(lambda: server.actions.moderate(q.id, "approve", EDITOR))
    huge = "9" * 20  # a whole number, but more than SQLite's 64 bits
    editor = await editor_client(server)
    try:
        async with client_for(server) as reader:
            for response, status in (
                (await reader.get(f"/api/v1/events/{slug}/stream?since=%C2%B2"), 422),
                (await reader.get(f"/api/v1/events/{slug}/stream?since=%D9%A1"), 422),
                (
                    await reader.post(
                        f"/api/v1/events/{slug}/questions", content=b"[" * 50_000, headers=JSON
                    ),
                    400,
                ),
                (
                    await reader.post(
                        f"/api/v1/events/{slug}/questions",
                        content=b'{"body": ' + b"{" * 50_000,
                        headers=JSON,
                    ),
                    400,
                ),
                (
                    await reader.post(
                        f"/api/v1/events/{slug}/questions", json={"body": "Fine", "to": 10**30}
                    ),
                    422,
                ),
                (await reader.post(f"/api/v1/questions/{huge}/upvote"), 404),
                (await reader.post(f"/api/v1/questions/{huge}/answers", json={"body": "Hi"}), 404),
                (
                    await editor.post(
                        f"/api/v1/questions/{huge}/moderate", json={"action": "approve"}
                    ),
                    404,
                ),
                (
                    await editor.post(
                        f"/api/v1/questions/{q.id}/moderate",
                        json={"action": "merge", "into": 10**30},
                    ),
                    404,
                ),
                (await editor.post(f"/api/v1/answers/{huge}", json={"body": "Hi"}), 404),
            ):
                assert_error_shape(response, status)
            # The same connection keeps working: nothing crashed behind those answers.
            assert (await reader.get("/healthz")).json() == {"status": "ok"}
            assert (await reader.post(f"/api/v1/questions/{q.id}/upvote")).status_code == 200
    finally:
        await editor.aclose()


async def test_the_limits_themselves_are_accepted_and_text_is_trimmed(
    server: LiveServer, event: dict[str, Any]
) -> None:
    url = f"/api/v1/events/{event['slug']}/questions"
    async with client_for(server) as reader:
        longest = await reader.post(
            url, json={"body": "y" * 2000, "name": "n" * 60, "to": event["core"][0]}
        )
        assert longest.status_code == 201, longest.text
        padded = await reader.post(url, json={"body": "  Padded question  \n", "name": "  Sam  "})
        assert padded.status_code == 201, padded.text
    stored = {q.id: q for q in await questions_in_store(server, event["id"])}
    assert stored[longest.json()["id"]].directed_to == event["core"][0]
    assert stored[padded.json()["id"]].body == "Padded question"
    assert stored[padded.json()["id"]].display_name == "Sam"


async def test_a_chunked_body_over_64_kib_is_refused_without_reading_it_all(
    server: LiveServer, event: dict[str, Any]
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"body": "'
        for _ in range(80):  # 80 KiB, with no Content-Length up front
            yield b"z" * 1024
        yield b'"}'

    async with client_for(server) as reader:
        response = await reader.post(
            f"/api/v1/events/{event['slug']}/questions", content=chunks(), headers=JSON
        )
    assert_error_shape(response, 413, "too_large")
    assert await stored_bodies(server, event["id"]) == []


async def test_unknown_things_get_json_errors_not_pages(
    server: LiveServer, event: dict[str, Any]
) -> None:
    draft = await server.acall(lambda: seed_event(server.actions, slug="draft-one", status="draft"))
    async with client_for(server) as reader:
        for method, url, status in (
            ("GET", "/api/v1/events/no-such-event", 404),
            ("GET", f"/api/v1/events/{draft['slug']}", 404),
            ("POST", f"/api/v1/events/{draft['slug']}/questions", 404),
            ("POST", "/api/v1/events/no-such-event/questions", 404),
            ("POST", "/api/v1/questions/999999/upvote", 404),
            ("GET", "/api/v1/no-such-route", 404),
            ("DELETE", f"/api/v1/events/{event['slug']}", 405),
            ("GET", f"/api/v1/events/{event['slug']}/stream?since=abc", 422),
            ("GET", f"/api/v1/events/{event['slug']}/stream?since=-1", 422),
            ("GET", f"/api/v1/events/{event['slug']}/questions?status=everything", 422),
        ):
            response = await reader.request(method, url, json={"body": "Anything?"})
            assert_error_shape(response, status)


async def test_a_closed_event_refuses_questions(server: LiveServer, event: dict[str, Any]) -> None:
    await server.acall(lambda: server.actions.set_status(event["id"], "closed", EDITOR))
    async with client_for(server) as reader:
        response = await reader.post(
            f"/api/v1/events/{event['slug']}/questions", json={"body": "Too late?"}
        )
    assert_error_shape(response, 409, "not_accepting")
    assert await stored_bodies(server, event["id"]) == []


async def test_advance_questions_are_taken_while_scheduled(server: LiveServer) -> None:
    # Starts tomorrow: the scheduler leaves it scheduled.
    future = await server.acall(
        lambda: seed_event(
            server.actions, slug="tomorrow", start=server.clock.now().replace(year=2027)
        )
    )
    async with client_for(server) as reader:
        response = await reader.post(
            "/api/v1/events/tomorrow/questions", json={"body": "Asked in advance"}
        )
        assert response.status_code == 201, response.text
        assert (await reader.get("/api/v1/events/tomorrow")).json()["status"] == "scheduled"
    assert await stored_bodies(server, future["id"]) == ["Asked in advance"]


# -- reading ----------------------------------------------------------------------------------
async def test_readers_see_approved_questions_and_only_their_own_pending_ones(
    server: LiveServer, event: dict[str, Any]
) -> None:
    url = f"/api/v1/events/{event['slug']}/questions"
    async with client_for(server) as asker, client_for(server) as other:
        mine = (await asker.post(url, json={"body": "Mine, pending"})).json()["id"]
        shown = (await asker.post(url, json={"body": "Mine, approved"})).json()["id"]
        await server.acall(lambda: server.actions.moderate(shown, "approve", EDITOR))

        public = (await other.get(url)).json()["questions"]
        assert [q["id"] for q in public] == [shown]
        assert all(q["status"] == "approved" for q in public)
        assert "reader_id" not in public[0]
        assert [
            q["id"] for q in (await other.get(url, params={"mine": "1"})).json()["questions"]
        ] == []
        own = {
            q["id"]: q["status"]
            for q in (await asker.get(url, params={"mine": "1"})).json()["questions"]
        }
        assert own == {mine: "pending", shown: "approved"}
        assert_error_shape(await other.get(url, params={"status": "pending"}), 401, "unauthorized")
    editor = await editor_client(server)
    try:
        pending = (await editor.get(url, params={"status": "pending"})).json()["questions"]
        assert [q["id"] for q in pending] == [mine]
    finally:
        await editor.aclose()


@BOTH_STORES
async def test_upvotes_count_once_per_reader(server: LiveServer, event: dict[str, Any]) -> None:
    q = await post_as(server, event["id"], "asker", "Vote for me")
    async with client_for(server) as first, client_for(server) as second:
        # Not yet published: nothing to upvote.
        assert_error_shape(await first.post(f"/api/v1/questions/{q.id}/upvote"), 404)
        await server.acall(lambda: server.actions.moderate(q.id, "approve", EDITOR))
        votes = [
            (await first.post(f"/api/v1/questions/{q.id}/upvote")).json()["upvotes"]
            for _ in range(3)
        ]
        assert votes == [1, 1, 1]
        assert (await second.post(f"/api/v1/questions/{q.id}/upvote")).json()["upvotes"] == 2
        listed = (await first.get(f"/api/v1/events/{event['slug']}/questions")).json()
        assert listed["questions"][0]["upvotes"] == 2

        async def counts_shown() -> list[int]:
            stream = await first.get(f"/api/v1/events/{event['slug']}/stream")
            return [
                f["data"]["question"]["upvotes"]
                for f in stream.json()["frames"]
                if f["type"] == "question.updated"
            ]

        async def shows_both_votes() -> bool:
            return await counts_shown() == [1, 2]

        # The second vote may come within the first one's window (panel/votes.py): then its
        # count follows when the window ends. A repeat vote logs nothing.
        await wait_for(shows_both_votes, message="a frame for each reader's vote")


async def test_the_stream_api_pages_through_the_log_in_order(
    server: LiveServer, event: dict[str, Any]
) -> None:
    questions = [await post_as(server, event["id"], f"r{i}", f"Q{i}") for i in range(5)]
    for q in questions:
        await server.acall(lambda q=q: server.actions.moderate(q.id, "approve", EDITOR))
    async with client_for(server) as reader:
        whole = (await reader.get(f"/api/v1/events/{event['slug']}/stream")).json()
        last = whole["last_seq"]
        assert [f["seq"] for f in whole["frames"]] == list(range(1, last + 1))
        assert whole["more"] is False
        tail = (
            await reader.get(f"/api/v1/events/{event['slug']}/stream", params={"since": last - 2})
        ).json()
        assert tail["frames"] == whole["frames"][-2:]
        nothing = (
            await reader.get(f"/api/v1/events/{event['slug']}/stream", params={"since": last})
        ).json()
        assert nothing["frames"] == [] and nothing["last_seq"] == last
        detail = (await reader.get(f"/api/v1/events/{event['slug']}")).json()
        assert detail["last_seq"] == last


# -- answers ----------------------------------------------------------------------------------
async def test_answers_through_the_api_need_a_panelist_or_editor(
    server: LiveServer, event: dict[str, Any]
) -> None:
    q = await post_as(server, event["id"], "asker", "Answer me")
    waiting = await post_as(server, event["id"], "asker", "Still pending")
    await server.acall(lambda: server.actions.moderate(q.id, "approve", EDITOR))
    url = f"/api/v1/questions/{q.id}/answers"
    async with client_for(server) as reader:
        assert_error_shape(await reader.post(url, json={"body": "I am no panelist"}), 401)
    token = await server.acall(lambda: server.actions.create_invite(event["id"], event["core"][0]))
    async with client_for(server) as console:
        assert (await console.get(f"/invite/{token}")).status_code == 303
        made = await console.post(url, json={"body": "Yes, *gladly*."})
        assert made.status_code == 201, made.text
        assert made.json()["question_id"] == q.id
        assert_error_shape(await console.post(url, json={"body": ""}), 422)
        assert_error_shape(await console.post(url, json={"body": "x" * 20001}), 422)
        assert_error_shape(
            await console.post(f"/api/v1/questions/{waiting.id}/answers", json={"body": "Sneaky"}),
            404,
        )
        edited = await console.post(
            f"/api/v1/answers/{made.json()['id']}", json={"body": "Yes, **gladly**."}
        )
        assert edited.status_code == 200, edited.text
    async with client_for(server) as reader:
        listed = (await reader.get(f"/api/v1/events/{event['slug']}/questions")).json()
        answers = listed["questions"][0]["answers"]
        assert [a["body_md"] for a in answers] == ["Yes, **gladly**."]
        assert answers[0]["by"]["id"] == panelist(event).id
        types = [
            f["type"]
            for f in (await reader.get(f"/api/v1/events/{event['slug']}/stream")).json()["frames"]
        ]
        assert types[-2:] == ["answer.published", "answer.updated"]


# -- OpenAPI ----------------------------------------------------------------------------------
MINIMUM_API = {
    ("get", "/api/v1/events"),
    ("get", "/api/v1/events/{slug}"),
    ("get", "/api/v1/events/{slug}/questions"),
    ("post", "/api/v1/events/{slug}/questions"),
    ("post", "/api/v1/questions/{question_id}/upvote"),
    ("post", "/api/v1/questions/{question_id}/moderate"),
    ("post", "/api/v1/questions/{question_id}/answers"),
    ("get", "/api/v1/events/{slug}/stream"),
}
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        assert part in node, f"dangling $ref {ref}"
        node = node[part]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


async def test_openapi_describes_the_minimum_api(server: LiveServer) -> None:
    async with client_for(server) as client:
        response = await client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    doc = response.json()
    assert re.fullmatch(r"3\.1\.\d+", doc["openapi"])
    assert doc["info"]["title"] and doc["info"]["version"]
    operations = {
        (method, path)
        for path, item in doc["paths"].items()
        for method in item
        if method in METHODS
    }
    assert MINIMUM_API - operations == set(), "missing from the description"
    for path, item in doc["paths"].items():
        assert path.startswith("/api/v1/"), path
        templated = set(re.findall(r"{(\w+)}", path))
        for method, op in item.items():
            if method not in METHODS:
                continue
            assert op["responses"], (method, path)
            assert all(re.fullmatch(r"[1-5]\d\d|default", code) for code in op["responses"])
            for answer in op["responses"].values():
                assert "description" in answer or "$ref" in answer
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == templated, (method, path, declared)
            assert all(p.get("required") for p in op.get("parameters", []) if p["in"] == "path")
    for ref in _refs(doc):
        _resolve(doc, ref)
    # Every route the app serves under /api/v1 is described (besides the description itself).
    served = set()
    for route in server.app.routes:
        path = re.sub(r"{(\w+):\w+}", r"{\1}", getattr(route, "path", ""))
        if path.startswith("/api/v1/") and path != "/api/v1/openapi.json":
            served |= {(m.lower(), path) for m in (route.methods or ()) if m != "HEAD"}
    assert served - operations == set(), "served but not described"
    assert operations - served == set(), "described but not served"


async def test_openapi_passes_a_validator_when_one_is_installed(server: LiveServer) -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    async with client_for(server) as client:
        doc = (await client.get("/api/v1/openapi.json")).json()
    validator.validate(json.loads(json.dumps(doc)))


async def test_a_refused_text_does_not_use_up_the_rate_limit(
    server: LiveServer, event: dict[str, Any]
) -> None:
    url = f"/api/v1/events/{event['slug']}/questions"
    async with client_for(server) as reader:
        for _ in range(8):  # more typos than the limit of 5 a minute
            assert_error_shape(await reader.post(url, json={"body": "   "}), 422)
        for n in range(5):
            posted = await reader.post(url, json={"body": f"A real question {n}"})
            assert posted.status_code == 201, posted.text
        assert_error_shape(await reader.post(url, json={"body": "One too many"}), 429)
