"""Email, real and optional: SMTP settings, the outbox against a real SMTP server (aiosmtpd
on a loopback port), retries and backoff on the injectable clock, refusals shown on the desk,
and panelists' private addresses."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from panel.clock import FakeClock
from panel.config import Settings
from panel.domain import RuleError
from panel.mail.address import clean_email
from panel.mail.config import NOT_CONFIGURED, SmtpTarget, mail_config, parse_smtp_url
from panel.outbox import queue_mail
from panel.services import Services
from panel.store.outbox import OutboxMail
from panel.writes import Tx, Writer
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
from tests.test_access_matrix import MATRIX, cells
from tests.test_cli import livepanel, one_clear_line
from tests.test_security import PARAM, browser, csrf_of, sign_in

ADDRESS = "maria.private-Zq81@example.org"


async def queue(
    services: Services, n: int = 1, to: str = "panelist@example.org", first: int = 0
) -> None:
    """Queue `n` messages in one transaction, as an action does, then wake the task."""

    async def job(tx: Tx) -> None:
        for i in range(first, first + n):
            await queue_mail(
                tx,
                to=to,
                subject=f"Message {i}",
                text=f"Plain text {i}.",
                html=f"<p>HTML <b>{i}</b>.</p>",
                kind="test",
                dedupe_key=f"test:{i}",
            )

    await Writer(services.store, services.clock)(EDITOR, job)
    assert services.outbox is not None
    services.outbox.poke()


async def rows_where(services: Services, check: Any, message: str) -> list[OutboxMail]:
    async def look() -> list[OutboxMail] | None:
        rows = await outbox_rows(services)
        return rows if rows and all(check(r) for r in rows) else None

    result: list[OutboxMail] = await wait_for(look, timeout=20, message=message)
    return result


def failed_attempt(n: int) -> Any:
    """A row whose attempt `n` has failed and been recorded (a claim counts the attempt
    before the send, so the count alone is not enough)."""
    return lambda row: row.attempts == n and row.last_error != ""


# -- settings --------------------------------------------------------------------------------
def test_smtp_urls_name_the_server_its_security_and_decoded_credentials() -> None:
    assert parse_smtp_url("smtp://relay.internal") == SmtpTarget("relay.internal", 25, "none")
    assert parse_smtp_url("smtp+starttls://u%40x.org:p%3Ass%2F1@mail.example.org") == (
        SmtpTarget("mail.example.org", 587, "starttls", "u@x.org", "p:ss/1")
    )
    assert parse_smtp_url("smtps://me:secret@mail.example.org:2465") == (
        SmtpTarget("mail.example.org", 2465, "tls", "me", "secret")
    )
    assert "secret" not in str(parse_smtp_url("smtps://me:secret@mail.example.org"))
    for bad, says in (
        ("http://mail.example.org", "must start with smtp://"),
        ("smtp://", "names no host"),
        ("smtp://mail.example.org:99999", "not a valid URL"),
        ("smtp://mail.example.org/inbox", "only a scheme"),
        ("smtp://:pw@mail.example.org", "no user name"),
        ("mail.example.org:25", "must start with smtp://"),
    ):
        with pytest.raises(ValueError, match=says) as refused:
            parse_smtp_url(bad)
        assert "\n" not in str(refused.value)
    with pytest.raises(ValueError) as refused:
        parse_smtp_url("smtq://me:hunter2@mail.example.org")
    assert "hunter2" not in str(refused.value)  # the password is never shown


def test_mail_settings_are_both_or_neither() -> None:
    assert mail_config(Settings()) is None
    config = mail_config(Settings(smtp_url="smtp://127.0.0.1:2525", mail_from="qa@example.org"))
    assert config is not None and config.target.port == 2525
    for smtp_url, mail_from, says in (
        ("smtp://127.0.0.1", "", "LIVEPANEL_MAIL_FROM is not"),
        ("", "qa@example.org", "LIVEPANEL_SMTP_URL is not"),
        ("smtp://127.0.0.1", "not an address", "is not an address"),
        ("smtp://127.0.0.1", "A <qa@example.org>\r\nBcc: x@y.org", "is not an address"),
    ):
        with pytest.raises(ValueError, match=says):
            mail_config(Settings(smtp_url=smtp_url, mail_from=mail_from))


def test_email_addresses_are_checked() -> None:
    for good in ("a@example.org", "first.last+tag@sub.example.co.uk", "x@xn--bcher-kva.example"):
        assert clean_email(f"  {good} ") == good
    assert clean_email("") is None and clean_email("   ") is None and clean_email(None) is None
    for bad in (
        "no-at-sign",
        "two@@example.org",
        "a@localhost",
        "a b@example.org",
        "a@example.org\nBcc: x@example.org",
        "<a@example.org>",
        ".a@example.org",
        "a..b@example.org",
        "a@-example.org",
        "a@example.123",
        "x" * 65 + "@example.org",
        "a@" + "b" * 250 + ".org",
    ):
        with pytest.raises(RuleError, match="is not an email address"):
            clean_email(bad)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        (
            {"LIVEPANEL_SMTP_URL": "http://mail.example.org", "LIVEPANEL_MAIL_FROM": "a@b.org"},
            "LIVEPANEL_SMTP_URL",
        ),
        (
            {
                "LIVEPANEL_SMTP_URL": "smtp://u:pw-Zq@mail.example.org:0x19",
                "LIVEPANEL_MAIL_FROM": "a@b.org",
            },
            "not a valid URL",
        ),
        ({"LIVEPANEL_SMTP_URL": "smtp://mail.example.org"}, "LIVEPANEL_MAIL_FROM"),
    ],
)
def test_serve_refuses_unusable_mail_settings_with_one_line(
    tmp_path: Path, env: dict[str, str], says: str
) -> None:
    db = f"sqlite:///{tmp_path}/x.db"
    line = one_clear_line(
        livepanel(tmp_path, "serve", "--db", db, "--port", str(free_port()), extra_env=env)
    )
    assert says in line and "pw-Zq" not in line
    assert not (tmp_path / "x.db").exists()  # refused before touching anything


# -- the outbox against a real SMTP server -----------------------------------------------------
async def test_a_message_goes_out_as_plain_text_and_html(
    settings: Settings, clock: FakeClock
) -> None:
    recorder = Recorder()
    with smtp_server(recorder) as smtp:
        async with running(with_mail(settings, smtp.port), clock) as services:
            await queue(services)
            await wait_for(lambda: recorder.messages, timeout=20, message="delivery")
            (sent,) = await rows_where(services, lambda r: r.status == "sent", "sent")
    (message,) = recorder.messages
    assert message.get_content_type() == "multipart/alternative"
    assert parts(message) == {
        "text/plain": "Plain text 0.\n",
        "text/html": "<p>HTML <b>0</b>.</p>\n",
    }
    assert message["To"] == "panelist@example.org"
    assert message["From"] == "Newsroom Q&A <qa@example.org>"
    assert message["Subject"] == "Message 0"
    assert message["Message-ID"].endswith("@example.org>")
    assert sent.attempts == 1 and sent.sent_at == clock.now() and sent.last_error == ""


async def test_the_outbox_retries_with_backoff_when_refused_then_delivers(
    settings: Settings, clock: FakeClock
) -> None:
    """451 twice: tried again after 1 minute, then after 3 more, then delivered. The clock is
    the test's: nothing is tried before its time."""
    recorder = Recorder(busy=2)
    start = clock.now()
    with smtp_server(recorder) as smtp:
        async with running(with_mail(settings, smtp.port), clock) as services:
            assert services.outbox is not None
            await queue(services)
            (row,) = await rows_where(services, failed_attempt(1), "the first attempt")
            assert row.status == "queued" and row.last_error.startswith("451")
            assert row.next_try_at == start + timedelta(minutes=1)
            passes = services.outbox.passes
            clock.advance(seconds=59)  # not yet due: a pass (poked) finds nothing to send
            services.outbox.poke()
            await wait_for(lambda: services.outbox.passes > passes, message="a pass")
            assert (await outbox_rows(services))[0].attempts == 1
            clock.advance(seconds=1)
            (row,) = await rows_where(services, failed_attempt(2), "the second attempt")
            assert row.status == "queued" and recorder.refused == 2
            assert row.next_try_at == start + timedelta(minutes=1 + 3)
            clock.advance(minutes=3)
            (row,) = await rows_where(services, lambda r: r.status == "sent", "delivery")
    assert row.attempts == 3 and row.last_error == ""
    assert [m["Subject"] for m in recorder.messages] == ["Message 0"]


async def test_attempts_are_bounded(settings: Settings, clock: FakeClock) -> None:
    """No server at all, three attempts allowed: failed for good after the third."""
    port = free_port()  # nothing listens there
    async with running(with_mail(settings, port, mail_attempts=3), clock) as services:
        await queue(services)
        for attempt, wait in ((1, 1), (2, 3), (3, None)):
            (row,) = await rows_where(services, failed_attempt(attempt), "attempt")
            if wait:
                assert row.status == "queued"
                clock.advance(minutes=wait)
        (row,) = await rows_where(services, lambda r: r.status == "failed", "given up")
    assert "Connect" in row.last_error or "refused" in row.last_error.lower()


async def test_sent_messages_are_deleted_after_the_retention_period(
    settings: Settings, clock: FakeClock
) -> None:
    recorder = Recorder()
    with smtp_server(recorder) as smtp:
        async with running(with_mail(settings, smtp.port, mail_keep_days=30), clock) as services:
            assert services.outbox is not None
            await queue(services)
            await rows_where(services, lambda r: r.status == "sent", "the first sent")
            clock.advance(days=30, seconds=1)
            await queue(services, first=1)
            await wait_for(lambda: services.outbox.purged == 1, message="the old one deleted")
            (kept,) = await rows_where(services, lambda r: r.status == "sent", "the second sent")
    assert kept.subject == "Message 1"
    assert len(recorder.messages) == 2


async def test_retention_deletes_sent_and_failed_rows_and_never_queued_ones(
    settings: Settings, clock: FakeClock
) -> None:
    start = clock.now()
    async with running(settings, clock) as services:  # no mail settings: no sending task
        store = services.store

        async def queued(key: str) -> int:
            async def job(tx: Tx) -> int | None:
                return await queue_mail(
                    tx,
                    to="p@example.org",
                    subject=key,
                    text="t",
                    html="h",
                    kind="test",
                    dedupe_key=key,
                )

            mail_id = await Writer(store, clock)(EDITOR, job)
            assert mail_id is not None
            return mail_id

        sent, failed, waiting = [await queued(key) for key in ("sent", "failed", "waiting")]
        await store.write(lambda repo: repo.mail_sent(sent, start))
        await store.write(lambda repo: repo.mail_not_sent(failed, "550 no", give_up=True))
        clock.advance(minutes=1)
        await queued("recent")
        await store.write(lambda repo: repo.purge_mail(start + timedelta(seconds=1)))
        left = [row.subject for row in await outbox_rows(services)]
    assert left == ["waiting", "recent"]


async def test_nothing_is_lost_while_the_mail_server_is_down(
    settings: Settings, clock: FakeClock
) -> None:
    """Server down: queued, tried, still queued. Server up: every message sent once."""
    port = free_port()
    recorder = Recorder()
    async with running(with_mail(settings, port), clock) as services:
        await queue(services, n=3)
        down = await rows_where(services, failed_attempt(1), "attempts while down")
        assert {r.status for r in down} == {"queued"} and len(down) == 3
        # Operators see the backlog on /metrics (the outbox's count, wired by Services.build).
        await wait_for(lambda: outbox_backlog_metric(services) == 3, message="backlog of 3")
        with smtp_server(recorder, port):
            clock.advance(minutes=1)
            await rows_where(services, lambda r: r.status == "sent", "all sent")
            assert services.outbox is not None
            await wait_for(lambda: services.outbox.backlog == 0, message="an empty backlog")
            assert outbox_backlog_metric(services) == 0
    assert sorted(m["Subject"] for m in recorder.messages) == [
        "Message 0",
        "Message 1",
        "Message 2",
    ]


def outbox_backlog_metric(services: Services) -> float | None:
    text = services.metrics.exposition().decode()
    for family in text_string_to_metric_families(text):
        if family.name == "livepanel_mail_outbox_backlog":
            return float(family.samples[0].value)
    return None


@pytest.fixture
def mail_port() -> int:
    return free_port()


@pytest.fixture
def refusing() -> Any:
    recorder = Recorder(refuse_rcpt="550 5.1.1 No such user here")
    return recorder


async def test_a_550_fails_at_once_and_the_desk_shows_it(
    settings: Settings, clock: FakeClock, refusing: Recorder
) -> None:
    with smtp_server(refusing) as smtp:
        live = LiveServer(with_mail(settings, smtp.port), clock)
        live.start()
        try:
            await live.acall(lambda: queue(live.services, to="gone@example.org"))
            (row,) = await rows_where(live.services, lambda r: r.status == "failed", "failure")
            assert row.attempts == 1 and "550 5.1.1 No such user here" in row.last_error
            async with browser(live) as editor:
                await sign_in(live, editor, "mail-editor")
                page = (await editor.get("/desk/mail")).text
                assert "gone@example.org" in page and "Failed" in page
                assert "550 5.1.1 No such user here" in page
                assert "Sent and failed messages are deleted 30 days after they were queued" in page
                # Retry queues it again; the server still refuses, so it fails again.
                retried = await editor.post(
                    f"/desk/mail/{row.id}/retry", data={"csrf_token": csrf_of(page)}
                )
                assert retried.status_code == 303
                await wait_for(lambda: refusing.refused >= 2, timeout=20, message="a retry")
        finally:
            live.stop()
    assert not refusing.messages


async def test_without_mail_settings_the_desk_says_what_is_missing(server: LiveServer) -> None:
    assert server.services.outbox is None
    async with browser(server) as editor:
        await sign_in(server, editor, "no-mail-editor")
        page = (await editor.get("/desk/mail")).text
        assert NOT_CONFIGURED in page


# -- panelists' addresses ----------------------------------------------------------------------
async def test_the_panelist_form_takes_a_checked_private_address(server: LiveServer) -> None:
    info = await server.acall(lambda: seed_event(server.actions, slug="setup-mail"))
    maria = info["core"][0]
    async with browser(server) as editor:
        await sign_in(server, editor, "setup-editor")
        setup = "/desk/events/setup-mail/setup"
        page = (await editor.get(setup)).text
        form = {"csrf_token": csrf_of(page), "name": "Maria Ashdown", "role": "R", "bio": "B"}
        url = f"/desk/events/setup-mail/panelists/{maria}"
        refused = await editor.post(url, data={**form, "email": "maria at example"})
        assert refused.status_code == 303
        page = (await editor.get(setup)).text
        assert "is not an email address such as name@example.org" in page
        saved = await editor.post(url, data={**form, "email": ADDRESS})
        assert saved.status_code == 303
        page = (await editor.get(setup)).text
        assert f'value="{ADDRESS}"' in page
        # A form without the field keeps it; an empty field removes it.
        await editor.post(url, data=form)
        assert f'value="{ADDRESS}"' in (await editor.get(setup)).text
        added = await editor.post(
            "/desk/events/setup-mail/panelists",
            data={**form, "name": "New Person", "email": "new.person@example.org"},
        )
        assert added.status_code == 303
        await editor.post(url, data={**form, "email": ""})
        page = (await editor.get(setup)).text
        assert ADDRESS not in page and "new.person@example.org" in page

    async def emails() -> dict[int, str]:
        async with server.services.store.read() as repo:
            return await repo.panelist_emails(info["core"])

    assert await server.acall(emails) == {}


async def test_panelist_emails_never_reach_a_public_surface(
    server: LiveServer, clock: FakeClock, settings: Settings
) -> None:
    """Every public GET route of the access matrix (as a stranger), the live stream, and the
    published transcript's pages and exports: none carries a panelist's address."""
    from tests.test_security import World, build_world

    world: World = await build_world(server)

    async def give_addresses() -> None:
        for i, panelist in enumerate(world.alpha["core"] + world.alpha["slotted"]):
            await server.actions.roster.save_panelist(
                EDITOR,
                name=f"Person {i}",
                role="R",
                bio="B",
                panelist_id=panelist,
                email=ADDRESS if i == 0 else f"p{i}.private@example.org",
            )

    await server.acall(give_addresses)
    addresses = [ADDRESS] + [f"p{i}.private@example.org" for i in range(1, 5)]
    values = {**world.values, "token": "x", "path": "css/site.css"}
    public = [
        PARAM.sub(lambda m: str(values[m.group(1)]), path)
        for (method, path), row in MATRIX.items()
        if method == "GET" and cells(row)["anon"] == "ok"
    ]
    assert "/events/alpha" in public and "/api/v1/events/alpha/questions" in public

    def clean(text: str, where: str) -> None:
        for address in addresses:
            assert address not in text, where
            assert address.split("@")[0] not in text, where

    async with httpx.AsyncClient(base_url=server.url, timeout=15) as stranger:
        for url in [*public, "/api/v1/events/alpha/stream?since=0"]:
            response = await stranger.get(url)
            clean(response.text, url)
        # Close and publish the transcript, then every archive surface too.
        from panel.transcripts import Transcripts

        async def publish() -> None:
            clock.set(EVENT_START + timedelta(hours=4))
            await server.actions.set_status(world.alpha["id"], "closed", EDITOR)
            await Transcripts(server.services.store, clock, settings).publish(
                world.alpha["id"], EDITOR
            )

        await server.acall(publish)
        for url in [
            "/archive",
            "/archive/alpha",
            "/archive/alpha.md",
            "/archive/alpha.safe.md",
            "/archive/alpha.json",
            "/archive/feed.atom",
            "/archive?q=question",
            "/events/alpha/embed",
            "/events/alpha/calendar.ics",
        ]:
            response = await stranger.get(url)
            assert response.status_code == 200, url
            clean(response.text, url)

    # Nor in the event log (every frame ever sent) or the audit log, which says only
    # whether an address is on file.
    async def logged() -> str:
        async with server.services.store.read() as repo:
            frames = await repo.frames_since(world.alpha["id"], 0, 10_000)
            audit = await repo.audit_entries(None, 10_000)
        return repr(frames) + repr(audit)

    text = await server.acall(logged)
    clean(text, "event_log and audit")
    assert re.search(r"on file", text)
