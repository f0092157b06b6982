"""Editors' accounts: creating them, signing in (with lockout), roles and API tokens."""

from __future__ import annotations

from typing import Any, NoReturn

from panel.clock import Clock
from panel.config import Settings
from panel.domain import SYSTEM, Actor, RuleError, iso, parse_iso
from panel.lockouts import LOCKOUT, MAX_FAILED_LOGINS, Lockouts, MemoryLockouts
from panel.security import hash_password, new_token, token_hash, verify_password
from panel.store import Store
from panel.text import clean_text
from panel.writes import Tx, Writer

LOCKED = "Too many failed attempts; try again in a few minutes."
WRONG = "Wrong username or password."
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
        # Failed sign-ins to usernames that have no account (shared by processes with Redis).
        self.unknown_logins = lockouts or MemoryLockouts(clock)

    async def create_editor(
        self, username: str, password: str, role: str = "editor", actor: Actor = SYSTEM
    ) -> int:
        username = clean_text(username, field="Username", max_chars=60, required=True)
        if len(password) < 8:
            raise RuleError("invalid", "A password needs at least 8 characters.")
        hashed = await hash_password(password)

        async def job(tx: Tx) -> int:
            if await tx.repo.editor_by_username(username):
                raise RuleError("conflict", f"An editor called {username!r} already exists.")
            editor_id = await tx.repo.insert_editor(username, hashed, role, tx.now)
            await tx.audit(
                "editor.create", f"editor:{username}", event_id=None, after={"role": role}
            )
            return editor_id

        return await self.write(actor, job)

    async def authenticate(self, username: str, password: str) -> dict[str, Any]:
        """The editor row for a right password; locks the account after repeated failures.

        The password is checked (slowly, in a thread) before the transaction; the lock and
        the failure count are read and written inside one, so concurrent attempts count."""
        async with self.write.store.read() as repo:
            known = await repo.editor_by_username(username)
        if known is None:
            await self._unknown_login(username, password)
        locked = known["locked_until"]
        if locked and parse_iso(locked) > self.clock.now():
            raise RuleError("locked", LOCKED)
        ok = await verify_password(known["password_hash"], password)

        async def job(tx: Tx) -> dict[str, Any] | None:
            editor = await tx.repo.editor_by_username(username)
            if editor is None or editor["password_hash"] != known["password_hash"]:
                return None  # deleted or given a new password meanwhile: not this password
            until = editor["locked_until"]
            if until and parse_iso(until) > tx.now:
                raise RuleError("locked", LOCKED)
            failed = 0 if ok else editor["failed_logins"] + 1
            lock = iso(tx.now + LOCKOUT) if failed >= MAX_FAILED_LOGINS else None
            await tx.repo.record_login(editor["id"], 0 if lock else failed, lock)
            return dict(editor) if ok else None

        editor = await self.write(Actor("editor", known["id"], username), job)
        if editor is None:
            raise RuleError("bad_login", WRONG)
        return editor

    async def _unknown_login(self, username: str, password: str) -> NoReturn:
        """Refuse a username without an account exactly as a real account would be refused,
        locking included, so that neither the answer nor its timing reveals which exist."""
        if await self.unknown_logins.locked(username):
            raise RuleError("locked", LOCKED)
        await verify_password(_DUMMY_HASH, password)  # the same cost as a real check
        await self.unknown_logins.failed(username)
        raise RuleError("bad_login", WRONG)

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
