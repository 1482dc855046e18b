"""Hypothesis strategies for values that break a field of the worker contract: JSON-ish junk,
integers and floats out of range or of the wrong type, text too long or made of lone surrogates,
text outside a pattern, job ids that are almost UUIDs, unknown stages and keys, megabyte strings;
and `clean_text`, text that every layer accepts, for the fields left intact.
"""

from __future__ import annotations

import math
import re
from typing import Any

from hypothesis import strategies as st

MB = 1 << 20
STAGES = ("resolving", "downloading", "merging", "postprocessing", "finalizing")
CANONICAL_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# python-engineio refuses JSON integers longer than 100 characters before any handler runs, so
# the generated numbers stay inside that (sign included) to reach the gateway's validation.
HUGE = 10**98

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.binary(max_size=20),
)
# Any JSON-ish value, including nested lists and dicts and binary attachments.
junk = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)
one_megabyte = st.sampled_from("x7~ ").map(lambda c: c * MB)
surrogates = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=8)


def clean_text(max_size: int, min_size: int = 0) -> st.SearchStrategy[str]:
    """Text the contract accepts and jobstore stores: no lone surrogates, and no NUL, which the
    contract once accepted but jobstore refuses (see the regression tests at the end of
    tests/integration/test_gateway_hostile_payloads.py)."""
    # No lone surrogates either: they cannot travel as UTF-8, so such a text is not a valid value.
    valid = st.characters(exclude_characters="\x00", exclude_categories=["Cs"])
    small = st.text(valid, min_size=min_size, max_size=min(max_size, 40))
    return small | st.just("t" * max_size)


def bad_int(lo: int, hi: int, nullable: bool = False) -> st.SearchStrategy[Any]:
    edges = [2**64, 2**64 - 1, 2**63, -(2**63), 2**31 + 1, -1, 0, HUGE, -HUGE]
    return st.one_of(
        st.integers(-HUGE, lo - 1),
        st.integers(hi + 1, HUGE),
        st.sampled_from([v for v in edges if not lo <= v <= hi]),
        st.sampled_from([math.nan, math.inf, -math.inf, 1e308, float(lo), str(lo), True, False]),
        junk.filter(lambda v: type(v) is not int and not (nullable and v is None)),
    )


def bad_float(maximum: float, nullable: bool = False) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -1e308, -1e-300, maximum * 2, "1.5", "NaN"]),
        st.floats(max_value=-1e-9),
        st.floats(min_value=maximum, exclude_min=True),
        st.integers(int(maximum) + 1, HUGE),
        st.integers(-HUGE, -1),
        junk.filter(lambda v: type(v) not in (int, float) and not (nullable and v is None)),
    )


def bad_str(max_size: int, min_size: int = 0, nullable: bool = False) -> st.SearchStrategy[Any]:
    options = [
        st.integers(max_size + 1, max_size + 64).map(lambda n: "a" * n),
        one_megabyte,
        surrogates,
        junk.filter(lambda v: not isinstance(v, str) and not (nullable and v is None)),
    ]
    if min_size > 0:
        options.append(st.just(""))
    return st.one_of(*options)


def bad_pattern(pattern: str, examples: list[str]) -> st.SearchStrategy[Any]:
    compiled = re.compile(pattern)
    return st.one_of(
        st.sampled_from(examples),
        st.text(max_size=70).filter(lambda s: not compiled.fullmatch(s)),
        one_megabyte,
        surrogates,
        junk.filter(lambda v: not isinstance(v, str)),
    )


uuid_text = st.uuids().map(str)
bad_job_id = st.one_of(
    junk.filter(lambda v: not isinstance(v, str)),
    st.text(max_size=40).filter(lambda s: not CANONICAL_UUID.fullmatch(s)),
    uuid_text.map(lambda u: u.replace("-", "")),
    uuid_text.map(lambda u: "{" + u + "}"),
    uuid_text.map(lambda u: "urn:uuid:" + u),
    uuid_text.map(lambda u: u + "\n"),
    uuid_text.map(lambda u: " " + u),
    uuid_text.map(lambda u: u + "0"),
    uuid_text.map(lambda u: u[:-1]),
    uuid_text.map(lambda u: u[:-1] + "g"),
    uuid_text.map(lambda u: u.replace("-", "_")),
    one_megabyte,
    surrogates,
)
bad_stage = st.one_of(
    st.sampled_from(["DOWNLOADING", "done", "queued", "", " resolving", "merging\n"]),
    st.text(max_size=20).filter(lambda s: s not in STAGES),
    one_megabyte,
    junk.filter(lambda v: not isinstance(v, str)),
)
bad_bool = junk.filter(lambda v: type(v) is not bool) | st.sampled_from([0, 1, "true", "false"])


def unknown_key(known: set[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.text(min_size=1, max_size=20), one_megabyte.map(lambda s: s[:4096])).filter(
        lambda k: k not in known
    )
