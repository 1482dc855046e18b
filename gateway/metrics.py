"""The gateway's Prometheus metrics, on a registry per app so tests can build several apps."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "haul_gateway_http_requests", "REST requests by route and status", ["method", "route", "status"],
            registry=self.registry,
        )  # fmt: skip
        self.socket_events = Counter(
            "haul_gateway_socket_events", "Socket.IO events received, accepted or dropped",
            ["namespace", "event", "outcome"], registry=self.registry,
        )  # fmt: skip
        self.progress_flushes = Counter(
            "haul_gateway_progress_flushes", "ReportProgress calls made", registry=self.registry
        )
        self.progress_batch = Histogram(
            "haul_gateway_progress_batch_size", "Updates per ReportProgress call",
            buckets=(1, 5, 10, 50, 100, 250, 500, 1000, 2500, 5000), registry=self.registry,
        )  # fmt: skip
        self.progress_updates = Counter(
            "haul_gateway_progress_updates_flushed",
            "Progress updates sent to jobstore",
            registry=self.registry,
        )
        self.jobstore_errors = Counter(
            "haul_gateway_jobstore_errors",
            "Failed jobstore calls by status code",
            ["code"],
            registry=self.registry,
        )
        self.connected_workers = Gauge(
            "haul_gateway_connected_workers", "Workers connected to this gateway", registry=self.registry
        )
        self.feed_changes = Counter(
            "haul_gateway_feed_changes",
            "Job changes received from jobstore's WatchJobs",
            registry=self.registry,
        )

    def flushed(self, size: int) -> None:
        self.progress_flushes.inc()
        self.progress_batch.observe(size)
        self.progress_updates.inc(size)
