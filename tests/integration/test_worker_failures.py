"""What a failed job tells its clients: one clean line and a stable code, after one attempt when
no later attempt could succeed, and under the worker's id rather than the machine's name."""

from __future__ import annotations

import socket
from urllib.parse import quote

from tests.integration.haul_stack import Haul


def test_a_redirect_to_a_local_file_fails_after_one_attempt_with_a_clean_error(haul: Haul) -> None:
    """The attacker's move: a valid API client submits a URL that redirects to file://."""
    url = haul.media.url("/redirect-to?url=" + quote("file:///etc/passwd", safe=""))
    job_id = haul.submit(url, "video")
    job = haul.wait_for(job_id)
    assert (job["status"], job["errorCode"], job["attempt"]) == ("failed", "REFUSED_SCHEME", 1), job
    assert [h["to"] for h in job["history"]] == ["queued", "running", "failed"]
    for text in [job["errorMessage"]] + [h["reason"] for h in job["history"]]:
        assert "Traceback" not in text and "\n" not in text and len(text) <= 400, text
        assert "site-packages" not in text and str(haul.tmp_dir) not in text, text


def test_the_history_names_the_worker_by_its_id_not_its_host(haul: Haul) -> None:
    job_id = haul.submit(haul.media.url("/status/404"), "video")
    job = haul.wait_for(job_id)
    actors = {h["actor"] for h in job["history"] if h["actor"].startswith("worker:")}
    assert actors and all(actor.startswith("worker:w-") for actor in actors), job["history"]
    assert not any(socket.gethostname() in actor for actor in actors)


def test_a_name_that_does_not_exist_fails_after_one_attempt(haul: Haul) -> None:
    """Through the egress guard the tool sees only a 502; the guard knows the name is unknown."""
    job_id = haul.submit("http://no-such-host.invalid/video.mp4", "video")
    job = haul.wait_for(job_id)
    assert (job["status"], job["errorCode"], job["attempt"]) == ("failed", "NAME_NOT_FOUND", 1), job
