"""Cascading controls of a collection with real workers downloading: cancel, pause, resume and
retry of the parent over REST reach the entries running right now (their worker is told, the
origin stops sending, the partial files go or stay), the queued ones never start, and a resume or
a retry finishes each entry with the origin's bytes.

jobstore's side of the cascade is proven over gRPC (test_jobstore_collections); this module adds
the gateway's control messages, the worker pool (two work horses, so two entries run while the
others wait), aria2 and yt-dlp, and the files. The origin serves each entry at a path of its own
(/slow-entries/{n}/medium.bin, at `slow_rate`), so its byte counts tell the entries apart.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import psutil
import pytest
from redis import Redis
from rq import Queue, Worker

from tests.integration.haul_stack import Haul
from tests.integration.test_collections_e2e import children, file_digest
from tests.support.egress_targets import ORIGIN_HOST
from tests.support.feeds import slow_entry_path
from tests.support.media_server import MEDIUM_SIZE, MediaFiles, MediaServer, serve_files

pytestmark = pytest.mark.haul_env(HAUL_EGRESS_ALLOWED_NETWORKS=f"{ORIGIN_HOST}/32")

ENTRIES = 4
SLOW_RATE = 256 * 1024  # about 100 s for one entry: the controls always land mid-transfer
FAST_RATE = 8 * 1024 * 1024
STOP_BOUND = 5.0  # seconds from a control's answer until the origin sends nothing more


@pytest.fixture(scope="module")
def media(media_files: MediaFiles) -> Iterator[MediaServer]:
    yield from serve_files(media_files, host=ORIGIN_HOST)


@pytest.fixture
def haul(shared_haul: Haul) -> Haul:
    """The module's one stack (settings from its haul_env marker): each test kills no process,
    reads only its own collection's entries and the origin's counts of their own paths, and ends
    with none of them running or queued, so the next finds both work horses free."""
    return shared_haul


@pytest.fixture
def slow_media(media: MediaServer) -> Iterator[MediaServer]:
    media.slow_rate = SLOW_RATE
    media.missing.clear()
    yield media
    media.slow_rate = 1024 * 1024
    media.missing.clear()


def control(haul: Haul, job_id: str, action: str) -> dict[str, Any]:
    answer = haul.http.post(f"{haul.base_url}/downloads/{job_id}/{action}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def two_running_two_queued(
    haul: Haul, job_type: str, moved: int = 512 * 1024
) -> tuple[str, list[dict[str, Any]], int]:
    """A collection of ENTRIES slow entries, once two of them have received `moved` bytes and the
    others wait in the queue; returns the parent's id, its children then, and where the origin's request
    log stood before the submit (the module's tests share the origin)."""
    since = haul.media.mark()
    # redownload: the module's tests list the same entries, which the archive holds once one finished.
    feed = haul.media.url(f"/feeds/slow-entries.rss?count={ENTRIES}")
    parent_id = haul.submit(feed, job_type, redownload=True)
    deadline = time.monotonic() + 90
    while True:
        kids = children(haul, parent_id)
        moving = [k for k in kids if k["status"] == "running" and k["downloadedBytes"] > moved]
        if len(kids) == ENTRIES and len(moving) == 2:
            return parent_id, kids, since
        assert time.monotonic() < deadline, f"never two entries downloading at once: {kids}"
        time.sleep(0.1)


def counts(parent: dict[str, Any], *names: str) -> tuple[int, ...]:
    return tuple(parent["collection"][name] for name in names)


def path_of(kid: dict[str, Any]) -> str:
    return slow_entry_path(kid["entryIndex"])


def wait_origin_quiet(media: MediaServer, paths: list[str], since: float) -> float:
    """Seconds from `since` until the origin has sent none of `paths` a byte for half a second;
    fails past STOP_BOUND."""
    last, still_from = [media.served[p] for p in paths], time.monotonic()
    while time.monotonic() - still_from < 0.5:
        assert time.monotonic() - since < STOP_BOUND, f"still sending after {STOP_BOUND} s: {paths}"
        time.sleep(0.05)
        now = [media.served[p] for p in paths]
        if now != last:
            last, still_from = now, time.monotonic()
    return still_from - since


def wait_queue_drained(haul: Haul, within: float = 30.0) -> None:
    """Until RQ holds no job and no worker runs one: whatever was queued for the stopped entries
    was taken and refused, or taken out, so nothing of them can still start."""
    redis = Redis.from_url(haul.worker_env["HAUL_REDIS_URL"])
    deadline = time.monotonic() + within
    while Queue("haul", connection=redis).count or any(
        w.get_current_job_id() for w in Worker.all(connection=redis)
    ):
        assert time.monotonic() < deadline, "the queue never drained"
        time.sleep(0.1)


def controls_received(haul: Haul, action: str) -> set[str]:
    """Ids of the jobs whose worker logged a `control` message with `action`."""
    found = set()
    for line in haul.worker.log().splitlines():
        try:
            entry = json.loads(line) if line.startswith("{") else {}
        except ValueError:  # the line being written right now
            continue
        if entry.get("event") == "control received" and entry.get("action") == action:
            found.add(entry["job_id"])
    return found


def partials(haul: Haul, job_id: str) -> list[str]:
    folder = haul.tmp_dir / job_id
    return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.exists() else []


def wait_statuses(haul: Haul, parent_id: str, status: str, within: float = 10.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + within
    while True:
        kids = children(haul, parent_id)
        if [k["status"] for k in kids] == [status] * ENTRIES or time.monotonic() > deadline:
            return kids
        time.sleep(0.1)


def tools_running(haul: Haul) -> list[str]:
    assert haul.worker.proc is not None
    pool = psutil.Process(haul.worker.proc.pid)
    return [p.name() for p in pool.children(recursive=True) if p.name() in ("aria2c", "ffmpeg", "ffprobe")]


def test_cancelling_a_collection_stops_its_running_entries_and_never_starts_the_queued_ones(
    haul: Haul, slow_media: MediaServer
) -> None:
    parent_id, kids, since = two_running_two_queued(haul, "auto")  # plain files: aria2
    running = [k for k in kids if k["status"] == "running"]
    queued = [k for k in kids if k["status"] == "queued"]
    assert len(queued) == ENTRIES - 2, kids
    for kid in running:
        assert partials(haul, kid["id"]), f"entry {kid['entryIndex']} has partial files while it downloads"

    cancelled = control(haul, parent_id, "cancel")
    answered = time.monotonic()
    assert cancelled["status"] == "cancelled", cancelled
    for kid in running:
        wait_origin_quiet(slow_media, [path_of(kid)], answered)
    kids = wait_statuses(haul, parent_id, "cancelled")
    assert [k["status"] for k in kids] == ["cancelled"] * ENTRIES, kids
    assert {k["id"] for k in running} <= controls_received(haul, "cancel"), "each running worker was told"

    deadline = time.monotonic() + 5
    while any(partials(haul, k["id"]) for k in kids) or tools_running(haul):
        assert time.monotonic() < deadline, ([partials(haul, k["id"]) for k in kids], tools_running(haul))
        time.sleep(0.05)
    parent = haul.job(parent_id)
    assert parent["status"] == "cancelled", parent
    assert counts(parent, "total", "cancelled", "running", "queued") == (ENTRIES, ENTRIES, 0, 0), parent

    wait_queue_drained(haul)
    sent = {k["id"]: slow_media.served[path_of(k)] for k in kids}
    for kid in queued:
        assert slow_media.requests_for(path_of(kid), since) == [], (
            f"queued entry {kid['entryIndex']} never started"
        )
    wait_origin_quiet(slow_media, [path_of(k) for k in kids], time.monotonic())
    assert {k["id"]: slow_media.served[path_of(k)] for k in kids} == sent, "nothing is downloaded afterwards"
    assert [k["status"] for k in children(haul, parent_id)] == ["cancelled"] * ENTRIES


@pytest.mark.parametrize("job_type", ["video", "auto"])  # yt-dlp, and aria2 for plain files
def test_pausing_a_collection_keeps_its_partial_files_and_resuming_finishes_every_entry(
    haul: Haul, slow_media: MediaServer, job_type: str
) -> None:
    # aria2 saves its control file every second: a few MiB in, a resume must show in the bytes sent.
    moved = 512 * 1024 if job_type == "video" else 5 * 1024 * 1024
    parent_id, kids, since = two_running_two_queued(haul, job_type, moved)
    running = [k for k in kids if k["status"] == "running"]
    queued = [k for k in kids if k["status"] == "queued"]

    paused = control(haul, parent_id, "pause")
    answered = time.monotonic()
    assert paused["status"] == "paused", paused
    for kid in running:
        wait_origin_quiet(slow_media, [path_of(kid)], answered)
    kids = wait_statuses(haul, parent_id, "paused")
    assert [k["status"] for k in kids] == ["paused"] * ENTRIES, kids
    assert {k["id"] for k in running} <= controls_received(haul, "pause"), "each running worker was told"
    wait_queue_drained(haul)
    saved: dict[str, int] = {}
    for kid in running:
        parts = list((haul.tmp_dir / kid["id"]).glob("*.part"))
        assert len(parts) == 1, (
            f"entry {kid['entryIndex']} keeps its partial file: {partials(haul, kid['id'])}"
        )
        saved[kid["id"]] = parts[0].stat().st_size
        assert 0 < saved[kid["id"]] <= MEDIUM_SIZE, saved
    sent_before = {k["id"]: slow_media.served[path_of(k)] for k in running}
    for kid in queued:
        assert slow_media.requests_for(path_of(kid), since) == [], (
            f"queued entry {kid['entryIndex']} never started"
        )
    parent = haul.job(parent_id)
    assert counts(parent, "paused", "running", "queued") == (ENTRIES, 0, 0), parent

    slow_media.slow_rate = FAST_RATE
    resumed_since = slow_media.mark()
    assert control(haul, parent_id, "resume")["status"] in ("queued", "running")
    parent = haul.wait_for(parent_id, within=120)
    assert parent["status"] == "completed", parent
    assert counts(parent, "total", "completed", "failed", "paused") == (ENTRIES, ENTRIES, 0, 0), parent
    expected = slow_media.media.sha256["medium.bin"]
    for kid in children(haul, parent_id):
        assert kid["status"] == "completed" and kid["sha256"] == expected, kid
        assert file_digest(haul, kid) == expected, kid
        assert not (haul.tmp_dir / kid["id"]).exists(), "the finished entry's temporary folder is gone"
    for kid in running:
        if job_type == "video":  # yt-dlp asks for the bytes after those in its .part
            ranges = [r.range for r in slow_media.requests_for(path_of(kid), resumed_since)]
            assert ranges and ranges[-1] == f"bytes={saved[kid['id']]}-", (kid["entryIndex"], ranges)
        else:  # aria2 asks for the ranges its control file lacks: a download started over sends it all
            resent = slow_media.served[path_of(kid)] - sent_before[kid["id"]]
            assert resent < MEDIUM_SIZE - 1024 * 1024, (kid["entryIndex"], resent)


def test_cancelling_a_paused_collection_removes_its_entries_partial_files(
    haul: Haul, slow_media: MediaServer
) -> None:
    parent_id, kids, _ = two_running_two_queued(haul, "auto")
    running = [k for k in kids if k["status"] == "running"]
    control(haul, parent_id, "pause")
    wait_origin_quiet(slow_media, [path_of(k) for k in running], time.monotonic())
    assert [k["status"] for k in wait_statuses(haul, parent_id, "paused")] == ["paused"] * ENTRIES
    for kid in running:
        assert partials(haul, kid["id"]), f"paused entry {kid['entryIndex']} keeps its partial files"

    assert control(haul, parent_id, "cancel")["status"] == "cancelled"
    assert [k["status"] for k in children(haul, parent_id)] == ["cancelled"] * ENTRIES
    deadline = time.monotonic() + 5
    while left := {k["entryIndex"]: partials(haul, k["id"]) for k in running if partials(haul, k["id"])}:
        assert time.monotonic() < deadline, f"a cancelled entry's partial files stayed: {left}"
        time.sleep(0.05)


def test_retrying_a_collection_retries_only_its_failed_entry(haul: Haul, slow_media: MediaServer) -> None:
    slow_media.slow_rate = FAST_RATE
    missing = slow_entry_path(2)
    slow_media.missing.add(missing)
    parent_id = haul.submit(slow_media.url("/feeds/slow-entries.rss?count=3"), "auto", redownload=True)
    parent = haul.wait_for(parent_id, within=120)
    assert parent["status"] == "failed", parent
    assert counts(parent, "completed", "failed") == (2, 1), parent
    before = {k["entryIndex"]: k for k in children(haul, parent_id)}
    assert before[2]["status"] == "failed" and before[2]["errorCode"], before[2]

    slow_media.missing.discard(missing)
    since = slow_media.mark()
    assert control(haul, parent_id, "retry")["status"] in ("queued", "running")
    parent = haul.wait_for(parent_id, within=120)
    assert parent["status"] == "completed", parent
    assert counts(parent, "completed", "failed") == (3, 0), parent
    after = {k["entryIndex"]: k for k in children(haul, parent_id)}
    expected = slow_media.media.sha256["medium.bin"]
    assert after[2]["sha256"] == expected and file_digest(haul, after[2]) == expected, after[2]
    assert after[2]["attempt"] > before[2]["attempt"], after[2]
    for index in (1, 3):
        assert after[index]["finishedAt"] == before[index]["finishedAt"], "a completed entry is left alone"
        assert slow_media.requests_for(slow_entry_path(index), since) == [], "and nothing of it is fetched"

    again = haul.http.post(f"{haul.base_url}/downloads/{parent_id}/retry")
    assert again.status_code == 409, again.text
    assert "no" in again.json()["error"]["message"] and "failed" in again.json()["error"]["message"], (
        again.text
    )
