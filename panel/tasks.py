"""Stopping background tasks for good, even when a library swallows a cancellation.

A cancelled task should end with CancelledError. redis-py 8.0 and 8.1 do not always let it
(7.4 does): a command cancelled at the wrong moment of its round trip returns normally
instead, so a loop around it (the presence tick) goes on, and one `cancel()` plus an `await`
waits for ever, which hung a server's shutdown after SIGTERM. So a task that is still running
is cancelled again, until it ends or the patience runs out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

RETRY = 1.0  # seconds between cancellations: time enough for a task's own clean-up


async def cancel_and_wait(
    tasks: Iterable[asyncio.Task[Any]], patience: float = 5.0, retry: float = RETRY
) -> None:
    """Cancel `tasks` and wait until every one has ended, cancelling again any that goes on;
    after `patience` seconds, log the ones left running and return. Their exceptions are
    not raised here (each task's owner logs its own failures)."""
    pending = {task for task in tasks if not task.done()}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=retry)
        if pending and loop.time() >= deadline:
            names = ", ".join(sorted(task.get_name() for task in pending))
            log.warning("tasks still running %.0f s after cancelling them: %s", patience, names)
            return
