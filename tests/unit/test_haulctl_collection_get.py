"""`haul get` on a collection: the aggregate line, one line per finished entry, the follower that
reports each entry once, the JSON lines, and the exit code. Pure logic: the jobs are the gateway's
JSON shape, given by scripted reads."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from haulctl.api import Job, JobList
from haulctl.display import CollectionReporter, collection_line, collection_outcome, item_line, job_details
from haulctl.errors import EXIT_JOB_FAILED, EXIT_OK
from haulctl.follow import CollectionFollower, JobFollower
from haulctl.gateway_api import GatewayApi
from haulctl.get_collection import CollectionGet, all_completed

PARENT = "6a0f0c1e-1111-4b8e-9a39-5f3c2d1e0a11"
MiB = 1024 * 1024


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def parent(status: str = "running", progress: float = 0.0, **counts: int) -> Job:
    summary = {"title": "A podcast", "total": 3, "queued": 0, "running": 0, "paused": 0, "completed": 0,
               "failed": 0, "cancelled": 0, "skipped": 0, "listed": 3, "truncated": False}  # fmt: skip
    summary.update(counts)
    return {"id": PARENT, "url": "https://media.example/feed.xml", "status": status, "progress": progress,
            "collection": summary, "parentId": None}  # fmt: skip


def child(index: int, status: str, **fields: Any) -> Job:
    job: Job = {"id": f"child-{index}", "parentId": PARENT, "entryIndex": index, "status": status,
                "url": f"https://media.example/{index}.mp3", "meta": {"title": f"Episode {index}"}}  # fmt: skip
    job.update(fields)
    return job


DONE_1 = child(1, "completed", filename="Episode 1.mp3", size=12 * MiB + 300 * 1024)
FAILED_2 = child(2, "failed", errorCode="HTTP_ERROR", errorMessage="HTTP Error 404: Not Found")
DONE_3 = child(3, "completed", filename="Episode 3.mp3", size=5 * MiB)


def test_the_collection_line_shows_the_bar_counts_that_matter_and_the_title() -> None:
    line = collection_line(parent(progress=66.7, completed=1, failed=1, running=1))
    assert line.startswith("[################--------]  66.7%")
    assert "1/3 done  1 failed  1 running  A podcast" in line and "paused" not in line
    narrow = collection_line(parent(progress=10.0, completed=1), width=50)
    assert len(narrow) <= 50 and "1/3 done" in narrow


def test_a_finished_entry_is_one_line_with_its_file_or_its_reason() -> None:
    assert item_line(DONE_1) == "completed  0001  Episode 1.mp3 (12.3 MiB)"
    assert item_line(FAILED_2) == "failed     0002  Episode 2: HTTP_ERROR: HTTP Error 404: Not Found"
    assert item_line(child(4, "cancelled")) == "cancelled  0004  Episode 4"


def test_the_outcome_sums_up_and_points_at_the_zip_only_when_there_is_a_file() -> None:
    text = collection_outcome(
        parent("failed", 100.0, completed=2, failed=1), "http://gw/files/p/download", None
    )
    assert text.splitlines() == [
        "failed     A podcast: 2 of 3 completed, 1 failed",
        "zip        http://gw/files/p/download",
    ]
    none = collection_outcome(parent("failed", 100.0, failed=3), "http://gw/files/p/download", None)
    assert "zip" not in none


def scripted(reads: list[Job], pages: dict[int, list[list[Job]]]) -> tuple[CollectionFollower, list[Any]]:
    """A follower whose n-th parent read is reads[n] and whose listing after it is pages[n]."""
    calls: list[Any] = []
    parents: Iterator[Job] = iter(reads)
    state = {"read": -1}

    def fetch() -> Job:
        state["read"] += 1
        return next(parents)

    def list_children(parent_id: str, statuses: list[str], cursor: str | None) -> JobList:
        calls.append((state["read"], parent_id, tuple(statuses), cursor))
        listing = pages[state["read"]]
        at = int(cursor or 0)
        return JobList(listing[at], str(at + 1) if at + 1 < len(listing) else None)

    return CollectionFollower(fetch, list_children, poll_interval=0), calls


def test_the_follower_reports_each_finished_entry_once_and_lists_only_when_counts_move() -> None:
    reads = [
        parent(progress=10.0, running=1, queued=2),
        parent(progress=40.0, completed=1, running=1, queued=1),
        parent(progress=50.0, completed=1, running=1, queued=1),  # progress only: no listing
        parent("failed", 100.0, completed=2, failed=1),
    ]
    pages = {1: [[DONE_1]], 3: [[DONE_1, FAILED_2], [DONE_3]]}
    follower, calls = scripted(reads, {0: [[]], **pages})
    seen_parents: list[Job] = []
    items: list[Job] = []
    final = follower.run(seen_parents.append, items.append)
    assert final["status"] == "failed" and len(seen_parents) == 4
    assert [item["id"] for item in items] == ["child-1", "child-2", "child-3"]
    assert [c[0] for c in calls] == [0, 1, 3, 3], "listed at the start and when finished counts moved"
    assert calls[0][1:3] == (PARENT, ("completed", "failed", "cancelled"))


def test_an_entry_retried_to_a_new_end_is_reported_again() -> None:
    done_2 = child(2, "completed", filename="Episode 2.mp3", size=1)
    reads = [parent(progress=70.0, completed=1, failed=1, queued=1), parent("completed", 100.0, completed=3)]
    follower, _ = scripted(reads, {0: [[DONE_1, FAILED_2]], 1: [[DONE_1, done_2, DONE_3]]})
    items: list[Job] = []
    follower.run(lambda _parent: None, items.append)
    assert [(item["id"], item["status"]) for item in items] == [
        ("child-1", "completed"), ("child-2", "failed"), ("child-2", "completed"), ("child-3", "completed")
    ]  # fmt: skip


def test_the_job_follower_stops_once_the_job_turns_out_to_be_a_collection() -> None:
    reads = iter([{"id": PARENT, "status": "running", "stage": "resolving", "collection": None},
                  {"id": PARENT, "status": "running", "stage": "resolving", "collection": None},
                  parent()])  # fmt: skip
    follower = JobFollower(
        lambda: next(reads), poll_interval=0, until=lambda job: bool(job.get("collection"))
    )
    assert follower.run(lambda _job: None)["collection"]["total"] == 3


def test_on_a_terminal_entries_print_above_the_bar_which_is_drawn_again() -> None:
    screen = Terminal()
    reporter = CollectionReporter(screen, screen)
    reporter.parent(parent(progress=33.3, completed=1))
    reporter.item(DONE_1)
    reporter.parent(parent(progress=66.7, completed=1, failed=1))
    reporter.finish()
    drawn = screen.getvalue()
    assert "\ncompleted  0001  Episode 1.mp3 (12.3 MiB)\n\r[" in drawn
    assert drawn.endswith("\n") and "1 failed" in drawn.split("\r")[-1]


def test_off_a_terminal_the_bar_is_a_line_per_change_of_counts() -> None:
    out, progress = io.StringIO(), io.StringIO()
    reporter = CollectionReporter(out, progress)
    for job in (parent(running=1), parent(running=1), parent(completed=1, running=1)):
        reporter.parent(job)
    reporter.item(DONE_1)
    assert len(progress.getvalue().splitlines()) == 2
    assert out.getvalue() == "completed  0001  Episode 1.mp3 (12.3 MiB)\n"


@pytest.mark.parametrize(
    ("final", "expected"),
    [
        (parent("completed", 100.0, completed=3), True),
        (parent("completed", 100.0, completed=2, cancelled=1), False),
        (parent("failed", 100.0, completed=2, failed=1), False),
        (parent("cancelled", 100.0, cancelled=3), False),
    ],
)
def test_only_a_collection_whose_every_entry_completed_is_a_success(final: Job, expected: bool) -> None:
    assert all_completed(final) is expected


class ScriptedApi:
    """The parts of JobApi a collection's follow uses, answering from a script."""

    def __init__(self, reads: list[Job], finished: list[Job]) -> None:
        self._reads = iter(reads)
        self._finished = finished

    def get(self, job_id: str) -> Job:
        return next(self._reads)

    def list(self, statuses: list[str], limit: int, cursor: str | None, parent: str | None = None) -> JobList:
        assert parent == PARENT and limit <= 500
        return JobList([job for job in self._finished if job["status"] in statuses], None)


def test_json_mode_writes_a_line_per_entry_then_the_collection_and_fails_when_one_failed() -> None:
    final = parent("failed", 100.0, completed=2, failed=1)
    api = ScriptedApi([final], [DONE_1, FAILED_2, DONE_3])
    out, err = io.StringIO(), io.StringIO()
    files = GatewayApi("http://127.0.0.1:9", None)
    code = CollectionGet(api, files, True, False, out, err).follow(final, None)  # type: ignore[arg-type]
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(line["event"], line["job"]["id"]) for line in lines] == [
        ("item", "child-1"), ("item", "child-2"), ("item", "child-3"), ("collection", PARENT)
    ]  # fmt: skip
    assert code == EXIT_JOB_FAILED and err.getvalue() == ""

    done = parent("completed", 100.0, completed=3)
    out = io.StringIO()
    api = ScriptedApi([done], [DONE_1, DONE_3])
    assert CollectionGet(api, files, False, True, out, io.StringIO()).follow(done, None) == EXIT_OK  # type: ignore[arg-type]
    assert out.getvalue().splitlines()[-2] == "completed  A podcast: 3 of 3 completed"


def test_show_gives_a_collections_counts_and_zip_and_an_entrys_collection() -> None:
    text = job_details(
        parent("running", 40.0, completed=1, running=1, queued=1, truncated=True, listed=40), "L"
    )
    assert (
        "entries   1 of 3 completed, 1 running, 1 queued (capped: the source listed 40)" in text.splitlines()
    )
    assert "zip       L" in text.splitlines()
    assert "zip" not in job_details(parent(queued=3), "L")
    assert f"entry of  {PARENT} (entry 2)" in job_details(FAILED_2, None).splitlines()
