"""Small builders for the OpenAPI document: component schemas from the contract's models, and
responses, parameters and operations.

They only shape dictionaries; what the API accepts and returns is the contract's models
(`haul.contract`), and `gateway.openapi` says which route takes and gives which.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import JsonSchemaMode

Schema = dict[str, Any]
JSON = "application/json"
NULL = {"type": "null"}


def openapi30(node: Any) -> Any:
    """A pydantic (JSON Schema 2020-12) schema in OpenAPI 3.0's dialect: `nullable` instead of a
    null type, `enum` instead of `const`, no keys beside a `$ref`, and no generated titles."""
    if isinstance(node, list):
        return [openapi30(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: Schema = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: openapi30(schema) for name, schema in value.items()}
        elif key == "const":
            out["enum"] = [value]
        elif key != "title":
            out[key] = openapi30(value)
    if NULL in out.get("anyOf", []):
        others = [variant for variant in out.pop("anyOf") if variant != NULL]
        out = {**others[0], **out} if len(others) == 1 else {"anyOf": others, **out}
        out["nullable"] = True
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    if out.get("default", ...) is None:
        del out["default"]  # says nothing a client can use, and 3.0 checks it against an enum's members
    if "$ref" in out and len(out) > 1:
        out = {"allOf": [{"$ref": out.pop("$ref")}], **out}
    return out


def component_schemas(types: dict[Any, JsonSchemaMode]) -> dict[str, Schema]:
    """The schemas of these models and enums (validation mode for what clients send, serialization
    for what they get) and of everything they refer to, by name."""
    inputs = [(kind, mode, TypeAdapter(kind)) for kind, mode in types.items()]
    _, found = TypeAdapter.json_schemas(inputs, ref_template="#/components/schemas/{model}")
    return {name: openapi30(schema) for name, schema in sorted(found["$defs"].items())}


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
