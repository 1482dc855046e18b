"""A worker's side of the hostile payload tests: a Socket.IO client on /worker (`Worker`), the
gateway's event counters, a job claimed through it, and `Barrage`, which sends each batch of
`Hostile` payloads, checks that the contract agrees with how each was generated, that acked events
get the expected refusal, that the counters move exactly as expected and that the connection stays
up. `run_on` lets Hypothesis, in its helper thread, hand each batch to the test's event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import socketio

from haul.contract.events import WORKER_NAMESPACE
from haul.jobstore.v1 import jobstore_pb2 as pb
from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from tests.support.hostile_values import MB
from tests.support.hostile_worker_events import SPEC_BY_EVENT, SPECS, Hostile, contract_accepts, materialize
from tests.support.inprocess import Stack

URL = "https://media.example/a.mp4"

EVENTS_TOTAL = "haul_gateway_socket_events_total"
# Events that speak for a claimed attempt: about a job this connection never claimed, the gateway
# refuses a valid one itself (counted as "not_claimant") and jobstore never hears of it.
CLAIM_BOUND = ("progress", "completed", "failed", "collection")


def counter(stack: Stack, event: str, outcome: str) -> float:
    labels = {"namespace": WORKER_NAMESPACE, "event": event, "outcome": outcome}
    return stack.gateway.metrics.registry.get_sample_value(EVENTS_TOTAL, labels) or 0.0


def counters(stack: Stack) -> dict[tuple[str, str], float]:
    return {
        (spec.event, outcome): counter(stack, spec.event, outcome)
        for spec in SPECS
        for outcome in ("dropped", "accepted", "stale", "not_claimant")
    }


async def eventually(check: Callable[[], bool], within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(0.01)
    return check()


@dataclass
class Worker:
    client: socketio.AsyncClient
    sid: str
    controls: list[dict[str, Any]]
    disconnects: list[Any]

    async def emit(self, event: str, payload: Any) -> None:
        await self.client.emit(event, payload, namespace=WORKER_NAMESPACE)

    async def call(self, event: str, payload: Any, wait: float = 10.0) -> Any:
        return await self.client.call(event, payload, namespace=WORKER_NAMESPACE, timeout=wait)


async def connect_worker(stack: Stack) -> Worker:
    client = socketio.AsyncClient(reconnection=False)
    controls: list[dict[str, Any]] = []
    disconnects: list[Any] = []

    async def on_control(data: dict[str, Any]) -> None:
        controls.append(data)

    async def on_disconnect(reason: Any = None) -> None:
        disconnects.append(reason)

    client.on("control", on_control, namespace=WORKER_NAMESPACE)
    client.on("disconnect", on_disconnect, namespace=WORKER_NAMESPACE)
    await client.connect(
        stack.base_url,
        namespaces=[WORKER_NAMESPACE],
        auth={"token": stack.gateway.settings.worker_token.get_secret_value()},
        transports=["websocket"],
        wait_timeout=10,
    )
    sid = client.get_sid(WORKER_NAMESPACE)
    assert sid is not None
    return Worker(client, sid, controls, disconnects)


async def claimed_job(jobs: pb_grpc.JobStoreServiceStub, worker: Worker) -> str:
    job = (await jobs.CreateJob(pb.CreateJobRequest(url=URL))).job
    reply = await worker.call("claim", {"jobId": job.id})
    assert reply.get("ok") is True and reply.get("attempt") == 1, reply
    return str(job.id)


async def get_job(jobs: pb_grpc.JobStoreServiceStub, job_id: str) -> pb.GetJobResponse:
    return await jobs.GetJob(pb.GetJobRequest(job_id=job_id, include_history=True))


def refusal_of(reply: Any) -> Any:
    """An ack without its zero or absent attempt, so `{"ok": false, "refusal": ...}` compares equal."""
    if not isinstance(reply, dict):
        return reply
    return {k: v for k, v in reply.items() if k != "attempt" or v}


@dataclass
class Barrage:
    stack: Stack
    worker: Worker
    running_id: str
    sent: Counter[str] = field(default_factory=Counter)
    breakages: Counter[str] = field(default_factory=Counter)
    megabyte_payloads: int = 0
    unknown_progress_ids: list[str] = field(default_factory=list)

    async def send(self, batch: list[Hostile]) -> None:
        before = counters(self.stack)
        expected = dict(before)
        for item in batch:
            spec = SPEC_BY_EVENT[item.event]
            unknown_ids: list[str] = []
            payload = materialize(item.payload, self.running_id, unknown_ids)
            accepts = contract_accepts(spec.model, payload)
            assert accepts == item.valid, (
                f"the contract {'accepts' if accepts else 'refuses'} a payload generated as "
                f"{item.how!r} for {item.event!r}: {str(payload)[:500]}"
            )
            outcome = "accepted" if item.valid else "dropped"
            expected[(item.event, outcome)] += 1
            if item.valid and item.event in CLAIM_BOUND:
                expected[(item.event, "not_claimant")] += 1
            self.sent[f"{item.event}/{'valid-unknown-job' if item.valid else 'invalid'}"] += 1
            self.breakages[item.how.partition(":")[0]] += 1
            self.megabyte_payloads += len(repr(payload)) >= MB
            if spec.acked:
                reply = await self.worker.call(item.event, payload)
                valid_refusal = "not_claimant" if item.event in CLAIM_BOUND else "job_not_found"
                wanted = {"ok": False, "refusal": valid_refusal if item.valid else "invalid"}
                assert refusal_of(reply) == wanted, (
                    f"{item.event} {item.how}: {str(payload)[:300]} -> {reply}"
                )
            else:
                await self.worker.emit(item.event, payload)
                if item.event == "progress" and item.valid:
                    self.unknown_progress_ids.extend(unknown_ids)
        # progress and hello are not acked: wait until the gateway has counted them.
        settled = await eventually(lambda: counters(self.stack) == expected, within=10)
        now = counters(self.stack)
        changed = {k: (before[k], now[k], expected[k]) for k in now if now[k] != expected[k]}
        assert settled, f"counters (before, now, expected) differ: {changed} for {batch!r}"[:3000]
        assert self.worker.client.connected and not self.worker.disconnects


def run_on(loop: asyncio.AbstractEventLoop) -> Callable[[Coroutine[Any, Any, Any]], Any]:
    def run(coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=120)

    return run


async def wait_stored(
    jobs: pb_grpc.JobStoreServiceStub, job_id: str, seq: int, within: float = 5.0
) -> pb.Job:
    deadline = time.monotonic() + within
    job = (await get_job(jobs, job_id)).job
    while job.progress_seq < seq and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        job = (await get_job(jobs, job_id)).job
    return job
