"""Small builders for the OpenAPI document: schemas, responses, parameters and operations.

They only shape dictionaries; what the API accepts and returns is spelled out in
`gateway.openapi_schemas` (components) and `gateway.openapi` (paths).
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]
JSON = "application/json"


def ref(name: str, kind: str = "schemas") -> Schema:
    return {"$ref": f"#/components/{kind}/{name}"}


def nullable(schema: Schema) -> Schema:
    """OpenAPI 3.0's spelling of "or null"; an enum must then list null itself."""
    widened = {**schema, "nullable": True}
    if "enum" in schema:
        widened["enum"] = [*schema["enum"], None]
    return widened


def obj(properties: dict[str, Schema], *, optional: tuple[str, ...] = (), **extra: Any) -> Schema:
    """An object whose properties are all present unless named in `optional`."""
    required = [name for name in properties if name not in optional]
    return {"type": "object", **extra, "required": required, "properties": properties}


def string(description: str = "", **extra: Any) -> Schema:
    return {"type": "string", **({"description": description} if description else {}), **extra}


def integer(description: str = "", *, minimum: int = 0, **extra: Any) -> Schema:
    described = {"description": description} if description else {}
    return {"type": "integer", "minimum": minimum, **described, **extra}


def number(description: str, **extra: Any) -> Schema:
    return {"type": "number", "minimum": 0, "description": description, **extra}


def enum(values: list[str], description: str = "", **extra: Any) -> Schema:
    return string(description, enum=list(values), **extra)


def timestamp(description: str) -> Schema:
    return string(description, format="date-time", example="2025-01-31T12:00:00.000Z")


def json_content(schema: Schema) -> dict[str, Any]:
    return {JSON: {"schema": schema}}


def error(description: str, *codes: str) -> dict[str, Any]:
    """An error response; its schema pins `error.code` to the codes this response can carry."""
    only_codes = {"type": "object", "properties": {"code": enum(list(codes))}}
    schema = {"allOf": [ref("Error"), {"type": "object", "properties": {"error": only_codes}}]}
    return {"description": description, "content": json_content(schema)}


def error_codes(schema: Schema) -> list[str]:
    """The codes `error()` pinned, for the docs page."""
    pinned = [part["properties"]["error"] for part in schema.get("allOf", []) if "properties" in part]
    return [code for error in pinned for code in error["properties"]["code"]["enum"]]


def ok(description: str, schema: Schema, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "content": json_content(schema), **({"headers": headers} if headers else {})}  # fmt: skip


def text(description: str, media_type: str) -> dict[str, Any]:
    return {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}


def header(description: str, schema: Schema | None = None, required: bool = False) -> dict[str, Any]:
    return {"description": description, "required": required, "schema": schema or {"type": "string"}}


def parameter(name: str, where: str, description: str, schema: Schema, **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": where, "description": description, **extra, "schema": schema}


def op(
    operation_id: str,
    tag: str,
    summary: str,
    responses: dict[str, Any],
    *,
    description: str = "",
    parameters: tuple[str, ...] = (),
    body: Schema | None = None,
    secured: bool = True,
    jobstore: bool = True,
) -> dict[str, Any]:
    """One operation. Secured ones may answer 401; those that call jobstore may answer 503."""
    operation: dict[str, Any] = {"operationId": operation_id, "tags": [tag], "summary": summary}
    if description:
        operation["description"] = description
    if parameters:
        operation["parameters"] = [ref(name, "parameters") for name in parameters]
    if body:
        operation["requestBody"] = {"required": True, "content": json_content(body)}
    if secured:
        responses = {**responses, "401": ref("Unauthorized", "responses")}
    else:
        operation["security"] = []
    if jobstore:
        responses = {**responses, "503": ref("Unavailable", "responses")}
    operation["responses"] = dict(sorted(responses.items()))
    return operation
