"""The worker's settings: one typed object, read from HAUL_* environment variables."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from haul.runtime.settings import (
    DEFAULT_MAX_JOB_DURATION,
    DEV_WORKER_TOKEN,
    HaulSettings,
    comma_separated,
    is_loopback_host,
)


class WorkerSettings(HaulSettings):
    # Production refuses to start with the development worker token.
    production_secrets = ("worker_token",)
    # The token travels to the gateway: the development one only to a gateway on this machine.
    exposed_secrets = ("worker_token",)

    redis_url: str = "redis://127.0.0.1:6379/0"
    queue_name: str = "haul"
    # How many jobs run at once on this machine: one RQ worker process each.
    worker_processes: int = Field(3, ge=1, le=64)
    worker_name: str = socket.gethostname()
    # The id this worker's claims carry, recorded in job histories; empty: derived (worker.identity).
    worker_id: str = Field("", max_length=256)
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
    # Not jobstore's HAUL_HEARTBEAT_TIMEOUT, after which the reaper takes the job from a dead worker.
    stall_timeout: float = Field(60.0, gt=0)
    # Budgets; breaking one fails the job for good and removes its partial files.
    # The same HAUL_MAX_JOB_DURATION sets jobstore's RQ timeout, a little longer, as a backstop.
    max_job_duration: float = Field(DEFAULT_MAX_JOB_DURATION, gt=0)
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

    def exposure(self) -> str | None:
        host = urlsplit(self.gateway_url).hostname or ""
        return None if is_loopback_host(host) else f"HAUL_GATEWAY_URL={self.gateway_url}"

    @field_validator("egress_allowed_networks", "egress_allowed_ports", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        return comma_separated(value)
