"""The TCP transport under one WebSocket: what its reader holds unread, and how to let it go.

A reader that stops reading cannot be closed politely: its close frame waits behind the
bytes it does not read, and asyncio's `transport.close()` waits for those to drain, for
ever. So a socket dropped for being slow is aborted instead, with SO_LINGER 0 so that the
kernel sends a reset and frees its send buffer at once (a plain close(2) would keep the
unsent bytes, and the connection, while it retries for minutes).

ASGI has no way to reach the transport. uvicorn's WebSocket protocols (websockets-sansio,
websockets, wsproto) pass their own bound `receive` method, and the protocol object keeps
the transport in `.transport`; that is what `SocketGuard.of` uses. Under any other server
(or a middleware that wraps `receive`) the guard finds nothing and does nothing: the
socket falls back to a polite close, bounded in time only by the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from typing import Any, Protocol

from starlette.websockets import WebSocket

log = logging.getLogger(__name__)
LINGER_RESET = struct.pack("ii", 1, 0)  # l_onoff=1, l_linger=0: close(2) sends a reset


class _Transport(Protocol):
    def abort(self) -> None: ...
    def get_write_buffer_size(self) -> int: ...
    def get_extra_info(self, name: str, default: Any = None) -> Any: ...


class SocketGuard:
    """Bounds what one live socket may hold unread (see the module doc)."""

    def __init__(self, transport: _Transport | None) -> None:
        self.transport = transport

    @classmethod
    def of(cls, ws: WebSocket, kernel_buffer: int) -> SocketGuard:
        """The guard of `ws`'s transport, its kernel send buffer capped at `kernel_buffer`
        bytes (0: left as it is). The transport is found through uvicorn's `receive`."""
        receive = getattr(ws, "_receive", None)  # the server's ASGI receive (Starlette keeps it)
        transport = getattr(getattr(receive, "__self__", None), "transport", None)
        if not all(hasattr(transport, name) for name in ("abort", "get_write_buffer_size")):
            transport = None
        guard = cls(transport)
        if kernel_buffer > 0:
            guard._set(socket.SO_SNDBUF, kernel_buffer)
        return guard

    @property
    def found(self) -> bool:
        return self.transport is not None

    def unsent(self) -> int:
        """Bytes written to the socket that the kernel has not taken yet."""
        if self.transport is None:
            return 0
        try:
            return self.transport.get_write_buffer_size()
        except (AttributeError, RuntimeError, OSError):  # the transport is gone
            return 0

    def abort(self) -> None:
        """Drop the connection now, with a reset, whatever it still had to send."""
        if self.transport is None:
            return
        self._set(socket.SO_LINGER, LINGER_RESET)
        with contextlib.suppress(Exception):  # closed already: nothing to release
            self.transport.abort()

    def abort_later(self, delay: float) -> None:
        """Abort after `delay` seconds if the connection is still there by then: a polite
        close that its reader never reads is bounded too."""
        if self.transport is not None:
            asyncio.get_running_loop().call_later(delay, self._abort_if_open)

    def _abort_if_open(self) -> None:
        sock = self._socket()
        if sock is not None and sock.fileno() != -1:
            self.abort()

    def _socket(self) -> Any:
        if self.transport is None:
            return None
        with contextlib.suppress(Exception):
            return self.transport.get_extra_info("socket")
        return None

    def _set(self, option: int, value: int | bytes) -> None:
        sock = self._socket()
        if sock is None:
            return
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, value)
        except (OSError, ValueError, TypeError):  # closed meanwhile, or not a TCP socket
            log.debug("could not set socket option %s", option)
