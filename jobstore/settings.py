"""jobstore's settings: one typed object, read from HAUL_* environment variables."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from haul.runtime.settings import (
    DEFAULT_MAX_JOB_DURATION,
    HaulSettings,
    host_of,
    is_loopback_host,
    secret_values,
)
from jobstore.domain.collections import HARD_MAX_ITEMS


class JobstoreSettings(HaulSettings):
    production_secrets = ("service_token",)
    exposed_secrets = ("service_token",)
    rotating_secrets = ("service_token",)
    renamed_variables = {
        "HAUL_JOB_TIMEOUT": "HAUL_MAX_JOB_DURATION",
        "HAUL_METRICS_INTERVAL": "HAUL_DAILY_STATS_INTERVAL",
    }

    # SQLite under var/ is the single-machine default; PostgreSQL is the real target.
    database_url: str = "sqlite+aiosqlite:///var/haul.db"
    # Without Redis nothing is dispatched to workers (jobs stay queued), which suits tests and tools.
    redis_url: str | None = None
    # host:port for the gRPC server.
    jobstore_listen: str = "127.0.0.1:50051"
    # host:port for the Prometheus metrics (plain HTTP, no token); empty turns them off.
    jobstore_metrics_listen: str = "127.0.0.1:9464"
    # When set, every call but health must carry `authorization: Bearer <token>`. Several,
    # comma-separated, are all accepted: how the token is rotated.
    service_token: SecretStr | None = None
    queue_name: str = "haul"
    # The reaper: a running job with no heartbeat for this long is re-queued (or failed when out
    # of attempts). Not the worker's HAUL_STALL_TIMEOUT, which watches the download itself.
    heartbeat_timeout: float = Field(60.0, gt=0)
    reap_interval: float = Field(5.0, gt=0)
    # The reconciler's period; new queued jobs are dispatched at once, not on this clock.
    dispatch_interval: float = Field(5.0, gt=0)
    # Seconds between rollups of the daily figures (the daily_stats table); GetStats refreshes too.
    daily_stats_interval: float = Field(60.0, gt=0)
    # Single machine only (`make run` sets it): jobs still running when jobstore starts lost
    # their workers with the rest of the service, so they are queued again at once.
    requeue_running_at_start: bool = False
    default_max_attempts: int = Field(3, ge=1, le=20)
    # The most entries a collection (playlist, channel, feed) becomes, when its job's max_items
    # does not say; a job's own max_items may not exceed HARD_MAX_ITEMS either.
    collection_max_items: int = Field(500, ge=1, le=HARD_MAX_ITEMS)
    # The shortest interval a subscription may be checked at, in seconds (tests lower it).
    subscription_min_interval: int = Field(900, ge=1)
    # Seconds between two looks for due subscriptions: how late a check may start at most.
    subscription_check_period: float = Field(5.0, gt=0)
    # The longest one attempt may take. The worker enforces it (TIME_LIMIT); RQ's timeout for
    # the attempt is derived from it, a little longer, as the backstop.
    max_job_duration: float = Field(DEFAULT_MAX_JOB_DURATION, gt=0)
    # Seconds in-flight RPCs get to finish on shutdown.
    shutdown_grace: float = Field(10.0, ge=0)

    def accepted_service_tokens(self) -> tuple[str, ...]:
        """Every service token a call may carry; none means calls need no token."""
        return secret_values(self.service_token)

    def exposure(self) -> str | None:
        # A Unix socket is not reachable from other machines; file permissions guard it.
        listen = self.jobstore_listen
        if listen.startswith("unix:") or is_loopback_host(host_of(listen)):
            return None
        return f"HAUL_JOBSTORE_LISTEN={listen}"

    @field_validator("jobstore_metrics_listen")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if value and not (host and port.isdigit() and int(port) < 65536):
            raise ValueError("HAUL_JOBSTORE_METRICS_LISTEN must be host:port, or empty to turn metrics off")
        return value
