"""Readers' pages: the front page, an event page, and the no-JavaScript question form."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from panel.domain import Event, EventStatus, RuleError
from panel.web.base import (
    STATUS_FOR_CODE,
    check_reader_form,
    current_reader,
    event_or_404,
    json_error,
    page_cache,
    parse_form,
    read_reader_form,
    reader_id,
    render_public,
    services,
    session_if_any,
    site_url,
    templates,
    wants_json,
)
from panel.web.caching import LIVE, PRIVATE
from panel.web.eventview import (
    DEFAULT_ORDER,
    ORDERS,
    STATUS_LABELS,
    EventView,
    clock_label,
    date_label,
    load_event_view,
    parse_order,
)
from panel.web.feedback import ALREADY_UPVOTED, asked_in_place, upvoted_in_place
from panel.web.pagecache import PageCache, RenderedList
from panel.web.share_meta import event_meta, page_meta

log = logging.getLogger(__name__)


async def index(request: Request) -> Response:
    svc = services(request)
    shown = (EventStatus.LIVE, EventStatus.SCHEDULED, EventStatus.CLOSED, EventStatus.PUBLISHED)
    async with svc.store.read() as repo:
        events = await repo.list_events(shown)  # drafts never leave the database here

    def card(e):  # noqa: ANN001, ANN202 - a small view dict for the template
        start = e.local(e.starts_at)
        return {
            "event": e,
            "date": date_label(start),
            "status": STATUS_LABELS[e.status],
            "time": f"{clock_label(start)}–{clock_label(e.local(e.ends_at))}",
        }

    live = [card(e) for e in events if e.status == EventStatus.LIVE]
    upcoming = [card(e) for e in events if e.status == EventStatus.SCHEDULED]
    archive = [
        card(e) for e in reversed(events) if e.status in (EventStatus.CLOSED, EventStatus.PUBLISHED)
    ]
    share = page_meta(site_url(request), svc.settings, "Live Q&As", "/")
    context = {"live": live, "upcoming": upcoming, "archive": archive, "share": share}
    return render_public(request, "index.html", context, LIVE)


async def event_page(request: Request) -> Response:
    event = await event_or_404(request, request.path_params["slug"])
    if event.status == EventStatus.PUBLISHED:
        # The curated transcript is the permanent public record (hidden items stay hidden).
        return RedirectResponse(f"/archive/{event.slug}", status_code=302)
    return await _event_response(request, event, LIVE)


async def _event_response(
    request: Request,
    event: Event,
    cache: str,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """The event page; with `form`, the question form shows its error and keeps the text.
    Without a session it is the same for every reader, so `cache` may let a CDN keep it."""
    svc = services(request)
    pages = page_cache(request)
    async with svc.store.read() as repo:
        order = parse_order(request.query_params.get("order"))  # the reader's sort (layout)
        view = await load_event_view(
            repo, event, svc.clock.now(), current_reader(request), pages, order
        )
        counts = await repo.question_counts(event.id)  # templates/_counts.html
    listed = view.listed or _render_list(request, pages, view)
    session = session_if_any(request)
    return render_public(
        request,
        "event.html",
        {
            "view": view,
            "questions_list": listed,
            "form": form or {},
            "notice": session.pop("notice", None) if session is not None else None,
            "accepting": event.status in (EventStatus.SCHEDULED, EventStatus.LIVE),
            "max_chars": svc.settings.question_max_chars,
            "name_max": svc.settings.name_max_chars,
            "share": event_meta(site_url(request), svc.settings, view.event, view.panelists),
            "counts": counts,
        },
        cache,
        status,
    )


def _render_list(request: Request, pages: PageCache, view: EventView) -> RenderedList:
    """Render the public Q&A list once for this version of the event and keep it."""
    html = (
        templates(request)
        .get_template("_questions.html")
        .render(
            questions=view.questions,
            tz=view.event.timezone,
            csrf_token=pages.placeholder,
            slug=view.event.slug,  # the report forms' address
            order=view.order,  # kept by the upvote forms without JavaScript
        )
    )
    count = len(view.questions)
    return pages.put(view.event.id, view.last_seq, view.list_key, html, count, view.order)


async def limit_reached(request: Request) -> int:
    """Seconds the reader must wait before posting again (0: go ahead, and the question is
    counted); per reader and per IP."""
    svc = services(request)
    ip = request.client.host if request.client else "unknown"
    wait = await svc.reader_limiter.retry_after(f"reader:{reader_id(request)}")
    return wait or await svc.ip_limiter.retry_after(f"ip:{ip}")


async def give_back_quota(request: Request) -> None:
    """Uncount a question that `limit_reached` let through but that did not count: a retry
    answered with the first question, or one to an event that does not exist."""
    svc = services(request)
    ip = request.client.host if request.client else "unknown"
    await svc.reader_limiter.give_back(f"reader:{reader_id(request)}")
    await svc.ip_limiter.give_back(f"ip:{ip}")


async def post_question_form(request: Request) -> Response:
    """The form path: POST, then redirect back with a notice. A refusal answers with the page
    itself, the error shown and the text kept (not carried in the cookie: it may be long).
    A reader without a cookie gets one here, with their first question."""
    svc = services(request)
    event = await event_or_404(request, request.path_params["slug"])
    form = await parse_form(request)
    kept = {
        "body": str(form.get("body", ""))[:4000],
        "name": str(form.get("name", ""))[:200],
        "to": str(form.get("to", "")),
    }

    async def refused(message: str, status: int) -> Response:
        if wants_json(request):  # asked in place (static/js/feedback.js): the page keeps the text
            return json_error("refused", message, status)
        return await _event_response(request, event, PRIVATE, {**kept, "error": message}, status)

    try:
        check_reader_form(request, form)  # a forged form is refused, its text shown back
        svc.questions.check(kept["body"], kept["name"])  # typos cost no quota
    except RuleError as exc:
        return await refused(exc.message, STATUS_FOR_CODE.get(exc.code, 422))
    wait = await limit_reached(request)
    if wait:
        response = await refused(f"You are posting too fast; try again in {wait} seconds.", 429)
        response.headers["Retry-After"] = str(wait)
        return response
    try:
        question, created = await svc.questions.post(
            event.id,
            reader_id(request),
            kept["body"],
            kept["name"],
            kept["to"] or None,
            client_key=str(form.get("client_key") or "") or None,
        )
    except RuleError as exc:
        return await refused(exc.message, STATUS_FOR_CODE.get(exc.code, 400))
    if not created:
        await give_back_quota(request)  # a form sent twice counts once
    if wants_json(request):
        return asked_in_place(request, question.id, question.status)
    request.session["notice"] = (
        "Thank you: your question is published."
        if question.status == "approved"
        else "Thank you: your question awaits moderation. Only you can see it until an editor "
        "publishes it."
    )
    back = _order_query(str(form.get("order", "")))  # the reader's sort stays (layout)
    return RedirectResponse(f"/events/{event.slug}{back}#ask", status_code=303)


def _order_query(order: str) -> str:
    """`?order=…` for a sort the reader chose, "" for the default."""
    return f"?order={order}" if order in ORDERS and order != DEFAULT_ORDER else ""


async def upvote_form(request: Request) -> Response:
    svc = services(request)
    form = await read_reader_form(request)
    back = _order_query(str(form.get("order", "")))  # the reader's sort stays (layout)
    question_id = request.path_params["question_id"]
    ip = request.client.host if request.client else "unknown"
    if await svc.upvote_limiter.retry_after(f"ip:{ip}"):
        raise RuleError("rate_limited", "Too many upvotes from here; try again in a minute.")
    total, counted = await svc.votes.cast(question_id, reader_id(request))
    if wants_json(request):
        return upvoted_in_place(question_id, total, counted)
    async with svc.store.read() as repo:
        question = await repo.question(question_id)
        event = await repo.event_by_id(question.event_id) if question else None
    if not counted:  # said, not silently ignored; the notice is by the form, so go there
        request.session["notice"] = ALREADY_UPVOTED
        return RedirectResponse(
            f"/events/{event.slug}{back}#ask" if event else "/", status_code=303
        )
    return RedirectResponse(
        f"/events/{event.slug}{back}#q-{question_id}" if event else "/", status_code=303
    )


async def healthz(request: Request) -> Response:
    try:
        async with services(request).store.read() as repo:
            await repo.ping()
    except Exception:
        log.exception("health check: the store does not answer")
        return JSONResponse({"status": "error", "detail": "the store does not answer"}, 503)
    return JSONResponse({"status": "ok"})
