"""The worker's settings: one typed object, read from HAUL_* environment variables."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_WORKER_TOKEN = "dev-worker-token"
PLACEHOLDERS = frozenset({"", "changeme", "change-me", "secret", "token", "password", "example"})


class WorkerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HAUL_", extra="ignore")

    # "production" refuses to start with the development worker token.
    mode: Literal["development", "production"] = "development"
    redis_url: str = "redis://127.0.0.1:6379/0"
    queue_name: str = "haul"
    # How many jobs run at once on this machine: one RQ worker process each.
    worker_processes: int = Field(3, ge=1, le=64)
    worker_name: str = socket.gethostname()
    gateway_url: str = "http://127.0.0.1:8080"
    worker_token: SecretStr = SecretStr(DEV_WORKER_TOKEN)
    # Finished files, DATA_DIR/{jobId}/{name}; partial files, TMP_DIR/{jobId}/. Same filesystem.
    data_dir: Path = Path("var/data")
    tmp_dir: Path = Path("var/tmp")
    # Progress goes to the gateway at most this often (seconds).
    progress_interval: float = Field(0.2, ge=0.1, le=0.25)
    # How long an outcome (completed/failed) is resent while the gateway does not acknowledge it.
    outcome_resend_window: float = Field(600.0, gt=0)
    # Parallel HLS/DASH fragment downloads inside yt-dlp.
    concurrent_fragments: int = Field(4, ge=1, le=16)
    # Watchdog: no progress from the tool for this long stops the attempt as STALLED (retryable).
    stall_timeout: float = Field(60.0, gt=0)
    # Budgets; breaking one fails the job for good and removes its partial files.
    max_job_duration: float = Field(6 * 3600.0, gt=0)
    max_file_bytes: int = Field(64 * 1024**3, gt=0)
    min_free_disk_bytes: int = Field(1024**3, ge=0)
    # The egress guard: every connection the tools make goes through a proxy that refuses
    # loopback, private, link-local and other non-public addresses and ports other than these.
    egress_guard: bool = True
    # Networks the guard lets through anyway (comma-separated CIDRs; tests allow 127.0.0.0/8).
    egress_allowed_networks: Annotated[list[str], NoDecode] = []
    egress_allowed_ports: Annotated[list[int], NoDecode] = [80, 443]
    egress_max_connections_per_job: int = Field(16, ge=1, le=256)
    # Defence in depth: run each job's tools in a network namespace whose only way out is the
    # guard. "auto" where the platform allows it; "require" refuses to run jobs without it.
    egress_namespace: Literal["auto", "require", "off"] = "auto"
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _production_needs_secrets(self) -> WorkerSettings:
        token = self.worker_token.get_secret_value()
        if self.mode == "production" and (
            token == DEV_WORKER_TOKEN or token.strip().lower() in PLACEHOLDERS or len(token) < 16
        ):
            raise ValueError("HAUL_WORKER_TOKEN must be a real secret of 16+ characters in production mode")
        return self

    @field_validator("egress_allowed_networks", "egress_allowed_ports", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value
