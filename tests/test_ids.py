"""Ids are whole numbers wherever they are read: a JSON body, a form, a query string or a
path. A float (3.7, or 3.0 that int() would quietly accept), a boolean (True is an int in
Python), a sign, a space or a non-ASCII digit is refused with a clear 4xx and changes
nothing, instead of being truncated into some other id."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from panel.domain import Actor, RuleError
from panel.text import optional_id
from tests.conftest import LiveServer
from tests.test_security import (
    WS_OPTIONS,
    World,
    browser,
    build_world,
    csrf_of,
    fingerprint,
    open_invite,
    sign_in,
)


@pytest.fixture
async def world(server: LiveServer) -> World:
    return await build_world(server)


NOT_IDS: list[Any] = [3.7, 1.0, True, False, -1, "3.9", "1.0", "-1", "+1", " 1", "1_0", "٣", "²"]


@pytest.mark.parametrize("value", NOT_IDS, ids=repr)
def test_optional_id_refuses_anything_but_a_whole_number(value: Any) -> None:
    with pytest.raises(RuleError) as refused:
        optional_id(value, "to")
    assert refused.value.code == "invalid" and "to must be a whole number" in refused.value.message


@pytest.mark.parametrize(
    ("value", "expected"), [(None, None), ("", None), (0, None), ("0", None), (7, 7), ("7", 7)]
)
def test_optional_id_reads_whole_numbers_and_empty(value: Any, expected: int | None) -> None:
    assert optional_id(value, "to") == expected


def refused(response: httpx.Response, where: str, status: int = 422) -> None:
    """A clear refusal: the status, and (on the API or a fetch) the JSON error shape."""
    assert response.status_code == status, (where, response.status_code, response.text[:300])
    if response.headers.get("content-type", "").startswith("application/json"):
        error = response.json()["error"]
        assert error["code"] and error["message"], where


async def test_json_ids_that_are_not_whole_numbers_are_refused(
    server: LiveServer, world: World
) -> None:
    """The API's `to` and `into`: 1.0 names a real panelist and a real question, and was read
    as that id before; now every non-id is a 422 and nothing is stored."""
    panelist = world.alpha["core"][0]
    editor_id = await server.acall(lambda: server.actions.create_editor("eddie", "a" * 20))
    secret = await server.acall(
        lambda: server.actions.create_api_token(editor_id, "cms", Actor("editor", editor_id))
    )
    bearer = {"Authorization": f"Bearer {secret}"}
    before = fingerprint(server.services.settings)
    ask = f"/api/v1/events/{world.alpha['slug']}/questions"
    for value in (float(panelist), panelist + 0.7, True, False, -panelist, "٣", f" {panelist}"):
        async with browser(server) as reader:  # a reader of its own: the quota is per reader
            response = await reader.post(ask, json={"body": "Which id?", "to": value})
        refused(response, f"ask to={value!r}")
    async with browser(server) as cms:
        moderate = f"/api/v1/questions/{world.pending}/moderate"
        for body in (
            {"action": "merge", "into": float(world.approved)},
            {"action": "merge", "into": True},
            {"action": "direct", "to": float(panelist)},
            {"action": "direct", "to": "1.5"},
        ):
            refused(await cms.post(moderate, json=body, headers=bearer), f"moderate {body}")
    assert fingerprint(server.services.settings) == before


async def test_form_ids_that_are_not_whole_numbers_are_refused(
    server: LiveServer, world: World
) -> None:
    """Every form field that names an id, as a hand-made form would send it."""
    slug = world.alpha["slug"]
    async with browser(server) as reader, browser(server) as editor, browser(server) as panelist:
        await sign_in(server, editor, "eddie")
        await open_invite(server, panelist, world.alpha["id"], world.alpha["core"][0])
        desk_token = csrf_of((await editor.get("/desk")).text)
        console_token = csrf_of((await panelist.get(f"/console/{slug}")).text)
        before = fingerprint(server.services.settings)  # signed in: from here, nothing changes
        response = await reader.post(
            f"/events/{slug}/questions",
            data={"body": "Which id?", "to": "1.0"},
            headers={"Origin": server.url},
        )
        refused(response, "reader form to=1.0")
        for url, form in (
            (f"/desk/questions/{world.pending}/moderate", {"action": "direct", "to": "1.0"}),
            (f"/desk/questions/{world.pending}/moderate", {"action": "merge", "into": "٣"}),
            (f"/desk/events/{slug}/bulk", {"action": "approve", "ids": f"{world.pending}.0"}),
            (f"/desk/events/{slug}/notes", {"body": "Hello", "to": "1.5"}),
            (f"/desk/events/{slug}/presence", {"question_id": f"{world.approved}.0"}),
        ):
            response = await editor.post(url, data={"csrf_token": desk_token, **form})
            refused(response, f"{url} {form}")
        refused(await editor.get(f"/desk/events/{slug}?to=1.5"), "desk ?to=1.5")
        for url, form in (
            (f"/console/{slug}/answers", {"question_id": f"{world.approved}.9", "body": "Hi"}),
            (f"/console/{slug}/notes", {"body": "About this", "about": f"{world.approved}.0"}),
        ):
            response = await panelist.post(url, data={"csrf_token": console_token, **form})
            refused(response, url)
        for query in ("answer=1.5", "edit=1.0", "keep=-1"):
            url = f"/console/{slug}{'/questions' if 'keep' in query else ''}?{query}"
            refused(await panelist.get(url), url)
        assert fingerprint(server.services.settings) == before


async def test_query_and_path_ids_that_are_not_whole_numbers_are_refused(
    server: LiveServer, world: World
) -> None:
    """`since` on the polling API and the socket, and ids in paths (the route's `:int`
    matches ASCII digits only, so "3.0" names no resource: a JSON 404)."""
    slug = world.alpha["slug"]
    async with browser(server) as client:
        for since in ("1.5", "-1", "True", "١"):
            refused(await client.get(f"/api/v1/events/{slug}/stream?since={since}"), since)
        for url in (
            f"/api/v1/questions/{world.approved}.0/upvote",
            f"/api/v1/questions/{world.approved}.0/moderate",
            f"/api/v1/questions/-{world.approved}/answers",
            f"/api/v1/answers/{world.answer}.0",
        ):
            response = await client.post(url, json={"body": "x"})
            refused(response, url, 404)
            assert response.json()["error"]["code"] == "not_found", url
    async with connect(f"{server.ws_url}/events/{slug}/live?since=1.5", **WS_OPTIONS) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
