"""jobstore's Prometheus endpoint, scraped from a real `python -m jobstore` process."""

from __future__ import annotations

import asyncio
import socket
import urllib.request
from pathlib import Path

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError
from redis import Redis

from haul.jobstore.v1 import jobstore_pb2 as pb
from haul.jobstore.v1 import jobstore_pb2_grpc as pb_grpc
from jobstore.settings import JobstoreSettings
from tests.integration.processes import JobstoreProcess
from tests.support.inprocess import jobstore_settings, start_jobstore
from tests.support.servers import RedisServer

URL = "https://media.example/a.mp4"
SHA = "cd" * 32
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str) -> Samples:
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


async def until_scraped(url: str, name: str, expected: float, **labels: str) -> Samples:
    samples: Samples = {}
    for _ in range(100):
        samples = await asyncio.to_thread(scrape, url)
        if value(samples, name, **labels) == expected:
            return samples
        await asyncio.sleep(0.1)
    raise AssertionError(f"{name}{labels} never became {expected}: {value(samples, name, **labels)}")


def update(job: pb.Job, seq: int, progress: float) -> pb.ProgressUpdate:
    return pb.ProgressUpdate(
        job_id=job.id,
        attempt=1,
        seq=seq,
        stage=pb.JOB_STAGE_DOWNLOADING,
        progress=progress,
        downloaded_bytes=seq,
    )


async def test_jobstore_serves_outcomes_progress_batches_rows_and_queue_depth(
    sqlite_url: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    redis_url = redis_server.url()
    Redis.from_url(redis_url).flushall()
    env = {"HAUL_REDIS_URL": redis_url, "HAUL_DISPATCH_INTERVAL": "0.2"}
    with JobstoreProcess(sqlite_url, tmp_path / "jobstore.log", **env) as process:
        async with grpc.aio.insecure_channel(process.address) as channel:
            stub = pb_grpc.JobStoreServiceStub(channel)
            jobs = [(await stub.CreateJob(pb.CreateJobRequest(url=URL))).job for _ in range(3)]
            # No worker takes them, so all three wait in RQ.
            await until_scraped(process.metrics_url, "haul_jobstore_queue_depth", 3)
            for job in jobs:
                assert (await stub.ClaimJob(pb.ClaimJobRequest(job_id=job.id, worker_id="w"))).accepted
            # Two flushes: three jobs, then two updates of one job (one row: the latest wins).
            await stub.ReportProgress(pb.ReportProgressRequest(updates=[update(j, 1, 10) for j in jobs]))
            await stub.ReportProgress(
                pb.ReportProgressRequest(updates=[update(jobs[0], 2, 20), update(jobs[0], 3, 30)])
            )
            completed = pb.CompleteJobRequest(
                job_id=jobs[0].id,
                attempt=1,
                filename="a.mp4",
                output_path=f"{jobs[0].id}/a.mp4",
                size=9,
                sha256=SHA,
            )
            assert (await stub.CompleteJob(completed)).accepted
            # A resent outcome is accepted again but finishes nothing twice.
            assert (await stub.CompleteJob(completed)).accepted
            failed = pb.FailJobRequest(
                job_id=jobs[1].id, attempt=1, error_code="HTTP_ERROR", error_message="x"
            )
            assert (await stub.FailJob(failed)).accepted
            await stub.ControlJob(pb.ControlJobRequest(job_id=jobs[2].id, action=pb.CONTROL_ACTION_CANCEL))

        samples = await asyncio.to_thread(scrape, process.metrics_url)
        for outcome in ("completed", "failed", "cancelled"):
            assert value(samples, "haul_jobstore_jobs_finished_total", outcome=outcome) == 1, outcome
        assert value(samples, "haul_jobstore_progress_batch_size_count") == 2
        assert value(samples, "haul_jobstore_progress_batch_size_sum") == 5
        assert value(samples, "haul_jobstore_progress_batch_size_bucket", le="1.0") == 0
        assert value(samples, "haul_jobstore_progress_batch_size_bucket", le="5.0") == 2
        assert value(samples, "haul_jobstore_progress_rows_written_total") == 4
        assert value(samples, "haul_jobstore_downloaded_bytes_total") == 9, "counted once, not per resend"
        # Nothing popped the three RQ jobs; the cancelled job's is withdrawn by the next dispatch
        # pass (the completed and failed ones' stay until a worker pops and refuses them).
        await until_scraped(process.metrics_url, "haul_jobstore_queue_depth", 2)
        assert process.terminate() == 0


async def test_a_taken_metrics_port_is_logged_and_jobstore_serves_anyway(sqlite_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        listen = f"127.0.0.1:{taken.getsockname()[1]}"
        app = await start_jobstore(jobstore_settings(sqlite_url, jobstore_metrics_listen=listen))
        try:
            assert app.metrics_port == 0
            async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
                created = await pb_grpc.JobStoreServiceStub(channel).CreateJob(pb.CreateJobRequest(url=URL))
            assert created.created
        finally:
            await app.stop()


@pytest.mark.parametrize("listen", ["9464", "127.0.0.1", "127.0.0.1:port", ":9464", "127.0.0.1:70000"])
def test_a_malformed_metrics_address_is_refused_at_start_up(listen: str) -> None:
    with pytest.raises(ValidationError, match="HAUL_JOBSTORE_METRICS_LISTEN"):
        JobstoreSettings(jobstore_metrics_listen=listen)
