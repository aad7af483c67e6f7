"""GET /metrics: the service in Prometheus' text format, what every operator's dashboard reads.

  genesis_http_requests_total{method, route, status}        requests answered, by route template (never the
                                                            raw path: ids would explode the series)
  genesis_http_request_duration_seconds{method, route}      latency histogram
  genesis_jobs{task, status}                                the workspace's jobs by kind and state, read from the
                                                            job store at each scrape (queued, running, succeeded,
                                                            failed, cancelled)

Each app has its own registry (two apps in one process do not share counts). The endpoint needs the token, as
every other one does (Prometheus sends it with `authorization: {credentials_file: ...}`).
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

STATES = ("queued", "running", "succeeded", "failed", "cancelled")


class JobsCollector:
    """The jobs gauge, counted from the job store when scraped."""

    def __init__(self, workspace):
        self.workspace = workspace

    def collect(self):
        from genesis_core.jobs.store import JobStore

        family = GaugeMetricFamily("genesis_jobs", "jobs of this workspace by task and status",
                                   labels=["task", "status"])
        store = JobStore(self.workspace.jobs_db)
        try:
            rows = store._conn.execute("SELECT task, status, COUNT(*) FROM jobs GROUP BY task, status").fetchall()
        finally:
            store.close()
        counts = {(task, status): n for task, status, n in rows}
        for task in sorted({t for t, _ in counts}):
            for status in STATES:
                family.add_metric([task, status], counts.get((task, status), 0))
        yield family


class ServiceMetrics:
    def __init__(self, workspace):
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("genesis_http_requests", "HTTP requests answered", ["method", "route", "status"],
                                registry=self.registry)
        self.latency = Histogram("genesis_http_request_duration_seconds", "time to answer a request",
                                 ["method", "route"], registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
        self.registry.register(JobsCollector(workspace))

    def observe(self, method: str, route: str, status: int, started: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(time.perf_counter() - started)

    def text(self) -> bytes:
        return generate_latest(self.registry)


def route_of(request) -> str:
    """The route's template (/v1/jobs/{job_id}), also for a request refused before routing (a 401), or
    "unmatched" for a path no route has."""
    from starlette.routing import Match

    route = request.scope.get("route")
    if route is None:
        scope = {**request.scope, "type": "http"}
        route = next((r for r in request.app.router.routes if r.matches(scope)[0] == Match.FULL), None)
    return getattr(route, "path", None) or "unmatched"
