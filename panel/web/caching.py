"""Cache-Control: what a shared cache (a newsroom's CDN) may keep, and what it never may.

A public page is the same for every reader who has no session, so its handler declares how
long a shared cache may keep it. Anything tied to a session (a reader's own questions, a
notice, a CSRF token, a staff page) is made private here, whatever the handler declared.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Live pages (home, event page, embed): a shared cache may serve a copy up to 5 s old. An
# event page is one snapshot, its Q&A list matching its data-last-seq, so the script resumes
# from that seq without a gap however old the copy is. Browsers keep no copy (max-age=0):
# the page a reader is sent back to after asking must be fetched again, not reused.
LIVE = "public, max-age=0, s-maxage=5"
# Published transcripts, their exports, the archive list and search: they change only when an
# editor republishes or unpublishes, so 5 minutes in a shared cache (purge it on unpublish for
# a faster takedown). Not in browsers: no one can purge those, and an unpublished transcript
# must be gone from its address at once for readers of the site itself.
ARCHIVE = "public, max-age=0, s-maxage=300"
# Anything that sets or reads the session cookie: no cache may keep it, not even the
# browser's on disk (a reader's pending questions are sensitive).
PRIVATE = "private, no-store"


def personal(headers: MutableHeaders) -> bool:
    """A response that sets the session cookie or depends on it."""
    vary = ",".join(headers.getlist("vary")).lower()
    return "set-cookie" in headers or "cookie" in vary


class PrivateWhenPersonal:
    """Marks every personal response `private, no-store`. It sits just outside the session
    middleware, so it sees the Set-Cookie and `Vary: Cookie` that middleware adds."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_private(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if personal(headers):
                    headers["cache-control"] = PRIVATE
            await send(message)

        await self.app(scope, receive, send_private)
