"""The panel: panelist profiles, who sits on which event (core or a slot), and invite links."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from panel.clock import Clock
from panel.config import Settings
from panel.domain import SYSTEM, Actor, RuleError
from panel.mail.address import clean_email
from panel.security import new_token, token_hash
from panel.sessions import SessionsEnded, nobody_to_tell, open_session, session_id
from panel.store import Store
from panel.text import clean_text
from panel.writes import Tx, Writer


class Roster:
    def __init__(self, store: Store, clock: Clock, settings: Settings) -> None:
        self.write = Writer(store, clock)
        self.settings = settings
        self.on_sessions_ended: SessionsEnded = nobody_to_tell

    async def add_panelist(
        self,
        event_id: int,
        name: str,
        role: str,
        bio: str,
        slot_id: int | None = None,
        photo: str | None = None,
    ) -> int:
        """A new profile on an event's core panel (slot_id None) or in a slot (trusted
        callers: the demo and tests; the desk uses create_and_assign)."""

        async def job(tx: Tx) -> int:
            panelist_id = await tx.repo.insert_panelist(name, role, bio, tx.now, photo)
            await tx.repo.assign(event_id, panelist_id, slot_id, position=panelist_id)
            return panelist_id

        return await self.write(SYSTEM, job)

    async def save_panelist(
        self,
        actor: Actor,
        *,
        name: object,
        role: object,
        bio: object,
        photo: str | None = None,
        panelist_id: int | None = None,
        email: object = None,
    ) -> int:
        """Create a panelist profile, or edit one (a None photo keeps the old photo; a None
        email keeps the old address, "" removes it)."""
        fields = _profile(name, role, bio, photo)
        change_email, address = email is not None, clean_email(email)

        async def job(tx: Tx) -> int:
            if panelist_id is None:
                return await _create(tx, fields, photo, address)
            before = await tx.repo.panelist(panelist_id)
            if before is None:
                raise RuleError("not_found", "No such panelist.")
            await tx.repo.update_panelist(panelist_id, **fields)
            had = (await tx.repo.panelist_emails([panelist_id])).get(panelist_id)
            if change_email:
                await tx.repo.set_panelist_email(panelist_id, address)
            await tx.audit(
                "panelist.edit",
                f"panelist:{panelist_id}",
                event_id=None,
                before={
                    "name": before.name,
                    "role": before.role,
                    "bio": before.bio,
                    "photo": before.photo,
                    "email": _on_file(had),
                },
                after={**fields, "email": _on_file(address if change_email else had, had)},
            )
            return panelist_id

        return await self.write(actor, job)

    async def create_and_assign(
        self,
        event_id: int,
        slot_id: int | None,
        actor: Actor,
        *,
        name: object,
        role: object,
        bio: object,
        photo: str | None = None,
        email: object = None,
    ) -> int:
        """A new profile placed on an event's panel, in one step (the desk's "Add")."""
        fields = _profile(name, role, bio, photo)
        address = clean_email(email)

        async def job(tx: Tx) -> int:
            panelist_id = await _create(tx, fields, photo, address)
            await _assign(tx, event_id, panelist_id, slot_id)
            return panelist_id

        return await self.write(actor, job)

    async def assign(
        self, event_id: int, panelist_id: int, slot_id: int | None, actor: Actor
    ) -> None:
        """Put a panelist on the core panel (slot None) or in one slot."""

        async def job(tx: Tx) -> None:
            await _assign(tx, event_id, panelist_id, slot_id)

        await self.write(actor, job)

    async def unassign(self, assignment_id: int, actor: Actor, event_id: int | None = None) -> None:
        async def job(tx: Tx) -> None:
            row = await tx.repo.unassign(assignment_id, event_id)
            if row is None:
                raise RuleError("not_found", "No such assignment.")
            await tx.audit(
                "panel.unassign",
                f"panelist:{row['panelist_id']}",
                event_id=row["event_id"],
                before={"slot_id": row["slot_id"]},
                after={},
            )

        await self.write(actor, job)

    async def create_invite(self, event_id: int, panelist_id: int, actor: Actor = SYSTEM) -> str:
        """A fresh invite token (shown once; only its hash is kept)."""
        token = new_token()  # made before the transaction, so a retried job keeps it

        async def job(tx: Tx) -> None:
            if panelist_id not in await tx.people(event_id):
                raise RuleError("invalid", "That panelist is not on this event's panel.")
            invite_id = await tx.repo.insert_invite(
                event_id, panelist_id, token_hash(token), tx.now
            )
            await tx.audit(
                "invite.create",
                f"invite:{invite_id}",
                event_id=event_id,
                before={},
                after={"panelist_id": panelist_id},
            )

        await self.write(actor, job)
        return token

    async def redeem_invite(
        self, token: str, replacing: Mapping[str, object] | None = None
    ) -> tuple[int, int, str]:
        """(event_id, panelist_id, a new session's token) for a live invite token; records
        its use. The browser's earlier session for that event ends (`replacing`: its
        session tokens by event id), so a planted cookie is never promoted."""
        session = new_token()  # made before the transaction, so a retried job keeps it

        async def job(tx: Tx) -> tuple[int, int, list[str]]:
            invite = await tx.repo.invite_by_hash(token_hash(token))
            if invite is None:
                raise RuleError("forbidden", "This invite link is not valid or was revoked.")
            await tx.repo.touch_invite(invite["id"], tx.now)
            previous = session_id((replacing or {}).get(str(invite["event_id"])))
            ended = await tx.repo.end_sessions(session_id=previous) if previous else []
            await open_session(
                tx,
                session,
                self.settings,
                "panelist",
                panelist_id=invite["panelist_id"],
                invite_id=invite["id"],
                event_id=invite["event_id"],
            )
            return invite["event_id"], invite["panelist_id"], ended

        event_id, panelist_id, ended = await self.write(SYSTEM, job)
        await self.on_sessions_ended(ended)
        return event_id, panelist_id, session

    async def revoke_invite(
        self, invite_id: int, actor: Actor, event_id: int | None = None
    ) -> None:
        """Revoke an invite (of `event_id`, when given: a link from one event's page cannot
        touch another's); every console session opened with it ends."""

        async def job(tx: Tx) -> list[str]:
            invite = await tx.repo.invite(invite_id)
            if invite is None or event_id not in (None, invite["event_id"]):
                raise RuleError("not_found", "No such invite.")
            await tx.repo.revoke_invite(invite_id, tx.now)
            ended = await tx.repo.end_sessions(invite_id=invite_id)
            await tx.audit(
                "invite.revoke",
                f"invite:{invite_id}",
                event_id=invite["event_id"],
                after={"sessions_ended": len(ended)},
            )
            return ended

        await self.on_sessions_ended(await self.write(actor, job))


def _profile(name: object, role: object, bio: object, photo: str | None) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": clean_text(name, field="Name", max_chars=120, required=True),
        "role": clean_text(role, field="Role", max_chars=200, required=False),
        "bio": clean_text(bio, field="Biography", max_chars=2000, required=False),
    }
    if photo is not None:
        fields["photo"] = photo
    return fields


def _on_file(address: str | None, before: str | None = None) -> str:
    """What the audit log says of an address: whether there is one (and whether it changed),
    never the address itself."""
    if not address:
        return "none"
    return "on file (changed)" if before and before != address else "on file"


async def _create(
    tx: Tx, fields: dict[str, Any], photo: str | None, email: str | None = None
) -> int:
    new_id = await tx.repo.insert_panelist(
        fields["name"], fields["role"], fields["bio"], tx.now, photo
    )
    if email:
        await tx.repo.set_panelist_email(new_id, email)
    after = {**fields, "email": _on_file(email)} if email else fields
    await tx.audit("panelist.create", f"panelist:{new_id}", event_id=None, after=after)
    return new_id


async def _assign(tx: Tx, event_id: int, panelist_id: int, slot_id: int | None) -> None:
    await tx.event(event_id)
    if await tx.repo.panelist(panelist_id) is None:
        raise RuleError("not_found", "No such panelist.")
    if slot_id is not None:
        slot = await tx.repo.slot(slot_id)
        if slot is None or slot.event_id != event_id:
            raise RuleError("invalid", "That slot is not part of this event.")
    for row in await tx.repo.assignments(event_id):
        if row["panelist_id"] == panelist_id and row["slot_id"] == slot_id:
            raise RuleError("conflict", "That panelist is already there.")
    await tx.repo.assign(event_id, panelist_id, slot_id, position=panelist_id)
    await tx.audit(
        "panel.assign",
        f"panelist:{panelist_id}",
        event_id=event_id,
        before={},
        after={"slot_id": slot_id},
    )
