"""WebSocket endpoints: the public live stream (with resume) and the staff stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from panel.domain import EventStatus
from panel.live import protocol as p
from panel.live.broker import public_channel, staff_channel
from panel.live.hub import Subscriber
from panel.store.base import aiter_frames
from panel.web.auth import signed_in_panelist
from panel.web.base import origin_allowed, services, whole_number

log = logging.getLogger(__name__)
CLOSE_TIMEOUT = 5.0


def parse_since(raw: str | None) -> int | None:
    """`since` is a whole number >= 0; None for anything else."""
    return 0 if raw is None or raw == "" else whole_number(raw)


async def reader_stream(ws: WebSocket) -> None:
    """Catch-up from `since`, then live frames; every frame exactly once, in seq order."""
    svc = services(ws)
    since = parse_since(ws.query_params.get("since"))
    async with svc.store.read() as repo:
        event = await repo.event_by_slug(ws.path_params["slug"])
    await ws.accept()
    if event is None or event.status == EventStatus.DRAFT:
        await ws.close(p.CLOSE_POLICY, "unknown event")
        return
    if since is None:
        await ws.close(p.CLOSE_POLICY, "since must be a whole number >= 0")
        return
    # Subscribe before reading the log, so nothing committed in between is missed.
    with svc.hub.subscribe(public_channel(event.id)) as sub:
        async with svc.store.read() as repo:
            last = await repo.last_seq(event.id)
        cursor = since
        if since > last:
            await ws.send_text(p.stream_reset(last, svc.clock.now()))
            cursor = last
        else:
            batch: list[str] = []
            async for frame in aiter_frames(svc.store, event.id, since):
                batch.append(p.encode(frame))
                cursor = frame.seq or cursor
                if len(batch) >= p.CATCH_UP_BATCH:
                    await ws.send_text(p.encode_batch(batch))
                    batch = []
            if batch:
                await ws.send_text(p.encode_batch(batch))
        # A newcomer learns the audience size now; after that it comes on the timer.
        count = svc.hub.count(public_channel(event.id))
        await ws.send_text(p.unlogged(p.PRESENCE, {"audience": count}, svc.clock.now()))
        await _pump(ws, sub, event.id, cursor)


async def _pump(ws: WebSocket, sub: Subscriber, event_id: int, cursor: int | None) -> None:
    """Run sender and receiver until either ends or the reader falls behind (close 1013)."""
    svc = services(ws)
    sender = asyncio.create_task(_send_live(ws, sub, event_id, cursor))
    receiver = asyncio.create_task(_receive(ws))
    overflow = asyncio.create_task(sub.overflowed.wait())
    try:
        done, _ = await asyncio.wait(
            {sender, receiver, overflow}, return_when=asyncio.FIRST_COMPLETED
        )
        if overflow in done:
            await _close(ws, p.CLOSE_TRY_AGAIN, "too slow: resume with since")
        elif receiver in done and not receiver.cancelled() and receiver.exception() is None:
            refusal = receiver.result()
            if refusal is not None:
                await _close(ws, *refusal)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                exc = task.exception()
                if not isinstance(exc, WebSocketDisconnect | RuntimeError | OSError):
                    log.error("live stream task failed", exc_info=exc)
    finally:
        for task in (sender, receiver, overflow):
            task.cancel()
        await asyncio.gather(sender, receiver, overflow, return_exceptions=True)
        del svc


async def _send_live(ws: WebSocket, sub: Subscriber, event_id: int, cursor: int | None) -> None:
    """Forward queued frames; skip ones already sent, fill any gap from the log."""
    svc = services(ws)
    while True:
        items = [await sub.queue.get(), *sub.drain()]
        out: list[str] = []
        for seq, text in items:
            if seq is None or cursor is None:
                out.append(text)
                continue
            if seq <= cursor:
                continue  # already sent during catch-up
            if seq > cursor + 1:  # a gap (e.g. across processes): read it from the log
                async for frame in aiter_frames(svc.store, event_id, cursor):
                    if frame.seq is not None and frame.seq < seq:
                        out.append(p.encode(frame))
            out.append(text)
            cursor = seq
        if out:
            await ws.send_text(p.encode_batch(out))


async def _receive(ws: WebSocket) -> tuple[int, str] | None:
    """Readers may send small JSON frames ({"type": "ping"}); anything else gets an error."""
    limit = services(ws).settings.ws_max_message_bytes
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return None
        raw = message.get("text")
        if raw is None:
            raw_bytes = message.get("bytes") or b""
            if len(raw_bytes) > limit:
                return p.CLOSE_TOO_BIG, "frame too large"
            raw = raw_bytes.decode("utf-8", "replace")
        if len(raw.encode("utf-8")) > limit:
            return p.CLOSE_TOO_BIG, "frame too large"
        now = services(ws).clock.now()
        try:
            frame = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: "[[[[…" nested too deep
            await ws.send_text(p.error("bad_frame", "Frames must be JSON objects.", now))
            continue
        if isinstance(frame, dict) and frame.get("type") == "ping":
            await ws.send_text(p.unlogged(p.PONG, {}, now))
        else:
            await ws.send_text(p.error("bad_frame", "Unknown frame; only ping is accepted.", now))


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    if ws.application_state == WebSocketState.DISCONNECTED:
        return
    with contextlib.suppress(Exception):
        await asyncio.wait_for(ws.close(code, reason), CLOSE_TIMEOUT)


async def staff_stream(ws: WebSocket) -> None:
    """Editors and this event's panelists: notices that the queue changed (ids, never text)."""
    svc = services(ws)
    async with svc.store.read() as repo:
        event = await repo.event_by_slug(ws.path_params["slug"])
    await ws.accept()
    if not origin_allowed(ws):
        await ws.close(p.CLOSE_POLICY, "origin not allowed")
        return
    allowed = event is not None and (
        ws.session.get("editor_id") or await signed_in_panelist(ws, event.id)
    )
    if not allowed or event is None:
        await ws.close(p.CLOSE_POLICY, "sign in first")
        return
    with svc.hub.subscribe(staff_channel(event.id)) as sub:
        await _pump(ws, sub, event.id, None)
