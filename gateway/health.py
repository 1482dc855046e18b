"""`GET /health`: liveness, and readiness with the state of each dependency."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from aiohttp import web
from grpc_health.v1 import health_pb2, health_pb2_grpc
from redis import asyncio as aioredis

from gateway.fanout import Fanout
from gateway.jobstore_client import JobstoreClient
from gateway.sockets import WorkerRegistry

CHECK_TIMEOUT = 2.0


async def jobstore_state(client: JobstoreClient) -> dict[str, Any]:
    stub = health_pb2_grpc.HealthStub(client.channel)
    try:
        reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=CHECK_TIMEOUT)
    except grpc.aio.AioRpcError as exc:
        return {"ok": False, "detail": f"unreachable ({exc.code().name})"}
    serving = reply.status == health_pb2.HealthCheckResponse.SERVING
    return {"ok": serving, "detail": health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)}


async def redis_state(url: str | None) -> dict[str, Any]:
    if url is None:
        return {"ok": True, "detail": "not configured (single gateway)"}
    client = aioredis.Redis.from_url(url, socket_connect_timeout=CHECK_TIMEOUT, socket_timeout=CHECK_TIMEOUT)
    try:
        await client.ping()
        return {"ok": True, "detail": "PONG"}
    except Exception as exc:
        return {"ok": False, "detail": f"unreachable ({type(exc).__name__})"}
    finally:
        await client.aclose()


def aria2_state(registry: WorkerRegistry) -> dict[str, Any]:
    """aria2 runs beside each worker; workers report its state in their `hello`."""
    reports = [hello.tools.get("aria2", "unknown") for hello in registry.hello.values()]
    if not reports:
        return {"ok": None, "detail": "no worker connected to this gateway", "workers": 0, "tools": {}}
    healthy = sum(1 for r in reports if r.startswith("ok"))
    # Which binaries the workers use (system or pip package), and what a missing one costs.
    tools: dict[str, list[str]] = {}
    for hello in registry.hello.values():
        for name, report in hello.tools.items():
            if report not in tools.setdefault(name, []):
                tools[name].append(report)
    return {"ok": healthy == len(reports), "detail": f"{healthy} of {len(reports)} workers report aria2 ok",
            "workers": len(reports), "tools": tools}  # fmt: skip


async def health_report(
    client: JobstoreClient, redis_url: str | None, registry: WorkerRegistry, fanout: Fanout
) -> dict[str, Any]:
    """Serving: jobstore, Redis and the change feed are ok, so the API answers and workers can
    connect. Ready: serving with at least one worker connected here, so a job can start (what
    `make run` waits for). Orchestrators that start workers only once the gateway is healthy, or
    route the workers' own connections by readiness (compose, Kubernetes), use serving: ready
    would wait for workers that wait for it."""
    jobstore, redis = await asyncio.gather(jobstore_state(client), redis_state(redis_url))
    feed = {
        "ok": fanout.connected.is_set(),
        "detail": "watching" if fanout.connected.is_set() else "reconnecting",
    }
    workers = aria2_state(registry)
    serving = bool(jobstore["ok"] and redis["ok"] and feed["ok"])
    ready = serving and workers["workers"] > 0
    status = "ready" if ready else "serving" if serving else "degraded"
    checks = {"jobstore": jobstore, "redis": redis, "changeFeed": feed, "aria2": workers}
    return {"status": status, "live": True, "serving": serving, "ready": ready, "checks": checks}


async def live(_request: web.Request) -> web.Response:
    return web.json_response({"live": True})
