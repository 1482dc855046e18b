"""jobstore's settings: one typed object, read from HAUL_* environment variables."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "token", "password", "example"})


class JobstoreSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HAUL_", extra="ignore")

    # "production" refuses to start without real secrets.
    mode: Literal["development", "production"] = "development"
    # SQLite under var/ is the single-machine default; PostgreSQL is the real target.
    database_url: str = "sqlite+aiosqlite:///var/haul.db"
    # Without Redis nothing is dispatched to workers (jobs stay queued), which suits tests and tools.
    redis_url: str | None = None
    # host:port for the gRPC server.
    jobstore_listen: str = "127.0.0.1:50051"
    # host:port for the Prometheus metrics (plain HTTP, no token); empty turns them off.
    jobstore_metrics_listen: str = "127.0.0.1:9464"
    # When set, every call but health must carry `authorization: Bearer <token>`.
    service_token: SecretStr | None = None
    queue_name: str = "haul"
    # A running job with no heartbeat for this long is re-queued (or failed when out of attempts).
    stall_timeout: float = Field(60.0, gt=0)
    reap_interval: float = Field(5.0, gt=0)
    # The reconciler's period; new queued jobs are dispatched at once, not on this clock.
    dispatch_interval: float = Field(5.0, gt=0)
    # Seconds between rollups of the daily figures (the metrics table); GetStats refreshes too.
    metrics_interval: float = Field(60.0, gt=0)
    # Single machine only (`make run` sets it): jobs still running when jobstore starts lost
    # their workers with the rest of the service, so they are queued again at once.
    requeue_running_at_start: bool = False
    default_max_attempts: int = Field(3, ge=1, le=20)
    # RQ's own timeout for one attempt: the maximum job duration.
    job_timeout: int = Field(6 * 3600, gt=0)
    # Seconds in-flight RPCs get to finish on shutdown.
    shutdown_grace: float = Field(10.0, ge=0)
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "INFO"

    @field_validator("jobstore_metrics_listen")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if value and not (host and port.isdigit() and int(port) < 65536):
            raise ValueError("HAUL_JOBSTORE_METRICS_LISTEN must be host:port, or empty to turn metrics off")
        return value

    @model_validator(mode="after")
    def _production_needs_secrets(self) -> JobstoreSettings:
        if self.mode == "production":
            token = self.service_token.get_secret_value() if self.service_token else ""
            if token.strip().lower() in PLACEHOLDER_SECRETS or len(token) < 16:
                raise ValueError(
                    "HAUL_SERVICE_TOKEN must be a real secret of 16+ characters in production mode"
                )
        return self
