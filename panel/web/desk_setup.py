"""The desk's set-up pages: events, slots, panelists (with photos), assignments and invites."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from panel.domain import Event, EventStatus, RuleError, utc
from panel.uploads import MAX_PHOTO_BYTES, save_photo
from panel.web.auth import require_editor
from panel.web.base import (
    event_or_404,
    page_cache,
    perform,
    read_form,
    render,
    services,
    whole_number,
)
from panel.web.eventview import STATUS_LABELS

TIMEZONES = [
    "Europe/London",
    "Europe/Dublin",
    "Europe/Paris",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
    "UTC",
]
UPLOAD_FORM_BYTES = MAX_PHOTO_BYTES + 64 * 1024


def to_utc(day: str, clock: str, zone: str) -> datetime:
    """A local date and time in `zone` (from <input type=date/time>) as a UTC instant."""
    try:
        local = datetime.combine(date.fromisoformat(day), time.fromisoformat(clock))
        return utc(local.replace(tzinfo=ZoneInfo(zone)))
    except (ValueError, KeyError):
        raise RuleError("invalid", "Dates look like 2026-09-15, times like 13:00.") from None


def parse_related(text: str) -> list[dict[str, str]]:
    """One link per line: `Title | https://... | one-line summary`."""
    links = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) < 2:
            raise RuleError(
                "invalid", "Write each related link as: Title | https://address | summary"
            )
        links.append(
            {"title": parts[0], "url": parts[1], "summary": parts[2] if len(parts) > 2 else ""}
        )
    return links


def related_text(event: Event) -> str:
    return "\n".join(
        " | ".join(
            x for x in (link.get("title", ""), link.get("url", ""), link.get("summary", "")) if x
        )
        for link in event.related
    )


def _text(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def _event_fields(form: FormData) -> dict[str, Any]:
    zone = _text(form, "timezone") or "Europe/London"
    day = _text(form, "date")
    starts_at = to_utc(day, _text(form, "start"), zone)
    ends_at = to_utc(day, _text(form, "end"), zone)
    return {
        "title": _text(form, "title"),
        "summary": _text(form, "summary"),
        "intro_md": _text(form, "intro_md"),
        "related": parse_related(_text(form, "related")),
        "starts_at": starts_at,
        "ends_at": ends_at,
        "timezone": zone,
        "moderation": _text(form, "moderation") or "pre",
    }


async def new_event_page(request: Request) -> Response:
    await require_editor(request)
    return render(
        request,
        "desk_event_form.html",
        {
            "values": {
                "timezone": "Europe/London",
                "moderation": "pre",
                "start": "13:00",
                "end": "16:00",
            },
            "timezones": TIMEZONES,
            "error": None,
        },
    )


async def create_event(request: Request) -> Response:
    actor = await require_editor(request)
    form = await read_form(request)
    try:
        fields = _event_fields(form)
        await services(request).events.create(slug=_text(form, "slug"), actor=actor, **fields)
    except RuleError as exc:
        return render(
            request,
            "desk_event_form.html",
            {"values": dict(form), "timezones": TIMEZONES, "error": exc.message},
            422,
        )
    request.session["notice"] = "Event created as a draft. Add slots and panelists, then open it."
    return RedirectResponse(f"/desk/events/{_text(form, 'slug')}/setup", status_code=303)


async def setup_page(request: Request) -> Response:
    await require_editor(request)
    event = await event_or_404(request, request.path_params["slug"])
    async with services(request).store.read() as repo:
        event = await repo.event_by_id(event.id) or event
        slots = await repo.slots(event.id)
        assignments = await repo.assignments(event.id)
        invites = await repo.invites(event.id)
        bans = await repo.bans(event.id)
        everyone = await repo.all_panelists()
        # Private addresses, shown only here on the desk (never on a Panelist value).
        emails = await repo.panelist_emails([p.id for p in everyone])
    lineup = {row["panelist_id"] for row in assignments}
    local = event.local(event.starts_at)
    slot_names = {s.id: s.label for s in slots}
    return render(
        request,
        "desk_setup.html",
        {
            "event": event,
            "status": STATUS_LABELS[event.status],
            "values": {
                "title": event.title,
                "summary": event.summary,
                "intro_md": event.intro_md,
                "related": related_text(event),
                "date": local.date().isoformat(),
                "start": local.strftime("%H:%M"),
                "end": event.local(event.ends_at).strftime("%H:%M"),
                "timezone": event.timezone,
                "moderation": event.moderation,
            },
            "timezones": TIMEZONES,
            "slots": [
                {
                    "slot": s,
                    "date": event.local(s.starts_at).date().isoformat(),
                    "start": event.local(s.starts_at).strftime("%H:%M"),
                    "end": event.local(s.ends_at).strftime("%H:%M"),
                }
                for s in slots
            ],
            "assignments": [
                {**row, "where": slot_names.get(row["slot_id"], "Core panel")}
                for row in assignments
            ],
            "panelists": [p for p in everyone if p.id in lineup],
            "others": [p for p in everyone if p.id not in lineup],
            "emails": emails,
            "invites": invites,
            "bans": bans,
            "blocked_terms": "\n".join(event.blocked_terms),
            "is_draft": event.status == EventStatus.DRAFT,
            "notice": request.session.pop("notice", None),
            "new_invite": request.session.pop("new_invite", None),
        },
    )


def _setup_url(event: Event) -> str:
    return f"/desk/events/{event.slug}/setup"


async def _event_action(request: Request, upload: bool = False) -> tuple[Event, FormData, Any]:
    actor = await require_editor(request)
    form = await read_form(request, max_bytes=UPLOAD_FORM_BYTES if upload else None)
    event = await event_or_404(request, request.path_params["slug"])
    return event, form, actor


async def edit_event(request: Request) -> Response:
    event, form, actor = await _event_action(request)

    async def act() -> None:
        await services(request).events.update(event.id, actor, **_event_fields(form))

    return await perform(request, act(), _setup_url(event), "Event saved.")


def _number(form: FormData, name: str, what: str) -> int | None:
    """An optional whole number from a form field; a clear refusal for anything else."""
    text = _text(form, name)
    if not text:
        return None
    value = whole_number(text)
    if value is None:
        raise RuleError("invalid", f"{what} must be a whole number.")
    return value


async def set_rules(request: Request) -> Response:
    event, form, actor = await _event_action(request)

    async def act() -> None:
        await services(request).events.set_rules(
            event.id,
            actor,
            moderation=_text(form, "moderation") or "pre",
            slow_mode_seconds=_number(form, "slow_mode_seconds", "Slow mode") or 0,
            blocked_terms=_text(form, "blocked_terms"),
        )

    return await perform(request, act(), _setup_url(event), "Moderation rules saved.")


async def duplicate_event(request: Request) -> Response:
    event, form, actor = await _event_action(request)
    slug = _text(form, "slug")

    async def act() -> None:
        start = to_utc(
            _text(form, "date"), event.local(event.starts_at).strftime("%H:%M"), event.timezone
        )
        await services(request).events.duplicate(event.id, slug, start, actor)

    return await perform(
        request,
        act(),
        f"/desk/events/{slug}/setup",
        f"Copied from “{event.title}” as a draft on the new date.",
        failed=_setup_url(event),
    )


async def delete_event(request: Request) -> Response:
    event, _, actor = await _event_action(request)
    response = await perform(
        request,
        services(request).events.delete(event.id, actor),
        "/desk",
        f"Deleted the draft “{event.title}”.",
        failed=_setup_url(event),
    )
    # SQLite may give the id to the next event, which starts its seq again from 0.
    page_cache(request).forget(event.id)
    return response


async def add_slot(request: Request) -> Response:
    event, form, actor = await _event_action(request)

    async def act() -> None:
        day = _text(form, "date") or event.local(event.starts_at).date().isoformat()
        await services(request).schedule.add_slot(
            event.id,
            _text(form, "label"),
            to_utc(day, _text(form, "start"), event.timezone),
            to_utc(day, _text(form, "end"), event.timezone),
            actor,
        )

    return await perform(request, act(), _setup_url(event), "Slot added.")


async def edit_slot(request: Request) -> Response:
    event, form, actor = await _event_action(request)
    slot_id = request.path_params["slot_id"]
    schedule = services(request).schedule
    if _text(form, "delete"):
        return await perform(
            request,
            schedule.delete_slot(slot_id, actor, event.id),
            _setup_url(event),
            "Slot deleted.",
        )

    async def act() -> None:
        day = _text(form, "date")
        await schedule.update_slot(
            slot_id,
            _text(form, "label"),
            to_utc(day, _text(form, "start"), event.timezone),
            to_utc(day, _text(form, "end"), event.timezone),
            actor,
            event.id,
        )

    return await perform(request, act(), _setup_url(event), "Slot saved.")


async def _photo(request: Request, form: FormData) -> str | None:
    upload = form.get("photo")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    data = await upload.read(MAX_PHOTO_BYTES + 1)
    # Decoding and re-encoding take CPU time: off the event loop.
    return await asyncio.to_thread(save_photo, data, services(request).settings.uploads_dir)


async def add_panelist(request: Request) -> Response:
    """A new profile, placed on the core panel or in a slot."""
    event, form, actor = await _event_action(request, upload=True)

    async def act() -> None:
        await services(request).roster.create_and_assign(
            event.id,
            _number(form, "slot_id", "The slot"),
            actor,
            name=_text(form, "name"),
            role=_text(form, "role"),
            bio=_text(form, "bio"),
            photo=await _photo(request, form),
            email=_text(form, "email"),
        )

    return await perform(request, act(), _setup_url(event), "Panelist added.")


async def edit_panelist(request: Request) -> Response:
    event, form, actor = await _event_action(request, upload=True)

    async def act() -> None:
        await services(request).roster.save_panelist(
            actor,
            name=_text(form, "name"),
            role=_text(form, "role"),
            bio=_text(form, "bio"),
            photo=await _photo(request, form),
            panelist_id=request.path_params["panelist_id"],
            # A form without the field keeps the address; an empty one removes it.
            email=form.get("email") if isinstance(form.get("email"), str) else None,
        )

    return await perform(request, act(), _setup_url(event), "Profile saved.")


async def assign(request: Request) -> Response:
    event, form, actor = await _event_action(request)

    async def act() -> None:
        panelist_id = _number(form, "panelist_id", "The panelist") or 0
        slot_id = _number(form, "slot_id", "The slot")
        await services(request).roster.assign(event.id, panelist_id, slot_id, actor)

    return await perform(request, act(), _setup_url(event), "Panelist placed.")


async def unassign(request: Request) -> Response:
    event, _, actor = await _event_action(request)
    return await perform(
        request,
        services(request).roster.unassign(request.path_params["assignment_id"], actor, event.id),
        _setup_url(event),
        "Removed from the panel.",
    )


async def create_invite(request: Request) -> Response:
    event, form, actor = await _event_action(request)
    svc = services(request)

    async def act() -> None:
        panelist_id = _number(form, "panelist_id", "The panelist") or 0
        token = await svc.roster.create_invite(event.id, panelist_id, actor)
        base = svc.settings.public_url or f"{request.url.scheme}://{request.url.netloc}"
        # Shown once: only the token's hash is stored.
        request.session["new_invite"] = f"{base}/invite/{token}"

    return await perform(
        request,
        act(),
        _setup_url(event),
        "Invite created. Copy the link now: it will not be shown again.",
    )


async def revoke_invite(request: Request) -> Response:
    event, _, actor = await _event_action(request)
    return await perform(
        request,
        services(request).roster.revoke_invite(request.path_params["invite_id"], actor, event.id),
        _setup_url(event),
        "Invite revoked.",
    )


async def lift_ban(request: Request) -> Response:
    event, form, actor = await _event_action(request)
    return await perform(
        request,
        services(request).moderation.lift_ban(event.id, _text(form, "reader"), actor),
        _setup_url(event),
        "Ban lifted.",
    )
