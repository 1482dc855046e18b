"""The base of every shape haul sends to REST clients and browsers, and the field types they share.

Outbound shapes are built by field name (`Shape.of`) and validated like any input, so what
haul sends holds to the document it publishes; they leave as camelCase JSON (`Shape.wire`).
"""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from haul.contract import limits

JobIdText = Annotated[
    str,
    Field(description="The job's UUID, in canonical lower-case form.", json_schema_extra={"format": "uuid"}),
]
Sha256 = Annotated[str, Field(description="Hex SHA-256 of the file.", pattern=f"^{limits.SHA256_PATTERN}$")]
Count = Annotated[int, Field(ge=0)]
Amount = Annotated[float, Field(ge=0)]
Link = Annotated[str, Field(json_schema_extra={"format": "uri-reference"})]


def timestamp(description: str) -> Any:
    """A UTC time as `2025-01-31T12:00:00.000Z` (kept as text: the format is the wire's)."""
    return Field(description=description, json_schema_extra={"format": "date-time", "example": "2025-01-31T12:00:00.000Z"})  # fmt: skip


class Shape(BaseModel):
    """A JSON object with camelCase keys. A field left out when building it is left out of the JSON,
    which is how an optional key (as opposed to a null one) is omitted."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, frozen=True)

    @classmethod
    def of(cls, **fields: Any) -> Self:
        """The shape from values by field name. (Validating costs less than `model_construct`.)"""
        return cls(**fields)

    def wire(self) -> dict[str, Any]:
        """The JSON object to send."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)
