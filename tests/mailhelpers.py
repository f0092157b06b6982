"""A real SMTP server for the mail tests: aiosmtpd's Controller on a loopback port, in its own
thread, with a handler that records what it accepts and can refuse on demand."""

from __future__ import annotations

import contextlib
import email
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller

from panel.clock import FakeClock
from panel.config import Settings
from panel.services import Services
from panel.store.outbox import OutboxMail


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Recorder:
    """An aiosmtpd handler: keeps every accepted message; refuses the first `busy` messages
    with 451 (try again later), or every recipient with `refuse_rcpt` (e.g. a 550)."""

    def __init__(self, busy: int = 0, refuse_rcpt: str | None = None) -> None:
        self.busy = busy
        self.refuse_rcpt = refuse_rcpt
        self.refused = 0
        self._lock = threading.Lock()
        self._messages: list[EmailMessage] = []

    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return list(self._messages)

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refuse_rcpt:
            self.refused += 1
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.busy > 0:
            self.busy -= 1
            self.refused += 1
            return "451 4.3.0 Mailbox busy, try again later"
        message = email.message_from_bytes(envelope.content, policy=default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self._messages.append(message)
        return "250 Message accepted for delivery"


@contextlib.contextmanager
def smtp_server(handler: Recorder, port: int | None = None) -> Iterator[Controller]:
    """aiosmtpd on 127.0.0.1 (a given port, or a free one), stopped on the way out."""
    controller = Controller(handler, hostname="127.0.0.1", port=port or free_port())
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


def with_mail(settings: Settings, port: int, **more: Any) -> Settings:
    return replace(
        settings,
        smtp_url=f"smtp://127.0.0.1:{port}",
        mail_from="Newsroom Q&A <qa@example.org>",
        **more,
    )


@contextlib.asynccontextmanager
async def running(settings: Settings, clock: FakeClock) -> AsyncIterator[Services]:
    """The app's long-lived services (store, scheduler, outbox task …), without HTTP."""
    services = Services.build(settings, clock)
    async with services.running():
        yield services


async def outbox_rows(services: Services) -> list[OutboxMail]:
    async with services.store.read() as repo:
        return list(reversed(await repo.outbox()))  # oldest first


def parts(message: EmailMessage) -> dict[str, str]:
    """The text of each leaf part, by content type (line ends as in Python, not SMTP)."""
    return {
        part.get_content_type(): str(part.get_content()).replace("\r\n", "\n")
        for part in message.walk()
        if not part.is_multipart()
    }
