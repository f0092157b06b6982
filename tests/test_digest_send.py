"""Sending the pre-event digest: one message per panelist with an address (their own questions
first), once however often the form is posted, and the scheduled digest exactly once across a
restart of the services on the same SQLite file (the injectable clock moves time)."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

from panel.actions import Actions
from panel.clock import FakeClock
from panel.config import Settings
from panel.forgetting import Forgetting
from panel.mail.config import NOT_CONFIGURED
from tests.conftest import EDITOR, EVENT_START, LiveServer, seed_event, wait_for
from tests.mailhelpers import (
    Recorder,
    free_port,
    outbox_rows,
    parts,
    running,
    smtp_server,
    with_mail,
)
from tests.test_security import browser, csrf_of, sign_in

BEFORE = EVENT_START - timedelta(hours=30)  # the clock: a day and a bit before the start
ADDRESSES = {0: "maria@example.org", 1: "jenna@example.org", 2: "sandra@example.org"}
REQUEST_KEY = re.compile(r'name="request_key" value="([^"]+)"')


async def seed(actions: Actions) -> dict[str, Any]:
    """The standard event; three of its five panelists have an address; a question put to
    Maria (1 vote), one to Kerry (no address), one to Jenna, and two to the whole panel."""
    info = await seed_event(actions)
    people = info["core"] + info["slotted"]  # Maria, Jenna, Sandra, Kerry, Chloe
    for index, address in ADDRESSES.items():
        await actions.roster.save_panelist(
            EDITOR, name=f"P{index}", role="", bio="", panelist_id=people[index], email=address
        )
    asked = [
        ("Maria, how did you train?", people[0], 1),
        ("Kerry, what is a typical day?", people[3], 0),
        ("Jenna, would you do it again?", people[1], 0),
        ("What does probation pay after five years?", None, 3),
        ("Is the work dangerous for officers?", None, 0),
    ]
    for n, (body, to, votes) in enumerate(asked):
        question, _ = await actions.post_question(info["id"], f"reader-{n}", body, "", to)
        await actions.moderate(question.id, "approve", EDITOR)
        for v in range(votes):
            await actions.upvote(question.id, f"voter-{n}-{v}")
    return info


def by_recipient(recorder: Recorder) -> dict[str, Any]:
    return {m["To"]: m for m in recorder.messages}


async def test_the_desk_sends_the_digest_to_each_panelist_with_an_address_once(
    settings: Settings,
) -> None:
    clock = FakeClock(BEFORE)
    recorder = Recorder()
    with smtp_server(recorder) as smtp:
        live = LiveServer(with_mail(settings, smtp.port), clock)
        live.start()
        try:
            await live.acall(lambda: seed(live.actions))
            async with browser(live) as editor:
                await sign_in(live, editor, "digest-editor")
                page = (await editor.get("/desk/events/probation/mail")).text
                assert "Send the digest to the panelists" in page
                assert "no address" in page  # Kerry and Chloe
                key = REQUEST_KEY.search(page)
                assert key
                form = {"csrf_token": csrf_of(page), "request_key": key.group(1)}
                url = "/desk/events/probation/digest/send"
                # A double click: the same form, posted twice at once.
                first, second = await asyncio.gather(
                    editor.post(url, data=form), editor.post(url, data=form)
                )
                assert first.status_code == second.status_code == 303
                rows = await wait_for(
                    lambda: live.acall(lambda: _all_sent(live.services)), 20, message="sent"
                )
                assert len(rows) == 3  # one each, though the form came twice
                page = (await editor.get("/desk/events/probation/mail")).text
                assert page.count("maria@example.org") >= 2  # the panel list and the outbox
        finally:
            live.stop()
    messages = by_recipient(recorder)
    assert len(recorder.messages) == 3 and set(messages) == set(ADDRESSES.values())
    maria = parts(messages["maria@example.org"])
    assert set(maria) == {"text/plain", "text/html"}
    text = maria["text/plain"]
    # Her own question first, then the rest, most upvoted first; Kerry's is there too.
    order = [
        text.index("Maria, how did you train?"),
        text.index("What does probation pay after five years?"),
        text.index("Is the work dangerous for officers?"),
    ]
    assert order == sorted(order) and "Kerry, what is a typical day?" in text
    assert "Maria, how did you train?" in maria["text/html"]
    # Each panelist's own questions come first: Jenna's before Maria's, though Maria sits
    # before her on the panel (and so comes first in everyone else's message).
    jenna = parts(messages["jenna@example.org"])["text/plain"]
    assert jenna.index("Jenna, would you do it again?") < jenna.index("Maria, how did you")
    assert text.index("Maria, how did you") < text.index("Jenna, would you do it again?")
    assert messages["maria@example.org"]["Subject"] == messages["jenna@example.org"]["Subject"]


async def test_without_email_the_desk_says_what_is_missing_and_queues_nothing(
    server: LiveServer,
) -> None:
    await server.acall(lambda: seed(server.actions))
    async with browser(server) as editor:
        await sign_in(server, editor, "no-mail")
        page = (await editor.get("/desk/events/probation/mail")).text
        assert NOT_CONFIGURED in page
        key = REQUEST_KEY.search(page)
        assert key
        sent = await editor.post(
            "/desk/events/probation/digest/send",
            data={"csrf_token": csrf_of(page), "request_key": key.group(1)},
        )
        assert sent.status_code == 303
        page = (await editor.get("/desk/events/probation/mail")).text
        assert page.count(NOT_CONFIGURED) >= 2  # the notice and the page's own line
        scheduled = await editor.post(
            "/desk/events/probation/digest/schedule",
            data={"csrf_token": csrf_of(page), "hours_before": "24"},
        )
        assert scheduled.status_code == 303
    assert await server.acall(lambda: outbox_rows(server.services)) == []

    async def schedule() -> Any:
        async with server.services.store.read() as repo:
            return await repo.digest_schedule(1)

    assert await server.acall(schedule) is None


async def test_the_scheduled_digest_is_sent_exactly_once_across_a_restart(
    settings: Settings,
) -> None:
    """Scheduled 24 hours before the start; the services stop before that and start again
    after it (same SQLite file, same clock), send it once; a third start sends nothing."""
    clock = FakeClock(BEFORE)
    recorder = Recorder()
    with smtp_server(recorder) as smtp:
        settings = with_mail(settings, smtp.port)
        async with running(settings, clock) as first:
            info = await seed(first.actions)
            await first.digest_mail.schedule(
                info["id"], EDITOR, hours_before=24, include_pending=False
            )
            clock.set(EVENT_START - timedelta(hours=25))  # still an hour early
            # The scheduler's duty, as its tick runs it: nothing yet, and when to look next.
            assert await first.digest_mail.send_due() == EVENT_START - timedelta(hours=24)
            assert await outbox_rows(first) == []
        clock.set(EVENT_START - timedelta(hours=23))  # it came due while nothing ran
        async with running(settings, clock) as second:
            await wait_for(lambda: len(recorder.messages) >= 3, 20, message="the digest")
            rows = await wait_for(lambda: _all_sent(second), 20, message="every row marked sent")
        assert len(rows) == 3
        async with running(settings, clock) as third:
            clock.advance(hours=1)
            await wait_for(lambda: third.scheduler.ticks > 0, message="a tick")
            assert await third.digest_mail.send_due() is None  # nothing left to send
            assert third.outbox is not None
            passes = third.outbox.passes
            third.outbox.poke()
            await wait_for(lambda: third.outbox.passes > passes, message="an outbox pass")
            assert len(await outbox_rows(third)) == 3
            async with third.store.read() as repo:
                schedule = await repo.digest_schedule(info["id"])
                sends = await repo.audit_entries(info["id"], 100, action="digest.send")
    assert schedule is not None and schedule.sent_at == EVENT_START - timedelta(hours=23)
    assert len(sends) == 1
    assert len(recorder.messages) == 3
    assert set(by_recipient(recorder)) == set(ADDRESSES.values())


async def _all_sent(services: Any) -> list[Any] | None:
    rows = await outbox_rows(services)
    return rows if rows and all(r.status == "sent" for r in rows) else None


async def test_forgetting_a_reader_rewrites_their_name_in_digest_letters(
    settings: Settings,
) -> None:
    """Letters still queued (here: no mail server listens) or kept as the desk's record show
    the forgotten reader's questions as asked by Anonymous; other readers keep their names."""
    clock = FakeClock(BEFORE)
    async with running(with_mail(settings, free_port()), clock) as services:
        info = await seed(services.actions)
        named = {}
        for reader, name, body in (
            ("sam", "Sam <b>Q</b> Person", "How long is the training?"),
            ("alex", "Alex", "Is there a uniform?"),
        ):
            question, _ = await services.actions.post_question(info["id"], reader, body, name)
            await services.actions.moderate(question.id, "approve", EDITOR)
            named[name] = question.id
        queued = await services.digest_mail.send_now(
            info["id"], EDITOR, include_pending=False, request_key="a" * 32
        )
        assert queued == 3
        before = await outbox_rows(services)
        assert all("Sam <b>Q</b> Person" in row.text for row in before)
        assert all("Sam &lt;b&gt;Q&lt;/b&gt; Person" in row.html for row in before)
        done = await Forgetting(services.store, clock).forget_reader(
            named["Sam <b>Q</b> Person"], EDITOR
        )
        after = await outbox_rows(services)
    assert done.mails == 3
    for row in after:
        assert "Sam" not in row.text and "Sam" not in row.html
        assert "How long is the training?\n   Anonymous, 0 upvotes" in row.text
        assert "Alex, 0 upvotes" in row.text and "Alex, 0 upvotes" in row.html
