"""The names inside a collection's ZIP, and the ZIP's own name: one safe component each, unique,
numbered by entry."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.zipfiles import MemberNames, archive_name
from haul.jobstore.v1 import jobstore_pb2 as pb

PARENT_ID = "3f1c2b9e-0000-4000-8000-000000000001"


def assert_safe(name: str) -> None:
    assert name and name == name.strip()
    assert "/" not in name and "\\" not in name and ".." not in name and "\x00" not in name
    assert not name.startswith((".", "-"))
    assert all(ch.isprintable() for ch in name), repr(name)
    assert len(name.encode()) <= 220


def test_members_are_numbered_by_entry_and_keep_their_extension() -> None:
    names = MemberNames(total=12)
    assert names.name(1, "Episode one.mp3") == "0001 - Episode one.mp3"
    assert names.name(12, "clip.WEBM") == "0012 - clip.webm"


def test_the_number_widens_for_a_collection_of_more_than_9999_entries() -> None:
    assert MemberNames(total=12345).name(7, "a.mp4") == "00007 - a.mp4"


def test_a_name_seen_twice_gets_a_copy_number_whatever_its_case() -> None:
    names = MemberNames(total=3)
    assert names.name(1, "a.mp3") == "0001 - a.mp3"
    assert names.name(1, "A.MP3") == "0001 - A (2).mp3"
    assert names.name(1, "a.mp3") == "0001 - a (3).mp3"
    assert names.name(1, "noext") == "0001 - noext"
    assert names.name(1, "NoExt") == "0001 - NoExt (2)"


@pytest.mark.parametrize(
    "filename",
    [
        "../../etc/passwd",
        "..",
        ".bashrc",
        "-rf.mp3",
        'a/b\\c:d*e?f"g<h>i|j.mp3',
        "evil\u202egpj.exe",
        "tab\tnew\nline.mp3",
        "CON",
        "x" * 400 + ".mp3",
        "",
    ],
)
def test_hostile_file_names_become_one_safe_component(filename: str) -> None:
    name = MemberNames(total=1).name(1, filename)
    assert_safe(name)
    assert name.startswith("0001 - ")


@given(st.lists(st.text(max_size=300), min_size=1, max_size=8))
def test_any_names_become_safe_and_unique(filenames: list[str]) -> None:
    names = MemberNames(total=len(filenames))
    made = [names.name(1, filename) for filename in filenames]
    for name in made:
        assert_safe(name)
    assert len({name.casefold() for name in made}) == len(made)


@pytest.mark.parametrize(
    "title", ["../../etc/passwd", "Podcast: the *best*", "\u202eevil", "", "a" * 300, "My.Show", "..."]
)
def test_the_archive_is_named_after_the_collection_with_zip(title: str) -> None:
    parent = pb.Job(id=PARENT_ID, collection=pb.CollectionSummary(title=title))
    name = archive_name(parent)
    assert_safe(name)
    assert name.endswith(".zip") and len(name) > len(".zip")


def test_an_untitled_collection_is_named_by_its_id() -> None:
    assert archive_name(pb.Job(id=PARENT_ID, collection=pb.CollectionSummary())) == "collection-3f1c2b9e.zip"
