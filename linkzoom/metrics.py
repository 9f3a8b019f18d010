"""Prometheus metrics, one registry per app instance (so tests can build many apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from linkzoom.overview.tally import DailyTally

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]


class Metrics:
    def __init__(self) -> None:
        # The admin Overview's day-by-day counts: in memory, added to the database by the worker.
        self.daily = DailyTally()
        self.registry = CollectorRegistry(auto_describe=True)
        self.request_latency = Histogram(
            "linkzoom_http_request_duration_seconds",
            "HTTP request latency by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.zoom_calls = Counter(
            "linkzoom_zoom_calls_total",
            "Calls made to Zoom by operation and outcome (HTTP status or 'error').",
            ["operation", "status"],
            registry=self.registry,
        )
        self.zoom_latency = Histogram(
            "linkzoom_zoom_call_duration_seconds",
            "Latency of calls to Zoom by operation.",
            ["operation"],
            registry=self.registry,
        )
        self.refreshes = Counter(
            "linkzoom_zoom_token_refreshes_total",
            "Zoom token refreshes by outcome (ok, invalid_grant, error, joined).",
            ["outcome"],
            registry=self.registry,
        )
        self.deferrals = Counter(
            "linkzoom_zoom_deferrals_total",
            "Zoom calls not made or deferred because of a rate limit, by kind (qps, daily).",
            ["kind"],
            registry=self.registry,
        )
        self.webhooks = Counter(
            "linkzoom_zoom_webhooks_total",
            "Zoom webhook deliveries by event and outcome.",
            ["event", "outcome"],
            registry=self.registry,
        )

        self.upkeep_failures = Counter(
            "linkzoom_upkeep_failures_total",
            "Background upkeep steps that failed, by step (each step runs on its own).",
            ["step"],
            registry=self.registry,
        )

    def observe_zoom_call(self, operation: str, status: str, seconds: float) -> None:
        self.zoom_calls.labels(operation, status).inc()
        self.zoom_latency.labels(operation).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
