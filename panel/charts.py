"""The report's charts, drawn as SVG by pygal (docs/desk.md, "The report").

Why pygal and not matplotlib: it imports in about 40 ms (matplotlib's SVG backend, 150 to
500 ms), draws a chart in a few milliseconds, writes SVG text with a `<title>` and per-value
`<desc>`, escapes every label through its XML tree, and needs no JavaScript (`js=[]`). Two
things make its output deterministic: a fixed chart id instead of a random UUID, and no
"generated on <date>" comment. Each chart is a separate SVG document shown through
`<img>`, so its own `<style>` stays inside it and the page's CSP (`style-src 'self'`) is
unaffected. Readable in print: black text on white, values printed on the bars, and a
second series hatched, never told apart by colour alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pygal
from pygal.etree import etree
from pygal.style import Style

from panel.report import AnswerLine, Report, excerpt

STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#000000",
    foreground_strong="#000000",
    foreground_subtle="#555555",
    font_family="Helvetica, Arial, sans-serif",
    colors=("#1d4f91", "#1d4f91", "#555555", "#8a3b00", "#2e6b30", "#5b2a86"),
    opacity="1",
    opacity_hover="1",
    title_font_size=18,
    label_font_size=14,
    major_label_font_size=15,
    value_font_size=14,
    legend_font_size=15,
    transition="0s",
)
# The second series of a stacked chart: diagonal hatching, so it reads in grey print too.
HATCH = (
    '<pattern id="hatch" patternUnits="userSpaceOnUse" width="8" height="8"'
    ' patternTransform="rotate(45)"><rect width="8" height="8" fill="#ffffff"/>'
    '<rect width="3" height="8" fill="#555555"/></pattern>'
)
# Odd series hatched: answered and unanswered, or one slot and the next, differ in print too.
HATCH_CSS = (
    "inline:"
    + ", ".join(
        f".series.serie-{i} .rect, #activate-serie-{i} rect.reactive" for i in range(1, 40, 2)
    )
    + " { fill: url(#hatch); stroke: #000000; }"
)
HATCHED = {"defs": [HATCH], "css": ["file://style.css", "file://graph.css", HATCH_CSS]}
LABEL_CHARS = 40  # a question excerpt on an axis
WIDTH, HEIGHT = 720, 380  # the SVG's viewBox; the page scales it to the column


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    summary: str  # the SVG's <desc> and the <img>'s alt text
    svg: bytes


def _base(key: str, kind: Callable[..., Any], title: str, **options: Any) -> Any:
    settings: dict[str, Any] = {
        "style": STYLE,
        "js": [],  # no script: the SVG is an image and carries everything it shows
        "title": title,
        "print_values": True,
        "show_legend": False,
        "width": WIDTH,
        "height": HEIGHT,
        "margin": 16,
        "truncate_label": -1,
    }
    chart = kind(**{**settings, **options})
    chart.uuid = f"report-{key}"  # pygal's default is a random UUID; same data, same bytes
    return chart


def _finish(chart: Any, key: str, title: str, summary: str) -> Chart:
    def accessible(root: Any) -> Any:
        for child in list(root):
            if child.tag is etree.Comment:  # "Generated ... on <today>": not deterministic
                root.remove(child)
        for defs in root.findall("defs"):
            for script in defs.findall("script"):  # pygal's config for its JS: none needed
                defs.remove(script)
        title_node = root.find("title")
        if title_node is None:
            title_node = etree.SubElement(root, "title")
        title_node.set("id", f"{key}-title")
        desc = etree.Element("desc")
        desc.set("id", f"{key}-desc")
        desc.text = summary
        root.insert(list(root).index(title_node) + 1, desc)
        root.set("role", "img")
        root.set("aria-labelledby", f"{key}-title {key}-desc")
        return root

    chart.add_xml_filter(accessible)
    return Chart(key, title, summary, chart.render())


def _bars(key: str, title: str, what: str, pairs: Sequence[tuple[str, int]]) -> Chart:
    """Horizontal bars, one per (label, count), each count printed on its bar."""
    labels = [excerpt(label, LABEL_CHARS) for label, _ in pairs]
    chart = _base(key, pygal.HorizontalBar, title, x_labels=labels)
    chart.add(title, [n for _, n in pairs])
    figures = "; ".join(f"{label} {n}" for label, n in pairs)
    summary = f"Bar chart of {what}: {figures}. The figures are in the table below."
    return _finish(chart, key, title, summary)


def _answered(key: str, title: str, lines: Sequence[AnswerLine]) -> Chart:
    """Answered and unanswered per group, stacked; the unanswered part hatched."""
    chart = _base(
        key,
        pygal.HorizontalStackedBar,
        title,
        x_labels=[excerpt(line.name, LABEL_CHARS) for line in lines],
        show_legend=True,
        legend_at_bottom=True,
        **HATCHED,
    )
    chart.add("Answered (solid)", [line.answered or None for line in lines])
    chart.add("Unanswered (hatched)", [line.unanswered or None for line in lines])
    return _finish(chart, key, title, _answered_summary(lines))


def questions_chart(r: Report) -> Chart:
    """Questions per bin, one series per slot (solid, hatched, solid…), so each slot
    boundary shows as a change of fill, and its first bin's label names the slot."""
    title = f"Questions received per {r.bin_minutes} minutes"
    labels = [f"{b.label} {b.slot}" if b.slot_starts else b.label for b in r.bins]
    chart = _base(
        "questions",
        pygal.StackedBar,
        title,
        x_labels=labels,
        x_labels_major=[label for label, b in zip(labels, r.bins, strict=True) if b.slot_starts],
        show_minor_x_labels=len(labels) <= 36,
        x_label_rotation=-45,
        print_zeroes=False,  # the other slots' empty places (the table has every zero)
        show_legend=True,
        legend_at_bottom=True,
        **HATCHED,
    )
    slots = list(dict.fromkeys(b.slot for b in r.bins))
    for index, slot in enumerate(slots):
        fill = "hatched" if index % 2 else "solid"
        chart.add(f"{slot} ({fill})", [b.questions if b.slot == slot else None for b in r.bins])
    busiest = (
        f" The busiest minute was {r.busiest.label}, with {r.busiest.count}." if r.busiest else ""
    )
    starts = ", ".join(f"{b.slot} at {b.label}" for b in r.bins if b.slot_starts)
    summary = (
        f"Bar chart: {r.received} questions received, counted per {r.bin_minutes} minutes."
        f"{busiest} Slots start: {starts or 'none'}. The figures are in the table below."
    )
    return _finish(chart, "questions", title, summary)


def charts(r: Report) -> dict[str, Chart]:
    """Every chart of the report that has something to show, by key."""
    found: dict[str, Chart] = {}
    if not r.empty:
        found["questions"] = questions_chart(r)
        found["moderation"] = _bars(
            "moderation", "What became of the questions", "moderation outcomes", r.outcomes
        )
        if r.published:
            found["panelists"] = _answered(
                "panelists", "Answered and unanswered, by panelist asked", r.by_panelist
            )
            found["slots"] = _answered("slots", "Answered and unanswered, by slot", r.by_slot)
        if r.top:
            found["top"] = _bars(
                "top",
                "The most upvoted questions",
                "upvotes on the most upvoted questions",
                [(t.excerpt, t.upvotes) for t in r.top],
            )
        found["directed"] = _bars(
            "directed",
            "Questions asked of each panelist",
            "questions asked of each panelist",
            r.directed,
        )
    if r.audience:
        found["audience"] = audience_chart(r)
    return found


def audience_chart(r: Report) -> Chart:
    title = "Audience while live"
    labels = [m.label for m in r.audience]
    chart = _base(
        "audience",
        pygal.Line,
        title,
        x_labels=labels,
        x_labels_major_every=max(1, len(labels) // 12),
        show_minor_x_labels=False,
        x_label_rotation=-45,
        print_values=False,
        dots_size=2,
        fill=False,
    )
    chart.add(title, [m.count for m in r.audience])
    peak = r.audience_peak
    summary = (
        f"Line chart of the audience, sampled each minute: {len(labels)} samples"
        + (f", largest {peak.count} at {peak.label}" if peak else "")
        + ". The figures are in the table below."
    )
    return _finish(chart, "audience", title, summary)


def _answered_summary(lines: Sequence[AnswerLine]) -> str:
    return (
        "Stacked bar chart, answered (solid) and unanswered (hatched): "
        + "; ".join(
            f"{line.name} {line.answered} answered, {line.unanswered} not" for line in lines
        )
        + ". The figures are in the table below."
    )
