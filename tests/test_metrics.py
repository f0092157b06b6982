"""/metrics from prometheus-client (issue 17 item 5), over a real server, store and sockets:
it parses, holds every family docs/operations.md documents, labels requests by route
template (never by a raw path or slug), and counts what the live parts count."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect

from panel.clock import FakeClock
from panel.config import Settings
from panel.metrics import Metrics
from panel.services import Services
from tests.conftest import EDITOR, EVENT_START, LiveServer, seed_event
from tests.livehelpers import client_for, post_as, seed_live
from tests.pgdb import BOTH_STORES

DOCS = Path(__file__).resolve().parents[1] / "docs" / "operations.md"
WS_OPTIONS: dict[str, Any] = {"open_timeout": 10, "close_timeout": 3, "ping_interval": None}


def documented_families() -> dict[str, str]:
    """Family → type of every metric in the table of docs/operations.md ("Metrics"); a
    counter's family is its name without `_total`, as the parser names it."""
    rows = re.findall(r"^\| `([a-z_]+)` \| (counter|gauge|histogram) \|", DOCS.read_text(), re.M)
    assert len(rows) >= 10, "the metrics table in docs/operations.md"
    return {name.removesuffix("_total") if kind == "counter" else name: kind for name, kind in rows}


def parse(text: str) -> dict[str, Any]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def samples(family: Any, name: str | None = None) -> list[Any]:
    return [s for s in family.samples if name is None or s.name == name]


def one(families: dict[str, Any], family: str, suffix: str = "") -> float:
    """The value of a family's one unlabelled sample (`suffix`: "_count", "_sum")."""
    found = [s.value for s in families[family].samples if s.name == family + suffix]
    assert len(found) == 1, (family, suffix)
    return float(found[0])


async def scrape(client: Any) -> dict[str, Any]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)


async def test_metrics_parse_and_hold_every_documented_family(server: LiveServer) -> None:
    info = await seed_live(server)  # the scheduler opens it: two transitions, 30 min late
    server.services.metrics.set_outbox_backlog_source(lambda: 0)  # as the mail sender will
    slug = info["slug"]
    question = await post_as(server, info["id"], "r", "Counted?")
    await server.acall(lambda: server.actions.moderate(question.id, "approve", EDITOR))
    async with client_for(server) as client:
        for path in (f"/events/{slug}", f"/events/{slug}", f"/api/v1/events/{slug}", "/nope/x"):
            await client.get(path)
        await client.post(f"/events/{slug}/questions", data={"body": "x"})  # refused: no origin
        async with connect(f"{server.ws_url}/events/{slug}/live?since=0", **WS_OPTIONS) as ws:
            await ws.recv()  # caught up: the socket is counted
            families = await scrape(client)

    documented = documented_families()
    for name, kind in documented.items():
        assert name in families, f"{name} documented but not served"
        assert families[name].type == kind, name
    ours = {n for n in families if n.startswith(("livepanel_", "http_"))}
    assert ours <= set(documented), f"served but not documented: {ours - set(documented)}"

    http = families["http_request_duration_seconds"]
    counts = {
        (s.labels["route"], s.labels["method"], s.labels["status"]): s.value
        for s in samples(http, "http_request_duration_seconds_count")
    }
    assert counts[("/events/{slug}", "GET", "2xx")] == 2
    assert counts[("/api/v1/events/{slug}", "GET", "2xx")] == 1
    assert counts[("unmatched", "GET", "4xx")] == 1
    assert counts[("/events/{slug}/questions", "POST", "4xx")] == 1
    # The readers' socket is not an HTTP request; nothing is labelled by a raw path.
    assert not [r for r, _, _ in counts if r.endswith("/live")]
    for family in families.values():
        for sample in family.samples:
            for value in sample.labels.values():
                assert slug not in value and "/nope" not in value, sample
    totals = {
        (s.labels["route"], s.labels["status"]): s.value
        for s in samples(families["http_requests"], "http_requests_total")
    }
    assert totals[("/events/{slug}", "2xx")] == 2

    sockets = {
        s.labels["role"]: s.value for s in families["livepanel_websocket_connections"].samples
    }
    assert sockets == {"reader": 1, "staff": 0}
    assert one(families, "livepanel_audience") == 1
    published = one(families, "livepanel_frames_published", "_total")
    assert published == server.services.publisher.published >= 3  # live, slot, question
    assert one(families, "livepanel_writer_queue_depth") >= 0
    commits = samples(
        families["livepanel_commit_duration_seconds"], "livepanel_commit_duration_seconds_count"
    )
    groups = samples(families["livepanel_write_group_size"], "livepanel_write_group_size_sum")
    assert commits[0].value >= 3 and groups[0].value >= commits[0].value  # writes ≥ groups
    assert one(families, "livepanel_scheduler_lag_seconds", "_count") == 2
    assert one(families, "livepanel_scheduler_lag_seconds", "_sum") == 2 * 30 * 60


async def test_refused_sockets_and_the_outbox_backlog_hook(
    settings: Settings, clock: FakeClock
) -> None:
    """A socket over the per-address cap is counted; the mail outbox's backlog appears once
    a source is registered, and is left out while it reports None."""
    server = LiveServer(dataclasses.replace(settings, max_sockets_per_ip=1), clock)
    server.start()
    try:
        info = await seed_live(server)
        url = f"{server.ws_url}/events/{info['slug']}/live?since=0"
        async with client_for(server) as client:
            families = await scrape(client)
            assert "livepanel_mail_outbox_backlog" not in families
            async with connect(url, **WS_OPTIONS) as ws:
                await ws.recv()
                with pytest.raises(Exception, match="429"):
                    async with connect(url, **WS_OPTIONS):
                        pass
            families = await scrape(client)
            assert one(families, "livepanel_sockets_refused", "_total") == 1

            backlog: list[int | None] = [7]
            server.services.metrics.set_outbox_backlog_source(lambda: backlog[0])
            families = await scrape(client)
            assert one(families, "livepanel_mail_outbox_backlog") == 7
            backlog[0] = None
            assert "livepanel_mail_outbox_backlog" not in await scrape(client)
    finally:
        server.stop()


@BOTH_STORES
async def test_commits_are_timed_on_both_stores(settings: Settings, clock: FakeClock) -> None:
    """SQLite: each group's commit and size; PostgreSQL: each write's commit, no group."""
    svc = Services.build(settings, clock)
    async with svc.running():
        metrics = svc.metrics
        before = _value(metrics, "livepanel_commit_duration_seconds_count")
        await seed_event(svc.actions, slug="timed")
        after = _value(metrics, "livepanel_commit_duration_seconds_count")
        assert after >= before + 6  # the event and five panelists, at least
        groups = _value(metrics, "livepanel_write_group_size_count")
        if svc.store.dialect == "sqlite":
            assert groups == after and svc.store.queue_depth() == 0
        else:
            assert groups == 0 and svc.store.queue_depth() is None


def _value(metrics: Metrics, name: str) -> float:
    value = metrics.registry.get_sample_value(name)
    return 0.0 if value is None else value


def test_a_collector_per_app() -> None:
    """Two apps in one process keep their own registries (no global state)."""
    settings = Settings(db_url="sqlite:////nonexistent/a.db")
    one = Services.build(settings, FakeClock(EVENT_START)).metrics
    two = Services.build(settings, FakeClock(EVENT_START)).metrics
    one.observe_request("/x", "GET", 200, 0.01)
    assert (
        one.registry.get_sample_value(
            "http_requests_total", {"route": "/x", "method": "GET", "status": "2xx"}
        )
        == 1
    )
    assert (
        two.registry.get_sample_value(
            "http_requests_total", {"route": "/x", "method": "GET", "status": "2xx"}
        )
        is None
    )
