"""Setting up: events, slots, the panel, invites, editors and API tokens."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from panel.clock import Clock
from panel.config import Settings
from panel.domain import EventStatus, Moderation, RuleError, iso, parse_iso
from panel.lookups import SYSTEM, Actor, clean_text, event_or_fail, people, question_or_fail
from panel.security import hash_password, new_token, token_hash, verify_password
from panel.store import Repo, Store

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MAX_UNKNOWN_LOGINS = 10_000  # usernames without an account whose failures are counted
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{1,79}")  # use fullmatch: `$` allows a final newline


def check_event_fields(
    *,
    slug: str,
    title: object,
    summary: object,
    intro_md: object,
    related: Sequence[dict[str, str]],
    starts_at: datetime,
    ends_at: datetime,
    timezone: str,
    moderation: str,
) -> dict[str, Any]:
    """Validate an event's editable fields; returns them cleaned."""
    if not SLUG.fullmatch(slug):
        raise RuleError(
            "invalid", "The web address must be 2 to 80 lower-case letters, digits or hyphens."
        )
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise RuleError("invalid", f"Unknown time zone {timezone!r}.") from None
    if moderation not in set(Moderation):
        raise RuleError("invalid", "Moderation must be pre or post.")
    if ends_at <= starts_at:
        raise RuleError("invalid", "An event must end after it starts.")
    links = []
    for link in related:
        url = str(link.get("url", "")).strip()
        if not url.startswith(("https://", "http://")):
            raise RuleError("invalid", "Related links must start with http:// or https://.")
        links.append(
            {
                "title": clean_text(
                    link.get("title") or url, field="Link title", max_chars=200, required=True
                ),
                "url": url[:1000],
                "summary": clean_text(
                    link.get("summary", ""), field="Link summary", max_chars=500, required=False
                ),
            }
        )
    return {
        "title": clean_text(title, field="Title", max_chars=200, required=True),
        "summary": clean_text(summary, field="Summary", max_chars=500, required=False),
        "intro_md": clean_text(intro_md, field="Introduction", max_chars=20000, required=False),
        "related": links,
    }


def check_slot(
    label: object, start: datetime, end: datetime, event_start: datetime, event_end: datetime
) -> str:
    text = clean_text(label, field="Slot label", max_chars=120, required=True)
    if end <= start:
        raise RuleError("invalid", f"Slot {text!r} must end after it starts.")
    if not (event_start <= start and end <= event_end):
        raise RuleError("invalid", f"Slot {text!r} must lie inside the event.")
    return text


LOCKED = "Too many failed attempts; try again in a few minutes."
_DUMMY_HASH = (
    "$argon2id$v=19$m=19456,t=2,p=1$IwqQz8ja+PqG5dqkuRKkeA$"
    "JK3PSUm6LAHPdvU+2B7y95BKWIw6oHh5bUmTTQslKmM"
)


class Planning:
    """The set-up side of the actions; mixed into Actions, which provides these attributes."""

    store: Store
    clock: Clock
    settings: Settings
    on_schedule_change: Callable[[], None]
    # Failed sign-ins to usernames that have no account: (failures, locked until).
    unknown_logins: dict[str, tuple[int, datetime | None]]

    async def create_event(
        self,
        *,
        slug: str,
        title: str,
        starts_at: datetime,
        ends_at: datetime,
        timezone: str = "Europe/London",
        summary: str = "",
        intro_md: str = "",
        related: Sequence[dict[str, str]] = (),
        moderation: str = "pre",
        status: str = "draft",
        slots: Sequence[tuple[str, datetime, datetime]] = (),
        actor: Actor = SYSTEM,
    ) -> int:
        """A new event (a draft unless told otherwise), with its slots."""
        fields = check_event_fields(
            slug=slug,
            title=title,
            summary=summary,
            intro_md=intro_md,
            related=related,
            starts_at=starts_at,
            ends_at=ends_at,
            timezone=timezone,
            moderation=moderation,
        )
        for label, start, end in slots:
            check_slot(label, start, end, starts_at, ends_at)
        now = self.clock.now()

        async def job(repo: Repo) -> int:
            if await repo.event_by_slug(slug):
                raise RuleError("conflict", f"An event called {slug!r} already exists.")
            event_id = await repo.insert_event(
                slug=slug,
                title=fields["title"],
                starts_at=starts_at,
                ends_at=ends_at,
                timezone=timezone,
                summary=fields["summary"],
                intro_md=fields["intro_md"],
                related=fields["related"],
                moderation=moderation,
                status=status,
                now=now,
            )
            for position, (label, start, end) in enumerate(slots):
                await repo.insert_slot(event_id, label, start, end, position)
            await repo.audit(
                actor=str(actor),
                action="event.create",
                event_id=event_id,
                target=f"event:{slug}",
                before={},
                after={"title": title},
                now=now,
            )
            return event_id

        event_id = await self.store.write(job)
        self.on_schedule_change()
        return event_id

    async def add_panelist(
        self,
        event_id: int,
        name: str,
        role: str,
        bio: str,
        slot_id: int | None = None,
        photo: str | None = None,
    ) -> int:
        """A new panelist profile on an event's core panel (slot_id None) or in a slot."""
        now = self.clock.now()

        async def job(repo: Repo) -> int:
            panelist_id = await repo.insert_panelist(name, role, bio, now, photo)
            await repo.assign(event_id, panelist_id, slot_id, position=panelist_id)
            return panelist_id

        return await self.store.write(job)

    async def create_invite(self, event_id: int, panelist_id: int, actor: Actor = SYSTEM) -> str:
        """A fresh invite token (shown once; only its hash is kept)."""
        token = new_token()
        now = self.clock.now()

        async def job(repo: Repo) -> None:
            if panelist_id not in await people(repo, event_id):
                raise RuleError("invalid", "That panelist is not on this event's panel.")
            invite_id = await repo.insert_invite(event_id, panelist_id, token_hash(token), now)
            await repo.audit(
                actor=str(actor),
                action="invite.create",
                event_id=event_id,
                target=f"invite:{invite_id}",
                before={},
                after={"panelist_id": panelist_id},
                now=now,
            )

        await self.store.write(job)
        return token

    async def redeem_invite(self, token: str) -> tuple[int, int]:
        """(event_id, panelist_id) for a live invite token; records its use."""
        now = self.clock.now()

        async def job(repo: Repo) -> tuple[int, int]:
            invite = await repo.invite_by_hash(token_hash(token))
            if invite is None:
                raise RuleError("forbidden", "This invite link is not valid or was revoked.")
            await repo.touch_invite(invite["id"], now)
            return invite["event_id"], invite["panelist_id"]

        return await self.store.write(job)

    async def revoke_invite(
        self, invite_id: int, actor: Actor, event_id: int | None = None
    ) -> None:
        """Revoke an invite (of `event_id`, when given: a link from one event's page cannot
        touch another's)."""
        now = self.clock.now()

        async def job(repo: Repo) -> None:
            invite = await repo.invite(invite_id)
            if invite is None or event_id not in (None, invite["event_id"]):
                raise RuleError("not_found", "No such invite.")
            await repo.revoke_invite(invite_id, now)
            await repo.audit(
                actor=str(actor),
                action="invite.revoke",
                event_id=invite["event_id"],
                target=f"invite:{invite_id}",
                before={},
                after={},
                now=now,
            )

        await self.store.write(job)

    async def create_editor(
        self, username: str, password: str, role: str = "editor", actor: Actor = SYSTEM
    ) -> int:
        username = clean_text(username, field="Username", max_chars=60, required=True)
        if len(password) < 8:
            raise RuleError("invalid", "A password needs at least 8 characters.")
        hashed = await hash_password(password)
        now = self.clock.now()

        async def job(repo: Repo) -> int:
            if await repo.editor_by_username(username):
                raise RuleError("conflict", f"An editor called {username!r} already exists.")
            editor_id = await repo.insert_editor(username, hashed, role, now)
            await repo.audit(
                actor=str(actor),
                action="editor.create",
                event_id=None,
                target=f"editor:{username}",
                before={},
                after={"role": role},
                now=now,
            )
            return editor_id

        return await self.store.write(job)

    async def authenticate(self, username: str, password: str) -> dict[str, Any]:
        """The editor row for a right password; locks the account after repeated failures."""
        now = self.clock.now()
        async with self.store.read() as repo:
            editor = await repo.editor_by_username(username)
        if editor is None:
            await self._unknown_login(username, password, now)
        locked = editor["locked_until"]
        if locked and parse_iso(locked) > now:
            raise RuleError("locked", LOCKED)
        ok = await verify_password(editor["password_hash"], password)
        failed = 0 if ok else editor["failed_logins"] + 1
        lock = iso(now + LOCKOUT) if failed >= MAX_FAILED_LOGINS else None

        async def job(repo: Repo) -> None:
            await repo.record_login(editor["id"], 0 if lock else failed, lock)

        await self.store.write(job)
        if not ok:
            raise RuleError("bad_login", "Wrong username or password.")
        return dict(editor)

    async def _unknown_login(self, username: str, password: str, now: datetime) -> NoReturn:
        """Refuse a username without an account exactly as a real account would be refused,
        locking included, so that neither the answer nor its timing reveals which exist."""
        failed, locked = self.unknown_logins.pop(username, (0, None))
        if locked and locked > now:
            self.unknown_logins[username] = (failed, locked)
            raise RuleError("locked", LOCKED)
        await verify_password(_DUMMY_HASH, password)  # the same cost as a real check
        failed += 1
        lock = now + LOCKOUT if failed >= MAX_FAILED_LOGINS else None
        self.unknown_logins[username] = (0 if lock else failed, lock)
        while len(self.unknown_logins) > MAX_UNKNOWN_LOGINS:  # bounded: forget the oldest
            del self.unknown_logins[next(iter(self.unknown_logins))]
        raise RuleError("bad_login", "Wrong username or password.")

    async def update_event(
        self,
        event_id: int,
        actor: Actor,
        *,
        title: object,
        summary: object,
        intro_md: object,
        related: Sequence[dict[str, str]],
        starts_at: datetime,
        ends_at: datetime,
        timezone: str,
        moderation: str,
    ) -> None:
        """Edit an event; its slots must still fit inside it."""
        now = self.clock.now()

        async def job(repo: Repo) -> None:
            event = await event_or_fail(repo, event_id)
            fields = check_event_fields(
                slug=event.slug,
                title=title,
                summary=summary,
                intro_md=intro_md,
                related=related,
                starts_at=starts_at,
                ends_at=ends_at,
                timezone=timezone,
                moderation=moderation,
            )
            for slot in await repo.slots(event_id):
                check_slot(slot.label, slot.starts_at, slot.ends_at, starts_at, ends_at)
            await repo.update_event(
                event_id,
                now,
                title=fields["title"],
                summary=fields["summary"],
                intro_md=fields["intro_md"],
                related_json=json.dumps(fields["related"]),
                starts_at=starts_at,
                ends_at=ends_at,
                timezone=timezone,
                moderation=moderation,
            )
            await repo.audit(
                actor=str(actor),
                action="event.edit",
                event_id=event_id,
                target=f"event:{event.slug}",
                before={
                    "title": event.title,
                    "starts_at": iso(event.starts_at),
                    "ends_at": iso(event.ends_at),
                    "moderation": event.moderation,
                },
                after={
                    "title": fields["title"],
                    "starts_at": iso(starts_at),
                    "ends_at": iso(ends_at),
                    "moderation": moderation,
                },
                now=now,
            )

        await self.store.write(job)
        self.on_schedule_change()

    async def duplicate_event(
        self, event_id: int, slug: str, starts_at: datetime, actor: Actor
    ) -> int:
        """The same panel and slot pattern on a new date, as a draft."""
        now = self.clock.now()

        async def job(repo: Repo) -> int:
            event = await event_or_fail(repo, event_id)
            if not SLUG.fullmatch(slug):
                raise RuleError(
                    "invalid",
                    "The web address must be 2 to 80 lower-case letters, digits or hyphens.",
                )
            if await repo.event_by_slug(slug):
                raise RuleError("conflict", f"An event called {slug!r} already exists.")
            shift = starts_at - event.starts_at
            new_id = await repo.insert_event(
                slug=slug,
                title=event.title,
                summary=event.summary,
                intro_md=event.intro_md,
                related=event.related,
                starts_at=event.starts_at + shift,
                ends_at=event.ends_at + shift,
                timezone=event.timezone,
                moderation=event.moderation,
                status=EventStatus.DRAFT,
                now=now,
            )
            slot_map: dict[int, int] = {}
            for slot in await repo.slots(event_id):
                slot_map[slot.id] = await repo.insert_slot(
                    new_id, slot.label, slot.starts_at + shift, slot.ends_at + shift, slot.position
                )
            for row in await repo.assignments(event_id):
                slot_id = slot_map.get(row["slot_id"]) if row["slot_id"] else None
                await repo.assign(new_id, row["panelist_id"], slot_id, row["position"])
            await repo.audit(
                actor=str(actor),
                action="event.duplicate",
                event_id=new_id,
                target=f"event:{slug}",
                before={"from": event.slug},
                after={"starts_at": iso(starts_at)},
                now=now,
            )
            return new_id

        return await self.store.write(job)

    async def delete_event(self, event_id: int, actor: Actor) -> None:
        """Only drafts can be deleted: anything readers have seen stays."""
        now = self.clock.now()

        async def job(repo: Repo) -> None:
            event = await event_or_fail(repo, event_id)
            if event.status != EventStatus.DRAFT:
                raise RuleError("invalid", "Only a draft can be deleted.")
            await repo.audit(
                actor=str(actor),
                action="event.delete",
                event_id=None,
                target=f"event:{event.slug}",
                before={"title": event.title},
                after={},
                now=now,
            )
            await repo.delete_event(event_id)

        await self.store.write(job)

    async def set_event_rules(
        self,
        event_id: int,
        actor: Actor,
        *,
        moderation: str,
        slow_mode_seconds: int,
        blocked_terms: str,
    ) -> None:
        """Moderation mode, slow mode and the blocked-terms list."""
        if moderation not in set(Moderation):
            raise RuleError("invalid", "Moderation must be pre or post.")
        if not 0 <= slow_mode_seconds <= 3600:
            raise RuleError("invalid", "Slow mode must be between 0 and 3600 seconds.")
        terms = "\n".join(
            t.strip()
            for t in clean_text(
                blocked_terms, field="Blocked terms", max_chars=5000, required=False
            ).splitlines()
            if t.strip()
        )
        now = self.clock.now()

        async def job(repo: Repo) -> None:
            event = await event_or_fail(repo, event_id)
            await repo.update_event(
                event_id,
                now,
                moderation=moderation,
                slow_mode_seconds=slow_mode_seconds,
                blocked_terms=terms,
            )
            await repo.audit(
                actor=str(actor),
                action="event.rules",
                event_id=event_id,
                target=f"event:{event.slug}",
                before={
                    "moderation": event.moderation,
                    "slow_mode_seconds": event.slow_mode_seconds,
                    "blocked_terms": list(event.blocked_terms),
                },
                after={
                    "moderation": moderation,
                    "slow_mode_seconds": slow_mode_seconds,
                    "blocked_terms": terms.splitlines(),
                },
                now=now,
            )

        await self.store.write(job)

    # -- slots and the panel --------------------------------------------------
    async def add_slot(
        self, event_id: int, label: object, starts_at: datetime, ends_at: datetime, actor: Actor
    ) -> int:
        now = self.clock.now()

        async def job(repo: Repo) -> int:
            event = await event_or_fail(repo, event_id)
            text = check_slot(label, starts_at, ends_at, event.starts_at, event.ends_at)
            slot_id = await repo.insert_slot(
                event_id, text, starts_at, ends_at, len(await repo.slots(event_id))
            )
            await repo.audit(
                actor=str(actor),
                action="slot.add",
                event_id=event_id,
                target=f"slot:{slot_id}",
                before={},
                after={"label": text, "starts_at": iso(starts_at), "ends_at": iso(ends_at)},
                now=now,
            )
            return slot_id

        slot_id = await self.store.write(job)
        self.on_schedule_change()
        return slot_id

    async def update_slot(
        self,
        slot_id: int,
        label: object,
        starts_at: datetime,
        ends_at: datetime,
        actor: Actor,
        event_id: int | None = None,
    ) -> None:
        now = self.clock.now()

        async def job(repo: Repo) -> None:
            slot = await repo.slot(slot_id)
            if slot is None or event_id not in (None, slot.event_id):
                raise RuleError("not_found", "No such slot.")
            event = await event_or_fail(repo, slot.event_id)
            text = check_slot(label, starts_at, ends_at, event.starts_at, event.ends_at)
            await repo.update_slot(slot_id, text, starts_at, ends_at)
            await repo.audit(
                actor=str(actor),
                action="slot.edit",
                event_id=event.id,
                target=f"slot:{slot_id}",
                before={
                    "label": slot.label,
                    "starts_at": iso(slot.starts_at),
                    "ends_at": iso(slot.ends_at),
                },
                after={"label": text, "starts_at": iso(starts_at), "ends_at": iso(ends_at)},
                now=now,
            )

        await self.store.write(job)
        self.on_schedule_change()

    async def delete_slot(self, slot_id: int, actor: Actor, event_id: int | None = None) -> None:
        now = self.clock.now()

        async def job(repo: Repo) -> None:
            slot = await repo.slot(slot_id)
            if slot is None or event_id not in (None, slot.event_id):
                raise RuleError("not_found", "No such slot.")
            await repo.delete_slot(slot_id)
            await repo.audit(
                actor=str(actor),
                action="slot.delete",
                event_id=slot.event_id,
                target=f"slot:{slot_id}",
                before={"label": slot.label},
                after={},
                now=now,
            )

        await self.store.write(job)

    async def save_panelist(
        self,
        actor: Actor,
        *,
        name: object,
        role: object,
        bio: object,
        photo: str | None = None,
        panelist_id: int | None = None,
    ) -> int:
        """Create a panelist profile, or edit one (a None photo keeps the old photo)."""
        fields: dict[str, Any] = {
            "name": clean_text(name, field="Name", max_chars=120, required=True),
            "role": clean_text(role, field="Role", max_chars=200, required=False),
            "bio": clean_text(bio, field="Biography", max_chars=2000, required=False),
        }
        if photo is not None:
            fields["photo"] = photo
        now = self.clock.now()

        async def job(repo: Repo) -> int:
            if panelist_id is None:
                new_id = await repo.insert_panelist(
                    fields["name"], fields["role"], fields["bio"], now, photo
                )
                await repo.audit(
                    actor=str(actor),
                    action="panelist.create",
                    event_id=None,
                    target=f"panelist:{new_id}",
                    before={},
                    after=fields,
                    now=now,
                )
                return new_id
            before = await repo.panelist(panelist_id)
            if before is None:
                raise RuleError("not_found", "No such panelist.")
            await repo.update_panelist(panelist_id, **fields)
            await repo.audit(
                actor=str(actor),
                action="panelist.edit",
                event_id=None,
                target=f"panelist:{panelist_id}",
                before={
                    "name": before.name,
                    "role": before.role,
                    "bio": before.bio,
                    "photo": before.photo,
                },
                after=fields,
                now=now,
            )
            return panelist_id

        return await self.store.write(job)

    async def assign_panelist(
        self, event_id: int, panelist_id: int, slot_id: int | None, actor: Actor
    ) -> None:
        """Put a panelist on the core panel (slot None) or in one slot."""
        now = self.clock.now()

        async def job(repo: Repo) -> None:
            await event_or_fail(repo, event_id)
            if await repo.panelist(panelist_id) is None:
                raise RuleError("not_found", "No such panelist.")
            if slot_id is not None:
                slot = await repo.slot(slot_id)
                if slot is None or slot.event_id != event_id:
                    raise RuleError("invalid", "That slot is not part of this event.")
            for row in await repo.assignments(event_id):
                if row["panelist_id"] == panelist_id and row["slot_id"] == slot_id:
                    raise RuleError("conflict", "That panelist is already there.")
            await repo.assign(event_id, panelist_id, slot_id, position=panelist_id)
            await repo.audit(
                actor=str(actor),
                action="panel.assign",
                event_id=event_id,
                target=f"panelist:{panelist_id}",
                before={},
                after={"slot_id": slot_id},
                now=now,
            )

        await self.store.write(job)

    async def unassign_panelist(
        self, assignment_id: int, actor: Actor, event_id: int | None = None
    ) -> None:
        now = self.clock.now()

        async def job(repo: Repo) -> None:
            row = await repo.unassign(assignment_id, event_id)
            if row is None:
                raise RuleError("not_found", "No such assignment.")
            await repo.audit(
                actor=str(actor),
                action="panel.unassign",
                event_id=row["event_id"],
                target=f"panelist:{row['panelist_id']}",
                before={"slot_id": row["slot_id"]},
                after={},
                now=now,
            )

        await self.store.write(job)

    async def ban_author(self, question_id: int, actor: Actor) -> None:
        """Stop a flooder: the author of this question can post no more to this event."""
        now = self.clock.now()

        async def job(repo: Repo) -> None:
            question = await question_or_fail(repo, question_id)
            await repo.ban_reader(question.event_id, question.reader_id, now)
            await repo.audit(
                actor=str(actor),
                action="reader.ban",
                event_id=question.event_id,
                target=f"question:{question_id}",
                before={},
                after={"banned": True},
                now=now,
            )

        await self.store.write(job)

    async def lift_ban(self, event_id: int, reader_id: str, actor: Actor) -> None:
        """Let a banned reader post again (a ban is per event)."""
        now = self.clock.now()

        async def job(repo: Repo) -> None:
            if not await repo.unban_reader(event_id, reader_id):
                raise RuleError("not_found", "That reader is not banned here.")
            await repo.audit(
                actor=str(actor),
                action="reader.unban",
                event_id=event_id,
                target=f"reader:{reader_id[:8]}",
                before={"banned": True},
                after={"banned": False},
                now=now,
            )

        await self.store.write(job)

    # -- editors and API tokens -----------------------------------------------
    async def create_api_token(self, editor_id: int, name: object, actor: Actor) -> str:
        """A bearer token for a newsroom integration: shown once, stored hashed."""
        label = clean_text(name, field="Token name", max_chars=100, required=True)
        token = new_token()
        now = self.clock.now()

        async def job(repo: Repo) -> None:
            token_id = await repo.insert_api_token(editor_id, label, token_hash(token), now)
            await repo.audit(
                actor=str(actor),
                action="token.create",
                event_id=None,
                target=f"token:{token_id}",
                before={},
                after={"name": label},
                now=now,
            )

        await self.store.write(job)
        return token

    async def revoke_api_token(self, token_id: int, actor: Actor) -> None:
        now = self.clock.now()

        async def job(repo: Repo) -> None:
            token = await repo.api_token(token_id)
            editor = await repo.editor_by_id(int(actor.id or 0))
            is_admin = editor is not None and editor["role"] == "admin"
            if token is None or not (is_admin or token["editor_id"] == actor.id):
                raise RuleError("forbidden", "You can revoke your own tokens; admins any.")
            if not await repo.revoke_api_token(token_id, now):
                raise RuleError("not_found", "No such active token.")
            await repo.audit(
                actor=str(actor),
                action="token.revoke",
                event_id=None,
                target=f"token:{token_id}",
                before={},
                after={},
                now=now,
            )

        await self.store.write(job)

    async def set_editor_role(self, editor_id: int, role: str, actor: Actor) -> None:
        if role not in ("editor", "admin"):
            raise RuleError("invalid", "Role must be editor or admin.")
        now = self.clock.now()

        async def job(repo: Repo) -> None:
            editor = await repo.editor_by_id(editor_id)
            if editor is None:
                raise RuleError("not_found", "No such editor.")
            await repo.set_editor_role(editor_id, role)
            await repo.audit(
                actor=str(actor),
                action="editor.role",
                event_id=None,
                target=f"editor:{editor['username']}",
                before={"role": editor["role"]},
                after={"role": role},
                now=now,
            )

        await self.store.write(job)
