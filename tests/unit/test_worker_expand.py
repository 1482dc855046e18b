"""Which jobs the worker resolves before downloading, and the report it makes of a collection:
within the gateway's message limit and jobstore's bounds whatever the source listed."""

from __future__ import annotations

import json

import pytest

from haul.contract.events import MAX_COLLECTION_ENTRIES, CollectionEvent, JobSpec
from worker.collection_entries import Collection, CollectionEntry
from worker.expand import REPORT_BYTES, collection_event, expands

JOB_ID = "0b7c4f34-1f8e-4c1a-9a43-6a1f7c1b2d3e"
PARENT_ID = "5d0a2c6e-8f41-4d6b-9e0f-2b8e7c1a4f90"


@pytest.mark.parametrize(
    ("job_type", "parent", "resolved"),
    [("auto", None, True), ("video", None, True), ("audio", None, True), ("file", None, False),
     ("auto", PARENT_ID, False), ("video", PARENT_ID, False)],
)  # fmt: skip
def test_only_top_level_jobs_that_are_not_files_are_resolved(
    job_type: str, parent: str | None, resolved: bool
) -> None:
    spec = JobSpec.model_validate({"url": "https://e.example/feed.rss", "type": job_type, "parentId": parent})
    assert expands(spec) is resolved


def entry(n: int, **fields: object) -> CollectionEntry:
    values: dict[str, object] = {
        "key": f"guid-{n}",
        "url": f"https://e.example/{n}.mp3",
        "title": f"E{n}",
        "index": n,
    }
    return CollectionEntry(**{**values, **fields})  # type: ignore[arg-type]


def test_a_collection_becomes_its_event_entry_for_entry() -> None:
    refused = entry(2, url="file:///etc/passwd\x00" + "x" * 9000, refused="the entry's URL is refused: file")
    event = collection_event(JOB_ID, 2, 7, Collection("Feed", 3, False, (entry(1), refused, entry(3))))
    assert (event.job_id, event.attempt, event.seq, event.title, event.listed) == (JOB_ID, 2, 7, "Feed", 3)
    assert [(e.key, e.index, e.refused is None) for e in event.entries] == [
        ("guid-1", 1, True), ("guid-2", 2, False), ("guid-3", 3, True)]  # fmt: skip
    assert "\x00" not in event.entries[1].url and len(event.entries[1].url) == 8192
    assert not event.truncated
    CollectionEvent.model_validate(event.wire())  # what the gateway will check


def test_a_report_is_cut_to_the_message_budget_and_says_truncated() -> None:
    long_url = "https://e.example/" + "a" * 8000
    entries = tuple(entry(n, url=f"{long_url}?{n}", title="t" * 1024) for n in range(1, 400))
    event = collection_event(JOB_ID, 1, 1, Collection("Big", 399, False, entries))
    assert 0 < len(event.entries) < 399 and event.truncated
    assert len(json.dumps(event.wire())) < REPORT_BYTES + 4096


def test_more_entries_than_the_hard_cap_are_cut_and_the_report_says_truncated() -> None:
    entries = tuple(
        CollectionEntry(str(n), f"https://e.example/{n}", "", n) for n in range(1, MAX_COLLECTION_ENTRIES + 2)
    )
    event = collection_event(JOB_ID, 1, 1, Collection("Huge", len(entries), False, entries))
    assert len(event.entries) == MAX_COLLECTION_ENTRIES and event.truncated
