"""The panelist console at work (issue 10): drafts, soft claims and backstage notes, over
real HTTP and WebSockets against a real server."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from panel import exports
from panel.clock import FakeClock
from panel.config import Settings
from panel.domain import iso
from tests.conftest import EDITOR, LiveServer, seed_event
from tests.livehelpers import (
    Reader,
    assert_error_shape,
    client_for,
    cookie_header,
    csrf_from,
    editor_client,
    last_seq,
    log_frames,
    post_as,
    seed_live,
)

STAFF_PATH = "/staff/events/{slug}/live"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "wbr"}


# -- helpers ----------------------------------------------------------------------------------
@dataclass
class Element:
    attrs: dict[str, str]
    text: str  # the text content, character references decoded


class _Finder(HTMLParser):
    def __init__(self, element_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.element_id = element_id
        self.depth = 0
        self.attrs: dict[str, str] | None = None
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth:
            self.depth += tag not in VOID
        elif self.attrs is None and dict(attrs).get("id") == self.element_id:
            self.attrs = {k: v or "" for k, v in attrs}
            self.depth = int(tag not in VOID)

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag not in VOID:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.parts.append(data)


def find(html: str, element_id: str) -> Element | None:
    """The element with this id, parsed (so escaping mistakes show up as wrong values)."""
    finder = _Finder(element_id)
    finder.feed(html)
    finder.close()
    return None if finder.attrs is None else Element(finder.attrs, "".join(finder.parts))


def element(html: str, element_id: str) -> Element:
    found = find(html, element_id)
    assert found is not None, f"no #{element_id} on the page"
    return found


def draft_url(slug: str, question_id: int, action: str = "draft") -> str:
    return f"/console/{slug}/questions/{question_id}/{action}"


async def post_json(
    client: httpx.AsyncClient, url: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    return await client.post(url, json={} if body is None else body)


async def draft_of(client: httpx.AsyncClient, slug: str, question_id: int) -> Any:
    response = await client.get(draft_url(slug, question_id))
    assert response.status_code == 200, response.text
    return response.json()["draft"]


async def save(client: httpx.AsyncClient, slug: str, question_id: int, body: str) -> Any:
    response = await post_json(client, draft_url(slug, question_id), {"body": body})
    assert response.status_code == 200, response.text
    return response.json()["draft"]


async def console_for(server: LiveServer, event_id: int, panelist_id: int) -> httpx.AsyncClient:
    """A new client signed in to the console through a real invite link."""
    token = await server.acall(lambda: server.actions.create_invite(event_id, panelist_id))
    client = client_for(server)
    redeemed = await client.get(f"/invite/{token}")
    assert redeemed.status_code == 303, redeemed.text
    return client


async def published_question(server: LiveServer, event: dict[str, Any], body: str) -> int:
    q = await post_as(server, event["id"], f"asker-{uuid.uuid4().hex[:6]}", body)
    await server.acall(lambda: server.actions.moderate(q.id, "approve", EDITOR))
    return q.id


async def csrf_of(client: httpx.AsyncClient, url: str) -> str:
    page = await client.get(url)
    assert page.status_code == 200, page.text
    return csrf_from(page.text)


async def answer_form(
    client: httpx.AsyncClient,
    slug: str,
    question_id: int,
    body: str,
    *,
    intent: str = "publish",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """The console's answer box, posted as a browser without JavaScript would."""
    form = {
        "csrf_token": await csrf_of(client, f"/console/{slug}"),
        "question_id": str(question_id),
        "body": body,
        "show": "all",
        "intent": intent,
    }
    return await client.post(f"/console/{slug}/answers", data=form, headers=headers)


async def console_item(client: httpx.AsyncClient, url: str, question_id: int) -> Element | None:
    """One question's entry in a console page or list fragment, or None when it is not listed."""
    page = await client.get(url)
    assert page.status_code == 200, page.text
    return find(page.text, f"cq-{question_id}")


async def claim_shown(client: httpx.AsyncClient, slug: str, question_id: int) -> bool:
    item = await console_item(client, f"/console/{slug}/questions", question_id)
    assert item is not None, f"#{question_id} is not in the list"
    return "Being answered by" in item.text


async def staff_socket(server: LiveServer, slug: str, client: httpx.AsyncClient) -> Reader:
    return await Reader.open(
        server, slug, path=STAFF_PATH, additional_headers={"Cookie": cookie_header(client)}
    )


def notices(reader: Reader, data: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in reader.frames if f["type"] == "queue.changed" and f["data"] == data]


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture
async def event(server: LiveServer) -> dict[str, Any]:
    return await seed_live(server)


@pytest.fixture
async def maria(server: LiveServer, event: dict[str, Any]) -> AsyncIterator[httpx.AsyncClient]:
    client = await console_for(server, event["id"], event["core"][0])
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def jenna(server: LiveServer, event: dict[str, Any]) -> AsyncIterator[httpx.AsyncClient]:
    client = await console_for(server, event["id"], event["core"][1])
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def editor(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    client = await editor_client(server)
    try:
        yield client
    finally:
        await client.aclose()


# -- drafts -----------------------------------------------------------------------------------
async def test_a_draft_is_kept_exactly_released_discarded_and_cleared_by_publishing(
    server: LiveServer, clock: FakeClock, event: dict[str, Any], maria: httpx.AsyncClient
) -> None:
    """Save, read back untrimmed, claim, release (text stays), discard; publishing clears."""
    slug = event["slug"]
    qid = await published_question(server, event, "How long is the training?")
    assert await draft_of(maria, slug, qid) is None

    typed = "Two years,  \n\nand then   "  # mid-sentence: trailing spaces and newlines count
    saved = await save(maria, slug, qid, typed)
    assert saved == {
        "question_id": qid,
        "body": typed,
        "saved_at": iso(clock.now()),
        "claimed_until": None,
    }
    assert await draft_of(maria, slug, qid) == saved

    claimed = await post_json(maria, draft_url(slug, qid, "claim"))
    assert claimed.status_code == 200, claimed.text
    until = iso(clock.now() + timedelta(seconds=server.services.settings.claim_idle_seconds))
    assert claimed.json()["draft"]["claimed_until"] == until
    assert claimed.json()["draft"]["body"] == typed, "claiming keeps the text"

    released = await post_json(maria, draft_url(slug, qid, "release"))
    assert released.status_code == 200, released.text
    assert released.json()["draft"]["claimed_until"] is None
    assert (await draft_of(maria, slug, qid))["body"] == typed

    discarded = await post_json(maria, draft_url(slug, qid, "discard"))
    assert discarded.status_code == 200, discarded.text
    assert discarded.json() == {"draft": None}
    assert await draft_of(maria, slug, qid) is None

    # A draft, then the answer published through the plain form: the draft is gone.
    await save(maria, slug, qid, "Two years, then a probationary year.")
    published = await answer_form(maria, slug, qid, "Two years, then a probationary year.")
    assert published.status_code == 303, published.text
    assert await draft_of(maria, slug, qid) is None
    item = await console_item(maria, f"/console/{slug}", qid)
    assert item is not None and "Continue your draft" not in item.text


async def test_the_answer_form_can_save_and_discard_a_draft_without_javascript(
    server: LiveServer, event: dict[str, Any], maria: httpx.AsyncClient
) -> None:
    slug = event["slug"]
    qid = await published_question(server, event, "Is the pay fair?")
    saved = await answer_form(maria, slug, qid, "Fair-ish ", intent="save")
    assert saved.status_code == 303
    assert saved.headers["location"].endswith(f"answer={qid}#composer")
    assert (await draft_of(maria, slug, qid))["body"] == "Fair-ish "
    reopened = await maria.get(saved.headers["location"])
    assert element(reopened.text, "composer-body").text == "Fair-ish "
    discarded = await answer_form(maria, slug, qid, "Fair-ish ", intent="discard")
    assert discarded.status_code == 303
    assert await draft_of(maria, slug, qid) is None


async def test_a_draft_survives_a_colleague_answering_first(
    server: LiveServer, event: dict[str, Any], maria: httpx.AsyncClient, jenna: httpx.AsyncClient
) -> None:
    slug = event["slug"]
    qid = await published_question(server, event, "What is a typical day?")
    await save(maria, slug, qid, "Mornings are for reports")
    answered = await answer_form(
        jenna, slug, qid, "Court, then visits.", headers={"Accept": "application/json"}
    )
    assert answered.status_code == 201, answered.text
    assert isinstance(answered.json()["answer_id"], int)

    item = await console_item(maria, f"/console/{slug}?show=unanswered", qid)
    assert item is not None, "an answered question stays in view while Maria writes"
    assert "Answered by Jenna Holt — publish yours too, or discard." in item.text
    assert "Continue your draft" in item.text
    assert (await draft_of(maria, slug, qid))["body"] == "Mornings are for reports"
    # Jenna is not writing about it: for her, the filter applies.
    assert await console_item(jenna, f"/console/{slug}?show=unanswered", qid) is None


async def test_a_draft_survives_its_question_being_withdrawn(
    server: LiveServer, event: dict[str, Any], maria: httpx.AsyncClient, jenna: httpx.AsyncClient
) -> None:
    slug = event["slug"]
    qid = await published_question(server, event, "Withdraw me later")
    await save(maria, slug, qid, "Half an answer")
    await server.acall(lambda: server.actions.moderate(qid, "withdraw", EDITOR))

    item = await console_item(maria, f"/console/{slug}?show=unanswered", qid)
    assert item is not None
    assert (
        "The editors withdrew this question: it can no longer be answered. "
        "Your text is kept here: copy it, or discard it."
    ) in item.text
    assert "Continue your draft" in item.text
    assert (await draft_of(maria, slug, qid))["body"] == "Half an answer"
    assert await console_item(jenna, f"/console/{slug}", qid) is None, "gone for the others"
    # The box still opens with the text in it, so it can be copied.
    box = await maria.get(f"/console/{slug}/compose", params={"answer": qid})
    assert box.status_code == 200
    assert element(box.text, "composer-body").text == "Half an answer"


async def test_a_draft_survives_its_question_being_merged(
    server: LiveServer, event: dict[str, Any], maria: httpx.AsyncClient
) -> None:
    slug = event["slug"]
    target = await published_question(server, event, "What does the job involve?")
    qid = await published_question(server, event, "What do you actually do all day?")
    await save(maria, slug, qid, "Lots of\n\nparagraphs\n")
    await server.acall(lambda: server.actions.moderate(qid, "merge", EDITOR, into=target))

    item = await console_item(maria, f"/console/{slug}?show=unanswered", qid)
    assert item is not None
    assert f"The editors merged this question into #{target}: answer it there." in item.text
    assert "Your text is kept here: copy it, or discard it." in item.text
    assert "Continue your draft" in item.text
    assert (await draft_of(maria, slug, qid))["body"] == "Lots of\n\nparagraphs\n"
    # Saving still works (the text is hers), but the question takes no claim any more.
    kept = await save(maria, slug, qid, "Lots of\n\nparagraphs\nmore")
    assert kept["claimed_until"] is None


# -- claims -----------------------------------------------------------------------------------
async def test_a_claim_is_shown_to_colleagues_and_the_desk_but_not_to_its_owner(
    server: LiveServer,
    event: dict[str, Any],
    maria: httpx.AsyncClient,
    jenna: httpx.AsyncClient,
    editor: httpx.AsyncClient,
) -> None:
    slug = event["slug"]
    qid = await published_question(server, event, "Who takes this one?")
    assert not await claim_shown(jenna, slug, qid)
    claimed = await post_json(maria, draft_url(slug, qid, "claim"))
    assert claimed.status_code == 200, claimed.text

    item = await console_item(jenna, f"/console/{slug}/questions", qid)
    assert item is not None and "Being answered by Maria Ashdown" in item.text
    assert not await claim_shown(maria, slug, qid), "her own claim is not news to Maria"
    queue = await editor.get(f"/desk/events/{slug}/queue")
    assert queue.status_code == 200
    assert "Being answered by Maria Ashdown" in element(queue.text, f"published-{qid}").text
    # Claims are soft: Jenna may still answer.
    answered = await answer_form(
        jenna, slug, qid, "I will!", headers={"Accept": "application/json"}
    )
    assert answered.status_code == 201, answered.text


async def test_a_claim_start_and_end_reach_the_staff_socket_as_ids_only(
    server: LiveServer, event: dict[str, Any], maria: httpx.AsyncClient, jenna: httpx.AsyncClient
) -> None:
    """Starting and ending a claim notify; saving a draft (renewal) does not; no text sent."""
    slug = event["slug"]
    qid = await published_question(server, event, "Noticed?")
    sentinel = await published_question(server, event, "Last in line")
    secret = f"draft-{uuid.uuid4().hex}"
    staff = await staff_socket(server, slug, jenna)
    try:
        await save(maria, slug, qid, secret)  # no claim yet: no notice
        assert (await post_json(maria, draft_url(slug, qid, "claim"))).status_code == 200
        await staff.until(lambda _: notices(staff, {"claim": qid}), what="the claim notice")
        await save(maria, slug, qid, secret + " renewed")  # a renewal: no notice
        released = await post_json(maria, draft_url(slug, qid, "release"))
        assert released.status_code == 200, released.text
        # Notices arrive in order: once a later claim's is in, every earlier one is too.
        assert (await post_json(maria, draft_url(slug, sentinel, "claim"))).status_code == 200
        await staff.until(lambda _: notices(staff, {"claim": sentinel}), what="the sentinel")
        assert len(notices(staff, {"claim": qid})) == 2, "a start and an end, no renewal"
        assert all("seq" not in f for f in notices(staff, {"claim": qid}))
        assert secret not in "".join(staff.raw)
    finally:
        await staff.close()


async def test_an_idle_claim_lapses_after_the_idle_time(
    server: LiveServer,
    clock: FakeClock,
    event: dict[str, Any],
    maria: httpx.AsyncClient,
    jenna: httpx.AsyncClient,
    editor: httpx.AsyncClient,
) -> None:
    slug = event["slug"]
    idle = server.services.settings.claim_idle_seconds
    qid = await published_question(server, event, "Idle box")
    assert (await post_json(maria, draft_url(slug, qid, "claim"))).status_code == 200
    assert await claim_shown(jenna, slug, qid)
    clock.advance(seconds=idle + 1)
    assert not await claim_shown(jenna, slug, qid)
    queue = await editor.get(f"/desk/events/{slug}/queue")
    assert "Being answered by" not in element(queue.text, f"published-{qid}").text
    # The box is still open in Maria's browser: typing in it takes the claim again.
    renewed = await save(maria, slug, qid, "Back at the keyboard")
    assert renewed["claimed_until"] == iso(clock.now() + timedelta(seconds=idle))
    assert await claim_shown(jenna, slug, qid)


async def test_typing_renews_a_claim_and_release_ends_it(
    server: LiveServer,
    clock: FakeClock,
    event: dict[str, Any],
    maria: httpx.AsyncClient,
    jenna: httpx.AsyncClient,
) -> None:
    slug = event["slug"]
    idle = server.services.settings.claim_idle_seconds
    qid = await published_question(server, event, "Renew me")
    assert (await post_json(maria, draft_url(slug, qid, "claim"))).status_code == 200
    clock.advance(seconds=idle * 3 // 4)
    renewed = await save(maria, slug, qid, "Still typing")
    assert renewed["claimed_until"] == iso(clock.now() + timedelta(seconds=idle))
    clock.advance(seconds=idle * 3 // 4)  # past the first claim's end, inside the renewed one
    assert await claim_shown(jenna, slug, qid)
    released = await post_json(maria, draft_url(slug, qid, "release"))
    assert released.json()["draft"] == {
        **renewed,
        "saved_at": iso(clock.now()),
        "claimed_until": None,
    }
    assert not await claim_shown(jenna, slug, qid)


async def test_a_claim_on_a_question_that_cannot_be_answered_is_refused(
    server: LiveServer, event: dict[str, Any], maria: httpx.AsyncClient
) -> None:
    slug = event["slug"]
    target = await published_question(server, event, "The one that stays")
    withdrawn = await published_question(server, event, "Withdrawn")
    merged = await published_question(server, event, "Merged")
    pending = (await post_as(server, event["id"], "asker", "Still pending")).id
    await server.acall(lambda: server.actions.moderate(withdrawn, "withdraw", EDITOR))
    await server.acall(lambda: server.actions.moderate(merged, "merge", EDITOR, into=target))

    for qid, words in ((withdrawn, "withdrew"), (merged, f"#{target}")):
        refused = await post_json(maria, draft_url(slug, qid, "claim"))
        assert_error_shape(refused, 409, "conflict")
        assert words in refused.json()["error"]["message"]
        assert await draft_of(maria, slug, qid) is None, "a refused claim leaves nothing"
    # A question never published does not exist for a panelist, like an unknown id.
    for qid in (pending, 999_999):
        assert_error_shape(await post_json(maria, draft_url(slug, qid, "claim")), 404, "not_found")
        assert_error_shape(await maria.get(draft_url(slug, qid)), 404, "not_found")


async def test_a_panelist_never_sees_a_pending_or_rejected_question(
    server: LiveServer, event: dict[str, Any], maria: httpx.AsyncClient
) -> None:
    """Unpublished text is for editors only: no console route shows it, whatever id is asked
    for, and no draft can be kept on it (a draft keeps its question in view)."""
    slug = event["slug"]
    pending = await post_as(server, event["id"], "a", "PENDING-SECRET 07700 900123")
    rejected = await post_as(server, event["id"], "b", "REJECTED-SECRET abuse")
    await server.acall(lambda: server.actions.moderate(rejected.id, "reject", EDITOR))
    for question in (pending, rejected):
        secret = question.body.split()[0]
        for url, params in (
            (f"/console/{slug}", {"answer": question.id}),
            (f"/console/{slug}", {"flag": question.id}),
            (f"/console/{slug}/questions", {"keep": question.id}),
        ):
            page = await maria.get(url, params=params)
            assert page.status_code == 200 and secret not in page.text, (url, params)
        compose = await maria.get(f"/console/{slug}/compose", params={"answer": question.id})
        assert compose.status_code == 404 and secret not in compose.text
        for action in ("draft", "release"):
            refused = await post_json(maria, draft_url(slug, question.id, action), {"body": "x"})
            assert_error_shape(refused, 404, "not_found")
        assert secret not in (await maria.get(f"/console/{slug}")).text


async def test_only_this_events_signed_in_panelists_can_claim_or_save(
    server: LiveServer, event: dict[str, Any], maria: httpx.AsyncClient
) -> None:
    slug = event["slug"]
    qid = await published_question(server, event, "Whose is this?")
    other = await server.acall(lambda: seed_event(server.actions, slug="another"))
    outsider = await console_for(server, other["id"], other["core"][0])
    try:
        # Through this event's URLs (not signed in to it), and through their own event's.
        for base in (slug, other["slug"]):
            for action, body in (("claim", {}), ("draft", {"body": "Mine now"})):
                refused = await post_json(outsider, draft_url(base, qid, action), body)
                assert refused.status_code in (403, 404), refused.text
                assert_error_shape(refused, refused.status_code)
            assert (await outsider.get(draft_url(base, qid))).status_code in (403, 404)
    finally:
        await outsider.aclose()
    async with client_for(server) as stranger:
        for action, body in (("claim", {}), ("draft", {"body": "x"}), ("release", {})):
            assert_error_shape(
                await post_json(stranger, draft_url(slug, qid, action), body), 403, "forbidden"
            )
        assert_error_shape(await stranger.get(draft_url(slug, qid)), 403, "forbidden")

    async def drafts() -> list[Any]:
        async with server.services.store.read() as repo:
            return await repo.drafts_for_event(event["id"])

    assert await server.acall(drafts) == [], "no draft or claim row was written"


# -- limits and bad input ---------------------------------------------------------------------
async def test_a_draft_over_the_limit_is_refused_and_the_saved_one_kept(
    server: LiveServer, event: dict[str, Any], maria: httpx.AsyncClient
) -> None:
    slug = event["slug"]
    limit = server.services.settings.answer_max_chars
    qid = await published_question(server, event, "Long answer?")
    await save(maria, slug, qid, "The short version ")

    too_long = await post_json(maria, draft_url(slug, qid), {"body": "é" * (limit + 1)})
    assert_error_shape(too_long, 422, "too_long")
    message = too_long.json()["error"]["message"]
    assert f"{limit + 1:,}" in message and f"{limit:,}" in message, message
    control = await post_json(maria, draft_url(slug, qid), {"body": "Ding\x07"})
    assert_error_shape(control, 422, "invalid")
    not_text = await post_json(maria, draft_url(slug, qid), {"body": ["a list"]})
    assert_error_shape(not_text, 422, "invalid")
    assert (await draft_of(maria, slug, qid))["body"] == "The short version "

    # Exactly at the limit is fine.
    assert (await save(maria, slug, qid, "a" * limit))["body"] == "a" * limit


async def test_a_draft_call_needs_a_same_origin_json_body(
    server: LiveServer, event: dict[str, Any], maria: httpx.AsyncClient
) -> None:
    slug = event["slug"]
    qid = await published_question(server, event, "Bad bodies")
    await save(maria, slug, qid, "Kept")
    url = draft_url(slug, qid)
    assert_error_shape(await maria.post(url, data={"body": "a form"}), 400, "bad_request")
    assert_error_shape(
        await maria.post(url, content=b"{not json", headers={"Content-Type": "application/json"}),
        400,
        "bad_request",
    )
    assert_error_shape(await maria.post(url, json=["body"]), 400, "bad_request")
    cross_site = await maria.post(
        url, json={"body": "Forged"}, headers={"Origin": "http://evil.example"}
    )
    assert_error_shape(cross_site, 403, "forbidden")
    assert (await draft_of(maria, slug, qid))["body"] == "Kept"


async def test_a_console_note_over_the_limit_comes_back_with_its_text(
    server: LiveServer, event: dict[str, Any], maria: httpx.AsyncClient, editor: httpx.AsyncClient
) -> None:
    slug = event["slug"]
    limit = server.services.settings.note_max_chars
    start = 'Say "hi" & <b>bye</b> '
    text = start + "x" * (limit + 1 - len(start))
    token = await csrf_of(maria, f"/console/{slug}")
    refused = await maria.post(
        f"/console/{slug}/notes", data={"csrf_token": token, "body": text, "about": ""}
    )
    assert refused.status_code == 422
    # Parsed back, the value is the text itself: quotes and tags were escaped, not cut.
    assert element(refused.text, "note-body").attrs["value"] == text
    assert "<b>bye</b>" not in refused.text
    error = element(refused.text, "note-error").text
    assert f"{limit + 1:,}" in error and f"{limit:,}" in error, error
    assert "No notes yet." in (await editor.get(f"/desk/events/{slug}/backstage")).text


async def test_a_desk_note_over_the_limit_comes_back_with_its_text(
    server: LiveServer, event: dict[str, Any], editor: httpx.AsyncClient
) -> None:
    slug = event["slug"]
    limit = server.services.settings.note_max_chars
    start = 'Sandra, <i>can</i> you take "this" & that? '
    text = start + "y" * (limit + 1 - len(start))
    token = await csrf_of(editor, f"/desk/events/{slug}")
    refused = await editor.post(
        f"/desk/events/{slug}/notes",
        data={"csrf_token": token, "body": text, "to": str(event["core"][0]), "about": ""},
    )
    assert refused.status_code == 422
    assert element(refused.text, "note-body").text == text
    assert "<i>can</i>" not in refused.text
    error = element(refused.text, "note-error").text
    assert f"{limit + 1:,}" in error and f"{limit:,}" in error, error
    assert "No notes yet." in (await editor.get(f"/desk/events/{slug}/backstage")).text


# -- a refused publish keeps the text ---------------------------------------------------------
async def test_a_refused_publish_without_javascript_keeps_the_typed_text(
    server: LiveServer, event: dict[str, Any], maria: httpx.AsyncClient
) -> None:
    """The question is withdrawn while Maria types: her text comes back in the box."""
    slug = event["slug"]
    qid = await published_question(server, event, "Going, going")
    await server.acall(lambda: server.actions.moderate(qid, "withdraw", EDITOR))
    typed = 'My <em>long</em> answer & "quotes"\nover two lines'
    refused = await answer_form(maria, slug, qid, typed)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("text/html")
    assert element(refused.text, "composer-body").text == typed
    assert "<em>long</em>" not in refused.text
    assert "Only a published question" in element(refused.text, "composer-status").text

    as_json = await answer_form(maria, slug, qid, typed, headers={"Accept": "application/json"})
    assert_error_shape(as_json, 422, "invalid")


async def test_a_publish_after_the_transcript_is_out_is_refused_and_keeps_the_text(
    server: LiveServer, event: dict[str, Any], maria: httpx.AsyncClient
) -> None:
    """A closed event still takes answers (docs/desk.md); a published one does not."""
    slug = event["slug"]
    qid = await published_question(server, event, "Too late?")
    await server.acall(lambda: server.actions.set_status(event["id"], "closed", EDITOR))
    late = await answer_form(
        maria, slug, qid, "Closed is fine", headers={"Accept": "application/json"}
    )
    assert late.status_code == 201, late.text

    await server.acall(lambda: server.actions.publish_transcript(event["id"], EDITOR))
    typed = "One more <thing> & then"
    refused = await answer_form(maria, slug, qid, typed)
    assert refused.status_code == 422
    assert element(refused.text, "composer-body").text == typed
    assert "not taking answers" in element(refused.text, "composer-status").text
    as_json = await answer_form(maria, slug, qid, typed, headers={"Accept": "application/json"})
    assert_error_shape(as_json, 422, "invalid")
    refused_claim = await post_json(maria, draft_url(slug, qid, "claim"))
    assert_error_shape(refused_claim, 409, "conflict")


# -- backstage --------------------------------------------------------------------------------
async def test_backstage_notes_reach_only_their_audience(
    server: LiveServer,
    event: dict[str, Any],
    maria: httpx.AsyncClient,
    jenna: httpx.AsyncClient,
    editor: httpx.AsyncClient,
) -> None:
    slug, maria_id = event["slug"], event["core"][0]
    qid = await published_question(server, event, "Is this legal advice?")
    to_panel, to_maria, flag = (f"{kind} {uuid.uuid4().hex}" for kind in ("panel", "maria", "flag"))
    desk_token = await csrf_of(editor, f"/desk/events/{slug}")
    for body, to in ((to_panel, ""), (to_maria, str(maria_id))):
        sent = await editor.post(
            f"/desk/events/{slug}/notes",
            data={"csrf_token": desk_token, "body": body, "to": to, "about": ""},
        )
        assert sent.status_code == 303, sent.text
    token = await csrf_of(maria, f"/console/{slug}")
    flagged = await maria.post(
        f"/console/{slug}/notes", data={"csrf_token": token, "body": flag, "about": str(qid)}
    )
    assert flagged.status_code == 303, flagged.text

    mine = (await maria.get(f"/console/{slug}/backstage")).text
    theirs = (await jenna.get(f"/console/{slug}/backstage")).text
    desk = (await editor.get(f"/desk/events/{slug}/backstage")).text
    assert to_panel in mine and to_panel in theirs and to_panel in desk
    assert to_maria in mine and to_maria not in theirs and to_maria in desk
    assert flag in mine and flag not in theirs and flag in desk
    assert f"about #{qid}" in desk

    queue = await editor.get(f"/desk/events/{slug}/queue")
    assert f"Flagged by Maria Ashdown: {flag}" in element(queue.text, f"published-{qid}").text
    audit = await editor.get(f"/desk/events/{slug}/audit")
    assert audit.status_code == 200
    assert audit.text.count('data-action="backstage.note"') == 3


async def test_a_panelist_cannot_use_the_desk_note_form(
    server: LiveServer, event: dict[str, Any], maria: httpx.AsyncClient, editor: httpx.AsyncClient
) -> None:
    slug = event["slug"]
    text = f"posing as an editor {uuid.uuid4().hex}"
    token = await csrf_of(maria, f"/console/{slug}")
    refused = await maria.post(
        f"/desk/events/{slug}/notes", data={"csrf_token": token, "body": text, "to": ""}
    )
    assert refused.status_code in (303, 401, 403), refused.text
    if refused.status_code == 303:
        assert refused.headers["location"].startswith("/desk/login")
    assert (await maria.get(f"/desk/events/{slug}/backstage")).status_code == 401
    assert text not in (await editor.get(f"/desk/events/{slug}/backstage")).text
    assert text not in (await maria.get(f"/console/{slug}/backstage")).text


async def test_backstage_notes_never_reach_a_reader_surface(
    server: LiveServer,
    settings: Settings,
    event: dict[str, Any],
    maria: httpx.AsyncClient,
    editor: httpx.AsyncClient,
) -> None:
    """Notes (and private drafts) carry unique markers; no public page, feed or export has one."""
    slug = event["slug"]
    qid = await published_question(server, event, "What would you tell your younger self?")
    other = await published_question(server, event, "Any regrets?")
    markers = {name: uuid.uuid4().hex for name in ("panel", "maria", "flag", "draft")}
    hostile = f"<script>alert('{markers['panel']}')</script>"
    staff = await staff_socket(server, slug, editor)
    try:
        desk_token = await csrf_of(editor, f"/desk/events/{slug}")
        ids = []
        for body, to, about in (
            (hostile, "", ""),
            (f"Maria, take #{qid}? {markers['maria']}", str(event["core"][0]), str(qid)),
        ):
            sent = await editor.post(
                f"/desk/events/{slug}/notes",
                data={"csrf_token": desk_token, "body": body, "to": to, "about": about},
                headers={"Accept": "application/json"},
            )
            assert sent.status_code == 201, sent.text
            ids.append(sent.json()["id"])
        flagged = await maria.post(
            f"/console/{slug}/notes",
            data={
                "csrf_token": await csrf_of(maria, f"/console/{slug}"),
                "body": f"Needs a legal check <b>{markers['flag']}</b>",
                "about": str(qid),
            },
            headers={"Accept": "application/json"},
        )
        assert flagged.status_code == 201, flagged.text
        ids.append(flagged.json()["id"])
        await save(maria, slug, other, f"private draft {markers['draft']}")
        answered = await answer_form(
            maria, slug, qid, "Keep a diary.", headers={"Accept": "application/json"}
        )
        assert answered.status_code == 201, answered.text

        # Staff hear of each note by id only.
        for note_id in ids:
            await staff.until(lambda _, n=note_id: notices(staff, {"note": n}), what="a note")
        staff_raw = "".join(staff.raw)
        assert not [m for m in markers.values() if m in staff_raw]
    finally:
        await staff.close()

    # Staff views show the notes, escaped.
    for client, url in (
        (editor, f"/desk/events/{slug}/backstage"),
        (editor, f"/desk/events/{slug}"),
        (editor, f"/desk/events/{slug}/audit"),
        (maria, f"/console/{slug}/backstage"),
        (maria, f"/console/{slug}"),
    ):
        page = await client.get(url)
        assert page.status_code == 200, url
        assert markers["panel"] in page.text, url
        assert "<script>alert" not in page.text and "<b>" + markers["flag"] not in page.text, url

    async def scan(client: httpx.AsyncClient, urls: list[str]) -> str:
        seen = []
        for url in urls:
            response = await client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            leaked = [name for name, m in markers.items() if m in response.text]
            assert not leaked, f"{leaked} leaked into {url}"
            seen.append(response.text)
        return "".join(seen)

    async with client_for(server) as reader:
        live_urls = [
            f"/events/{slug}",
            f"/events/{slug}/embed",
            f"/api/v1/events/{slug}",
            f"/api/v1/events/{slug}/questions",
            f"/api/v1/events/{slug}/stream?since=0",
        ]
        seen = await scan(reader, live_urls)
        assert "Keep a diary." in seen, "the scan covers pages with the event's content"
        stream = json.dumps(await log_frames(reader, slug))
        assert not [m for m in markers.values() if m in stream]
        end = await last_seq(reader, slug)
        socket = await Reader.open(server, slug, since=0)
        try:
            await socket.until_seq(end)
            raw = "".join(socket.raw)
            assert "Keep a diary." in raw
            assert not [m for m in markers.values() if m in raw]
        finally:
            await socket.close()

        await server.acall(lambda: server.actions.set_status(event["id"], "closed", EDITOR))
        await server.acall(lambda: server.actions.publish_transcript(event["id"], EDITOR))
        archive_urls = [
            f"/archive/{slug}",
            f"/archive/{slug}.md",
            f"/archive/{slug}.json",
            "/archive/feed.atom",
            "/archive",
            *live_urls[1:],  # the event page itself now redirects to the archive
        ]
        seen = await scan(reader, archive_urls)
        assert "Keep a diary." in seen and "What would you tell your younger self?" in seen
        # Search echoes its query, so each marker must find nothing, like a never-used word.
        assert 'class="search-hit"' in (await reader.get("/archive?q=diary")).text
        assert 'class="search-hit"' not in (await reader.get("/archive?q=legal+check")).text
        for marker in markers.values():
            hits = await reader.get("/archive", params={"q": marker})
            assert hits.status_code == 200
            assert "0 results for" in hits.text and 'class="search-hit"' not in hits.text

    async def document() -> Any:
        async with server.services.store.read() as repo:
            return await repo.published_document(slug)

    row = await server.acall(document)
    assert row is not None
    snapshot = json.loads(row["published_json"])
    for text in (
        row["published_json"],
        exports.transcript_markdown(snapshot, server.url),
        json.dumps(exports.transcript_json(snapshot, server.url)),
        exports.transcript_html(snapshot, server.url, settings.templates_dir),
    ):
        assert "Keep a diary." in text
        assert not [m for m in markers.values() if m in text]
