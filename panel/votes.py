"""Upvotes: one per reader, counted at once; their counts reach readers without one frame
per vote.

A vote is counted in its own transaction. Its `question.updated` frame goes out in that same
transaction only when the question's count was last announced at least `vote_frame_seconds`
ago. Otherwise the vote is owed: after the window the tally announces every question whose
count changed, in one transaction, one frame each. So a quiet event shows each vote live at
once, as before, and an upvote storm on a 10,000-reader event costs at most two frames per
question per window instead of one per vote: each frame is a send to every reader.

What readers were told is stored (`questions.upvotes_shown`, set whenever a frame carries the
question), not only remembered, so the tally's first pass after a start announces what a
crash or a stop left owed. The window is per process: with several processes each one
throttles its own voters.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from panel.clock import Clock
from panel.config import Settings
from panel.domain import SYSTEM, Actor, QuestionStatus, RuleError
from panel.live import protocol as p
from panel.questions import publish_question
from panel.store import Store
from panel.writes import Tx, Writer

log = logging.getLogger(__name__)


class Votes:
    def __init__(self, store: Store, clock: Clock, settings: Settings) -> None:
        self.write = Writer(store, clock)
        self.window = settings.vote_frame_seconds
        self._announced: dict[int, float] = {}  # question id -> when a frame last carried it
        # Jobs run on the SQLite writer's thread, the tally on the event loop: both touch
        # `_announced`, under this lock.
        self._announced_lock = threading.Lock()
        self._owed = asyncio.Event()
        self.announced = 0  # frames sent by the tally after a window, for tests and /metrics

    async def upvote(self, question_id: int, reader_id: str) -> int:
        """Count one upvote per reader; returns the new total."""
        total, _ = await self.cast(question_id, reader_id)
        return total

    async def cast(self, question_id: int, reader_id: str) -> tuple[int, bool]:
        """Count one upvote per reader: the total, and whether this vote counted (False:
        the reader had upvoted the question already)."""

        async def job(tx: Tx) -> tuple[int, bool, bool]:
            question = await tx.question(question_id)
            if question.status != QuestionStatus.APPROVED:
                raise RuleError("not_found", "No such question.")
            if not await tx.repo.add_upvote(question.id, reader_id, tx.now):
                return question.upvotes, False, False  # this reader's vote counted already
            owed = not self._may_announce(question.id)  # if so, announced after the window
            if not owed:
                await publish_question(tx, question.id, p.QUESTION_UPDATED)
            # The same transaction read the count and added this vote to it.
            return question.upvotes + 1, True, owed

        total, counted, owed = await self.write(Actor("reader", reader_id), job)
        if owed:
            self._owed.set()  # after the commit, so the tally's next read sees this vote
        return total, counted

    def _may_announce(self, question_id: int) -> bool:
        """Whether this vote's frame may go out now; if so, the window starts again."""
        now = time.monotonic()
        with self._announced_lock:
            last = self._announced.get(question_id)
            if last is not None and now - last < self.window:
                return False
            self._announced[question_id] = now
            return True

    async def announce_owed(self) -> int:
        """One frame for each published question whose count readers have not seen yet."""

        async def job(tx: Tx) -> list[int]:
            owed = await tx.repo.unannounced_votes()
            for question_id in owed:
                await publish_question(tx, question_id, p.QUESTION_UPDATED)
            return owed

        owed = await self.write(SYSTEM, job)
        now = time.monotonic()
        with self._announced_lock:
            for question_id in owed:
                self._announced[question_id] = now
            # Questions quiet for a whole window need no memory: their next vote goes out at
            # once.
            self._announced = {q: t for q, t in self._announced.items() if now - t < self.window}
        self.announced += len(owed)
        return len(owed)

    async def run(self) -> None:
        """The tally task: announce what a stop left owed, then, whenever votes are owed,
        wait out the window (so its other votes join) and announce them."""
        await self.announce_owed()
        while True:
            await self._owed.wait()
            await asyncio.sleep(self.window)
            self._owed.clear()  # before reading: a vote committed meanwhile is owed again
            try:
                await self.announce_owed()
            except Exception:
                log.exception("could not announce upvote counts; trying again")
                self._owed.set()
