"""The contract's enums as jobstore's gRPC messages number them, mapped by name.

The gRPC enums copy the contract's (`JOB_STATUS_RUNNING` is `JobStatus.RUNNING`): an enum `Foo`
pairs with the protobuf enum `Foo` and its `FOO_` prefix, and `_UNSPECIFIED` (zero) stands for
"none". `tests/unit/test_contract_enums.py` proves every pair names the same members.
"""

from __future__ import annotations

import functools
import re
from enum import StrEnum
from typing import Any, TypeVar

from haul.jobstore.v1 import jobstore_pb2 as pb

E = TypeVar("E", bound=StrEnum)


def proto_prefix(enum: type[StrEnum]) -> str:
    """`JobStatus` -> `JOB_STATUS_`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum.__name__).upper() + "_"


def proto_enum(enum: type[StrEnum]) -> Any:
    """The generated protobuf enum that copies `enum` (its `.Value(name)` and `.items()`)."""
    return getattr(pb, enum.__name__)


def to_proto(member: StrEnum) -> Any:
    """The protobuf number of a member; typed loosely as the generated enums are int subclasses."""
    return proto_enum(type(member)).Value(proto_prefix(type(member)) + member.name)


@functools.cache
def _members(enum: type[E]) -> dict[int, E]:
    return {to_proto(member): member for member in enum}


def from_proto(enum: type[E], number: int) -> E | None:
    """The member a protobuf number names; None for zero (unspecified) and unknown numbers."""
    return _members(enum).get(number)
