"""The post-event report for editors: the page, its charts (SVG images) and its downloads."""

from __future__ import annotations

import csv
import io
import json

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from panel import charts, report
from panel.domain import Event
from panel.web.auth import require_editor
from panel.web.base import event_or_404, render, services
from panel.web.caching import PRIVATE


async def _report(request: Request) -> tuple[Event, report.Report]:
    """The editor's event and its figures (one read transaction)."""
    await require_editor(request)
    event = await event_or_404(request, request.path_params["slug"])
    return event, report.figures(await report.load(services(request).store, event))


async def report_page(request: Request) -> Response:
    """GET /desk/events/{slug}/report: the figures, each chart with its table."""
    event, figures = await _report(request)
    drawn = charts.charts(figures)
    tables = report.tables(figures)
    sections = [
        {"chart": drawn.get(key), "tables": [tables[k] for k in keys]}
        for key, keys in SECTIONS
        if key in drawn or not figures.empty
    ]
    return render(
        request,
        "desk_report.html",
        {"event": event, "report": figures, "summary": tables["summary"], "sections": sections},
    )


# Page order: the chart of each section and the tables under it.
SECTIONS = (
    ("questions", ("questions",)),
    ("moderation", ("moderation", "reasons")),
    ("panelists", ("panelists",)),
    ("slots", ("slots",)),
    ("audience", ("audience",)),
    ("top", ("top",)),
    ("directed", ("directed",)),
)


async def chart_svg(request: Request) -> Response:
    """GET /desk/events/{slug}/report/{chart}.svg: one chart, as an SVG image."""
    _, figures = await _report(request)
    chart = charts.charts(figures).get(request.path_params["chart"])
    if chart is None:
        raise HTTPException(404, "No such chart in this report.")
    return Response(chart.svg, media_type="image/svg+xml", headers=_private())


async def report_csv(request: Request) -> Response:
    """GET /desk/events/{slug}/report.csv: every figure of the page, one cell a line."""
    event, figures = await _report(request)
    out = io.StringIO()
    csv.writer(out).writerows(report.csv_rows(figures))
    return Response(
        out.getvalue(), media_type="text/csv; charset=utf-8", headers=_download(event, "csv")
    )


async def report_json(request: Request) -> Response:
    """GET /desk/events/{slug}/report.json: the figures as numbers (seconds, UTC times)."""
    event, figures = await _report(request)
    body = json.dumps(report.as_json(figures), ensure_ascii=False, indent=2)
    return Response(body, media_type="application/json", headers=_download(event, "json"))


def _private() -> dict[str, str]:
    return {"cache-control": PRIVATE}


def _download(event: Event, extension: str) -> dict[str, str]:
    return {
        **_private(),
        "content-disposition": f'attachment; filename="{event.slug}-report.{extension}"',
    }
