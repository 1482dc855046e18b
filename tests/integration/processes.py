"""Runs haul's services (`python -m jobstore`, `python -m gateway`) as real child processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Self

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


class ServiceProcess:
    """One service as a child process, with its log in a file and a readiness probe."""

    def __init__(self, module: str, env: dict[str, str], log_path: Path, ready: Callable[[], bool]) -> None:
        self.module = module
        self.log_path = log_path
        self._env = {**os.environ, "HAUL_LOG_FORMAT": "json", **env}
        self._ready = ready
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        self.launch()
        self.wait_ready(timeout)

    def launch(self) -> None:
        """Start the process without waiting for it to be ready (`wait_ready` does)."""
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", self.module],
                cwd=ROOT,
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 30.0) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.module} exited with {self.proc.returncode}: {self.log()[-2000:]}")
            if self._ready():
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.module} did not become ready: {self.log()[-2000:]}")

    def terminate(self, timeout: float = 20.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.kill()


def stop_all(processes: Iterable[ServiceProcess], timeout: float = 20.0) -> None:
    """SIGTERM every running process at once, then wait for them all: one graceful stop after
    another cost the sum of their stops. One that outstays `timeout` is killed."""
    running = [p for p in processes if p.proc is not None and p.proc.poll() is None]
    for process in running:
        assert process.proc is not None
        process.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in running:
        assert process.proc is not None
        try:
            process.proc.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            process.kill()


def grpc_serving(address: str) -> bool:
    with grpc.insecure_channel(address) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
        except grpc.RpcError:
            return False
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def http_ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


class JobstoreProcess(ServiceProcess):
    def __init__(self, database_url: str, log_path: Path, port: int | None = None, **env: str) -> None:
        self.port = port or free_port()
        self.address = f"127.0.0.1:{self.port}"
        # A port of its own for /metrics, so replicas on one machine do not collide on the default.
        self.metrics_port = free_port()
        self.metrics_url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        environment = {
            "HAUL_DATABASE_URL": database_url,
            "HAUL_JOBSTORE_LISTEN": self.address,
            "HAUL_JOBSTORE_METRICS_LISTEN": f"127.0.0.1:{self.metrics_port}",
            **env,
        }
        super().__init__("jobstore", environment, log_path, lambda: grpc_serving(self.address))
        if "HAUL_REDIS_URL" not in env:
            self._env.pop("HAUL_REDIS_URL", None)

    def serving(self) -> bool:
        return grpc_serving(self.address)


class GatewayProcess(ServiceProcess):
    def __init__(self, jobstore_address: str, log_path: Path, **env: str) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        environment = {"HAUL_JOBSTORE_ADDRESS": jobstore_address, "HAUL_PORT": str(self.port), **env}
        super().__init__("gateway", environment, log_path, lambda: http_ready(f"{self.base_url}/health/live"))
