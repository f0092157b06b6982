"""Editors' accounts: creating them, signing in (with lockout), passwords, roles, disabling
and removing them, and API tokens."""

from __future__ import annotations

from typing import Any

from panel.clock import Clock
from panel.config import Settings
from panel.domain import SYSTEM, Actor, RuleError
from panel.lockouts import Lockouts, MemoryLockouts
from panel.security import hash_password, new_token, token_hash, verify_password
from panel.sessions import (
    SessionsEnded,
    StaffSession,
    idle_since,
    nobody_to_tell,
    open_session,
    session_id,
)
from panel.store import Store
from panel.store.rows import Row
from panel.text import clean_text
from panel.writes import Tx, Writer

LOCKED = "Too many failed attempts; try again in a few minutes."
WRONG = "Wrong username or password."
DISABLED = "This account is disabled. Ask an admin to enable it."
_DUMMY_HASH = (
    "$argon2id$v=19$m=19456,t=2,p=1$IwqQz8ja+PqG5dqkuRKkeA$"
    "JK3PSUm6LAHPdvU+2B7y95BKWIw6oHh5bUmTTQslKmM"
)


class Accounts:
    def __init__(
        self, store: Store, clock: Clock, settings: Settings, lockouts: Lockouts | None = None
    ) -> None:
        self.write = Writer(store, clock)
        self.clock = clock
        self.settings = settings
        # Failed sign-ins, per account and address (shared by processes with Redis).
        self.lockouts = lockouts or MemoryLockouts(clock)
        self.on_sessions_ended: SessionsEnded = nobody_to_tell

    async def create_editor(
        self, username: str, password: str, role: str = "editor", actor: Actor = SYSTEM
    ) -> int:
        username = clean_text(username, field="Username", max_chars=60, required=True)
        hashed = await _new_password_hash(password)

        async def job(tx: Tx) -> int:
            if await tx.repo.editor_by_username(username):
                raise RuleError("conflict", f"An editor called {username!r} already exists.")
            editor_id = await tx.repo.insert_editor(username, hashed, role, tx.now)
            await tx.audit(
                "editor.create", f"editor:{username}", event_id=None, after={"role": role}
            )
            return editor_id

        return await self.write(actor, job)

    async def sign_in(
        self, username: str, password: str, address: str = "unknown", replacing: object = None
    ) -> tuple[dict[str, Any], str]:
        """The editor row and a new session's token for a right password. Failures are
        throttled per (username, `address`), per address and per username
        (panel/lockouts.py), alike whether the account exists, so that neither the answer
        nor its timing reveals which do. The session the browser held before (`replacing`,
        its token) ends, so a planted cookie is never promoted (session fixation)."""
        if (await self.lockouts.standing(username, address)).refused:
            raise RuleError("locked", LOCKED)
        async with self.write.store.read() as repo:
            known = await repo.editor_by_username(username)
        # The same cost with no account as with one (a dummy hash), checked in a thread.
        ok = await verify_password(known["password_hash"] if known else _DUMMY_HASH, password)
        if known is None or not ok:
            await self.lockouts.failed(username, address)
            raise RuleError("bad_login", WRONG)
        token = new_token()  # made before the transaction, so a retried job keeps it
        previous = session_id(replacing)

        async def job(tx: Tx) -> tuple[dict[str, Any] | None, list[str]]:
            editor = await tx.repo.editor_by_username(username)
            if editor is None or editor["password_hash"] != known["password_hash"]:
                return None, []  # deleted or given a new password meanwhile: not this password
            if editor["disabled_at"] is not None:
                raise RuleError("forbidden", DISABLED)
            ended = await tx.repo.end_sessions(session_id=previous) if previous else []
            await tx.repo.end_stale_sessions(tx.now, idle_since(self.settings, tx.now))
            await open_session(tx, token, self.settings, "editor", editor_id=editor["id"])
            return dict(editor), ended

        editor, ended = await self.write(Actor("editor", known["id"], username), job)
        if editor is None:
            raise RuleError("bad_login", WRONG)
        await self.lockouts.succeeded(username, address)
        await self.on_sessions_ended(ended)
        return editor, token

    async def set_editor_role(self, editor_id: int, role: str, actor: Actor) -> None:
        if role not in ("editor", "admin"):
            raise RuleError("invalid", "Role must be editor or admin.")

        async def job(tx: Tx) -> None:
            editor = await tx.repo.editor_by_id(editor_id)
            if editor is None:
                raise RuleError("not_found", "No such editor.")
            await tx.repo.set_editor_role(editor_id, role)
            await tx.audit(
                "editor.role",
                f"editor:{editor['username']}",
                event_id=None,
                before={"role": editor["role"]},
                after={"role": role},
            )

        await self.write(actor, job)

    async def change_password(self, session: StaffSession, current: str, new: str) -> None:
        """An editor's own new password, given the current one. Their other sessions end
        (a password change is how one signs out a lost laptop); this one stays."""
        editor_id = int(session.actor.id or 0)
        async with self.write.store.read() as repo:
            known = await repo.editor_by_id(editor_id)
        if known is None or not await verify_password(known["password_hash"], current):
            raise RuleError("bad_login", "That is not your current password.")
        hashed = await _new_password_hash(new)

        async def job(tx: Tx) -> list[str]:
            editor = await tx.repo.editor_by_id(editor_id)
            if editor is None or editor["password_hash"] != known["password_hash"]:
                raise RuleError("conflict", "Your password was changed meanwhile; try again.")
            await tx.repo.set_password_hash(editor_id, hashed)
            ended = await tx.repo.end_sessions(editor_id=editor_id, keep=session.id)
            await tx.audit(
                "editor.password",
                f"editor:{editor['username']}",
                event_id=None,
                after={"sessions_ended": len(ended)},
            )
            return ended

        await self.on_sessions_ended(await self.write(session.actor, job))

    async def set_disabled(self, editor_id: int, disabled: bool, actor: Actor) -> None:
        """An admin disables another editor (their sessions end, their API tokens stop
        working and they cannot sign in) or enables them again."""

        async def job(tx: Tx) -> list[str]:
            editor = await _other_editor(tx, editor_id, "disable")
            await tx.repo.set_editor_disabled(editor_id, tx.now if disabled else None)
            ended = await tx.repo.end_sessions(editor_id=editor_id) if disabled else []
            await tx.audit(
                "editor.disable" if disabled else "editor.enable",
                f"editor:{editor['username']}",
                event_id=None,
                after={"sessions_ended": len(ended)},
            )
            return ended

        await self.on_sessions_ended(await self.write(actor, job))

    async def remove_editor(self, editor_id: int, actor: Actor) -> None:
        """An admin deletes another editor's account: sessions and API tokens go with it.
        Their answers stay, signed "The editors"; the audit log keeps their name."""

        async def job(tx: Tx) -> list[str]:
            editor = await _other_editor(tx, editor_id, "remove")
            ended = await tx.repo.end_sessions(editor_id=editor_id)
            await tx.repo.delete_editor(editor_id)
            await tx.audit(
                "editor.remove",
                f"editor:{editor['username']}",
                event_id=None,
                before={"role": editor["role"]},
                after={"sessions_ended": len(ended)},
            )
            return ended

        await self.on_sessions_ended(await self.write(actor, job))

    async def unlock(self, editor_id: int, actor: Actor) -> None:
        """An admin lifts an editor's sign-in locks early, from every address."""

        async def job(tx: Tx) -> str:
            editor = await _other_editor(tx, editor_id, "unlock")
            await tx.repo.record_login(editor_id, 0, None)  # where older versions kept the lock
            until = await self.lockouts.locked_until(editor["username"])
            await tx.audit(
                "editor.unlock",
                f"editor:{editor['username']}",
                event_id=None,
                before={"locked_until": until.isoformat() if until else None},
            )
            return str(editor["username"])

        await self.lockouts.forget(await self.write(actor, job))

    async def create_api_token(self, editor_id: int, name: object, actor: Actor) -> str:
        """A bearer token for a newsroom integration: shown once, stored hashed."""
        label = clean_text(name, field="Token name", max_chars=100, required=True)
        token = new_token()  # made before the transaction, so a retried job keeps it

        async def job(tx: Tx) -> None:
            token_id = await tx.repo.insert_api_token(editor_id, label, token_hash(token), tx.now)
            await tx.audit(
                "token.create", f"token:{token_id}", event_id=None, after={"name": label}
            )

        await self.write(actor, job)
        return token

    async def revoke_api_token(self, token_id: int, actor: Actor) -> None:
        async def job(tx: Tx) -> None:
            token = await tx.repo.api_token(token_id)
            editor = await tx.repo.editor_by_id(int(actor.id or 0))
            is_admin = editor is not None and editor["role"] == "admin"
            if token is None or not (is_admin or token["editor_id"] == actor.id):
                raise RuleError("forbidden", "You can revoke your own tokens; admins any.")
            if not await tx.repo.revoke_api_token(token_id, tx.now):
                raise RuleError("not_found", "No such active token.")
            await tx.audit("token.revoke", f"token:{token_id}", event_id=None, after={})

        await self.write(actor, job)


async def _new_password_hash(password: str) -> str:
    if len(password) < 8:
        raise RuleError("invalid", "A password needs at least 8 characters.")
    return await hash_password(password)


async def _other_editor(tx: Tx, editor_id: int, verb: str) -> Row:
    """The editor an admin acts on: another account than the admin's own."""
    acting = await tx.repo.editor_by_id(int(tx.actor.id or 0))
    if acting is None or acting["role"] != "admin" or acting["disabled_at"] is not None:
        raise RuleError("forbidden", "Only admins manage editors.")
    if editor_id == acting["id"]:
        raise RuleError("invalid", f"You cannot {verb} your own account.")
    editor = await tx.repo.editor_by_id(editor_id)
    if editor is None:
        raise RuleError("not_found", "No such editor.")
    return editor
