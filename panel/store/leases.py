"""Leases: a job only one process may do at a time, held by renewing a row before it expires."""

from __future__ import annotations

from datetime import datetime

from panel.domain import iso
from panel.store.rows import Rows


class LeaseRows(Rows):
    async def take_lease(self, name: str, holder: str, now: datetime, expires_at: datetime) -> bool:
        """Take or renew lease `name` for `holder` until `expires_at`: True when `holder` holds
        it now (it was free, expired, or already its own), False when another holds it."""
        await self.conn.execute(
            "INSERT INTO leases (name, holder, expires_at) VALUES (:name, '', '')"
            " ON CONFLICT (name) DO NOTHING",
            {"name": name},
        )
        taken = await self.conn.execute(
            "UPDATE leases SET holder = :holder, expires_at = :exp"
            " WHERE name = :name AND (holder = :holder OR expires_at <= :now)",
            {"name": name, "holder": holder, "exp": iso(expires_at), "now": iso(now)},
        )
        return taken == 1

    async def release_lease(self, name: str, holder: str) -> None:
        """Give lease `name` up at once, if `holder` still holds it (a clean shutdown)."""
        await self.conn.execute(
            "UPDATE leases SET holder = '', expires_at = ''"
            " WHERE name = :name AND holder = :holder",
            {"name": name, "holder": holder},
        )

    async def lease_holder(self, name: str, now: datetime) -> str | None:
        """Who holds lease `name` at `now`, if anyone."""
        row = await self._one(
            "SELECT holder FROM leases WHERE name = :name AND expires_at > :now AND holder <> ''",
            name=name,
            now=iso(now),
        )
        return str(row["holder"]) if row else None
