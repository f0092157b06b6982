"""Panelists' email addresses (migration 0015): private, for the desk and the mailer only.

They live in `panelists.email`, but the `Panelist` value that pages, frames, the API and
exports are built from never carries them (panel/store/people.py leaves the column out), so
no public surface can show one by mistake. Only this module reads the column."""

from __future__ import annotations

from collections.abc import Sequence

from panel.store.rows import Rows, in_list


class ContactRows(Rows):
    async def panelist_emails(self, panelist_ids: Sequence[int]) -> dict[int, str]:
        """The address of each of these panelists who has one."""
        ids, params = in_list("p", list(panelist_ids))
        rows = await self.conn.fetchall(
            f"SELECT id, email FROM panelists WHERE id IN {ids} AND email IS NOT NULL",
            params,
        )
        return {int(r["id"]): str(r["email"]) for r in rows}

    async def set_panelist_email(self, panelist_id: int, email: str | None) -> None:
        await self.conn.execute(
            "UPDATE panelists SET email = :email WHERE id = :id",
            {"id": panelist_id, "email": email},
        )
