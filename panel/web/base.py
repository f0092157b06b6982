"""What every web module needs: services, sessions, CSRF, rendering and errors."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates
from starlette.types import Message

from panel.cards import card_version
from panel.config import Settings
from panel.domain import Event, RuleError
from panel.render import markdown_to_html
from panel.security import mask_csrf, new_csrf_token, new_reader_id, same, unmask_csrf
from panel.services import Services
from panel.sessions import StaffSession
from panel.web.formbody import strict_form
from panel.web.pagecache import PageCache
from panel.web.share_meta import page_meta

MAX_FORM_BYTES = 64 * 1024
MAX_JSON_BYTES = 64 * 1024

# Which HTTP status each domain refusal maps to.
STATUS_FOR_CODE = {
    "invalid": 422,
    "idempotency_mismatch": 422,
    "too_long": 422,
    "not_found": 404,
    "forbidden": 403,
    "conflict": 409,
    "already_moderated": 409,
    "not_accepting": 409,
    "bad_transition": 409,
    "bad_login": 401,
    "locked": 429,
    "rate_limited": 429,
    "csrf": 403,
    "unauthorized": 401,
    "too_large": 413,
    "bad_request": 400,
    "unavailable": 503,
}
# Seconds a client is told to wait when the database cannot be reached (the 503).
UNAVAILABLE_RETRY_AFTER = 5


def whole_number(text: str | None) -> int | None:
    """A non-negative whole number written in ASCII digits (not "²"), or None."""
    if not text or not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)


def services(conn: HTTPConnection) -> Services:
    return conn.state.services  # type: ignore[no-any-return]


def templates(conn: HTTPConnection) -> Jinja2Templates:
    return conn.state.templates  # type: ignore[no-any-return]


def page_cache(conn: HTTPConnection) -> PageCache:
    return conn.state.page_cache  # type: ignore[no-any-return]


def session_if_any(conn: HTTPConnection) -> dict[str, Any] | None:
    """The session when the request brought one, else None without touching it: reading
    `conn.session` marks the response `Vary: Cookie`, which a public page must not carry."""
    return conn.session if conn.scope.get("session") else None


def current_reader(conn: HTTPConnection) -> str | None:
    """The anonymous reader id if this reader has one already; never makes one."""
    session = session_if_any(conn)
    rid = session.get("reader") if session is not None else None
    return str(rid) if rid else None


def reader_id(conn: HTTPConnection) -> str:
    """The anonymous reader id, kept in the signed session cookie; made by the first action
    that needs one (asking, upvoting), never by viewing a page."""
    rid = current_reader(conn)
    if not rid:
        rid = conn.session["reader"] = new_reader_id()
        csrf_token(conn)  # in the same cookie, so the reader's next page carries a token
    return rid


def csrf_token(conn: HTTPConnection) -> str:
    token = conn.session.get("csrf")
    if not token:
        token = conn.session["csrf"] = new_csrf_token()
    return str(token)


async def editor_session(conn: HTTPConnection) -> StaffSession | None:
    """The editor's session that the cookie names, while it lasts (panel/sessions.py); looked
    up once per request."""
    if not hasattr(conn.state, "editor_session"):
        cookie = session_if_any(conn)  # no cookie: nothing to look up, and no Vary: Cookie
        token = cookie.get("sid") if cookie is not None else None
        session = await services(conn).sessions.find(token) if token else None
        editor = session is not None and session.actor.kind == "editor"
        conn.state.editor_session = session if editor else None
    found: StaffSession | None = conn.state.editor_session
    return found


CSRF_REFUSED = "This form has expired or did not come from this site."


async def read_form(request: Request, max_bytes: int | None = None) -> FormData:
    """The posted form, refused when too big or when its CSRF token is missing or wrong.

    `max_bytes` above the default allows one uploaded file of about that size.
    """
    form = await parse_form(request, max_bytes)
    check_csrf_token(request, form)
    return form


async def read_reader_form(request: Request) -> FormData:
    """A reader's form (ask, upvote), checked by `check_reader_form`."""
    form = await parse_form(request)
    check_reader_form(request, form)
    return form


async def parse_form(request: Request, max_bytes: int | None = None) -> FormData:
    """The posted form, refused when too big; its CSRF token is not checked yet."""
    limit = max_bytes or MAX_FORM_BYTES
    too_large = RuleError(
        "too_large",
        "That upload is too large: photos can be at most 2 MB."
        if max_bytes
        else "That form is too large.",
    )
    if (whole_number(request.headers.get("content-length")) or 0) > limit:
        raise too_large
    received = 0

    async def receive() -> Message:
        """The body, refused once past the limit: without a Content-Length (chunked), its
        size is known only while it is read."""
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise too_large
        return message

    return await strict_form(
        Request(request.scope, receive),
        max_files=1 if max_bytes else 0,
        max_fields=50,
        max_part_size=MAX_FORM_BYTES,
    )


def check_csrf_token(request: Request, form: FormData) -> None:
    """Refuse the form unless it carries the session's CSRF token (masked)."""
    sent = form.get("csrf_token")
    secret = unmask_csrf(sent) if isinstance(sent, str) and len(sent) <= 200 else None
    expected = request.session.get("csrf")
    if secret is None or not expected or not same(secret, expected):
        raise RuleError("csrf", f"{CSRF_REFUSED} Reload the page and try again.")


def check_reader_form(request: Request, form: FormData) -> None:
    """A reader's form is checked by its token when it carries one and the reader has a
    session; a page served without a cookie (cacheable by a CDN) has no token to carry, so
    then the browser's own word that our page sent it must do (`came_from_this_site`)."""
    session = session_if_any(request)
    if form.get("csrf_token") and session is not None and session.get("csrf"):
        check_csrf_token(request, form)
    elif not came_from_this_site(request):
        raise RuleError("csrf", f"{CSRF_REFUSED} Nothing was sent: check it and send it again.")


def site_origins(conn: HTTPConnection) -> set[str]:
    """This site's origins: the request's own scheme and host, and LIVEPANEL_PUBLIC_URL's."""
    allowed = {f"{conn.url.scheme.replace('ws', 'http')}://{conn.headers.get('host', '')}"}
    public = services(conn).settings.public_url
    if public:
        parts = urlsplit(public)
        allowed.add(f"{parts.scheme}://{parts.netloc}")
    return allowed


def origin_allowed(conn: HTTPConnection) -> bool:
    """Same-origin check for unsafe requests and staff sockets; an absent Origin is allowed."""
    origin = conn.headers.get("origin")
    return not origin or origin in site_origins(conn)


def came_from_this_site(request: Request) -> bool:
    """Whether the browser says one of our own pages sent this request. A cross-site page can
    forge none of these headers; unlike `origin_allowed`, saying nothing is not enough."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site != "same-origin":
        return False  # "same-site" too: a sibling subdomain is not this site
    origin = request.headers.get("origin")
    if origin:  # "null" (a sandboxed frame, a privacy redirect) is not ours either
        return origin in site_origins(request)
    referer = urlsplit(request.headers.get("referer", ""))
    return bool(referer.netloc) and f"{referer.scheme}://{referer.netloc}" in site_origins(request)


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    """A page that needs a session (staff pages, login): it makes one if there is none."""
    return _render(request, name, context, status, request.session)


def render_public(
    request: Request, name: str, context: dict[str, Any], cache: str, status: int = 200
) -> Response:
    """A page anyone may see: with no session it makes none and touches none, so it sets no
    cookie, has no `Vary: Cookie` and keeps `cache`, a public Cache-Control (a page that
    uses the reader's session is made private by caching.PrivateWhenPersonal)."""
    response = _render(request, name, context, status, session_if_any(request))
    response.headers["cache-control"] = cache
    return response


def _render(
    request: Request,
    name: str,
    context: dict[str, Any],
    status: int,
    session: dict[str, Any] | None,
) -> Response:
    base = {
        # A new disguise per page (BREACH); no session, no token (see check_reader_form).
        "csrf_token": mask_csrf(csrf_token(request)) if session is not None else "",
        # Shows the Desk link; it grants nothing (the session is checked where it matters).
        "editor": session is not None and "sid" in session,
        **brand_context(services(request).settings),
    }
    return templates(request).TemplateResponse(
        request, name, {**base, **context}, status_code=status
    )


def site_url(conn: HTTPConnection) -> str:
    """The public base address: LIVEPANEL_PUBLIC_URL when set, else the request's own."""
    public = services(conn).settings.public_url
    return (public or str(conn.base_url)).rstrip("/")


def brand_context(settings: Settings) -> dict[str, Any]:
    """What base.html shows of the site's branding (LIVEPANEL_SITE_NAME and friends)."""
    return {
        "site_name": settings.site_name,
        "logo_url": settings.logo_url,
        "footer_text": settings.footer_text,
        "brand_css": f"/brand.css?v={card_version(settings.accent)}",
    }


def wants_json(request: Request) -> bool:
    """A script's request (fetch with Accept: application/json) rather than a browser form."""
    return "application/json" in request.headers.get("accept", "")


def json_error(
    code: str, message: str, status: int | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}},
        status_code=status or STATUS_FOR_CODE.get(code, 400),
        headers=headers,
    )


async def event_or_404(request: Request, slug: str) -> Event:
    async with services(request).store.read() as repo:
        event = await repo.event_by_slug(slug)
    if event is None or event.status == "draft" and await editor_session(request) is None:
        raise HTTPException(404, "No such event.")
    return event


def local_time(event: Event, at: datetime, fmt: str = "%H:%M") -> str:
    return event.local(at).strftime(fmt)


def html_error_page(request: Request, status: int, title: str, message: str) -> Response:
    """An error page; it has no form, so it starts no session."""
    try:
        settings = services(request).settings
        share = page_meta(
            site_url(request), settings, title, request.url.path, message, robots="noindex"
        )
        context = {"title": title, "message": message, "share": share}
        return _render(request, "error.html", context, status, session_if_any(request))
    except Exception:  # the error page itself must never fail
        return HTMLResponse(f"<h1>{status}</h1>", status_code=status)


async def read_json(request: Request, max_bytes: int = MAX_JSON_BYTES) -> dict[str, Any]:
    """A JSON object body; refused when too big, not JSON, or from another site."""
    if not origin_allowed(request):
        raise RuleError("forbidden", "Cross-site requests are not allowed.")
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise RuleError("bad_request", "Send a JSON body with Content-Type: application/json.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise RuleError("too_large", f"The body is over {max_bytes} bytes.")
    try:
        data = json.loads(body or b"{}")
        # "\ud800" parses to a lone surrogate, which is not text and fails wherever it is
        # stored or sent: refuse it here (UnicodeEncodeError is a ValueError).
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError):  # RecursionError: "[[[[…" nested too deep
        raise RuleError("bad_request", "The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise RuleError("bad_request", "The body must be a JSON object.")
    return data


async def markdown_preview(request: Request) -> Response:
    """Markdown rendered and sanitised exactly as readers will see it (callers authorise)."""
    body = (await read_json(request)).get("body", "")
    if not isinstance(body, str):
        raise RuleError("invalid", "body must be text.")
    return JSONResponse({"html": markdown_to_html(body[:20000])})


async def perform(
    request: Request, action: Awaitable[object], back: str, success: str, failed: str | None = None
) -> Response:
    """Run a form's action, then redirect with its outcome as the notice: to `back`, or on
    a refusal to `failed` when given."""
    try:
        await action
    except RuleError as exc:
        request.session["notice"] = exc.message
        return RedirectResponse(failed or back, status_code=303)
    request.session["notice"] = success
    return RedirectResponse(back, status_code=303)
