"""uvicorn's WebSocket protocol (websockets-sansio, its default), with two differences that
docs/protocol.md promises: shutdown closes with 1001 "going away", and a text frame that is
not UTF-8 closes with 1007 and one line in the log.

uvicorn closes every open WebSocket with 1012 ("service restart") as soon as shutdown
begins, before the app's lifespan hears of it, so the app cannot say 1001 first; the
protocol class is the hook uvicorn offers (`Config(ws=...)`). For a bad frame uvicorn logs a
traceback ("Invalid UTF-8 sequence received from client.") for what is the client's fault.
"""

from __future__ import annotations

import logging

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from panel.live.protocol import CLOSE_GOING_AWAY, CLOSE_INVALID_DATA

log = logging.getLogger(__name__)


class LiveWebSockets(WebSocketsSansIOProtocol):
    """The protocol `livepanel serve` gives uvicorn (see the module doc)."""

    def shutdown(self) -> None:
        if not self.handshake_complete or self.close_sent:
            super().shutdown()  # a handshake in progress gets uvicorn's 500; a close is on its way
            return
        self.stop_keepalive()
        self.queue.put_nowait({"type": "websocket.disconnect", "code": CLOSE_GOING_AWAY})
        self.conn.send_close(CLOSE_GOING_AWAY, "server shutting down")
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        self.transport.close()

    def send_receive_event_to_app(self) -> None:
        if self.curr_msg_data_type == "text" and not self.close_sent:
            try:
                b"".join(self.frames).decode()
            except UnicodeDecodeError:
                self.frames = []
                log.info("WebSocket from %s: a text frame that is not UTF-8; closed", _who(self))
                self.conn.send_close(CLOSE_INVALID_DATA, "text frames must be UTF-8")
                self.handle_parser_exception()  # what uvicorn does after its traceback
                return
        super().send_receive_event_to_app()


def _who(protocol: WebSocketsSansIOProtocol) -> str:
    return f"{protocol.client[0]}:{protocol.client[1]}" if protocol.client else "a client"
