"""Who a reader's socket belongs to, for the audience count: readers, not sockets.

The readers' socket is served before the session middleware (app.PublicStream), so this reads
what the handshake carries, in this order:
1. `?reader=`, a random id live.js keeps per browser (localStorage): the same in every tab
   from the first page view, with or without a session;
2. the reader id in the signed session cookie (clients without that id, such as a page whose
   cached script predates it);
3. the client's address.
A client can claim any id, but only to count itself once more per socket, which the caps on
sockets bound. The key is a keyed hash, so neither an id nor an address is kept as such.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from base64 import b64decode

from itsdangerous import BadSignature, TimestampSigner
from starlette.websockets import WebSocket

SESSION_COOKIE = "livepanel"  # as app.create_app's SessionMiddleware
SESSION_MAX_AGE = 30 * 24 * 3600
BROWSER_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")


def audience_key(ws: WebSocket, secret: str) -> str:
    """A short keyed hash naming the reader behind `ws` (see the module doc)."""
    browser = ws.query_params.get("reader", "")
    if BROWSER_ID.fullmatch(browser):
        who = f"browser:{browser}"
    elif reader := _session_reader(ws.cookies.get(SESSION_COOKIE), secret):
        who = f"reader:{reader}"
    else:
        who = f"address:{ws.client.host if ws.client else ''}"
    return hmac.new(secret.encode(), who.encode(), hashlib.sha256).hexdigest()[:24]


def _session_reader(cookie: str | None, secret: str) -> str | None:
    """The reader id in a valid session cookie, else None (read as SessionMiddleware does)."""
    if not cookie or not secret:
        return None
    try:
        data = TimestampSigner(secret).unsign(cookie.encode(), max_age=SESSION_MAX_AGE)
        session = json.loads(b64decode(data))
    except (BadSignature, ValueError):
        return None
    reader = session.get("reader") if isinstance(session, dict) else None
    return reader if isinstance(reader, str) and reader else None
