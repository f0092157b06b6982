"""WebSocket endpoints: the public live stream (with resume) and the staff stream."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, cast

from starlette.types import Message, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from panel.live import protocol as p
from panel.live.broker import public_channel, staff_channel
from panel.live.caps import READERS, STAFF
from panel.live.hub import Subscriber
from panel.web.audience_key import audience_key
from panel.web.auth import staff_sign_out
from panel.web.base import json_error, origin_allowed, services, whole_number
from panel.web.socketguard import SocketGuard

log = logging.getLogger(__name__)
CLOSE_TIMEOUT = 5.0
# A refused socket's Retry-After (seconds); live.js backs off on its own, from 0.5 s to 60 s.
REFUSED_RETRY_AFTER = 30
# An ASGI send that is a coroutine function (uvicorn's, Starlette's WebSocket.send), so that
# DirectSender can step one send by hand.
SendCoroutine = Callable[[Message], Coroutine[Any, Any, None]]


def quiet_disconnects(
    handler: Callable[..., Awaitable[None]],
) -> Callable[..., Coroutine[Any, Any, None]]:
    """A reader who leaves while the server writes to it (during the catch-up, say) is not
    a failure: one line in the log, not uvicorn's "Exception in ASGI application"."""

    @functools.wraps(handler)
    async def run(ws: WebSocket, *args: Any) -> None:
        try:
            await handler(ws, *args)
        except WebSocketDisconnect as exc:
            log.info("live socket %s: the client left (%s)", ws.url.path, exc.code)

    return run


def parse_since(raw: str | None) -> int | None:
    """`since` is a whole number >= 0; None for anything else."""
    return 0 if raw is None or raw == "" else whole_number(raw)


async def refuse(ws: WebSocket, reason: str) -> None:
    """A socket over a cap: HTTP 429 before the handshake, so nothing is accepted or kept; on
    a server without the denial-response extension, accepted and closed at once with 1013."""
    if "websocket.http.response" in ws.scope.get("extensions", {}):
        headers = {"Retry-After": str(REFUSED_RETRY_AFTER)}
        await ws.send_denial_response(json_error("too_many_sockets", reason, 429, headers))
        return
    await ws.accept()
    await _close(ws, p.CLOSE_TRY_AGAIN, reason)


def _client_host(ws: WebSocket) -> str | None:
    # Right behind trusted proxies too: the proxies' layer rewrites the scope's client.
    return ws.client.host if ws.client else None


@quiet_disconnects
async def reader_stream(ws: WebSocket, send: Send | None = None) -> None:
    """Catch-up from `since`, then live frames; every frame exactly once, in seq order.
    `send`: the server's own ASGI send, when no middleware stands between (app.PublicStream);
    live frames then go to it without Starlette's bookkeeping on each one. Refused before
    the handshake when the caps on sockets are reached."""
    svc = services(ws)
    with svc.socket_caps.admit(READERS, _client_host(ws)) as refused:
        if refused is not None:
            await refuse(ws, refused)
            return
        await _follow_event(ws, send)


async def _follow_event(ws: WebSocket, send: Send | None) -> None:
    svc = services(ws)
    since = parse_since(ws.query_params.get("since"))
    event_id = await svc.directory.visible(ws.path_params["slug"])  # no read, mostly
    await ws.accept()
    if event_id is None:
        await ws.close(p.CLOSE_POLICY, "unknown event")
        return
    if since is None:
        await ws.close(p.CLOSE_POLICY, "since must be a whole number >= 0")
        return
    channel = public_channel(event_id)
    # The hub serves the catch-up (from its ring, or the log when `since` is older) and
    # makes the socket live in the same step, so the seam has no gap and no repeat.
    reader = audience_key(ws, svc.settings.secret)  # several tabs count as one reader
    async with svc.hub.subscribe(channel, since, reader) as sub:
        async for message in sub.catch_up:
            await ws.send_text(message)
        # A newcomer learns the audience size now; after that it comes on the timer. And the
        # question counts as of now: a change while it joined reached only live sockets.
        count = svc.audience_of(channel)
        presence = p.unlogged(p.PRESENCE, {"audience": count}, svc.clock.now())
        counts = svc.hub.counts(channel)
        await ws.send_text(p.encode_batch([counts, presence] if counts else [presence]))
        await _pump(ws, sub, cast(SendCoroutine, send or ws.send))


class DirectSender:
    """Writes the hub's messages to one socket from the hub's own task: no task, queue
    hand-off or wake-up per socket per frame (the largest cost in the 5,000-reader profile).

    Sending through Starlette and uvicorn completes without suspending while the socket's
    transport takes more bytes, so a send is stepped once, in place. Only when the transport
    is backed up does it suspend: then a task of this socket's own finishes that send and
    the messages queued behind it, and the subscriber's bounded queue drops a reader that
    stays behind, as does a send that stays blocked for `timeout` seconds."""

    def __init__(self, send: SendCoroutine, sub: Subscriber, timeout: float) -> None:
        self.send = send  # an ASGI send: a "websocket.send" message changes no socket state
        self.sub = sub
        self.timeout = timeout
        self.finishing: asyncio.Task[None] | None = None

    def __call__(self, text: str) -> bool:
        if self.finishing is not None:
            return False  # earlier messages are still going out: queue this one behind them
        send = self.send({"type": "websocket.send", "text": text})
        try:
            waiting = send.send(None)
        except StopIteration:
            return True  # written
        except Exception:  # the socket is gone or closing; the receiver sees it end
            self.sub.end()
            return True
        self.finishing = asyncio.create_task(self._finish(send, waiting))
        return True

    async def _finish(self, send: Coroutine[Any, Any, None], waiting: Any) -> None:
        """Complete the suspended send, then send whatever queued meanwhile, in order; a
        reader that takes none of it for `timeout` seconds is dropped."""
        try:
            async with asyncio.timeout(self.timeout):
                await _resume(send, waiting)
            while items := self.sub.drain():
                async with asyncio.timeout(self.timeout):
                    await self.send({"type": "websocket.send", "text": p.encode_batch(items)})
        except TimeoutError:
            self.sub.drop()
        except asyncio.CancelledError:
            raise
        except Exception:
            self.sub.end()
        finally:
            self.finishing = None

    async def stop(self) -> None:
        if self.finishing is not None:
            self.finishing.cancel()
            await asyncio.gather(self.finishing, return_exceptions=True)


async def _resume(coro: Coroutine[Any, Any, None], waiting: Any) -> None:
    """Run a coroutine that was stepped by hand to its end: wait for what it is waiting on,
    then step it again (what an asyncio Task does)."""
    try:
        while True:
            if isinstance(waiting, asyncio.Future):
                waiting._asyncio_future_blocking = False
                await asyncio.wait([waiting])
            else:  # a bare yield: let the loop run once
                await asyncio.sleep(0)
            try:
                waiting = coro.send(None)
            except StopIteration:
                return
    except asyncio.CancelledError:
        coro.close()
        raise


async def _go_live(
    send: SendCoroutine, sub: Subscriber, guard: SocketGuard, timeout: float
) -> DirectSender:
    """Send what queued during the catch-up, then let the hub write to the socket directly;
    no await between finding the queue empty and switching, so the order holds."""
    sub.unsent = guard.unsent  # the hub's byte bound counts what the transport still holds
    while items := sub.drain():
        async with asyncio.timeout(timeout):
            await send({"type": "websocket.send", "text": p.encode_batch(items)})
    sender = DirectSender(send, sub, timeout)
    sub.send_now = sender
    return sender


async def _pump(ws: WebSocket, sub: Subscriber, send: SendCoroutine) -> None:
    """Send live, receive, until either side ends or the hub ends the subscriber: a reader
    too slow to read is aborted, any other end is a close frame (1013: resume by seq)."""
    settings = services(ws).settings
    timeout = settings.live_send_timeout
    guard = SocketGuard.of(ws, settings.live_socket_sndbuf)
    try:
        sender = await _go_live(send, sub, guard, timeout)
    except TimeoutError:
        sub.drop()
        sender = DirectSender(send, sub, timeout)  # nothing to stop
    receiver = asyncio.create_task(_receive(ws))
    try:
        waiting: set[asyncio.Future[Any]] = {receiver, sub.ended}
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if sub.ended.done() and sub.overflowed and guard.found:
            # Its close frame would wait behind what it does not read: release it now.
            log.info("live socket %s: reader too slow, connection reset", ws.url.path)
            guard.abort()
            services(ws).hub.resets += 1
        elif sub.ended.done():
            reason = "too slow: resume with since" if sub.overflowed else "resume with since"
            await _close(ws, p.CLOSE_TRY_AGAIN, reason)
        elif not receiver.cancelled() and receiver.exception() is None:
            refusal = receiver.result()
            if refusal is not None:
                await _close(ws, *refusal)
        if receiver.done() and not receiver.cancelled() and receiver.exception() is not None:
            exc = receiver.exception()
            if not isinstance(exc, WebSocketDisconnect | RuntimeError | OSError):
                log.error("live stream task failed", exc_info=exc)
    finally:
        sub.send_now = None
        receiver.cancel()
        await asyncio.gather(receiver, return_exceptions=True)
        await sender.stop()
        guard.abort_later(timeout)  # a close frame its reader never reads is bounded too


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


@quiet_disconnects
async def staff_stream(ws: WebSocket) -> None:
    """Editors and this event's panelists: notices that the queue changed (ids, never text).
    The socket closes with 1008 "signed out" as soon as the session letting it in ends.
    Refused, before anything is read, when the caps on sockets are reached."""
    with services(ws).socket_caps.admit(STAFF, _client_host(ws)) as refused:
        if refused is not None:
            await refuse(ws, refused)
            return
        await _follow_staff(ws)


async def _follow_staff(ws: WebSocket) -> None:
    svc = services(ws)
    async with svc.store.read() as repo:
        event = await repo.event_by_slug(ws.path_params["slug"])
    if not origin_allowed(ws):
        await ws.accept()
        await ws.close(p.CLOSE_POLICY, "origin not allowed")
        return
    if event is None:
        await ws.accept()
        await ws.close(p.CLOSE_POLICY, "sign in first")
        return
    async with staff_sign_out(ws, event.id) as signed_out:
        if signed_out is None:
            await ws.accept()
            await ws.close(p.CLOSE_POLICY, "sign in first")
            return
        # Subscribed before the handshake completes: notices carry no seq and are not
        # replayed, so one sent after the client saw its socket open must not fall between.
        async with svc.hub.subscribe(staff_channel(event.id)) as sub:
            await ws.accept()
            pump = asyncio.create_task(_pump(ws, sub, ws.send))
            try:
                await asyncio.wait({pump, signed_out}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                pump.cancel()
                await asyncio.gather(pump, return_exceptions=True)
            if signed_out.done():
                await _close(ws, p.CLOSE_POLICY, "signed out")
