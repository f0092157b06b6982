"""Crash-safe demo loading: a start mark, a done mark, and the discard of a half load.

The demo is loaded through the real actions, so it takes many transactions; a `kill -9`
between two of them leaves part of it behind. Two audit entries make that visible on both
stores: `demo.load` is written before the first demo row (in the same transaction as the
discard of any earlier half load), `demo.loaded` after the last. A start without a done
means a half load, which the next load removes in one transaction and loads again.

A database that has the live demo event but no mark at all was loaded before the marks
existed: it is left alone, as before.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from panel.clock import Clock
from panel.domain import SYSTEM
from panel.store import Repo, Store
from panel.writes import Tx, Writer

STARTED = "demo.load"
DONE = "demo.loaded"


@dataclass(frozen=True)
class DemoSite:
    """What the demo puts in a database, as far as a discard needs to know."""

    slugs: Sequence[str]  # every demo event; the first is the one older versions checked
    editor: str


async def begin_load(store: Store, clock: Clock, site: DemoSite) -> bool | None:
    """None if the demo is complete; else, in one transaction, discard any half load, mark
    the start and return whether this load must create the demo editor."""

    async def job(tx: Tx) -> bool | None:
        if await _complete(tx.repo, site):
            return None
        started = await tx.repo.audit_entries(limit=1, action=STARTED)
        if started:
            await _discard(tx, site, json.loads(started[0]["after_json"] or "{}"))
        creates_editor = await tx.repo.editor_by_username(site.editor) is None
        # Remembered so that a discard removes an editor whose password nobody kept.
        await tx.audit("demo.load", "demo", event_id=None, after={"creates_editor": creates_editor})
        return creates_editor

    return await Writer(store, clock)(SYSTEM, job)


async def finish_load(store: Store, clock: Clock) -> None:
    """Mark the demo complete: from now on, loading it again changes nothing."""

    async def job(tx: Tx) -> None:
        await tx.audit("demo.loaded", "demo", event_id=None, after={"complete": True})

    await Writer(store, clock)(SYSTEM, job)


async def _complete(repo: Repo, site: DemoSite) -> bool:
    if await repo.audit_entries(limit=1, action=DONE):
        return True
    if await repo.audit_entries(limit=1, action=STARTED):
        return False
    return await repo.event_by_slug(site.slugs[0]) is not None  # loaded before the marks


async def _discard(tx: Tx, site: DemoSite, start: dict[str, object]) -> None:
    """Remove what a half load wrote: its events (their questions, answers, log, invites
    and the rest go with them by cascade), the panelists it created, and the editor if it
    created one (its password was never shown, or was shown only with the half load)."""
    removed: list[str] = []
    panelists: set[int] = set()
    for slug in site.slugs:
        event = await tx.repo.event_by_slug(slug)
        if event is None:
            continue
        panelists |= {int(row["panelist_id"]) for row in await tx.repo.assignments(event.id)}
        await tx.repo.delete_event(event.id)
        removed.append(slug)
    await tx.repo.delete_panelists_without_panel(sorted(panelists))
    editor = await tx.repo.editor_by_username(site.editor)
    if editor is not None and start.get("creates_editor"):
        await tx.repo.delete_editor(int(editor["id"]))
        removed.append(f"editor:{site.editor}")
    await tx.audit(
        "demo.discard",
        "demo",
        event_id=None,
        before={"removed": removed, "panelists": len(panelists)},
    )
