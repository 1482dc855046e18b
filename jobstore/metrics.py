"""jobstore's Prometheus metrics, served over plain HTTP on their own port.

Each process counts what it committed itself, so summing over replicas gives the truth (the
change feed, which every replica sees in full, would count each change once per replica).
"""

from __future__ import annotations

from collections.abc import Sequence
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from jobstore.domain.model import TERMINAL_STATUSES, JobStatus

BATCH_BUCKETS = (1, 5, 10, 50, 100, 250, 500, 1000, 2500, 5000)


class JobstoreMetrics:
    """One registry per jobstore, so tests can build several in one process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.jobs_finished = Counter(
            "haul_jobstore_jobs_finished", "Jobs that reached a terminal status, by outcome",
            ["outcome"], registry=self.registry,
        )  # fmt: skip
        for status in sorted(TERMINAL_STATUSES):
            self.jobs_finished.labels(status.value)
        self.downloaded_bytes = Counter(
            "haul_jobstore_downloaded_bytes", "Bytes of the files that completed jobs delivered",
            registry=self.registry,
        )  # fmt: skip
        self.progress_batch = Histogram(
            "haul_jobstore_progress_batch_size", "Updates per ReportProgress call",
            buckets=BATCH_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.progress_rows = Counter(
            "haul_jobstore_progress_rows_written",
            "Job rows written by ReportProgress' batched UPDATE (one per job with an accepted update)",
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "haul_jobstore_queue_depth", "Jobs waiting in the RQ queue, as of the last dispatch pass",
            registry=self.registry,
        )  # fmt: skip

    def committed(self, finished: Sequence[JobStatus], completed_bytes: int, progress_rows: int) -> None:
        """Called by the unit of work after each commit with what it wrote."""
        for status in finished:
            self.jobs_finished.labels(status.value).inc()
        if completed_bytes:
            self.downloaded_bytes.inc(completed_bytes)
        if progress_rows:
            self.progress_rows.inc(progress_rows)


class MetricsServer:
    """The registry over HTTP (any path answers; Prometheus asks for /metrics), in a daemon thread
    so a busy event loop never delays a scrape."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry
        self._httpd: WSGIServer | None = None

    def start(self, listen: str) -> int:
        """Listen on `host:port` (`[v6]:port` too); returns the port, useful when it was 0.
        Raises OSError when it cannot."""
        host, _, port = listen.rpartition(":")
        self._httpd, _thread = start_http_server(int(port), host.strip("[]"), self._registry)
        return int(self._httpd.server_port)

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
