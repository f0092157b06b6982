"""Undo of an editor's destructive action (panel/undo.py), the confirmation page without
JavaScript (panel/web/desk_confirm.py), and "first decision wins" naming who decided."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest

from panel.actions import Actions
from panel.clock import FakeClock
from panel.domain import Actor, EventStatus, QuestionStatus, RuleError
from panel.store import Store
from tests.conftest import LiveServer, seed_event
from tests.pgdb import BOTH_STORES
from tests.test_desk import csrf_of, form_post, signed_in

ANNA = Actor("editor", 1, "Anna")
BEN = Actor("editor", 2, "Ben")


@pytest.fixture
async def live(actions: Actions) -> dict[str, Any]:
    """The standard event, live (the clock is at 13:30 London time, 12:30 UTC)."""
    info = await seed_event(actions)
    await actions.run_due_transitions(info["id"])
    return info


async def ask(actions: Actions, event_id: int, body: str, reader: str = "r1") -> int:
    question, _ = await actions.post_question(event_id, reader, body)
    return question.id


async def published(actions: Actions, event_id: int, body: str) -> int:
    qid = await ask(actions, event_id, body)
    await actions.moderate(qid, "approve", ANNA)
    return qid


async def withdrawn(actions: Actions, event_id: int, body: str) -> tuple[int, int]:
    """A question Anna published and then withdrew, and her undo token for that."""
    qid = await published(actions, event_id, body)
    await actions.moderate(qid, "withdraw", ANNA)
    token = await actions.undo.offer(ANNA, event_id, f"question:{qid}")
    assert token is not None
    return qid, token


async def last_seq(store: Store, event_id: int) -> int:
    async with store.read() as repo:
        return await repo.last_seq(event_id)


async def frames_since(store: Store, event_id: int, since: int) -> list[tuple[str, Any]]:
    """(type, the question's or answer's id, or the status) of each frame after `since`."""
    async with store.read() as repo:
        frames = await repo.frames_since(event_id, since)
    out: list[tuple[str, Any]] = []
    for f in frames:
        data = f.data
        key = data.get("question", data.get("answer", {})).get("id", data.get("status"))
        out.append((f.type, key))
    return out


async def question(store: Store, qid: int) -> Any:
    async with store.read() as repo:
        return await repo.question(qid)


# -- each inverse restores the state ---------------------------------------------------------
@BOTH_STORES
async def test_undo_close_reopens_the_event_and_tells_readers(
    actions: Actions, store: Store, live: dict[str, Any]
) -> None:
    await actions.set_status(live["id"], "closed", ANNA)
    since = await last_seq(store, live["id"])
    token = await actions.undo.offer(ANNA, live["id"], f"event:{live['slug']}")
    assert token is not None
    assert await actions.undo.undo(token, ANNA) == "Undone: the event is live again."
    async with store.read() as repo:
        event = await repo.event_by_id(live["id"])
        entries = await repo.audit_entries(live["id"])
    assert event is not None and event.status == EventStatus.LIVE
    assert await frames_since(store, live["id"], since) == [("event.status", "live")]
    assert entries[0]["action"] == "event.undo"
    assert json.loads(entries[0]["after_json"]) == {"status": "live", "undid": token}


@BOTH_STORES
async def test_undo_ban_and_reject_unbans_and_requeues_without_a_reader_frame(
    actions: Actions, store: Store, live: dict[str, Any]
) -> None:
    qid = await ask(actions, live["id"], "Buy my course", reader="flooder")
    before = await question(store, qid)
    await actions.ban_and_reject(qid, ANNA)
    with pytest.raises(RuleError, match="no longer post"):
        await ask(actions, live["id"], "More spam", reader="flooder")
    since = await last_seq(store, live["id"])
    token = await actions.undo.offer(ANNA, live["id"], f"question:{qid}")
    assert token is not None
    await actions.undo.undo(token, ANNA)
    after = await question(store, qid)
    assert (after.status, after.reject_reason) == (QuestionStatus.PENDING, "")
    assert (after.body, after.upvotes, after.pinned) == (before.body, before.upvotes, False)
    assert await frames_since(store, live["id"], since) == []  # nothing public happened
    async with store.read() as repo:
        assert not await repo.is_banned(live["id"], "flooder")


@BOTH_STORES
async def test_undo_withdraw_republishes_the_question_and_its_answers_in_order(
    actions: Actions, store: Store, live: dict[str, Any]
) -> None:
    qid = await published(actions, live["id"], "What does a caseload look like?")
    await actions.moderate(qid, "pin", ANNA)
    maria = Actor("panelist", live["core"][0], "Maria Ashdown")
    jenna = Actor("panelist", live["core"][1], "Jenna Holt")
    first = await actions.answer(qid, "About forty cases.", maria)
    second = await actions.answer(qid, "It varies.", jenna)
    withdrawn_answer = await actions.answer(qid, "Withdrawn already.", jenna)
    await actions.withdraw_answer(withdrawn_answer, ANNA)
    await actions.moderate(qid, "withdraw", ANNA)
    since = await last_seq(store, live["id"])
    token = await actions.undo.offer(ANNA, live["id"], f"question:{qid}")
    assert token is not None
    await actions.undo.undo(token, ANNA)
    after = await question(store, qid)
    assert (after.status, after.pinned) == (QuestionStatus.APPROVED, True)
    assert await frames_since(store, live["id"], since) == [
        ("question.published", qid),
        ("answer.published", first),
        ("answer.published", second),
    ]


@BOTH_STORES
async def test_undo_withdraw_answer_republishes_it(
    actions: Actions, store: Store, live: dict[str, Any]
) -> None:
    qid = await published(actions, live["id"], "Do you work weekends?")
    answer_id = await actions.answer(qid, "Sometimes.", Actor("panelist", live["core"][0], "M"))
    await actions.withdraw_answer(answer_id, ANNA)
    since = await last_seq(store, live["id"])
    token = await actions.undo.offer(ANNA, live["id"], f"answer:{answer_id}")
    assert token is not None
    await actions.undo.undo(token, ANNA)
    async with store.read() as repo:
        answer = await repo.answer(answer_id)
    assert answer is not None and answer.status == "published"
    assert await frames_since(store, live["id"], since) == [("answer.published", answer_id)]


# -- refusals ------------------------------------------------------------------------------
@BOTH_STORES
async def test_undo_is_refused_after_another_editor_acted(
    actions: Actions, store: Store, live: dict[str, Any]
) -> None:
    qid = await ask(actions, live["id"], "Hello?", reader="flooder")
    await actions.ban_and_reject(qid, ANNA)
    token = await actions.undo.offer(ANNA, live["id"], f"question:{qid}")
    assert token is not None
    await actions.moderate(qid, "direct", BEN, to=live["core"][0])
    async with store.read() as repo:
        name = {p.id: p.name for p in (await repo.lineup(live["id"])).everyone()}[live["core"][0]]
    refusal = rf"^Cannot undo: Ben directed #{qid} to {name} after you\.$"
    with pytest.raises(RuleError, match=refusal):
        await actions.undo.undo(token, ANNA)
    assert (await question(store, qid)).status == QuestionStatus.REJECTED

    await actions.set_status(live["id"], "closed", ANNA)
    closed = await actions.undo.offer(ANNA, live["id"], f"event:{live['slug']}")
    assert closed is not None
    await actions.set_status(live["id"], "live", BEN)
    await actions.set_status(live["id"], "closed", BEN)
    with pytest.raises(RuleError, match="^Cannot undo: Ben reopened the event"):
        await actions.undo.undo(closed, ANNA)


async def test_undo_is_refused_after_a_change_without_an_audit_entry(
    actions: Actions, store: Store, live: dict[str, Any], clock: FakeClock
) -> None:
    """A change that is not an editor's (here a vote tally's write) also blocks the undo."""
    qid, token = await withdrawn(actions, live["id"], "Counted?")
    clock.advance(seconds=1)
    await store.write(lambda repo: repo.update_question(qid, clock.now(), upvotes=3))
    with pytest.raises(RuleError, match=rf"^Cannot undo: #{qid} has changed since\.$"):
        await actions.undo.undo(token, ANNA)


@BOTH_STORES
async def test_undo_is_refused_too_late_and_to_another_editor(
    actions: Actions, store: Store, live: dict[str, Any], clock: FakeClock
) -> None:
    qid, token = await withdrawn(actions, live["id"], "Late?")
    with pytest.raises(RuleError, match=r"^Only the editor who did it can undo it\.$"):
        await actions.undo.undo(token, BEN)
    clock.advance(seconds=actions.settings.undo_seconds + 1)
    with pytest.raises(RuleError, match=r"^Cannot undo after 30 seconds\.$"):
        await actions.undo.undo(token, ANNA)
    assert (await question(store, qid)).status == QuestionStatus.WITHDRAWN


async def test_undo_just_inside_the_window_works_once(
    actions: Actions, store: Store, live: dict[str, Any], clock: FakeClock
) -> None:
    qid, token = await withdrawn(actions, live["id"], "Slow click?")
    clock.advance(seconds=actions.settings.undo_seconds - 1)
    await actions.undo.undo(token, ANNA)
    assert (await question(store, qid)).status == QuestionStatus.APPROVED
    with pytest.raises(RuleError, match=r"^That was already undone\.$"):
        await actions.undo.undo(token, ANNA)


async def test_reopening_is_refused_once_the_end_time_has_passed(
    actions: Actions, store: Store, live: dict[str, Any], clock: FakeClock
) -> None:
    async with store.read() as repo:
        event = await repo.event_by_id(live["id"])
    assert event is not None
    clock.set(event.ends_at - timedelta(seconds=5))
    await actions.set_status(live["id"], "closed", ANNA)
    token = await actions.undo.offer(ANNA, live["id"], f"event:{live['slug']}")
    assert token is not None
    clock.advance(seconds=10)
    with pytest.raises(RuleError, match="end time has passed"):
        await actions.undo.undo(token, ANNA)
    async with store.read() as repo:
        assert (await repo.event_by_id(live["id"])).status == EventStatus.CLOSED  # type: ignore[union-attr]


async def test_only_destructive_actions_are_offered_an_undo(
    actions: Actions, live: dict[str, Any]
) -> None:
    qid = await ask(actions, live["id"], "Approve me")
    await actions.moderate(qid, "approve", ANNA)
    assert await actions.undo.offer(ANNA, live["id"], f"question:{qid}") is None
    plain = await ask(actions, live["id"], "Reject me, no ban", reader="r2")
    await actions.moderate(plain, "reject", ANNA)
    assert await actions.undo.offer(ANNA, live["id"], f"question:{plain}") is None
    await actions.moderate(qid, "withdraw", ANNA)
    assert await actions.undo.offer(BEN, live["id"], f"question:{qid}") is None
    with pytest.raises(RuleError, match="nothing to undo"):
        await actions.undo.undo(10**6, ANNA)


# -- first decision wins, naming who -------------------------------------------------------
@BOTH_STORES
async def test_the_second_decision_names_who_decided_and_when(
    actions: Actions, live: dict[str, Any]
) -> None:
    qid = await ask(actions, live["id"], "Who decides?")
    await actions.moderate(qid, "approve", ANNA)
    # 12:30 UTC is 13:30 in London (British Summer Time), the event's time zone.
    expected = r"^Anna already approved this question at 13:30\.$"
    for action in ("reject", "approve"):
        with pytest.raises(RuleError, match=expected) as refused:
            await actions.moderate(qid, action, BEN)
        assert refused.value.code == "already_moderated"
    with pytest.raises(RuleError, match=expected):
        await actions.ban_and_reject(qid, BEN)


async def test_the_api_refusal_names_who_decided(server: LiveServer) -> None:
    info = await server.acall(lambda: seed_event(server.actions))
    await server.acall(lambda: server.actions.run_due_transitions(info["id"]))
    qid, _ = await server.acall(lambda: server.actions.post_question(info["id"], "r1", "Q?"))
    await server.acall(lambda: server.actions.moderate(qid.id, "reject", ANNA))
    async with signed_in(server) as client:
        response = await client.post(
            f"/api/v1/questions/{qid.id}/moderate", json={"action": "approve"}
        )
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "already_moderated",
        "message": "Anna already rejected this question at 13:30.",
    }


# -- confirmation without JavaScript, and Undo over HTTP -------------------------------------
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def confirmation_of(html: str) -> tuple[str, dict[str, list[str]]]:
    """The confirmation's question and the fields its button re-posts."""
    match = re.search(r'<p class="confirm-question">([^<]*)</p>', html)
    assert match, "a confirmation page"
    fields: dict[str, list[str]] = {}
    for name, value in HIDDEN.findall(html):
        fields.setdefault(name, []).append(value)
    return match.group(1), fields


async def test_close_without_confirm_asks_first_and_undo_reopens(server: LiveServer) -> None:
    info = await server.acall(lambda: seed_event(server.actions))
    await server.acall(lambda: server.actions.run_due_transitions(info["id"]))
    queue = f"/desk/events/{info['slug']}"
    async with signed_in(server) as client:
        asked = await form_post(client, queue, f"{queue}/status", {"status": "closed"})
        assert asked.status_code == 200
        text, fields = confirmation_of(asked.text)
        assert text == (
            "Close the event now? Readers will no longer be able to ask questions."
            " The clock would otherwise close it at 16:00."
        )
        assert fields["status"] == ["closed"] and fields["confirm"] == ["yes"]
        assert f'href="{queue}"' in asked.text  # Cancel goes back to the desk
        assert (await client.get(f"/api/v1/events/{info['slug']}")).json()["status"] == "live"

        done = await client.post(f"{queue}/status", data={k: v[0] for k, v in fields.items()})
        assert done.status_code == 303
        assert (await client.get(f"/api/v1/events/{info['slug']}")).json()["status"] == "closed"
        page = (await client.get(queue)).text
        assert "Event closed." in page
        undo = re.search(r'action="(/desk/undo/\d+)"', page)
        assert undo, "the notice offers Undo"
        back = await client.post(undo.group(1), data={"csrf_token": csrf_of(page)})
        assert back.status_code == 303 and back.headers["location"] == queue
        assert (await client.get(f"/api/v1/events/{info['slug']}")).json()["status"] == "live"
        assert "Undone: the event is live again." in (await client.get(queue)).text


async def test_destructive_question_forms_ask_first_with_exact_words(server: LiveServer) -> None:
    a = server.actions
    info = await server.acall(lambda: seed_event(a))
    await server.acall(lambda: a.run_due_transitions(info["id"]))

    async def ask_one(body: str, reader: str) -> int:
        q, _ = await a.post_question(info["id"], reader, body)
        return q.id

    spam = await server.acall(lambda: ask_one("Spam", "flooder"))
    kept = await server.acall(lambda: ask_one("Kept", "r1"))
    other = await server.acall(lambda: ask_one("Other", "r2"))
    for qid in (kept, other):
        await server.acall(lambda q=qid: a.moderate(q, "approve", ANNA))
    maria = Actor("panelist", info["core"][0], "Maria Ashdown")
    answers = [await server.acall(lambda n=n: a.answer(kept, f"Answer {n}", maria)) for n in (1, 2)]
    queue = f"/desk/events/{info['slug']}"
    async with signed_in(server) as client:
        for path, data, expected in (
            (
                f"/desk/questions/{spam}/moderate",
                {"action": "ban"},
                f"Reject question #{spam} and ban its author from this event?",
            ),
            (
                f"/desk/questions/{kept}/moderate",
                {"action": "withdraw"},
                f"Withdraw question #{kept} and its 2 answers from the reader page?",
            ),
            (
                f"{queue}/answers/{answers[0]}/withdraw",
                {},
                f"Withdraw the answer by Maria Ashdown to question #{kept} from the reader page?",
            ),
            (
                f"{queue}/bulk",
                {"action": "withdraw", "ids": [str(kept), str(other)]},
                f"Withdraw 2 questions (#{kept}, #{other}) from the reader page?",
            ),
        ):
            response = await form_post(client, queue, path, data)
            assert response.status_code == 200, path
            assert confirmation_of(response.text)[0] == expected
        # Nothing changed until confirmed.
        statuses = [(await server.acall(lambda q=q: _status(server, q))) for q in (spam, kept)]
        assert statuses == ["pending", "approved"]

        # One ticked question in a bulk action, and approvals, need no confirmation.
        single = await form_post(
            client, queue, f"{queue}/bulk", {"action": "withdraw", "ids": str(other)}
        )
        assert single.status_code == 303
        assert await server.acall(lambda: _status(server, other)) == "withdrawn"

        # Confirmed: done, and the notice offers Undo.
        done = await form_post(
            client,
            queue,
            f"/desk/questions/{kept}/moderate",
            {"action": "withdraw", "confirm": "yes"},
        )
        assert done.status_code == 303
        page = (await client.get(queue)).text
        assert f"Question #{kept} withdrawn." in page and "/desk/undo/" in page


async def _status(server: LiveServer, qid: int) -> str:
    async with server.services.store.read() as repo:
        q = await repo.question(qid)
    assert q is not None
    return str(q.status)
