"""The `haul` client's pure parts: its command line, how it shows jobs, how it follows one."""

from __future__ import annotations

import argparse
import io
import json
from typing import Any

import pytest

from haulctl import cli
from haulctl.api import Job, Submission
from haulctl.display import (
    ProgressReporter,
    human_duration,
    human_size,
    job_details,
    job_table,
    progress_line,
)
from haulctl.errors import EXIT_JOB_FAILED, EXIT_USAGE, CliError
from haulctl.follow import LOST, JobFollower, merge_event
from haulctl.gateway_api import api_error

JOB_ID = "0b9e3f0e-8a57-4b8e-9a39-5f3c2d1e0a11"


def parse(*argv: str) -> argparse.Namespace:
    return cli.build_parser().parse_args(list(argv))


def running_job(**fields: Any) -> Job:
    job: Job = {
        "id": JOB_ID,
        "url": "https://media.example/clip.mp4",
        "status": "running",
        "stage": "downloading",
        "progress": 45.2,
        "downloadedBytes": 12 * 1024 * 1024,
        "totalBytes": 27 * 1024 * 1024,
        "speed": 2.1 * 1024 * 1024,
        "eta": 7.0,
        "attempt": 1,
        "maxAttempts": 3,
        "updatedAt": "2026-11-24T10:00:01.000Z",
        "meta": {"title": None},
        "options": {},
    }
    job.update(fields)
    return job


# -- the command line ------------------------------------------------------------------------


def test_get_builds_the_gateway_request_shape() -> None:
    args = parse("get", "https://media.example/v", "--quality", "720p", "--container", "mkv", "--key", "k1")
    assert cli.submission_from(args) == Submission(
        "https://media.example/v", "auto", {"maxHeight": 720, "videoContainer": "mkv"}, "k1"
    )
    assert cli.submission_from(args).body() == {
        "url": "https://media.example/v",
        "type": "auto",
        "options": {"maxHeight": 720, "videoContainer": "mkv"},
    }


def test_audio_format_alone_makes_an_audio_job() -> None:
    submission = cli.submission_from(parse("get", "https://m.example/v", "--audio", "mp3"))
    assert (submission.type, submission.options) == ("audio", {"audioFormat": "mp3"})


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (("--audio", "mp3", "--type", "video"), "--audio makes an audio job"),
        (("--type", "audio", "--quality", "720"), "--quality only applies to video"),
        (("--type", "file", "--container", "mkv"), "--container only applies to video"),
        (("--no-wait", "-o", "out.mp4"), "--output needs the finished file"),
    ],
)
def test_contradictory_get_options_are_usage_errors(argv: tuple[str, ...], complaint: str) -> None:
    with pytest.raises(CliError) as caught:
        cli.submission_from(parse("get", "https://m.example/v", *argv))
    assert complaint in caught.value.message and caught.value.exit_code == EXIT_USAGE


@pytest.mark.parametrize(("text", "height"), [("best", None), ("720", 720), ("1080p", 1080), ("4K", 2160)])
def test_quality_reads_heights_and_names(text: str, height: int | None) -> None:
    assert cli.quality(text) == height


@pytest.mark.parametrize("text", ["0", "99999", "hd", "-5", "720i"])
def test_quality_refuses_what_the_gateway_would(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        cli.quality(text)


def test_bad_arguments_exit_with_the_usage_code(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["get", "https://m.example/v", "--type", "torrent"],
        ["ls", "--status", "done"],
        ["ls", "--limit", "501"],
    ):
        with pytest.raises(SystemExit) as stopped:
            parse(*argv)
        assert stopped.value.code == EXIT_USAGE
    assert "unknown status 'done'" in capsys.readouterr().err


def test_connection_options_go_before_or_after_the_command_and_beat_the_environment() -> None:
    environ = {"HAUL_URL": "http://env:1", "HAUL_API_TOKEN": "env-token", "HAUL_SERVICE_TOKEN": "svc"}
    before = cli.resolve_connection(parse("--json", "--url", "http://a:2/", "ls"), environ)
    after = cli.resolve_connection(parse("ls", "--json", "--url", "http://a:2/"), environ)
    assert before == after == cli.Connection("http://a:2", "env-token", None, "svc", 30.0)
    assert parse("ls", "--json").json is True and not hasattr(parse("ls"), "json")
    get = parse("get", "https://media.example/v", "--url", "http://gw:1")
    assert (get.url, cli.resolve_connection(get, environ).url) == ("https://media.example/v", "http://gw:1")
    defaults = cli.resolve_connection(parse("show", JOB_ID, "--grpc", "127.0.0.1:50051"), {})
    assert defaults == cli.Connection(cli.DEFAULT_URL, None, "127.0.0.1:50051", None, 30.0)


def test_a_token_variable_listing_several_sends_the_first() -> None:
    # The services' own format while a token is rotated: "new,old" (see README, Security).
    environ = {"HAUL_API_TOKEN": " new-api , old-api", "HAUL_SERVICE_TOKEN": "new-svc,old-svc"}
    connection = cli.resolve_connection(parse("ls"), environ)
    assert (connection.token, connection.service_token) == ("new-api", "new-svc")
    assert cli.resolve_connection(parse("ls"), {"HAUL_API_TOKEN": ","}).token is None


def test_a_url_without_a_scheme_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(CliError) as caught:
        cli.resolve_connection(parse("ls", "--url", "localhost:8080"), {})
    assert caught.value.exit_code == EXIT_USAGE


def test_a_refused_submit_prints_the_servers_message_as_json_and_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Refusing:
        def submit(self, submission: Submission) -> Job:
            raise api_error(422, b'{"error": {"code": "url_refused", "message": "only http and https"}}')

        def close(self) -> None:
            pass

    monkeypatch.setattr(cli, "open_api", lambda connection: Refusing())
    stdout, stderr = io.StringIO(), io.StringIO()
    code = cli.run(["get", "ftp://m.example/x", "--json", "--url", "http://gw:1"], stdout, stderr, {})
    assert code == 1
    assert json.loads(stdout.getvalue()) == {
        "error": {"code": "url_refused", "message": "only http and https"}
    }


def test_gateway_errors_keep_the_servers_words_and_hint_at_the_token() -> None:
    unauthorized = api_error(
        401, b'{"error": {"code": "unauthorized", "message": "a valid API token is required"}}'
    )
    assert unauthorized.code == "unauthorized" and "HAUL_API_TOKEN" in unauthorized.message
    assert api_error(503, b"<html>").exit_code == 3
    assert api_error(500, b"not json").message == "the gateway answered HTTP 500"


# -- output ----------------------------------------------------------------------------------


def test_sizes_and_durations_read_like_a_person_wrote_them() -> None:
    assert [human_size(v) for v in (None, 0, 1023, 1536, 5 * 1024**3)] == [
        "?",
        "0 B",
        "1023 B",
        "1.5 KiB",
        "5.0 GiB",
    ]
    assert [human_duration(v) for v in (None, 7, 65.4, 3725)] == ["?", "0:07", "1:05", "1:02:05"]


def test_the_progress_line_shows_bar_percent_stage_bytes_speed_and_eta() -> None:
    line = progress_line(running_job())
    assert line.startswith("[##########--------------]")
    for part in (" 45.2%", "downloading", "12.0 MiB/27.0 MiB", "2.1 MiB/s", "ETA 0:07"):
        assert part in line
    assert progress_line(running_job(status="queued", progress=0.0)) == "[" + "-" * 24 + "] queued"
    narrow = progress_line(running_job(), width=60)
    assert len(narrow) <= 60 and "downloading" not in narrow and narrow.endswith("2.1 MiB/s  ETA 0:07")


def test_the_table_keeps_full_ids_and_fits_the_width() -> None:
    done = running_job(status="completed", progress=100.0, size=2048, filename="a" * 200)
    table = job_table([running_job(), done], width=100)
    header, first, second = table.splitlines()
    assert header.split() == ["ID", "STATUS", "PROGRESS", "SIZE", "NAME"]
    assert first.startswith(JOB_ID) and "running" in first and "27.0 MiB" in first
    assert "2.0 KiB" in second and len(second) == 100 and second.endswith("…")
    assert job_table([]) == "no jobs"


def test_show_lists_the_outcome_and_the_history() -> None:
    job = running_job(status="failed", errorCode="HTTP_404", errorMessage="not found", history=[
        {"at": "2026-11-24T10:00:00.000Z", "from": None, "to": "queued", "actor": "api", "reason": "created"},
        {"at": "2026-11-24T10:00:02.000Z", "from": "running", "to": "failed", "actor": "worker:w1", "reason": "HTTP_404"},
    ])  # fmt: skip
    text = job_details(job, "http://gw/files/x/download")
    assert "error     HTTP_404: not found" in text
    assert "link" not in text, "only completed jobs have a file"
    assert text.splitlines()[-1].split() == [
        "2026-11-24T10:00:02.000Z",
        "running",
        "->",
        "failed",
        "worker:w1",
        "HTTP_404",
    ]


def test_off_a_terminal_progress_is_one_line_per_status_or_stage_change() -> None:
    stream = io.StringIO()
    reporter = ProgressReporter(stream)
    for job in (
        running_job(stage="resolving"),
        running_job(),
        running_job(progress=60.0),
        running_job(status="completed", stage="done"),
    ):
        reporter.update(job)
    reporter.finish()
    assert stream.getvalue().splitlines() == [
        f"{JOB_ID}  running  resolving",
        f"{JOB_ID}  running  downloading",
        f"{JOB_ID}  completed  done",
    ]


# -- following a job -------------------------------------------------------------------------


def test_events_update_the_job_and_finished_or_older_ones_ask_for_a_read() -> None:
    job = running_job()
    progressed = merge_event(job, "progress", {"jobId": JOB_ID, "stage": "merging", "progress": 90.0,
                                                "downloadedBytes": 5, "attempt": 1, "updatedAt": "2026-11-24T10:00:02.000Z"})  # fmt: skip
    assert progressed is not None
    assert (progressed["stage"], progressed["progress"], progressed["speed"]) == ("merging", 90.0, None)
    stale = {"progress": 10.0, "attempt": 1, "updatedAt": "2026-11-24T10:00:00.000Z"}
    assert merge_event(job, "progress", stale) is job, "an event older than the job is ignored"
    assert (
        merge_event(
            job, "job-update", {"status": "completed", "attempt": 1, "updatedAt": "2026-11-24T10:00:03.000Z"}
        )
        is None
    )
    assert merge_event(job, "completed", {"jobId": JOB_ID}) is None
    with pytest.raises(CliError) as caught:
        merge_event(job, "job-update", {"jobId": JOB_ID, "deleted": True})
    assert caught.value.exit_code == EXIT_JOB_FAILED


class ScriptedWatch:
    """Stands in for the Socket.IO connection: hands out a fixed list of events."""

    def __init__(self, events: list[tuple[str, dict[str, Any]]], fail: bool = False) -> None:
        self.events, self.fail, self.closed, self.snapshot = list(events), fail, False, None

    def open(self) -> Job:
        if self.fail:
            raise ConnectionError("refused")
        return running_job()

    def next(self, timeout: float) -> tuple[str, dict[str, Any]] | None:
        return self.events.pop(0) if self.events else None

    def close(self) -> None:
        self.closed = True


def test_the_follower_takes_live_events_and_reads_the_final_job() -> None:
    reads = iter([running_job(progress=0.0), running_job(status="completed", progress=100.0, sha256="ab")])
    watch = ScriptedWatch([("progress", {"progress": 50.0, "attempt": 1, "updatedAt": "2026-11-24T10:00:05.000Z"}),
                           ("completed", {"jobId": JOB_ID})])  # fmt: skip
    seen: list[Job] = []
    follower = JobFollower(lambda: next(reads), lambda: watch)  # type: ignore[arg-type,return-value]
    final = follower.run(seen.append)
    assert follower.mode == "live" and watch.closed
    assert [j["progress"] for j in seen] == [0.0, 50.0, 100.0] and final["sha256"] == "ab"


def test_the_follower_polls_when_the_socket_fails_or_is_lost() -> None:
    notices: list[str] = []
    reads = iter([running_job(), running_job(progress=70.0), running_job(status="cancelled")])
    failing = ScriptedWatch([], fail=True)
    follower = JobFollower(lambda: next(reads), lambda: failing, notices.append, poll_interval=0)  # type: ignore[arg-type,return-value]
    assert follower.run(lambda job: None)["status"] == "cancelled"
    assert follower.mode == "polling" and "refused" in notices[0] and failing.closed

    reads = iter([running_job(), running_job(progress=80.0), running_job(status="completed")])
    lost = ScriptedWatch([(LOST, {})])
    follower = JobFollower(lambda: next(reads), lambda: lost, notices.append, poll_interval=0)  # type: ignore[arg-type,return-value]
    assert follower.run(lambda job: None)["status"] == "completed"
    assert follower.mode == "polling" and "lost" in notices[-1] and lost.closed


def test_on_a_terminal_the_progress_line_is_redrawn_in_place() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    reporter = ProgressReporter(stream)
    reporter.update(running_job(progress=10.0))
    reporter.note("no live updates (refused); polling the job instead")
    reporter.update(running_job(progress=20.0))
    reporter.finish()
    drawn = stream.getvalue()
    assert drawn.startswith("\r[") and "\nhaul: no live updates" in drawn and drawn.endswith("\n")
    assert drawn.count("\r") == 2 and " 20.0%" in drawn.split("\r")[-1]
