"""How uvicorn serves the app: its options, a cap on request headers and private logs.

`livepanel serve` (panel/cli.py) takes every option from `uvicorn_options`, for one process
or several workers alike."""

from __future__ import annotations

import copy
import logging
from typing import Any

from panel.config import Settings

log = logging.getLogger(__name__)

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    HAS_HTTPTOOLS = True
except ImportError:  # uvicorn without its [standard] extra: h11 applies the cap itself
    HAS_HTTPTOOLS = False


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn.Config keywords for this site (the app or factory is the caller's)."""
    return {
        "log_level": "info",
        "log_config": log_config(settings),
        "ws_max_size": settings.ws_max_message_bytes,
        "ws_ping_interval": 20,
        "ws_ping_timeout": 20,
        "lifespan": "on",
        "timeout_graceful_shutdown": 5,
        # The app reads X-Forwarded-* itself, from LIVEPANEL_TRUSTED_PROXIES only
        # (panel/web/proxies.py); uvicorn would believe them from 127.0.0.1.
        "proxy_headers": False,
        "http": "panel.serving:BoundedHttpTools" if HAS_HTTPTOOLS else "h11",
        # h11 refuses a head this much beyond what it could parse; BoundedHttpTools reads it too.
        "h11_max_incomplete_event_size": settings.max_header_bytes,
    }


def log_config(settings: Settings) -> dict[str, Any]:
    """uvicorn's logging set-up with panel/logs.py's filter on both of its handlers: no
    invite token and no raw client address in the access or connection lines."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {
        "private": {"()": "panel.logs.PrivateLogRecords", "secret": settings.secret},
    }
    for handler in config["handlers"].values():
        handler["filters"] = ["private"]
    return config


if HAS_HTTPTOOLS:

    class BoundedHttpTools(HttpToolsProtocol):
        """uvicorn's httptools protocol with a cap on the request line and headers (431),
        which h11 has (h11_max_incomplete_event_size) and httptools lacks: without it a
        client could send megabytes of headers, all held in memory."""

        def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
            super().__init__(config, *args, **kwargs)
            self.max_head = int(config.h11_max_incomplete_event_size or 16 * 1024)
            self.head_bytes = 0  # of the request line and headers parsed so far
            self.unparsed_bytes = 0  # received while the headers were incomplete
            self.reading_head = True
            self.head_too_large = False

        def data_received(self, data: bytes) -> None:
            if self.reading_head:
                self.unparsed_bytes += len(data)
            super().data_received(data)
            # One header still incomplete after this many bytes (httptools keeps it whole
            # until it ends), e.g. one endless header line, is refused as well.
            if self.reading_head and self.unparsed_bytes > self.max_head + 2**16:
                self.head_too_large = True
                self.send_400_response("")

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self.head_bytes = 0

        def on_url(self, url: bytes) -> None:
            self._count(len(url))
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._count(len(name) + len(value) + 4)  # ": " and CRLF
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self.reading_head = False
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self.reading_head = True
            self.unparsed_bytes = 0

        def _count(self, size: int) -> None:
            self.head_bytes += size
            if self.head_bytes > self.max_head:
                self.head_too_large = True
                # httptools turns this into an HttpParserError; uvicorn then answers with
                # send_400_response, which says 431 instead.
                raise ValueError("request headers too large")

        def send_400_response(self, msg: str) -> None:
            if not self.head_too_large:
                super().send_400_response(msg)
                return
            if self.transport.is_closing():
                return
            log.warning("Request headers over %d bytes refused (431).", self.max_head)
            body = b"Request header fields too large.\n"
            self.transport.write(
                b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                b"content-type: text/plain; charset=utf-8\r\n"
                b"content-length: " + str(len(body)).encode() + b"\r\n"
                b"connection: close\r\n\r\n" + body
            )
            self.transport.close()
