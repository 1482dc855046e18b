#!/usr/bin/env python3
"""Container health checks, installed in the image as `haul-healthcheck`: exit 0 when healthy.

    haul-healthcheck [ROLE] [--ready] [--pid PID]

Without ROLE the role is read from the container's main process (PID 1, which the entry
point `haul-entrypoint` replaced with `python -m ROLE`), so one HEALTHCHECK line serves every role.

| role | liveness (default) | readiness (`--ready`) |
|---|---|---|
| gateway | `GET /health/live` answers 200 | `GET /health/serving` answers 200 (jobstore, Redis, change feed) |
| jobstore | the standard gRPC health service says SERVING | the same |
| worker | the pool process (`--pid`, default 1) still has worker processes | Redis (the queue) answers PING |
| anything else | nothing to check (a one-shot migration, a shell) | the same |

The gateway's readiness here is `/health/serving`, not `/health`: `/health` also needs a worker
connected, and the workers start once the gateway is healthy and connect through it, so waiting
for one would never end.

The image has no curl: HTTP goes through urllib. On Kubernetes the gateway and jobstore use
the kubelet's own httpGet and grpc probes; only workers run this there.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import urllib.request
from pathlib import Path

TIMEOUT_SECONDS = 5.0
SERVICES = ("jobstore", "gateway", "worker")
ANY_ADDRESS = ("", "0.0.0.0", "::", "[::]", "localhost")


def role_of(pid: int) -> str | None:
    """The haul service a process runs (`python -m ROLE`), or None."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return None
    for flag, module in itertools.pairwise(argv):
        if flag == "-m" and module in SERVICES:
            return module
    return None


def local_address(host: str, port: str) -> str:
    """Where to reach a server that listens on host:port from inside its own container."""
    if host in ANY_ADDRESS:
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"


def gateway_healthy(ready: bool) -> bool:
    address = local_address(os.environ.get("HAUL_HOST", "127.0.0.1"), os.environ.get("HAUL_PORT", "8080"))
    url = f"http://{address}/health/" + ("serving" if ready else "live")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            return int(response.status) == 200
    except OSError as exc:  # urllib.error.HTTPError (a 503 while not ready) is one too
        print(f"{url}: {exc}", file=sys.stderr)
        return False


def jobstore_healthy() -> bool:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    host, _, port = os.environ.get("HAUL_JOBSTORE_LISTEN", "127.0.0.1:50051").rpartition(":")
    with grpc.insecure_channel(local_address(host, port)) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=TIMEOUT_SECONDS
            )
        except grpc.RpcError as exc:
            print(f"jobstore health: {exc.code().name}", file=sys.stderr)
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def worker_live(pid: int) -> bool:
    import psutil

    try:
        children = psutil.Process(pid).children()
    except psutil.Error as exc:
        print(f"worker pool {pid}: {exc}", file=sys.stderr)
        return False
    if not children:
        print(f"worker pool {pid} has no worker processes", file=sys.stderr)
    return bool(children)


def worker_ready() -> bool:
    from redis import Redis
    from redis.exceptions import RedisError

    client = Redis.from_url(
        os.environ.get("HAUL_REDIS_URL", "redis://127.0.0.1:6379/0"),
        socket_timeout=TIMEOUT_SECONDS,
        socket_connect_timeout=TIMEOUT_SECONDS,
    )
    try:
        return bool(client.ping())
    except RedisError as exc:
        print(f"redis: {exc}", file=sys.stderr)
        return False
    finally:
        client.close()


def healthy(role: str | None, ready: bool, pid: int) -> bool:
    if role == "gateway":
        return gateway_healthy(ready)
    if role == "jobstore":
        return jobstore_healthy()
    if role == "worker":
        return worker_ready() if ready else worker_live(pid)
    return True


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="haul-healthcheck", description="exit 0 when this haul container is healthy"
    )
    parser.add_argument("role", nargs="?", choices=SERVICES, help="default: the role of PID 1")
    parser.add_argument("--ready", action="store_true", help="readiness instead of liveness")
    parser.add_argument("--pid", type=int, default=1, help="the service's main process (default 1)")
    args = parser.parse_args(argv)
    return 0 if healthy(args.role or role_of(args.pid), args.ready, args.pid) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
