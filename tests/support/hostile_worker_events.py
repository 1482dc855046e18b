"""The worker contract's events as Hypothesis strategies, valid and broken: a `Spec` per event
(its model, whether it is acked, a strategy per field and one that breaks it), `hostile_event`
drawing a broken payload or a valid one about a job that does not exist, as a `Hostile` that says
how it was made, and `contract_accepts` asking the contract's own model. Job ids stand as `JobRef`
placeholders until `materialize` puts in the ids that exist at run time.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from haul.contract import limits
from haul.contract.events import (
    CLAIM_SECRET_PATTERN,
    MAX_ENTRY_INDEX,
    ClaimRequest,
    CollectionEvent,
    CompletedEvent,
    FailedEvent,
    ProgressEvent,
    WorkerHello,
)
from tests.support.hostile_collection_entries import bad_entries, valid_entries
from tests.support.hostile_values import (
    STAGES,
    bad_bool,
    bad_float,
    bad_int,
    bad_job_id,
    bad_pattern,
    bad_stage,
    bad_str,
    clean_text,
    junk,
    one_megabyte,
    unknown_key,
)

# --- where job ids go --------------------------------------------------------------------------


@dataclass(frozen=True)
class JobRef:
    """A placeholder for a job id that only exists at run time."""

    kind: str  # "running": the test's claimed job; "unknown": a fresh UUID no job has

    def __repr__(self) -> str:
        return f"<{self.kind} job id>"


RUNNING = JobRef("running")
UNKNOWN = JobRef("unknown")


def materialize(value: Any, running_id: str, unknown_ids: list[str]) -> Any:
    if isinstance(value, JobRef):
        if value is RUNNING:
            return running_id
        unknown_ids.append(str(uuid.uuid4()))
        return unknown_ids[-1]
    if isinstance(value, dict):
        return {k: materialize(v, running_id, unknown_ids) for k, v in value.items()}
    if isinstance(value, list):
        return [materialize(v, running_id, unknown_ids) for v in value]
    return value


# --- the contract's events, valid and broken ---------------------------------------------------

valid_meta = st.fixed_dictionaries(
    {},
    optional={
        "title": clean_text(limits.MAX_TITLE),
        "duration": st.floats(0, limits.MAX_DURATION),
        "extractor": clean_text(limits.MAX_SHORT_TEXT),
        "thumbnail": clean_text(limits.MAX_PATH),
    },
)
META_BAD = {
    "title": bad_str(limits.MAX_TITLE),
    "duration": bad_float(limits.MAX_DURATION),
    "extractor": bad_str(limits.MAX_SHORT_TEXT),
    "thumbnail": bad_str(limits.MAX_PATH),
}


@st.composite
def bad_meta(draw: st.DrawFn) -> Any:
    how = draw(st.sampled_from(["type", "field", "extra"]))
    if how == "type":
        return draw(junk.filter(lambda v: not isinstance(v, dict) and v is not None))
    meta = dict(draw(valid_meta))
    if how == "field":
        name = draw(st.sampled_from(sorted(META_BAD)))
        meta[name] = draw(META_BAD[name])
    else:
        meta[draw(unknown_key(set(META_BAD)))] = draw(junk)
    return meta


@st.composite
def bad_tools(draw: st.DrawFn) -> Any:
    how = draw(st.sampled_from(["type", "too_many", "value"]))
    if how == "type":
        return draw(junk.filter(lambda v: not isinstance(v, dict)))
    if how == "too_many":
        return {f"tool{i}": "1.0" for i in range(draw(st.integers(17, 40)))}
    tools = draw(st.dictionaries(st.text(max_size=10), st.just("1.0"), max_size=4))
    tools[draw(st.text(max_size=10))] = draw(bad_str(limits.MAX_REASON))
    return tools


@dataclass(frozen=True)
class Spec:
    event: str
    model: type[BaseModel]
    acked: bool
    required: dict[str, st.SearchStrategy[Any]]
    optional: dict[str, st.SearchStrategy[Any]]
    bad: dict[str, st.SearchStrategy[Any]]
    known_keys: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        for name, info in self.model.model_fields.items():
            self.known_keys.update({name, info.alias or name})

    def valid(self, job_ids: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
        required = {k: (job_ids if k == "jobId" else v) for k, v in self.required.items()}
        return st.fixed_dictionaries(required, optional=self.optional)


ids_in_broken_payloads = st.sampled_from([RUNNING, UNKNOWN])
attempts = st.integers(1, limits.MAX_ATTEMPT)
seqs = st.integers(0, limits.MAX_SEQ)
byte_counts = st.integers(0, limits.MAX_BYTES)
sha256s = st.text("0123456789abcdef", min_size=64, max_size=64)
error_codes = st.from_regex(re.compile(limits.ERROR_CODE_PATTERN), fullmatch=True)
claim_secrets = st.from_regex(re.compile(CLAIM_SECRET_PATTERN), fullmatch=True)
# None is a valid (absent) claim secret, so it is no breakage.
bad_claim_secret = bad_pattern(CLAIM_SECRET_PATTERN, ["short", "a" * 65, "a" * 16 + "!"]).filter(
    lambda v: v is not None
)

SPECS = [
    Spec(
        "progress",
        ProgressEvent,
        acked=False,
        required={
            "jobId": st.nothing(),
            "attempt": attempts,
            "seq": seqs,
            "stage": st.sampled_from(STAGES),
            "progress": st.floats(0, 100),
        },
        optional={
            "downloadedBytes": byte_counts,
            "totalBytes": st.none() | byte_counts,
            "speed": st.none() | st.floats(0, limits.MAX_SPEED),
            "eta": st.none() | st.floats(0, limits.MAX_ETA),
            "meta": st.none() | valid_meta,
            "claimSecret": claim_secrets,
        },
        bad={
            "claimSecret": bad_claim_secret,
            "jobId": bad_job_id,
            "attempt": bad_int(1, limits.MAX_ATTEMPT),
            "seq": bad_int(0, limits.MAX_SEQ),
            "stage": bad_stage,
            "progress": bad_float(100.0),
            "downloadedBytes": bad_int(0, limits.MAX_BYTES),
            "totalBytes": bad_int(0, limits.MAX_BYTES, nullable=True),
            "speed": bad_float(limits.MAX_SPEED, nullable=True),
            "eta": bad_float(limits.MAX_ETA, nullable=True),
            "meta": bad_meta(),
        },
    ),
    Spec(
        "claim",
        ClaimRequest,
        acked=True,
        required={"jobId": st.nothing()},
        optional={},
        bad={"jobId": bad_job_id},
    ),
    Spec(
        "completed",
        CompletedEvent,
        acked=True,
        required={
            "jobId": st.nothing(),
            "attempt": attempts,
            "seq": seqs,
            "filename": clean_text(limits.MAX_PATH, min_size=1),
            "outputPath": clean_text(limits.MAX_PATH),
            "size": byte_counts,
            "sha256": sha256s,
        },
        optional={"meta": st.none() | valid_meta, "claimSecret": claim_secrets},
        bad={
            "claimSecret": bad_claim_secret,
            "jobId": bad_job_id,
            "attempt": bad_int(1, limits.MAX_ATTEMPT),
            "seq": bad_int(0, limits.MAX_SEQ),
            "filename": bad_str(limits.MAX_PATH, min_size=1),
            "outputPath": bad_str(limits.MAX_PATH),
            "size": bad_int(0, limits.MAX_BYTES),
            "sha256": bad_pattern(
                limits.SHA256_PATTERN, ["A" * 64, "a" * 63, "a" * 65, "a" * 64 + "\n", "g" * 64]
            ),
            "meta": bad_meta(),
        },
    ),
    Spec(
        "failed",
        FailedEvent,
        acked=True,
        required={"jobId": st.nothing(), "attempt": attempts, "seq": seqs, "errorCode": error_codes},
        optional={
            "message": clean_text(limits.MAX_MESSAGE),
            "retryable": st.booleans(),
            "claimSecret": claim_secrets,
        },
        bad={
            "claimSecret": bad_claim_secret,
            "jobId": bad_job_id,
            "attempt": bad_int(1, limits.MAX_ATTEMPT),
            "seq": bad_int(0, limits.MAX_SEQ),
            "errorCode": bad_pattern(
                limits.ERROR_CODE_PATTERN, ["stalled", "1ABC", "A" * 65, "", "STALLED\n", "A-B", "É"]
            ),
            "message": bad_str(limits.MAX_MESSAGE),
            "retryable": bad_bool,
        },
    ),
    Spec(
        "collection",
        CollectionEvent,
        acked=True,
        required={"jobId": st.nothing(), "attempt": attempts, "seq": seqs, "entries": valid_entries},
        optional={
            "title": clean_text(limits.MAX_TITLE),
            "listed": st.integers(0, MAX_ENTRY_INDEX),
            "truncated": st.booleans(),
            "claimSecret": claim_secrets,
        },
        bad={
            "claimSecret": bad_claim_secret,
            "jobId": bad_job_id,
            "attempt": bad_int(1, limits.MAX_ATTEMPT),
            "seq": bad_int(0, limits.MAX_SEQ),
            "title": bad_str(limits.MAX_TITLE),
            "listed": bad_int(0, MAX_ENTRY_INDEX),
            "truncated": bad_bool,
            "entries": bad_entries(),
        },
    ),
    Spec(
        "hello",
        WorkerHello,
        acked=False,
        required={"workerId": clean_text(limits.MAX_SHORT_TEXT, min_size=1)},
        optional={"tools": st.dictionaries(st.text(max_size=12), clean_text(limits.MAX_REASON), max_size=16)},
        bad={"workerId": bad_str(limits.MAX_SHORT_TEXT, min_size=1), "tools": bad_tools()},
    ),
]
SPEC_BY_EVENT = {spec.event: spec for spec in SPECS}


@dataclass(frozen=True)
class Hostile:
    event: str
    how: str  # what was broken, or "valid" for a valid payload about an unknown job
    payload: Any

    @property
    def valid(self) -> bool:
        return self.how == "valid"


@st.composite
def broken(draw: st.DrawFn, spec: Spec) -> Hostile:
    how = draw(st.sampled_from(["field", "field", "field", "missing", "extra", "shape"]))
    base = dict(draw(spec.valid(ids_in_broken_payloads)))
    if how == "field":
        name = draw(st.sampled_from(sorted(spec.bad)))
        base[name] = draw(spec.bad[name])
        how = f"field:{name}"
    elif how == "missing":
        del base[draw(st.sampled_from(sorted(spec.required)))]
    elif how == "extra":
        base[draw(unknown_key(spec.known_keys))] = draw(junk)
    else:
        return Hostile(
            spec.event,
            how,
            draw(
                st.one_of(
                    junk.filter(lambda v: not isinstance(v, dict)),
                    st.lists(st.just(base), min_size=1, max_size=2),
                    st.binary(max_size=64),
                    one_megabyte,
                )
            ),
        )
    return Hostile(spec.event, how, base)


@st.composite
def valid_about_unknown_job(draw: st.DrawFn, spec: Spec) -> Hostile:
    return Hostile(spec.event, "valid", draw(spec.valid(st.just(UNKNOWN))))


@st.composite
def hostile_event(draw: st.DrawFn) -> Hostile:
    spec = draw(st.sampled_from(SPECS))
    if draw(st.integers(0, 3)) == 0:
        return draw(valid_about_unknown_job(spec))
    return draw(broken(spec))


def contract_accepts(model: type[BaseModel], payload: Any) -> bool:
    try:
        model.model_validate(payload)
    except (ValidationError, TypeError, ValueError):
        return False
    return True
