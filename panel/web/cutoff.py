"""Requests cut off by shutdown: a 503 and one log line, not a 500 and a traceback.

On shutdown uvicorn waits `timeout_graceful_shutdown` seconds for requests in progress, then
cancels them. A request stalled mid-body (a client that sent 10 of 1,000 bytes, then
nothing) is one of those; its cancellation would reach uvicorn as "Exception in ASGI
application" with a traceback, and the client would get a 500 for its own stall.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)
BODY = json.dumps(
    {"error": {"code": "shutting_down", "message": "The server is restarting; try again."}}
).encode()


class CutOffRequests:
    """Pure ASGI: HTTP requests that shutdown cancels end with 503 (see the module doc)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is None or task.cancelling() == 0:
                raise  # not this request's task being cancelled
            # uvicorn cancels a request's task only to stop; nothing else waits on it.
            task.uncancel()
            log.info("%s %s: cut off by shutdown", scope["method"], scope["path"])
            if not started:
                with contextlib.suppress(Exception):
                    await _service_unavailable(send)


async def _service_unavailable(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(BODY)).encode()),
                (b"connection", b"close"),
                (b"retry-after", b"5"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": BODY})
