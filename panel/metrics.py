"""/metrics for operators: prometheus-client, one registry per app (docs/operations.md).

Cheap by design. What the live parts already count (frames, sockets, drops, refusals, the
writer's queue, the mail outbox) is read when Prometheus scrapes, by `LiveCollector`: nothing
is added to the fan-out's path. What exists only as it happens (a request's latency, a
commit's, a write group's size, the scheduler's lag) is observed into histograms. No label
names an event or a reader: requests are labelled by their route's template, never the path.
One registry per app, not prometheus-client's global one, so tests can build many apps.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from panel.live.caps import READERS, STAFF, SocketCaps
from panel.live.hub import Hub
from panel.live.publisher import Publisher
from panel.store import Store

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # the text format every Prometheus reads
UNMATCHED = "unmatched"  # the route label of a request no route served (a 404)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
GROUP_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)  # the SQLite writer groups 256 at most
LAG_BUCKETS = (0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0)
ROLES = {READERS: "reader", STAFF: "staff"}  # SocketCaps' kinds as the label says them

BacklogSource = Callable[[], int | None]

# prometheus-client's `*_created` series are left out: in the 0.0.4 text format each is one
# more gauge per label set (a third more series for the request metrics), and nothing reads
# them. The library holds this switch for the whole process; it only ever turns them off.
disable_created_metrics()


@dataclass
class LiveSources:
    """The objects whose own counters the collector reads at scrape time."""

    hub: Hub
    publisher: Publisher
    caps: SocketCaps
    store: Store


class LiveCollector(Collector):
    """Counters and gauges read from the live parts when scraped, never kept twice."""

    def __init__(self, sources: LiveSources) -> None:
        self.sources = sources
        # The mail outbox's backlog, once a sender registers (set_outbox_backlog_source).
        self.outbox_backlog: BacklogSource | None = None

    def collect(self) -> Iterator[Metric]:
        s = self.sources
        yield _counter(
            "livepanel_frames_published",
            "Public frames handed to the broker.",
            s.publisher.published,
        )
        yield _counter(
            "livepanel_frames_delivered",
            "Frames written or queued to readers' sockets in this process.",
            s.hub.delivered,
        )
        yield _counter(
            "livepanel_readers_dropped",
            "Readers' sockets dropped for falling behind (closed 1013 or reset).",
            s.hub.dropped,
        )
        yield _counter(
            "livepanel_slow_readers_reset",
            "Dropped readers whose connection was reset because it held unread bytes.",
            s.hub.resets,
        )
        yield _counter(
            "livepanel_sockets_refused",
            "Live sockets refused at the handshake for a cap (per address or in all).",
            s.caps.refused,
        )
        sockets = GaugeMetricFamily(
            "livepanel_websocket_connections",
            "Open live sockets in this process, by role.",
            labels=["role"],
        )
        for kind, role in ROLES.items():
            sockets.add_metric([role], s.caps.open_by_kind[kind])
        yield sockets
        audience = sum(s.hub.count(c) for c in s.hub.channels("event:"))
        yield GaugeMetricFamily(
            "livepanel_audience",
            "Readers following events in this process (each once per event).",
            value=audience,
        )
        depth = s.store.queue_depth()
        if depth is not None:
            yield GaugeMetricFamily(
                "livepanel_writer_queue_depth", "Writes waiting for the SQLite writer.", value=depth
            )
        backlog = self.outbox_backlog() if self.outbox_backlog is not None else None
        if backlog is not None:
            yield GaugeMetricFamily(
                "livepanel_mail_outbox_backlog", "Mail in the outbox not sent yet.", value=backlog
            )


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=value)


class Metrics:
    """The registry of one app, and what the store, the scheduler and the HTTP layer observe."""

    def __init__(self, sources: LiveSources) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.live = LiveCollector(sources)
        self.registry.register(self.live)
        labels = ["route", "method", "status"]
        self.requests = Counter(
            "http_requests", "HTTP requests served.", labels, registry=self.registry
        )
        self.request_seconds = Histogram(
            "http_request_duration_seconds",
            "Time to serve an HTTP request, by route template.",
            labels,
            registry=self.registry,
        )
        self.commit_seconds = self._histogram(
            "livepanel_commit_duration_seconds",
            "Time of a write's COMMIT (SQLite: one per group; PostgreSQL: one per write).",
            COMMIT_BUCKETS,
        )
        self.group_size = self._histogram(
            "livepanel_write_group_size",
            "Writes committed together by the SQLite writer.",
            GROUP_BUCKETS,
        )
        self.scheduler_lag = self._histogram(
            "livepanel_scheduler_lag_seconds",
            "How late a due transition (slot or event) was made, after its due time.",
            LAG_BUCKETS,
        )

    def _histogram(self, name: str, documentation: str, buckets: Sequence[float]) -> Histogram:
        """An unlabelled histogram in this app's registry."""
        return Histogram(name, documentation, buckets=buckets, registry=self.registry)

    def set_outbox_backlog_source(self, source: BacklogSource | None) -> None:
        """Report the mail outbox's backlog: `source` is called at each scrape, on the event
        loop, and must return at once (a number the sender keeps, not a database read);
        None from it, or no source, leaves the metric out."""
        self.live.outbox_backlog = source

    def observe_commit(self, seconds: float, group: int | None) -> None:
        """A commit took `seconds`; `group`: the writes it committed (None: one, alone).
        Called on the SQLite writer's thread: prometheus-client's metrics take a lock."""
        self.commit_seconds.observe(seconds)
        if group is not None:
            self.group_size.observe(group)

    def observe_lag(self, seconds: float) -> None:
        self.scheduler_lag.observe(max(0.0, seconds))

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        labels = (route, method if method in METHODS else "other", f"{status // 100}xx")
        self.requests.labels(*labels).inc()
        self.request_seconds.labels(*labels).observe(seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class RouteTemplates:
    """The template of the route that served a request (`/events/{slug}`), found from the
    endpoint the router left in the scope: no second pass over the route table."""

    def __init__(self, routes: Iterable[BaseRoute]) -> None:
        self.by_endpoint: dict[int, list[tuple[BaseRoute, str]]] = {}
        for route in routes:
            if isinstance(route, Route):
                endpoint, template = route.endpoint, route.path
            elif isinstance(route, Mount):
                endpoint, template = route.app, f"{route.path}/{{path}}"
            else:
                continue
            self.by_endpoint.setdefault(id(endpoint), []).append((route, template))

    def template(self, scope: Scope) -> str:
        candidates = self.by_endpoint.get(id(scope.get("endpoint")), [])
        if len(candidates) == 1:
            return candidates[0][1]
        for route, template in candidates:  # one endpoint behind several paths
            if isinstance(route, Route) and route.path_regex.match(scope["path"]):
                return template
        return UNMATCHED


class RequestMetrics:
    """ASGI middleware: counts each HTTP request and times it, by route template, method and
    status class. WebSockets pass untouched (the readers' never even reach it: PublicStream
    serves them first)."""

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.metrics = metrics
        self.templates = RouteTemplates(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless a response starts: an error no handler turned into one

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            seconds = time.perf_counter() - started
            route = self.templates.template(scope)
            self.metrics.observe_request(route, scope["method"], status, seconds)
