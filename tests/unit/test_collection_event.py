"""The `collection` event's contract: bounded like jobstore's ReportCollection, and a claimed
job's spec tells the worker whether, and how far, to resolve it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from haul.contract import from_proto
from haul.contract.events import MAX_COLLECTION_ENTRIES, MAX_ENTRY_INDEX, CollectionEvent
from haul.jobstore.v1 import jobstore_pb2 as pb
from jobstore.domain import collections

JOB_ID = "0b7c4f34-1f8e-4c1a-9a43-6a1f7c1b2d3e"


def test_the_event_bounds_are_jobstores() -> None:
    assert MAX_COLLECTION_ENTRIES == collections.HARD_MAX_ITEMS
    assert MAX_ENTRY_INDEX == collections.MAX_ENTRY_INDEX


def test_a_collection_event_round_trips_in_camel_case() -> None:
    wire = {"jobId": JOB_ID, "attempt": 2, "seq": 3, "title": "Feed", "listed": 9, "truncated": True,
            "entries": [{"key": "g1", "url": "https://e.example/1.mp3", "title": "One", "index": 1},
                        {"key": "g2", "url": "file:///etc/passwd", "index": 2, "refused": "file://"}]}  # fmt: skip
    event = CollectionEvent.model_validate(wire)
    assert event.entries[1].refused == "file://" and event.entries[0].refused is None
    assert event.wire() == {**wire, "entries": [wire["entries"][0], {**wire["entries"][1], "title": ""}]}


def test_more_entries_than_the_hard_cap_are_refused() -> None:
    entries = [{"key": str(n), "url": "u", "index": n} for n in range(MAX_COLLECTION_ENTRIES + 1)]
    with pytest.raises(ValidationError):
        CollectionEvent.model_validate({"jobId": JOB_ID, "attempt": 1, "seq": 1, "entries": entries})


def test_the_claimed_spec_carries_parent_items_and_max_items() -> None:
    options = pb.JobOptions(items="1-3", max_items=7)
    child = from_proto.job_spec(pb.Job(url="https://e.example/1.mp3", parent_id=JOB_ID, options=options))
    assert (child.parent_id, child.items, child.max_items) == (JOB_ID, "1-3", 7)
    top = from_proto.job_spec(pb.Job(url="https://e.example/feed.rss"))
    assert (top.parent_id, top.items, top.max_items) == (None, None, None)
