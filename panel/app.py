"""create_app(settings): the route table, middleware and lifespan in one place."""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import secrets
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from jinja2 import select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from panel.branding import check_branding
from panel.clock import Clock, SystemClock
from panel.config import Settings
from panel.domain import RuleError, parse_iso
from panel.logs import redact_path
from panel.metrics import CONTENT_TYPE, RequestMetrics
from panel.services import Services
from panel.store import StoreError
from panel.web import (
    api,
    archive,
    console,
    curation,
    desk,
    desk_admin,
    desk_mail,
    desk_setup,
    desk_undo,
    deskpresence,
    digest,
    live,
    live_exports,
    mine,
    readers,
    report,
    reports,
    sharing,
)
from panel.web.assets import Assets, HashedStaticFiles
from panel.web.base import (
    STATUS_FOR_CODE,
    UNAVAILABLE_RETRY_AFTER,
    html_error_page,
    json_error,
    services,
    wants_json,
)
from panel.web.caching import PrivateWhenPersonal
from panel.web.cutoff import CutOffRequests
from panel.web.metrics_access import MetricsAccess
from panel.web.pagecache import PageCache
from panel.web.proxies import Networks, TrustedProxies

log = logging.getLogger(__name__)

# Smaller bodies gain little from gzip (a few hundred bytes) and cost a compressor each.
GZIP_MINIMUM_BYTES = 1024
# HSTS for a year once the public URL is https; without includeSubDomains, which would bind
# the operator's other sites too.
HSTS = (b"strict-transport-security", b"max-age=31536000")


def routes() -> list[Any]:
    q = "/api/v1/questions/{question_id:int}"
    cq = "/console/{slug}/questions/{question_id:int}"
    return [
        Route("/", readers.index),
        Route("/healthz", readers.healthz),
        Route("/metrics", metrics),
        # Before /events/{slug}, which would take "alpha.md" for a slug.
        Route("/events/{slug}.md", live_exports.public_markdown),
        Route("/events/{slug}.json", live_exports.public_json),
        Route("/events/{slug}", readers.event_page),
        Route("/events/{slug}/card.png", sharing.event_card),
        Route("/card.png", sharing.site_card),
        Route("/brand.css", sharing.brand_css),
        Route("/events/{slug}/mine", mine.my_questions),
        Route("/events/{slug}/questions", readers.post_question_form, methods=["POST"]),
        Route("/questions/{question_id:int}/upvote", readers.upvote_form, methods=["POST"]),
        Route("/events/{slug}/reports", reports.post_report, methods=["POST"]),
        Route("/api/v1/events/{slug}/reports", reports.list_reports),
        # Served by PublicStream, in front of the middleware; listed here as the fallback.
        WebSocketRoute("/events/{slug}/live", live.reader_stream),
        WebSocketRoute("/staff/events/{slug}/live", live.staff_stream),
        # The readers' routes and the API before the staff's: the router tries routes in
        # order, a regex match each, and these are the busy ones (a question posted through
        # the API passed some 70 before). No two of these blocks share a path prefix, so the
        # order changes nothing else.
        Route("/api/v1/openapi.json", api.openapi),
        Route("/api/v1/me", api.whoami),
        Route("/api/v1/events", api.list_events),
        Route("/api/v1/events/{slug}", api.get_event),
        Route("/api/v1/events/{slug}/questions", api.list_questions),
        Route("/api/v1/events/{slug}/questions", api.post_question, methods=["POST"]),
        Route("/api/v1/events/{slug}/stream", api.stream),
        Route(f"{q}/upvote", api.upvote, methods=["POST"]),
        Route(f"{q}/moderate", api.moderate, methods=["POST"]),
        Route(f"{q}/answers", api.post_answer, methods=["POST"]),
        Route("/api/v1/answers/{answer_id:int}", api.edit_answer, methods=["POST"]),
        Route("/invite/{token}", console.redeem),
        Route("/console/{slug}", console.console),
        Route("/console/{slug}/questions", console.questions_fragment),
        Route("/console/{slug}/answers", console.post_answer, methods=["POST"]),
        Route("/console/{slug}/answers/{answer_id:int}", console.edit_answer, methods=["POST"]),
        Route("/console/{slug}/preview", console.preview, methods=["POST"]),
        Route("/console/{slug}/compose", console.compose_fragment),
        Route("/console/{slug}/backstage", console.backstage_fragment),
        Route("/console/{slug}/notes", console.post_note, methods=["POST"]),
        Route(f"{cq}/draft", console.get_draft),
        Route(f"{cq}/draft", console.save_draft, methods=["POST"]),
        Route(f"{cq}/claim", console.claim, methods=["POST"]),
        Route(f"{cq}/release", console.release, methods=["POST"]),
        Route(f"{cq}/discard", console.discard, methods=["POST"]),
        Route("/desk/login", desk.login_page),
        Route("/desk/login", desk.login, methods=["POST"]),
        Route("/desk/logout", desk.logout, methods=["POST"]),
        Route("/desk", desk.home),
        Route("/desk/events/{slug}", desk.event_desk),
        Route("/desk/events/{slug}/queue", desk.queue_fragment),
        Route("/desk/events/{slug}/presence", deskpresence.report, methods=["POST"]),
        Route("/desk/events/{slug}/status", desk.set_status, methods=["POST"]),
        Route("/desk/questions/{question_id:int}/moderate", desk.moderate, methods=["POST"]),
        # The desk: bulk moderation, audit, set-up and accounts.
        Route("/desk/events/{slug}/bulk", desk.bulk_moderate, methods=["POST"]),
        Route("/desk/undo/{audit_id:int}", desk_undo.undo, methods=["POST"]),
        Route(
            "/desk/events/{slug}/answers/{answer_id:int}/withdraw",
            desk.withdraw_answer,
            methods=["POST"],
        ),
        Route("/desk/events/{slug}/audit", desk.audit_page),
        Route("/desk/events/{slug}/digest", digest.digest_page),
        Route("/desk/events/{slug}/digest.md", digest.digest_markdown_file),
        Route("/desk/events/{slug}/export.md", live_exports.desk_markdown),
        Route("/desk/events/{slug}/export.json", live_exports.desk_json),
        Route("/desk/events/{slug}/export.csv", live_exports.desk_csv),
        Route("/desk/events/{slug}/report", report.report_page),
        Route("/desk/events/{slug}/report.csv", report.report_csv),
        Route("/desk/events/{slug}/report.json", report.report_json),
        Route("/desk/events/{slug}/report/{chart}.svg", report.chart_svg),
        Route("/desk/events/{slug}/backstage", desk.backstage_fragment),
        Route("/desk/events/{slug}/notes", desk.post_note, methods=["POST"]),
        Route("/desk/audit", desk.audit_page),
        Route("/desk/mail", desk_mail.outbox_page),
        Route("/desk/mail/{mail_id:int}/retry", desk_mail.retry, methods=["POST"]),
        Route("/desk/events/{slug}/mail", desk_mail.outbox_page),
        Route("/desk/events/{slug}/digest/send", desk_mail.send_digest, methods=["POST"]),
        Route("/desk/events/{slug}/digest/schedule", desk_mail.schedule_digest, methods=["POST"]),
        Route("/desk/new-event", desk_setup.new_event_page),
        Route("/desk/new-event", desk_setup.create_event, methods=["POST"]),
        Route("/desk/events/{slug}/setup", desk_setup.setup_page),
        Route("/desk/events/{slug}/edit", desk_setup.edit_event, methods=["POST"]),
        Route("/desk/events/{slug}/rules", desk_setup.set_rules, methods=["POST"]),
        Route("/desk/events/{slug}/duplicate", desk_setup.duplicate_event, methods=["POST"]),
        Route("/desk/events/{slug}/delete", desk_setup.delete_event, methods=["POST"]),
        Route("/desk/events/{slug}/slots", desk_setup.add_slot, methods=["POST"]),
        Route("/desk/events/{slug}/slots/{slot_id:int}", desk_setup.edit_slot, methods=["POST"]),
        Route("/desk/events/{slug}/panelists", desk_setup.add_panelist, methods=["POST"]),
        Route(
            "/desk/events/{slug}/panelists/{panelist_id:int}",
            desk_setup.edit_panelist,
            methods=["POST"],
        ),
        Route("/desk/events/{slug}/assign", desk_setup.assign, methods=["POST"]),
        Route(
            "/desk/events/{slug}/assignments/{assignment_id:int}/delete",
            desk_setup.unassign,
            methods=["POST"],
        ),
        Route("/desk/events/{slug}/invites", desk_setup.create_invite, methods=["POST"]),
        Route("/desk/events/{slug}/bans/lift", desk_setup.lift_ban, methods=["POST"]),
        Route(
            "/desk/events/{slug}/invites/{invite_id:int}/revoke",
            desk_setup.revoke_invite,
            methods=["POST"],
        ),
        Route("/desk/editors", desk_admin.editors_page),
        Route("/desk/editors", desk_admin.create_editor, methods=["POST"]),
        Route("/desk/editors/{editor_id:int}/role", desk_admin.set_role, methods=["POST"]),
        Route(
            "/desk/editors/{editor_id:int}/{action}", desk_admin.account_action, methods=["POST"]
        ),
        Route("/desk/account", desk_admin.account_page),
        Route("/desk/account", desk_admin.change_password, methods=["POST"]),
        Route("/desk/tokens", desk_admin.tokens_page),
        Route("/desk/tokens", desk_admin.create_token, methods=["POST"]),
        Route("/desk/tokens/{token_id:int}/revoke", desk_admin.revoke_token, methods=["POST"]),
        Route("/desk/preview", desk.preview, methods=["POST"]),
        # Transcripts and the archive (issue 7). Order matters: feed.atom, .safe.md, .md, .json
        # before /archive/{slug}, which would otherwise match them.
        Route("/archive", archive.archive_index),
        Route("/archive/feed.atom", archive.feed),
        Route("/archive/{slug}.safe.md", archive.transcript_safe_markdown),
        Route("/archive/{slug}.md", archive.transcript_markdown),
        Route("/archive/{slug}.json", archive.transcript_json),
        Route("/archive/{slug}", archive.transcript_page),
        Route("/events/{slug}/calendar.ics", archive.event_calendar),
        Route("/events/{slug}/embed", archive.embed),
        Route("/desk/events/{slug}/transcript", curation.curation_page),
        Route("/desk/events/{slug}/transcript/preview", curation.preview),
        Route(
            "/desk/events/{slug}/transcript/items/{question_id:int}",
            curation.item_action,
            methods=["POST"],
        ),
        Route("/desk/events/{slug}/transcript/correct", curation.correct, methods=["POST"]),
        Route("/desk/events/{slug}/transcript/notes", curation.notes, methods=["POST"]),
        Route("/desk/events/{slug}/transcript/publish", curation.publish, methods=["POST"]),
        Route("/desk/events/{slug}/transcript/republish", curation.republish, methods=["POST"]),
        Route("/desk/events/{slug}/transcript/unpublish", curation.unpublish, methods=["POST"]),
    ]


async def metrics(request: Request) -> Response:
    """Prometheus text format from prometheus-client (docs/operations.md lists each metric)."""
    return Response(services(request).metrics.exposition(), media_type=CONTENT_TYPE)


# The one route other sites may frame (not any path that happens to end in /embed).
EMBED_PATH = re.compile(r"/events/[^/]+/embed")


def embed_ancestors(settings: Settings) -> str:
    return " ".join(settings.embed_ancestors) or "'self'"


def logo_origin(settings: Settings) -> str:
    """The origin of a logo on another site (LIVEPANEL_LOGO_URL), which CSP must allow."""
    parts = urlsplit(settings.logo_url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def security_headers(
    path: str, frame_ancestors: str, images: str = "", hsts: bool = False
) -> tuple[tuple[bytes, bytes], ...]:
    """CSP without inline script and the other headers for a response to `path`; only the
    embed may be framed, and only by `frame_ancestors`; `images`: another image origin;
    `hsts`: the site is served over https."""
    return _security_headers(EMBED_PATH.fullmatch(path) is not None, frame_ancestors, images, hsts)


@functools.lru_cache(maxsize=16)
def _security_headers(
    embed: bool, frame_ancestors: str, images: str, hsts: bool
) -> tuple[tuple[bytes, bytes], ...]:
    """Built once per kind of response, not per request."""
    ancestors = frame_ancestors if embed else "'none'"
    img_src = f"'self' data: {images}".strip()
    csp = (
        f"default-src 'self'; script-src 'self'; style-src 'self'; img-src {img_src}; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        f"frame-ancestors {ancestors}"
    )
    headers = [
        (b"content-security-policy", csp.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
    ]
    if not embed:
        headers.append((b"x-frame-options", b"DENY"))
    if hsts:
        headers.append(HSTS)
    return tuple(headers)


class SecurityHeaders:
    """The security headers on every response that passes through the middleware stack (a
    500 does not: see server_error)."""

    def __init__(
        self, app: ASGIApp, frame_ancestors: str, images: str = "", hsts: bool = False
    ) -> None:
        self.app = app
        self.frame_ancestors = frame_ancestors
        self.images = images
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = security_headers(scope["path"], self.frame_ancestors, self.images, self.hsts)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in extra if k not in names]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class PublicStream:
    """Sends the readers' WebSocket (`route`) straight to its handler, past the middleware
    below: it needs no session, gzip or security headers, and each of those layers would
    wrap every send to every socket and stay on every socket's stack (docs/performance.md).
    The route stays in the route table, which serves anything this does not match."""

    def __init__(self, app: ASGIApp, route: WebSocketRoute) -> None:
        self.app = app
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            match, child = self.route.matches(scope)
            if match == Match.FULL:
                await live.reader_stream(WebSocket({**scope, **child}, receive, send), send)
                return
        await self.app(scope, receive, send)


async def rule_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RuleError)
    status = STATUS_FOR_CODE.get(exc.code, 400)
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    # A reader's form posted by fetch (static/js/feedback.js) asks for JSON too.
    if request.url.path.startswith("/api/") or wants_json(request):
        return json_error(exc.code, exc.message, status, headers=headers)
    response = html_error_page(request, status, "That did not work", exc.message)
    response.headers.update(headers or {})
    return response


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith("/api/"):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
        return json_error(code, str(exc.detail), exc.status_code)
    if exc.status_code == 404:
        return html_error_page(
            request,
            404,
            "Page not found",
            "We could not find that page. It may have moved, or the link may be mistyped.",
        )
    return html_error_page(request, exc.status_code, "That did not work", str(exc.detail))


async def store_unavailable(request: Request, exc: Exception) -> Response:
    """The database cannot be reached (or a write's outcome is unknown): 503 with Retry-After.
    Nothing was acknowledged; a retried question carries its client key, so it is stored once."""
    log.warning("database unavailable on %s: %s", redact_path(request.url.path), exc)
    headers = {"Retry-After": str(UNAVAILABLE_RETRY_AFTER)}
    message = "The service is briefly unavailable. Please try again in a few seconds."
    if request.url.path.startswith("/api/"):
        return json_error("unavailable", message, 503, headers=headers)
    response = html_error_page(request, 503, "Briefly unavailable", message)
    response.headers.update(headers)
    return response


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s", redact_path(request.url.path), exc_info=exc)
    if request.url.path.startswith("/api/"):
        response: Response = json_error("internal", "Something went wrong on our side.", 500)
    else:
        response = html_error_page(
            request,
            500,
            "Something went wrong",
            "Something went wrong on our side. Please try again.",
        )
    # Starlette sends a 500 from its outermost middleware, outside SecurityHeaders.
    svc = getattr(request.app.state, "services", None)
    ancestors = embed_ancestors(svc.settings) if svc else "'none'"
    images = logo_origin(svc.settings) if svc else ""
    hsts = svc.settings.secure_cookies if svc else False
    for name, value in security_headers(request.scope["path"], ancestors, images, hsts):
        response.headers[name.decode()] = value.decode()
    return response


def local_time_filter(value: str, zone: str) -> str:
    """An ISO instant as the event's local clock time, e.g. 13:05."""
    return parse_iso(value).astimezone(ZoneInfo(zone)).strftime("%H:%M")


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> Starlette:
    """Build the app; nothing is opened until the lifespan starts."""
    settings = settings or Settings()
    check_branding(settings)  # the CLI reports the same as one line and exit status 2
    svc = Services.build(settings, clock or SystemClock())
    templates = Jinja2Templates(directory=str(settings.templates_dir))
    templates.env.autoescape = select_autoescape(default=True, default_for_string=True)
    templates.env.filters["local_time"] = local_time_filter
    assets = Assets.scan(settings.static_dir)  # once: a changed file needs a restart
    pages = PageCache()
    templates.env.globals["static_url"] = assets.url

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        try:
            async with svc.running():
                yield {"services": svc, "templates": templates, "page_cache": pages}
        finally:
            pages.clear()  # what it keeps is good for this run's store only

    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    table = routes()
    public_stream = next(
        r for r in table if isinstance(r, WebSocketRoute) and r.endpoint is live.reader_stream
    )
    app_routes = [
        *table,
        Mount(
            "/static",
            HashedStaticFiles(directory=settings.static_dir, assets=assets),
            name="static",
        ),
        Mount("/uploads", StaticFiles(directory=str(settings.uploads_dir)), name="uploads"),
    ]
    app = Starlette(
        routes=app_routes,
        middleware=[
            # Outermost (inside Starlette's error middleware, which passes WebSockets through):
            # the client's address, before anything (the readers' socket included) counts it.
            Middleware(TrustedProxies, trusted=Networks(settings.trusted_proxies)),
            # A request that shutdown cancels ends with a 503 and one log line (HTTP only).
            Middleware(CutOffRequests),
            Middleware(PublicStream, route=public_stream),
            # Counts and times HTTP requests by route template (the readers' socket never gets
            # here); outside gzip and the rest, so their time counts too.
            Middleware(RequestMetrics, metrics=svc.metrics, routes=app_routes),
            # Then: compresses what the others produced (headers included). WebSockets
            # pass through untouched; compresslevel 6 costs far less CPU than 9 for ~1% size.
            Middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES, compresslevel=6),
            Middleware(
                SecurityHeaders,
                frame_ancestors=embed_ancestors(settings),
                images=logo_origin(settings),
                hsts=settings.secure_cookies,
            ),
            # Who may read /metrics (its refusals get the headers above); metrics() says what.
            Middleware(
                MetricsAccess,
                token=settings.metrics_token,
                allowed=Networks(settings.metrics_allow),
            ),
            # Just outside the session: sees its Set-Cookie and Vary: Cookie.
            Middleware(PrivateWhenPersonal),
            Middleware(
                SessionMiddleware,
                secret_key=settings.secret or secrets.token_hex(32),
                session_cookie="livepanel",
                max_age=30 * 24 * 3600,
                same_site="lax",
                https_only=settings.secure_cookies,
            ),
        ],
        exception_handlers={
            RuleError: rule_error,
            StoreError: store_unavailable,
            HTTPException: http_error,
            Exception: server_error,
        },
        lifespan=lifespan,
    )
    app.state.services = svc  # for tests and the CLI; handlers use request.state
    app.state.page_cache = pages
    return app
