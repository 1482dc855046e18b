"""The byte counts a worker reports once the download is over: merging, converting and finishing
count no bytes of their own, so the last download counts stay on the page until completion."""

from __future__ import annotations

from typing import Any

from worker.link import GatewayLink
from worker.samples import Sample

JOB_ID = "0b6d3f1c-8a52-4a4e-9b7e-3f1c2d4e5f60"


class Recorder:
    """Stands in for the Socket.IO client's emit: the events the link would send."""

    connected = True

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def emit(self, _event: str, payload: dict[str, Any], namespace: str) -> None:
        self.sent.append(payload)


def claimed_link(attempt: int = 1) -> tuple[GatewayLink, Recorder]:
    link = GatewayLink("http://127.0.0.1:9", "token", "worker-1", interval=60.0, tools={})
    recorder = Recorder()
    link._client = recorder  # type: ignore[assignment]
    link.job_id, link.attempt, link.claim_secret = JOB_ID, attempt, "s" * 32
    return link, recorder


def test_after_the_download_the_last_counts_stay_even_when_skipped_by_the_interval() -> None:
    link, recorder = claimed_link()
    link.progress(Sample("downloading", 10.0, 100, 1000), force=True)
    link.progress(Sample("downloading", 100.0, 1000, 1000))  # within the interval: not sent
    for stage in ("merging", "postprocessing", "finalizing"):
        link.progress(Sample(stage, 100.0), force=True)
    counts = [(e["stage"], e["downloadedBytes"], e.get("totalBytes")) for e in recorder.sent]
    assert counts == [
        ("downloading", 100, 1000),
        ("merging", 1000, 1000),
        ("postprocessing", 1000, 1000),
        ("finalizing", 1000, 1000),
    ]


def test_a_new_attempt_does_not_inherit_the_counts_of_the_last_one() -> None:
    link, recorder = claimed_link(attempt=1)
    link.progress(Sample("downloading", 50.0, 500, 1000), force=True)
    link.attempt = 2
    link.progress(Sample("finalizing", 100.0), force=True)
    assert (recorder.sent[-1]["downloadedBytes"], recorder.sent[-1].get("totalBytes")) == (0, None)


def test_resolving_and_downloading_report_what_the_tool_said() -> None:
    link, recorder = claimed_link()
    link.progress(Sample("downloading", 50.0, 500, 1000), force=True)
    link.progress(Sample("resolving", 0.0), force=True)
    assert recorder.sent[-1]["downloadedBytes"] == 0


def test_a_new_stage_is_sent_at_once_and_the_same_stage_waits_for_the_interval() -> None:
    link, recorder = claimed_link()
    link.progress(Sample("resolving", 0.0), force=True)
    link.progress(Sample("downloading", 0.0, 0, 1000))  # within the interval, but a new stage
    link.progress(Sample("downloading", 50.0, 500, 1000))  # same stage, within the interval
    link.progress(Sample("merging", 100.0))
    assert [(e["stage"], e["progress"]) for e in recorder.sent] == [
        ("resolving", 0.0),
        ("downloading", 0.0),
        ("merging", 100.0),
    ]
