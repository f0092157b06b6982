"""The desk's email pages: the outbox (`/desk/mail`, every message; `/desk/events/{slug}/mail`,
one event's, with the digest's Send and Schedule forms), and their actions."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from panel.digest_mail import MAX_HOURS_BEFORE, send_time
from panel.domain import Event, RuleError, accepts_questions
from panel.mail.config import NOT_CONFIGURED
from panel.store.outbox import OutboxMail
from panel.web.auth import require_editor
from panel.web.base import event_or_404, perform, read_form, render, services, whole_number

LIMIT = 200  # rows shown, newest first
STATUS_LABELS = {"queued": "Waiting to be sent", "sent": "Sent", "failed": "Failed"}


async def outbox_page(request: Request) -> Response:
    """The outbox, of one event (with the digest's forms) or of all."""
    await require_editor(request)
    svc = services(request)
    slug = request.path_params.get("slug")
    event = await event_or_404(request, slug) if slug else None
    async with svc.store.read() as repo:
        mails = await repo.outbox(event.id if event else None, LIMIT)
        backlog = await repo.mail_backlog()
        slugs = {e.id: e.slug for e in await repo.list_events()} if event is None else {}
        digest: dict[str, Any] = {}
        if event is not None:
            panel = (await repo.lineup(event.id)).everyone()
            emails = await repo.panelist_emails([p.id for p in panel])
            schedule = await repo.digest_schedule(event.id)
            digest = {
                "panel": [(p.name, emails.get(p.id)) for p in panel],
                "schedule": schedule,
                "send_at": _local(event, send_time(event, schedule)) if schedule else "",
                "sent_at": _local(event, schedule.sent_at) if schedule and schedule.sent_at else "",
                "open": accepts_questions(event.status),
            }
    return render(
        request,
        "desk_mail.html",
        {
            "event": event,
            "tab": "mail",
            "configured": svc.mail is not None,
            "not_configured": NOT_CONFIGURED,
            "server": str(svc.mail.target) if svc.mail else "",
            "sender": svc.mail.sender if svc.mail else "",
            "rows": [_row(m, slugs) for m in mails],
            "limit": LIMIT,
            "backlog": backlog,
            "keep_days": svc.settings.mail_keep_days,
            "digest": digest,
            # A fresh key per page: posting this form twice (a double click) sends once.
            "request_key": secrets.token_urlsafe(24),
            "max_hours": MAX_HOURS_BEFORE,
            "notice": request.session.pop("notice", None),
        },
    )


def _row(mail: OutboxMail, slugs: dict[int, str]) -> dict[str, Any]:
    return {
        "mail": mail,
        "status": STATUS_LABELS.get(mail.status, mail.status),
        "slug": slugs.get(mail.event_id) if mail.event_id else None,
        "created": _utc(mail.created_at),
        "sent": _utc(mail.sent_at) if mail.sent_at else "",
        "next_try": _utc(mail.next_try_at) if mail.status == "queued" else "",
    }


def _utc(at: datetime) -> str:
    return str(at.strftime("%Y-%m-%d %H:%M"))


def _local(event: Event, at: datetime) -> str:
    return f"{event.local(at).strftime('%Y-%m-%d %H:%M')} ({event.timezone})"


def _mail_url(event: Event) -> str:
    return f"/desk/events/{event.slug}/mail"


async def send_digest(request: Request) -> Response:
    """ "Send the digest to the panelists": one message each, queued in one transaction."""
    actor = await require_editor(request)
    form = await read_form(request)
    event = await event_or_404(request, request.path_params["slug"])
    svc = services(request)
    outcome: dict[str, int] = {}

    async def act() -> None:
        outcome["queued"] = await svc.digest_mail.send_now(
            event.id,
            actor,
            include_pending=form.get("include_pending") == "1",
            request_key=str(form.get("request_key", "")),
        )

    response = await perform(request, act(), _mail_url(event), "")
    if "queued" in outcome:
        n = outcome["queued"]
        request.session["notice"] = (
            f"The digest is on its way to {n} panelist{'' if n == 1 else 's'}."
            if n
            else "That digest was sent already (the form was posted twice)."
        )
    return response


async def schedule_digest(request: Request) -> Response:
    """Schedule the digest some hours before the start, or (cancel=1) take that back."""
    actor = await require_editor(request)
    form = await read_form(request)
    event = await event_or_404(request, request.path_params["slug"])
    digest_mail = services(request).digest_mail
    if form.get("cancel") == "1":
        return await perform(
            request,
            digest_mail.cancel_schedule(event.id, actor),
            _mail_url(event),
            "The scheduled digest is cancelled.",
        )
    hours = whole_number(str(form.get("hours_before", "")))

    async def act() -> None:
        if hours is None:
            raise RuleError("invalid", "Hours before the start must be a whole number.")
        await digest_mail.schedule(
            event.id, actor, hours_before=hours, include_pending=form.get("include_pending") == "1"
        )

    return await perform(request, act(), _mail_url(event), "The digest is scheduled.")


async def retry(request: Request) -> Response:
    """Queue a failed message again."""
    actor = await require_editor(request)
    await read_form(request)
    outbox = services(request).outbox

    async def act() -> None:
        if outbox is None:
            raise RuleError("unavailable", NOT_CONFIGURED + ".")
        await outbox.retry(request.path_params["mail_id"], actor)

    return await perform(request, act(), "/desk/mail", "The message is queued again.")
