"""Editor presence on the moderation desk: reports, the 30 s lapse on the injected clock, the
staff notices that make other desks refresh, and who may see it (editors only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from panel.actions import Actions
from panel.clock import FakeClock
from panel.domain import Actor, Frame, RuleError
from panel.presence import LAPSE, editors_here
from panel.store import Store
from tests.conftest import LiveServer, seed_event
from tests.pgdb import BOTH_STORES
from tests.test_desk import ask, csrf_of, signed_in


class Notices:
    """The staff notices each committed write sends, as the publisher receives them."""

    def __init__(self, store: Store) -> None:
        self.seen: list[dict[str, Any]] = []
        store.on_commit(self.hand_over)

    def hand_over(self, frames: Sequence[Frame]) -> None:
        self.seen += [f.data for f in frames if f.seq is None]

    def take(self) -> list[dict[str, Any]]:
        taken, self.seen = self.seen, []
        return taken


async def here(actions: Actions, event_id: int) -> list[tuple[str, int | None]]:
    async with actions.store.read() as repo:
        editors = await editors_here(repo, event_id, actions.clock.now())
    return [(e.name, e.question_id) for e in editors]


@pytest.fixture
async def desk(actions: Actions, store: Store) -> dict[str, Any]:
    info = await seed_event(actions, status="live")
    anna = await actions.create_editor("anna", "a long enough password")
    ben = await actions.create_editor("ben", "a long enough password")
    question, _ = await actions.post_question(info["id"], "reader-1", "Is the training paid?")
    return {
        **info,
        "anna": Actor("editor", anna),
        "ben": Actor("editor", ben),
        "question": question.id,
        "notices": Notices(store),
    }


@BOTH_STORES
async def test_presence_lapses_30_seconds_after_the_last_report(
    actions: Actions, clock: FakeClock, desk: dict[str, Any]
) -> None:
    event_id, anna, notices = desk["id"], desk["anna"], desk["notices"]
    await actions.presence.report(event_id, anna)
    assert await here(actions, event_id) == [("anna", None)]
    assert notices.take() == [{"presence": anna.id}]

    # A heartbeat that changes nothing renews the entry without a notice.
    clock.advance(seconds=20)
    await actions.presence.report(event_id, anna, "")
    assert notices.take() == []
    clock.advance(seconds=LAPSE.total_seconds())  # exactly 30 s after the renewal: still here
    assert await here(actions, event_id) == [("anna", None)]
    clock.advance(seconds=1)
    assert await here(actions, event_id) == []

    # Coming back after the lapse is a change again.
    await actions.presence.report(event_id, anna)
    assert notices.take() == [{"presence": anna.id}]


@BOTH_STORES
async def test_moving_to_a_question_and_leaving_are_announced(
    actions: Actions, clock: FakeClock, desk: dict[str, Any]
) -> None:
    event_id, anna, question, notices = desk["id"], desk["anna"], desk["question"], desk["notices"]
    await actions.presence.report(event_id, anna)
    notices.take()
    await actions.presence.report(event_id, anna, str(question))
    assert await here(actions, event_id) == [("anna", question)]
    assert notices.take() == [{"presence": anna.id}]
    await actions.presence.report(event_id, anna, question)
    assert notices.take() == []

    await actions.presence.leave(event_id, anna)
    assert await here(actions, event_id) == []
    assert notices.take() == [{"presence": anna.id}]
    await actions.presence.leave(event_id, anna)  # already gone: nothing to announce
    assert notices.take() == []


@BOTH_STORES
async def test_a_desk_that_stopped_reporting_is_removed_and_announced_by_the_next_report(
    actions: Actions, clock: FakeClock, desk: dict[str, Any]
) -> None:
    event_id, anna, ben, notices = desk["id"], desk["anna"], desk["ben"], desk["notices"]
    await actions.presence.report(event_id, ben, desk["question"])
    clock.advance(seconds=25)
    await actions.presence.report(event_id, anna)
    assert await here(actions, event_id) == [("anna", None), ("ben", desk["question"])]
    notices.take()

    clock.advance(seconds=10)  # ben's tab closed without a goodbye 35 s ago; anna reported 10 s ago
    await actions.presence.report(event_id, anna)
    assert notices.take() == [{"presence": ben.id}]
    assert await here(actions, event_id) == [("anna", None)]
    async with actions.store.read() as repo:
        assert await repo.presence_of(event_id, ben.id) is None  # removed, not only hidden


@BOTH_STORES
async def test_bad_reports_are_refused_and_change_nothing(
    actions: Actions, desk: dict[str, Any]
) -> None:
    event_id, anna = desk["id"], desk["anna"]
    other = await seed_event(actions, slug="other-event", status="live")
    elsewhere, _ = await actions.post_question(other["id"], "reader-2", "Another event's question")
    desk["notices"].take()
    with pytest.raises(RuleError) as refused:
        await actions.presence.report(event_id, anna, elsewhere.id)
    assert refused.value.code == "not_found"
    with pytest.raises(RuleError) as refused:
        await actions.presence.report(event_id, anna, "fourteen")
    assert refused.value.code == "invalid"
    with pytest.raises(RuleError) as refused:
        await actions.presence.report(event_id, Actor("panelist", desk["core"][0]))
    assert refused.value.code == "forbidden"
    assert await here(actions, event_id) == []
    assert desk["notices"].take() == []


async def test_the_desk_shows_other_editors_and_nobody_else_sees_them(server: LiveServer) -> None:
    info = await server.acall(lambda: seed_event(server.actions, status="live"))
    slug, question = info["slug"], await ask(server, info["id"], "Is the training paid?")
    desk = f"/desk/events/{slug}"
    async with signed_in(server, "anna") as anna, signed_in(server, "ben") as ben:
        refused = await ben.post(f"{desk}/presence", data={"question_id": question})
        assert refused.status_code == 403  # no CSRF token
        token = csrf_of((await ben.get(desk)).text)
        sent = await ben.post(
            f"{desk}/presence", data={"csrf_token": token, "question_id": question}
        )
        assert sent.status_code == 204

        fragment = (await anna.get(f"{desk}/queue")).text
        assert 'Also here: <span id="also-here-names">ben</span>' in fragment
        assert "ben is on this" in fragment
        own = (await ben.get(f"{desk}/queue")).text
        assert "Also here" not in own and "is on this" not in own  # never yourself

        async with httpx.AsyncClient(base_url=server.url) as reader:
            assert "ben" not in (await reader.get(f"/events/{slug}")).text
            outsider = await reader.post(f"{desk}/presence", data={"csrf_token": token})
            assert outsider.status_code in (401, 403)

        await ben.post(f"{desk}/presence", data={"csrf_token": token, "leaving": "1"})
        assert "Also here" not in (await anna.get(f"{desk}/queue")).text
