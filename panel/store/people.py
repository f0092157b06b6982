"""Panelists, who sits on which event's panel (assignments, the lineup), and their invites."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from panel.domain import Lineup, Panelist, iso
from panel.store.rows import Row, Rows, in_list


def _panelist(r: Row) -> Panelist:
    return Panelist(id=r["id"], name=r["name"], role=r["role"], bio=r["bio"], photo=r["photo"])


class PeopleRows(Rows):
    # -- panelists ------------------------------------------------------------
    async def insert_panelist(
        self, name: str, role: str, bio: str, now: datetime, photo: str | None = None
    ) -> int:
        row = await self._one(
            "INSERT INTO panelists (name, role, bio, photo, created_at) VALUES"
            " (:name, :role, :bio, :photo, :now) RETURNING id",
            name=name,
            role=role,
            bio=bio,
            photo=photo,
            now=iso(now),
        )
        assert row is not None
        return int(row["id"])

    async def panelist(self, panelist_id: int) -> Panelist | None:
        row = await self._one("SELECT * FROM panelists WHERE id = :id", id=panelist_id)
        return _panelist(row) if row else None

    async def update_panelist(self, panelist_id: int, **fields: Any) -> None:
        await self._update("panelists", panelist_id, fields, None)

    async def all_panelists(self) -> list[Panelist]:
        return [_panelist(r) for r in await self._all("SELECT * FROM panelists ORDER BY name")]

    async def delete_panelists_without_panel(self, panelist_ids: Sequence[int]) -> None:
        """Delete those of these profiles that sit on no event's panel any more."""
        wanted, params = in_list("p", list(panelist_ids))
        await self.conn.execute(
            f"DELETE FROM panelists WHERE id IN {wanted}"
            " AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.panelist_id = panelists.id)",
            params,
        )

    # -- assignments and the lineup -------------------------------------------
    async def assignments(self, event_id: int) -> list[Row]:
        return await self._all(
            "SELECT a.*, p.name AS panelist_name FROM assignments a JOIN panelists p"
            " ON p.id = a.panelist_id WHERE a.event_id = :e ORDER BY a.position, a.id",
            e=event_id,
        )

    async def unassign(self, assignment_id: int, event_id: int | None = None) -> Row | None:
        """Delete one assignment (only of `event_id`, when given); the row as it was."""
        row = await self._one("SELECT * FROM assignments WHERE id = :id", id=assignment_id)
        if row is None or event_id not in (None, row["event_id"]):
            return None
        await self.conn.execute("DELETE FROM assignments WHERE id = :id", {"id": assignment_id})
        return row

    async def assign(
        self, event_id: int, panelist_id: int, slot_id: int | None, position: int = 0
    ) -> None:
        await self.conn.execute(
            "INSERT INTO assignments (event_id, panelist_id, slot_id, position) VALUES"
            " (:e, :p, :s, :pos)",
            {"e": event_id, "p": panelist_id, "s": slot_id, "pos": position},
        )

    async def lineup(self, event_id: int) -> Lineup:
        return await self._memo("lineup", event_id, lambda: self._lineup(event_id))

    async def _lineup(self, event_id: int) -> Lineup:
        rows = await self._all(
            "SELECT p.*, a.slot_id FROM assignments a JOIN panelists p ON p.id = a.panelist_id"
            " WHERE a.event_id = :e ORDER BY a.position, a.id",
            e=event_id,
        )
        core = tuple(_panelist(r) for r in rows if r["slot_id"] is None)
        by_slot: dict[int, tuple[Panelist, ...]] = {}
        for r in rows:
            if r["slot_id"] is not None:
                by_slot[r["slot_id"]] = (*by_slot.get(r["slot_id"], ()), _panelist(r))
        return Lineup(core=core, by_slot=by_slot)

    # -- invites --------------------------------------------------------------
    async def insert_invite(
        self, event_id: int, panelist_id: int, token_hash: str, now: datetime
    ) -> int:
        row = await self._one(
            "INSERT INTO invites (event_id, panelist_id, token_hash, created_at) VALUES"
            " (:e, :p, :h, :now) RETURNING id",
            e=event_id,
            p=panelist_id,
            h=token_hash,
            now=iso(now),
        )
        assert row is not None
        return int(row["id"])

    async def invite_by_hash(self, token_hash: str) -> Row | None:
        return await self._one(
            "SELECT * FROM invites WHERE token_hash = :h AND revoked_at IS NULL", h=token_hash
        )

    async def invite(self, invite_id: int) -> Row | None:
        return await self._one("SELECT * FROM invites WHERE id = :id", id=invite_id)

    async def touch_invite(self, invite_id: int, now: datetime) -> None:
        await self.conn.execute(
            "UPDATE invites SET last_used_at = :now WHERE id = :id",
            {"now": iso(now), "id": invite_id},
        )

    async def revoke_invite(self, invite_id: int, now: datetime) -> int:
        return await self.conn.execute(
            "UPDATE invites SET revoked_at = :now WHERE id = :id AND revoked_at IS NULL",
            {"now": iso(now), "id": invite_id},
        )

    async def invites(self, event_id: int) -> list[Row]:
        return await self._all(
            "SELECT i.*, p.name AS panelist_name FROM invites i JOIN panelists p"
            " ON p.id = i.panelist_id WHERE i.event_id = :e ORDER BY i.id",
            e=event_id,
        )
