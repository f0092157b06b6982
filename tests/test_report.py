"""The post-event report: its figures against a seeded event with known counts (both stores),
its charts as SVG, the empty report, the downloads against the page, editors only, and the
audience sampled once a minute while live (FakeClock)."""

from __future__ import annotations

import contextlib
import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import httpx
from websockets.asyncio.client import connect

from panel import charts, report
from panel.actions import Actions
from panel.clock import FakeClock
from panel.domain import Actor
from panel.live.broker import public_channel
from panel.sampling import AudienceSampler, minute_of
from panel.store import Store
from tests.conftest import EDITOR, EVENT_START, LiveServer, seed_event, wait_for
from tests.livehelpers import editor_client
from tests.pgdb import BOTH_STORES

SVG = "{http://www.w3.org/2000/svg}"
BLOCKED = "flummox"


def minute(m: float) -> datetime:
    """`m` minutes after the seeded event's start (12:00 UTC, 1pm in London)."""
    return EVENT_START + timedelta(minutes=m)


async def seed_afternoon(actions: Actions, clock: FakeClock) -> dict[str, Any]:
    """Three one-hour slots and eight questions whose fate and timing are written below; the
    figures each test expects follow from them by hand."""
    clock.set(minute(-120))
    info = await seed_event(actions)
    maria, jenna = info["core"]
    e = info["id"]
    await actions.set_event_rules(
        e, EDITOR, moderation="pre", slow_mode_seconds=0, blocked_terms=BLOCKED
    )
    ids: dict[str, int] = {}

    async def ask(key: str, at: float, body: str, to: int | None = None) -> None:
        clock.set(minute(at))
        question, _ = await actions.post_question(e, f"reader-{key}", body, to=to)
        ids[key] = question.id

    async def decide(key: str, at: float, action: str, **options: Any) -> None:
        clock.set(minute(at))
        await actions.moderate(ids[key], action, EDITOR, **options)

    async def answer(key: str, at: float, panelist: int) -> None:
        clock.set(minute(at))
        await actions.answer(ids[key], f"An answer to {key}.", Actor("panelist", panelist, "P"))

    await ask("q8", -60, "Asked in advance: what does training cost?")
    clock.set(minute(0))
    await actions.run_due_transitions(e)  # live
    await decide("q8", 0.5, "approve")
    await ask("q1", 1, "How long is the training?", to=maria)
    await ask("q2", 1.5, "Is the pay fair?")
    await ask("q3", 2, "Who won the match last night?")
    await ask("q4", 2 + 1 / 6, "How long does training take?")
    await decide("q1", 3, "approve")
    await decide("q3", 4, "reject", reason="Off topic")
    await decide("q2", 5, "approve")
    await decide("q4", 2 + 1 / 6 + 230 / 60, "merge", into=ids["q1"])
    await answer("q1", 8, maria)
    await answer("q8", 10, maria)
    await ask("q5", 70, f"You are all {BLOCKED}, frankly")
    await decide("q5", 71, "reject", reason="Rude")
    await ask("q6", 72, "What is a caseload like?", to=jenna)
    await ask("q7", 72.5, "Do you work weekends?")
    await decide("q6", 80, "approve")
    await answer("q6", 90, jenna)
    clock.set(minute(95))
    for reader in range(3):
        await actions.upvote(ids["q6"], f"voter-{reader}")
    for reader in range(2):
        await actions.upvote(ids["q1"], f"voter-{reader}")
    samples = [(e, minute(m), readers) for m, readers in ((0, 10), (1, 25), (2, 25), (3, 12))]
    await actions.store.write(lambda repo: repo.add_audience_samples(samples))
    return {**info, "ids": ids}


async def report_of(store: Store, slug: str) -> report.Report:
    async with store.read() as repo:
        event = await repo.event_by_slug(slug)
    assert event is not None
    return report.figures(await report.load(store, event))


@BOTH_STORES
async def test_figures_of_a_seeded_event(actions: Actions, clock: FakeClock, store: Store) -> None:
    info = await seed_afternoon(actions, clock)
    ids = info["ids"]
    r = await report_of(store, info["slug"])

    assert (r.received, r.before_start, r.after_end, r.held) == (8, 1, 0, 1)
    assert r.bin_minutes == 5 and len(r.bins) == 36
    assert {b.label: b.questions for b in r.bins if b.questions} == {"1pm": 4, "2.10pm": 3}
    assert [(b.label, b.slot) for b in r.bins if b.slot_starts] == [
        ("1pm", "Slot 1"),
        ("2pm", "Slot 2"),
        ("3pm", "Slot 3"),
    ]
    # 12:01, 12:02 and 13:12 each saw two questions: the earliest wins.
    assert r.busiest is not None and (r.busiest.label, r.busiest.count) == ("1.01pm", 2)

    assert dict(r.outcomes) == {
        "Approved": 4,
        "Published on arrival": 0,
        "Rejected": 2,
        "Merged into another": 1,
        "Withdrawn after publication": 0,
        "Never decided": 1,
    }
    assert dict(r.rejected_by_reason) == {"Off topic": 1, "Rude": 1}
    # Seconds to the first decision: 60, 120, 120, 210, 230, 480 and 3630 (asked in advance).
    assert r.to_decision == report.Durations(7, 210, 3630)

    assert (r.published, r.answered, r.unanswered) == (4, 3, 1)
    # Publication to first answer: q1 300 s, q8 570 s, q6 600 s.
    assert r.first_answer == report.Durations(3, 570, 600)
    panelists = {line.name: line for line in r.by_panelist}
    assert list(panelists) == [
        "Maria Ashdown",
        "Jenna Holt",
        "Sandra Kemp",
        "Kerry Dale",
        "Chloe Lam",
        report.ANYONE,
    ]
    assert (panelists["Maria Ashdown"].published, panelists["Maria Ashdown"].answered) == (1, 1)
    assert panelists["Jenna Holt"].first_answer == report.Durations(1, 600, 600)
    anyone = panelists[report.ANYONE]
    assert (anyone.published, anyone.answered, anyone.first_answer.median) == (2, 1, 570)
    slots = {line.name: (line.published, line.answered) for line in r.by_slot}
    assert slots == {"Slot 1": (3, 2), "Slot 2": (1, 1), "Slot 3": (0, 0)}

    assert r.upvotes == 5
    assert [(t.id, t.upvotes) for t in r.top] == [
        (ids["q6"], 3),
        (ids["q1"], 2),
        (ids["q8"], 0),
        (ids["q2"], 0),
    ]
    assert dict(r.directed) == {
        "Maria Ashdown": 1,
        "Jenna Holt": 1,
        "Sandra Kemp": 0,
        "Kerry Dale": 0,
        "Chloe Lam": 0,
        report.ANYONE: 6,
    }
    assert [(m.label, m.count) for m in r.audience] == [
        ("1pm", 10),
        ("1.01pm", 25),
        ("1.02pm", 25),
        ("1.03pm", 12),
    ]
    assert r.audience_peak is not None and r.audience_peak.label == "1.01pm"  # first of two


def test_durations_use_the_nearest_rank() -> None:
    assert report.durations([]) == report.Durations()
    assert report.durations([5]) == report.Durations(1, 5, 5)
    assert report.durations([4, 1, 3, 2]) == report.Durations(4, 2, 4)  # median of 2 and 3
    assert report.durations(range(1, 11)) == report.Durations(10, 6, 9)
    assert report.durations([-3, 7]).median == 4  # an answer moved by a merge: never negative


def svg_text(svg: bytes) -> str:
    root = ET.fromstring(svg)
    return " ".join(" ".join(node.itertext()) for node in root.iter() if node.tag != f"{SVG}style")


async def test_each_chart_is_valid_svg_with_its_labels(
    actions: Actions, clock: FakeClock, store: Store
) -> None:
    info = await seed_afternoon(actions, clock)
    r = await report_of(store, info["slug"])
    drawn = charts.charts(r)
    assert set(drawn) == {
        "questions",
        "moderation",
        "panelists",
        "slots",
        "audience",
        "top",
        "directed",
    }
    expected_text = {
        "questions": ["1pm Slot 1", "2pm Slot 2", "3pm Slot 3", "4", "3", "Slot 2 (hatched)"],
        "moderation": ["Approved", "Rejected", "Merged into another", "Never decided", "4"],
        "panelists": ["Maria Ashdown", "Jenna Holt", report.ANYONE, "Unanswered (hatched)"],
        "slots": ["Slot 1", "Slot 2", "Answered (solid)"],
        "audience": ["1pm", "Audience while live", "25"],
        "top": ["What is a caseload like?", "How long is the training?", "3", "2"],
        "directed": ["Maria Ashdown", "Jenna Holt", report.ANYONE, "6"],
    }
    for key, chart in drawn.items():
        root = ET.fromstring(chart.svg)  # well-formed XML, or this raises
        assert root.tag == f"{SVG}svg", key
        assert root.get("role") == "img"
        assert root.get("aria-labelledby") == f"{key}-title {key}-desc"
        assert root.find(f"{SVG}title") is not None
        desc = root.find(f"{SVG}desc")
        assert desc is not None and desc.text == chart.summary
        assert not list(root.iter(f"{SVG}script")), f"{key} carries a script"
        text = svg_text(chart.svg)
        for label in expected_text[key]:
            assert label in text, (key, label)
        # The same figures draw the same bytes (no random id, no date).
        assert charts.charts(r)[key].svg == chart.svg


async def test_user_text_in_charts_is_escaped(actions: Actions, clock: FakeClock) -> None:
    clock.set(minute(-60))
    info = await seed_event(actions, status="live")
    hostile = "</text><script>alert(1)</script> & <b>bold</b>"
    ann = await actions.add_panelist(info["id"], f"Ann {hostile}", "Officer", "Bio.")
    question, _ = await actions.post_question(info["id"], "r1", f"Why {hostile}?", to=ann)
    await actions.moderate(question.id, "approve", EDITOR)
    await actions.upvote(question.id, "v1")
    r = await report_of(actions.store, info["slug"])
    for key, chart in charts.charts(r).items():
        root = ET.fromstring(chart.svg)
        assert not list(root.iter(f"{SVG}script")) and not list(root.iter(f"{SVG}b")), key
        assert b"<script" not in chart.svg and b"<b>" not in chart.svg, key
    drawn = charts.charts(r)
    assert "<script>alert(1)</script>" in svg_text(drawn["top"].svg)
    assert f"Ann {hostile}"[: charts.LABEL_CHARS - 1] in svg_text(drawn["directed"].svg)


# -- over HTTP -------------------------------------------------------------------------------
class Tables(HTMLParser):
    """Every <table data-report=…> of a page: its cells, row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.current: str | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table" and found.get("data-report"):
            self.current = found["data-report"]
            self.tables[self.current] = []
        elif tag == "tr" and self.current:
            self.tables[self.current].append([])
        elif tag in ("td", "th") and self.current:
            self.cell = []

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.current and self.cell is not None:
            self.tables[self.current][-1].append("".join(self.cell).strip())
            self.cell = None
        elif tag == "table":
            self.current = None


async def test_downloads_match_the_page(server: LiveServer) -> None:
    info = await server.acall(lambda: seed_afternoon(server.actions, server.clock))
    slug = info["slug"]
    # The server samples the audience while its clock moves through the seeding: once it
    # has sampled the minute the clock stopped at, nothing changes the figures any more.
    sampler = server.services.sampler
    await wait_for(lambda: sampler.sampled == minute_of(server.clock.now()), message="a sample")
    async with contextlib.aclosing(await editor_client(server)) as desk:
        page = await desk.get(f"/desk/events/{slug}/report")
        as_csv = await desk.get(f"/desk/events/{slug}/report.csv")
        as_json = await desk.get(f"/desk/events/{slug}/report.json")
        svg = await desk.get(f"/desk/events/{slug}/report/questions.svg")
        unknown = await desk.get(f"/desk/events/{slug}/report/nothing.svg")
    assert page.status_code == 200
    assert f'href="/desk/events/{slug}/report.csv"' in page.text
    assert f'href="/desk/events/{slug}/report.json"' in page.text
    assert f'src="/desk/events/{slug}/report/questions.svg"' in page.text
    assert "report.css" in page.text  # the print stylesheet

    parser = Tables()
    parser.feed(page.text)
    rows = list(csv.reader(io.StringIO(as_csv.text)))
    assert rows[0] == ["table", "row", "column", "value"]
    cells = {(t, row, column): value for t, row, column, value in rows[1:]}
    on_page = 0
    for key, table in parser.tables.items():
        headers, *body = table
        for line in body:
            for column, value in zip(headers[1:], line[1:], strict=True):
                assert cells[(key, line[0], column)] == value, (key, line[0], column)
                on_page += 1
    assert on_page == len(cells)  # the CSV holds exactly what the page shows

    data = as_json.json()
    summary = {line[0]: line[1] for line in parser.tables["summary"][1:]}
    assert data["questions"]["received"] == int(summary["Questions received"]) == 8
    assert data["answers"]["answered"] == int(summary["Answered"]) == 3
    assert data["moderation"]["question_to_decision"]["median_seconds"] == 210
    assert summary["Question to decision, median"] == "3 min 30 s"
    assert data["moderation"]["outcomes"]["Approved"] == 4
    assert data["upvotes"]["total"] == int(summary["Upvotes"]) == 5
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    assert as_json.headers["content-type"] == "application/json"

    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    assert ET.fromstring(svg.content).tag == f"{SVG}svg"
    assert unknown.status_code == 404


async def test_a_report_without_questions_says_so(server: LiveServer) -> None:
    info = await server.acall(lambda: seed_event(server.actions, status="live"))
    slug = info["slug"]
    async with contextlib.aclosing(await editor_client(server)) as desk:
        page = await desk.get(f"/desk/events/{slug}/report")
        data = (await desk.get(f"/desk/events/{slug}/report.json")).json()
        chart = await desk.get(f"/desk/events/{slug}/report/questions.svg")
    assert page.status_code == 200
    assert "No questions were asked at this event" in page.text
    # No empty charts: the only one left is the audience's (the live event is sampled).
    images = re.findall(r'<img src="([^"]+)"', page.text.split("<main", 1)[1])
    assert images in ([], [f"/desk/events/{slug}/report/audience.svg"])
    assert data["questions"]["received"] == 0 and data["questions"]["busiest_minute"] is None
    assert chart.status_code == 404


async def test_the_report_is_for_editors_only(server: LiveServer) -> None:
    info = await server.acall(lambda: seed_event(server.actions, status="live"))
    base = f"/desk/events/{info['slug']}/report"
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as reader:
        for path in (base, f"{base}.csv", f"{base}.json", f"{base}/questions.svg"):
            response = await reader.get(path)
            assert response.status_code in (401, 403), (path, response.status_code)
            assert "Questions received" not in response.text


# -- sampling --------------------------------------------------------------------------------
async def samples_of(store: Store, event_id: int) -> list[tuple[str, int]]:
    async with store.read() as repo:
        return [(r["at"], int(r["readers"])) for r in await repo.audience_samples(event_id)]


async def test_sampling_writes_one_row_a_minute_while_live(
    actions: Actions, clock: FakeClock, store: Store
) -> None:
    clock.set(minute(-1))
    info = await seed_event(actions)
    channel = public_channel(info["id"])
    leading = True
    sampler = AudienceSampler(store, clock, lambda: leading)

    async def tick(readers: int) -> None:
        due = await sampler.due()
        if due:
            await sampler.record(*due, {channel: readers})

    clock.set(minute(-1) + timedelta(seconds=30))
    await tick(5)  # scheduled, not live: nothing
    clock.set(minute(0) + timedelta(seconds=10))
    await actions.run_due_transitions(info["id"])
    await tick(7)
    clock.set(minute(0) + timedelta(seconds=50))
    await tick(8)  # the same minute: not again
    clock.set(minute(1) + timedelta(seconds=5))
    await tick(9)
    leading = False
    clock.set(minute(2) + timedelta(seconds=5))
    await tick(4)  # another process holds the lease: it samples, not this one
    leading = True
    await actions.set_status(info["id"], "closed", EDITOR)
    clock.set(minute(3) + timedelta(seconds=5))
    await tick(3)  # closed: nothing
    assert await samples_of(store, info["id"]) == [
        ("2026-09-15T12:00:00.000000Z", 7),
        ("2026-09-15T12:01:00.000000Z", 9),
    ]
    # A second writer of the same minute (a lease changing hands) changes nothing.
    again = AudienceSampler(store, clock, lambda: True)
    clock.set(minute(1) + timedelta(seconds=40))
    assert await again.record(minute(1), {channel: info["id"]}, {channel: 99}) == 0


async def test_the_presence_tick_samples_the_audience(server: LiveServer) -> None:
    """Through the real server: a reader's socket, the scheduler's lease, the presence tick."""
    info = await server.acall(lambda: seed_event(server.actions, status="live"))
    services = server.services
    await wait_for(lambda: services.scheduler.leader, message="the scheduler lease")
    store = services.store
    options = {"open_timeout": 10, "ping_interval": None}
    async with connect(f"{server.ws_url}/events/{info['slug']}/live?since=0", **options):
        first = "2026-09-15T12:30:00.000000Z"  # the clock fixture: 12:30 UTC

        async def sampled(at: str) -> bool:
            rows = await server.acall(lambda: samples_of(store, info["id"]))
            return (at, 1) in rows

        await wait_for(lambda: sampled(first), timeout=20, message="the 12:30 sample")
        server.clock.advance(minutes=1)
        await wait_for(
            lambda: sampled("2026-09-15T12:31:00.000000Z"), timeout=20, message="the next"
        )
    rows = await server.acall(lambda: samples_of(store, info["id"]))
    assert [at for at, _ in rows] == [first, "2026-09-15T12:31:00.000000Z"]
