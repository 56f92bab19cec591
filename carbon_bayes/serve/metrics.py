"""Prometheus metrics of the service: requests, latency and rows scored, in one registry per app."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

#: Latency buckets, seconds (one estimate takes milliseconds; value of information about a second).
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """Counters and a latency histogram labelled by route template (bounded cardinality)."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("carbon_bayes_requests_total", "HTTP requests served", ["method", "route", "status"],
                                registry=self.registry)
        self.latency = Histogram("carbon_bayes_request_duration_seconds", "time to answer a request",
                                 ["route"], buckets=BUCKETS, registry=self.registry)
        self.rows = Counter("carbon_bayes_rows_scored_total", "training runs estimated", ["route"],
                            registry=self.registry)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one request and its latency."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def scored(self, route: str, n: int) -> None:
        """Count ``n`` runs estimated by ``route``."""
        self.rows.labels(route).inc(n)

    def render(self) -> bytes:
        """Render the metrics in the Prometheus text exposition format."""
        return generate_latest(self.registry)
