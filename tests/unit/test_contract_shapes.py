"""The REST and browser shapes built from jobstore's messages: the keys, nulls and omissions
clients rely on."""

from __future__ import annotations

from datetime import datetime

from gateway import views
from haul.contract.rest import Job
from haul.jobstore.v1 import jobstore_pb2 as pb

JOB_ID = "5f0c6d2e-8c1a-4a55-9a53-0b7a3c1f2d01"


def running_job(**fields: object) -> pb.Job:
    job = pb.Job(
        id=JOB_ID,
        url="https://media.example/a.mp4",
        type=pb.JOB_TYPE_AUDIO,
        options=pb.JobOptions(audio_format=pb.AUDIO_FORMAT_OPUS),
        status=pb.JOB_STATUS_RUNNING,
        stage=pb.JOB_STAGE_DOWNLOADING,
        progress=12.5,
        downloaded_bytes=1000,
        attempt=2,
        max_attempts=5,
        **fields,
    )
    job.created_at.FromDatetime(datetime(2025, 1, 31, 12, 0, 0))
    job.updated_at.FromDatetime(datetime(2025, 1, 31, 12, 0, 1, 234567))
    return job


def test_a_job_carries_every_key_with_null_for_the_unknown() -> None:
    body = views.job_json(running_job())
    assert body["type"] == "audio" and body["status"] == "running" and body["stage"] == "downloading"
    assert body["options"] == {"maxHeight": None, "audioFormat": "opus", "videoContainer": None}
    assert (body["totalBytes"], body["speed"], body["eta"], body["size"], body["sha256"]) == (None,) * 5
    assert body["meta"] == {"title": None, "duration": None, "extractor": None, "thumbnail": None}
    assert (body["createdAt"], body["updatedAt"], body["startedAt"]) == (
        "2025-01-31T12:00:00.000Z",
        "2025-01-31T12:00:01.234Z",
        None,
    )
    assert body["links"] == {"self": f"/downloads/{JOB_ID}", "file": None, "download": None}
    assert list(body) == [field.alias for field in Job.model_fields.values()]


def test_progress_leaves_out_what_is_unknown_and_carries_what_is_known() -> None:
    assert views.progress_event(running_job()) == {
        "jobId": JOB_ID,
        "stage": "downloading",
        "progress": 12.5,
        "downloadedBytes": 1000,
        "attempt": 2,
        "updatedAt": "2025-01-31T12:00:01.234Z",
    }
    known = views.progress_event(running_job(speed=2.0, eta=0.0, total_bytes=8000))
    assert (known["speed"], known["eta"], known["totalBytes"]) == (2.0, 0.0, 8000)


def test_job_update_and_its_deleted_form() -> None:
    assert views.update_event(running_job()) == {
        "jobId": JOB_ID,
        "status": "running",
        "stage": "downloading",
        "progress": 12.5,
        "attempt": 2,
        "updatedAt": "2025-01-31T12:00:01.234Z",
    }
    assert views.deleted_event(JOB_ID) == {"jobId": JOB_ID, "deleted": True}


def test_a_completed_job_links_its_file_and_reports_its_size() -> None:
    job = running_job(filename="a.opus", size=77, sha256="ab" * 32, output_path=f"{JOB_ID}/a.opus")
    job.status, job.stage = pb.JOB_STATUS_COMPLETED, pb.JOB_STAGE_DONE
    body = views.job_json(job)
    assert (body["size"], body["links"]["download"]) == (77, f"/files/{JOB_ID}/download")
    assert views.completed_event(job) == {"jobId": JOB_ID, "filename": "a.opus", "size": 77}, (
        "the browsers get the download link, never where the server keeps the file"
    )


def test_snapshots_and_errors_have_their_documented_keys() -> None:
    page = pb.ListJobsResponse(jobs=[running_job()], next_page_token="")
    assert views.list_snapshot(page) == {"jobs": [views.job_json(running_job())], "nextCursor": None}
    assert views.job_snapshot(running_job()) == {"job": views.job_json(running_job())}
    assert views.error_json("not_found", "no such job") == {
        "error": {"code": "not_found", "message": "no such job"}
    }
