"""Readers' reports: the form (with or without JavaScript), the desk's counts, and the
editors' JSON list. Reports are never shown to readers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from panel.domain import RuleError
from panel.reports import REASONS
from panel.web.auth import require_api_editor
from panel.web.base import (
    check_reader_form,
    event_or_404,
    json_error,
    parse_form,
    reader_id,
    services,
    wants_json,
    whole_number,
)

THANKS = "Thanks, the editors will look at it."


async def post_report(request: Request) -> Response:
    """POST /events/{slug}/reports: a form that works without JavaScript (redirect back with
    a notice) and from fetch (`Accept: application/json`: JSON, the page stays)."""
    svc = services(request)
    event = await event_or_404(request, request.path_params["slug"])
    form = await parse_form(request)
    kind = form.get("kind")
    target_id = whole_number(str(form.get("id", "")))
    back = f"/events/{event.slug}#{'a' if kind == 'answer' else 'q'}-{target_id or ''}"
    # A forged or stale form is refused outright (403), like every other form.
    check_reader_form(request, form)
    try:
        report = svc.actions.reports.check(
            kind, target_id, form.get("reason"), form.get("detail", "")
        )
        wait = await _limit_reached(request)
        if wait:
            raise RuleError(
                "rate_limited", f"You are reporting too fast; try again in {wait} seconds."
            )
        await svc.actions.reports.report(event.id, reader_id(request), report)
    except RuleError as exc:
        if wants_json(request):
            return json_error(exc.code, exc.message)
        request.session["notice"] = f"Your report was not sent: {exc.message}"
        return RedirectResponse(back, status_code=303)
    if wants_json(request):
        return JSONResponse({"status": "received", "message": THANKS}, status_code=201)
    request.session["notice"] = THANKS
    return RedirectResponse(back, status_code=303)


async def _limit_reached(request: Request) -> int:
    """Seconds to wait before reporting again (0: go ahead, and this one counts); per reader
    and per IP, since reader ids are free to mint."""
    per_reader, per_ip = services(request).report_limiters
    ip = request.client.host if request.client else "unknown"
    wait = await per_reader.retry_after(f"reader:{reader_id(request)}")
    return wait or await per_ip.retry_after(f"ip:{ip}")


def report_counts(rows: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """For the desk, from an event's report rows: per reported item ("q12", "a5"), the
    total, the count per reason and the readers' notes."""
    grouped: dict[str, list[Any]] = {}
    for row in rows:
        grouped.setdefault(f"{row['target_kind'][0]}{row['target_id']}", []).append(row)
    counts = {}
    for key, reports in grouped.items():
        reasons = Counter(r["reason"] for r in reports)
        counts[key] = {
            "total": len(reports),
            "reasons": [(label, reasons[code]) for code, label in REASONS.items() if reasons[code]],
            "notes": [r["detail"] for r in reports if r["detail"]],
        }
    return counts


async def list_reports(request: Request) -> Response:
    """GET /api/v1/events/{slug}/reports (editors only): every report, oldest first."""
    await require_api_editor(request)
    event = await event_or_404(request, request.path_params["slug"])
    async with services(request).store.read() as repo:
        rows = await repo.reports_for_event(event.id)
    reports = [
        {
            "id": r["id"],
            "target": {"kind": r["target_kind"], "id": r["target_id"]},
            "reason": r["reason"],
            "detail": r["detail"],
            "created_at": r["created_at"],
        }
        for r in rows
    ]
    return JSONResponse({"reports": reports})
