"""Editors' accounts, their logins (failed counts and lockout) and their API tokens."""

from __future__ import annotations

from datetime import datetime

from panel.domain import iso
from panel.store.rows import Row, Rows


class AccountRows(Rows):
    # -- editors and logins ---------------------------------------------------
    async def insert_editor(
        self, username: str, password_hash: str, role: str, now: datetime
    ) -> int:
        row = await self._one(
            "INSERT INTO editors (username, password_hash, role, created_at) VALUES"
            " (:u, :h, :r, :now) RETURNING id",
            u=username,
            h=password_hash,
            r=role,
            now=iso(now),
        )
        assert row is not None
        return int(row["id"])

    async def editor_by_username(self, username: str) -> Row | None:
        return await self._one("SELECT * FROM editors WHERE username = :u", u=username)

    async def editor_by_id(self, editor_id: int) -> Row | None:
        return await self._one("SELECT * FROM editors WHERE id = :id", id=editor_id)

    async def editors(self) -> list[Row]:
        return await self._all(
            "SELECT id, username, role, created_at, locked_until, disabled_at FROM editors"
            " ORDER BY username"
        )

    async def set_editor_role(self, editor_id: int, role: str) -> None:
        await self.conn.execute(
            "UPDATE editors SET role = :r WHERE id = :id", {"r": role, "id": editor_id}
        )

    async def delete_editor(self, editor_id: int) -> None:
        await self.conn.execute("DELETE FROM editors WHERE id = :id", {"id": editor_id})

    async def set_password_hash(self, editor_id: int, password_hash: str) -> None:
        await self.conn.execute(
            "UPDATE editors SET password_hash = :h WHERE id = :id",
            {"h": password_hash, "id": editor_id},
        )

    async def set_editor_disabled(self, editor_id: int, disabled_at: datetime | None) -> None:
        await self.conn.execute(
            "UPDATE editors SET disabled_at = :d WHERE id = :id",
            {"d": iso(disabled_at) if disabled_at else None, "id": editor_id},
        )

    async def record_login(self, editor_id: int, failed: int, locked_until: str | None) -> None:
        await self.conn.execute(
            "UPDATE editors SET failed_logins = :f, locked_until = :l WHERE id = :id",
            {"f": failed, "l": locked_until, "id": editor_id},
        )

    # -- API tokens -----------------------------------------------------------
    async def insert_api_token(
        self, editor_id: int, name: str, token_hash: str, now: datetime
    ) -> int:
        row = await self._one(
            "INSERT INTO api_tokens (editor_id, name, token_hash, created_at) VALUES"
            " (:e, :n, :h, :now) RETURNING id",
            e=editor_id,
            n=name,
            h=token_hash,
            now=iso(now),
        )
        assert row is not None
        return int(row["id"])

    async def api_token_by_hash(self, token_hash: str) -> Row | None:
        return await self._one(
            "SELECT t.*, e.username FROM api_tokens t JOIN editors e ON e.id = t.editor_id"
            " WHERE t.token_hash = :h AND t.revoked_at IS NULL AND e.disabled_at IS NULL",
            h=token_hash,
        )

    async def api_tokens(self) -> list[Row]:
        return await self._all(
            "SELECT t.id, t.name, t.created_at, t.last_used_at, t.revoked_at, e.username"
            " FROM api_tokens t JOIN editors e ON e.id = t.editor_id ORDER BY t.id DESC"
        )

    async def api_token(self, token_id: int) -> Row | None:
        return await self._one("SELECT * FROM api_tokens WHERE id = :id", id=token_id)

    async def revoke_api_token(self, token_id: int, now: datetime) -> int:
        return await self.conn.execute(
            "UPDATE api_tokens SET revoked_at = :now WHERE id = :id AND revoked_at IS NULL",
            {"now": iso(now), "id": token_id},
        )
