"""A collection event's entries as Hypothesis strategies, valid and broken: the list as a whole
(not a list, more entries than the cap) or one entry in it (not an object, a field out of bounds,
a required field missing, an unknown key). Used by the `collection` spec of hostile_worker_events.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from haul.contract import limits
from haul.contract.events import MAX_COLLECTION_ENTRIES, MAX_ENTRY_INDEX, CollectionEntry
from haul.contract.urls import MAX_URL_LENGTH
from tests.support.hostile_values import bad_int, bad_str, clean_text, junk, unknown_key

# A collection's entries: each one valid, or the list broken as a whole or in one entry.
valid_entry = st.fixed_dictionaries(
    {
        "key": clean_text(limits.MAX_PATH, min_size=1),
        "url": clean_text(MAX_URL_LENGTH),
        "index": st.integers(0, MAX_ENTRY_INDEX),
    },
    optional={
        "title": clean_text(limits.MAX_TITLE),
        "refused": st.none() | clean_text(limits.MAX_MESSAGE),
        "archiveId": st.none() | clean_text(limits.MAX_ARCHIVE_ID),
    },
)
valid_entries = st.lists(valid_entry, max_size=3)
ENTRY_BAD = {
    "key": bad_str(limits.MAX_PATH, min_size=1),
    "url": bad_str(MAX_URL_LENGTH),
    "index": bad_int(0, MAX_ENTRY_INDEX),
    "title": bad_str(limits.MAX_TITLE),
    "refused": bad_str(limits.MAX_MESSAGE, nullable=True),
    "archiveId": bad_str(limits.MAX_ARCHIVE_ID, nullable=True),
}
ENTRY_KEYS = {name for n, info in CollectionEntry.model_fields.items() for name in (n, info.alias or n)}


@st.composite
def bad_entries(draw: st.DrawFn) -> Any:
    how = draw(st.sampled_from(["type", "too_many", "entry_type", "field", "missing", "extra"]))
    if how == "type":
        return draw(junk.filter(lambda v: not isinstance(v, list)))
    if how == "too_many":
        # Small entries: the count, not the bytes, is what breaks it.
        extra = draw(st.integers(1, 3))
        return [{"key": f"k{i}", "url": "u", "index": i} for i in range(MAX_COLLECTION_ENTRIES + extra)]
    entries = list(draw(valid_entries))
    if how == "entry_type":
        entry: Any = draw(junk.filter(lambda v: not isinstance(v, dict)))
    else:
        entry = dict(draw(valid_entry))
        if how == "field":
            name = draw(st.sampled_from(sorted(ENTRY_BAD)))
            entry[name] = draw(ENTRY_BAD[name])
        elif how == "missing":
            del entry[draw(st.sampled_from(["key", "url", "index"]))]
        else:
            entry[draw(unknown_key(ENTRY_KEYS))] = draw(junk)
    entries.insert(draw(st.integers(0, len(entries))), entry)
    return entries
