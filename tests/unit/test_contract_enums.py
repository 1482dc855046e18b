"""Each enum is the contract's: the domain re-exports it and the gRPC copy names the same members."""

from __future__ import annotations

from enum import StrEnum

import pytest

from haul.contract import enums
from haul.contract.proto_enums import from_proto, proto_enum, proto_prefix, to_proto
from jobstore.domain import changes, model, values


@pytest.mark.parametrize("enum", enums.PROTO_MIRRORED, ids=lambda enum: enum.__name__)
def test_the_proto_enum_names_the_same_members(enum: type[StrEnum]) -> None:
    prefix = proto_prefix(enum)
    copied = {name.removeprefix(prefix) for name, number in proto_enum(enum).items() if number != 0}
    assert copied == {member.name for member in enum}
    assert all(member.value == member.name.lower() for member in enum)
    unspecified = proto_enum(enum).Name(0)
    assert unspecified == f"{prefix}UNSPECIFIED"


@pytest.mark.parametrize("enum", enums.PROTO_MIRRORED, ids=lambda enum: enum.__name__)
def test_members_go_to_proto_and_back(enum: type[StrEnum]) -> None:
    for member in enum:
        assert from_proto(enum, to_proto(member)) is member
    assert from_proto(enum, 0) is None


def test_a_running_job_is_job_status_running_on_the_wire() -> None:
    assert proto_enum(enums.JobStatus).Name(to_proto(enums.JobStatus.RUNNING)) == "JOB_STATUS_RUNNING"


def test_the_domain_uses_the_contract_enums_not_copies() -> None:
    assert model.JobStatus is enums.JobStatus
    assert model.ControlAction is enums.ControlAction
    assert model.Refusal is enums.Refusal
    assert model.TERMINAL_STATUSES is enums.TERMINAL_STATUSES
    assert changes.ChangeKind is enums.ChangeKind
    for name in ("JobStage", "JobType", "AudioFormat", "VideoContainer"):
        assert getattr(values, name) is getattr(enums, name)
