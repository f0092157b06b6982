"""One way to write. Every action runs as one transaction through `Writer`, with the clock's
instant and the acting person bound in a `Tx`; so an action states only its rule, an audit
entry is one line, and a must-exist lookup is one call.

`now` is read once, before the transaction, so a job that a store re-runs (a serialisation
retry) sees the same instant. Jobs must not have effects outside the transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from panel.clock import Clock
from panel.domain import Actor, Event, Frame, Panelist, Question, RuleError
from panel.live.protocol import ASKER_NOTICE
from panel.store import Repo, Store

T = TypeVar("T")


@dataclass
class Tx:
    """One action's transaction: the repo, the instant and who acts."""

    repo: Repo
    now: datetime
    actor: Actor

    async def audit(
        self,
        action: str,
        target: str,
        *,
        event_id: int | None,
        before: Mapping[str, Any] | None = None,
        after: Mapping[str, Any] | None = None,
    ) -> None:
        """Record who changed what; a change that changed nothing is not worth an entry."""
        if before and before == after:
            return
        await self.repo.audit(
            actor=str(self.actor),
            action=action,
            event_id=event_id,
            target=target,
            before=before,
            after=after,
            now=self.now,
        )

    async def frame(
        self, event_id: int, type_: str, data: dict[str, Any], at: datetime | None = None
    ) -> Frame:
        """Append a public frame (the next seq) to the event's log; sent after commit."""
        return await self.repo.append_frame(event_id, type_, data, at or self.now)

    def notify_staff(self, event_id: int, data: dict[str, Any]) -> None:
        """A staff-only notice (ids, never text), sent after commit."""
        self.repo.notify_staff(event_id, data, self.now)

    def notify_asker(self, event_id: int, question_id: int) -> None:
        """A public notice carrying only the question's id, sent after commit: the asker's
        page fetches what changed from its private endpoint; everyone else learns nothing."""
        self.repo.frames.append(
            Frame(event_id, None, ASKER_NOTICE, self.now, {"question_id": question_id})
        )

    async def event(self, event_id: int) -> Event:
        return await event_or_fail(self.repo, event_id)

    async def question(self, question_id: int) -> Question:
        return await question_or_fail(self.repo, question_id)

    async def people(self, event_id: int) -> dict[int, Panelist]:
        return await people(self.repo, event_id)


class Writer:
    """Runs jobs of a `Tx` as single transactions on the store."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def __call__(self, actor: Actor, job: Callable[[Tx], Awaitable[T]]) -> T:
        now = self.clock.now()

        async def run(repo: Repo) -> T:
            return await job(Tx(repo, now, actor))

        return await self.store.write(run)


# Must-exist lookups, for reads as well as writes.
async def event_or_fail(repo: Repo, event_id: int) -> Event:
    event = await repo.event_by_id(event_id)
    if event is None:
        raise RuleError("not_found", "No such event.")
    return event


async def question_or_fail(repo: Repo, question_id: int) -> Question:
    question = await repo.question(question_id)
    if question is None:
        raise RuleError("not_found", "No such question.")
    return question


async def people(repo: Repo, event_id: int) -> dict[int, Panelist]:
    """Everyone on the event's panel, by id."""
    return {person.id: person for person in (await repo.lineup(event_id)).everyone()}


async def panel_member(repo: Repo, actor: Actor, event_id: int) -> int | None:
    """The actor's panelist id if they sit on this event's panel and are signed in to it."""
    if (
        actor.kind == "panelist"
        and isinstance(actor.id, int)
        and actor.acts_for(event_id)
        and actor.id in await people(repo, event_id)
    ):
        return actor.id
    return None
