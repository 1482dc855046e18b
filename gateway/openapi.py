"""The REST API's OpenAPI 3.0.3 document at `GET /openapi.json`, and a readable page at `GET /docs`.

The document is written by hand (components in `gateway.openapi_schemas`);
`tests/integration/test_gateway_openapi.py` checks it against the routes and runs the live API
against it. The page is rendered from the document on the server: no script, nothing fetched.
"""

from __future__ import annotations

import functools
import html
import re
from typing import Any

from aiohttp import web

from gateway.openapi_schemas import (
    JSON,
    PARAMETERS,
    RESPONSES,
    SCHEMAS,
    Schema,
    error,
    error_codes,
    header,
    ok,
    op,
    ref,
    text,
)

JOB = ("JobId",)
INVALID_JOB_ID = ref("InvalidJobId", "responses")
JOB_NOT_FOUND = ref("JobNotFound", "responses")
FILE_NOT_FOUND = error("No such job, or its file is gone.", "not_found", "file_not_found")
NOT_COMPLETED = error("The job is not completed yet.", "not_completed")
FILE_HEADERS = {
    "ETag": header("The file's entity tag, for If-None-Match and If-Range.", required=True),
    "Accept-Ranges": header("Always `bytes`.", {"type": "string", "enum": ["bytes"]}),
    "Content-Disposition": header("`attachment`, with an ASCII fallback name and the UTF-8 name."),
}
BINARY = {"*/*": {"schema": {"type": "string", "format": "binary"}}}


def probe(operation_id: str, summary: str, responses: dict[str, Any]) -> dict[str, Any]:
    """An open operation of the service itself: no credentials, no jobstore call."""
    return op(operation_id, "service", summary, responses, secured=False, jobstore=False)


PATHS: dict[str, dict[str, Any]] = {
    "/downloads": {
        "post": op(
            "createDownload",
            "downloads",
            "Queue a download",
            {
                "202": ok(
                    "Queued; for a replayed Idempotency-Key, the job the first request created.",
                    ref("Accepted"),
                    {
                        "Location": header("The job's URL.", required=True),
                        "Idempotent-Replayed": header(
                            "`true` when the Idempotency-Key named an earlier request.",
                            {"type": "string", "enum": ["true"]},
                        ),
                    },
                ),
                "400": error(
                    "The body is not JSON, or the Idempotency-Key is malformed.",
                    "invalid_json",
                    "invalid_idempotency_key",
                ),
                "413": error("The body is larger than the server accepts.", "body_too_large"),
                "415": error("The body is not sent as application/json.", "unsupported_media_type"),
                "422": error(
                    "The body breaks the schema, the URL breaks the URL policy, or the "
                    "Idempotency-Key was already used for a different request.",
                    "invalid_request",
                    "url_refused",
                    "idempotency_key_reused",
                ),
            },
            description="A retried request with the same Idempotency-Key and body returns the job "
            "it created instead of creating another.",
            parameters=("IdempotencyKey",),
            body=ref("DownloadRequest"),
        ),
        "get": op(
            "listDownloads",
            "downloads",
            "List downloads, newest first",
            {
                "200": ok("One page of jobs.", ref("JobPage")),
                "400": error(
                    "A query parameter is invalid.", "invalid_status", "invalid_limit", "invalid_cursor"
                ),
            },
            parameters=("Status", "Limit", "Cursor"),
        ),
    },
    "/downloads/{jobId}": {
        "get": op(
            "getDownload",
            "downloads",
            "Read one download, with its status history",
            {"200": ok("The job.", ref("JobDetail")), "400": INVALID_JOB_ID, "404": JOB_NOT_FOUND},
            parameters=JOB,
        ),
        "delete": op(
            "deleteDownload",
            "downloads",
            "Delete a download and its file",
            {"200": ok("The job is gone.", ref("Deleted")), "400": INVALID_JOB_ID, "404": JOB_NOT_FOUND},
            description="Works in any status; the worker of a running job is told to stop.",
            parameters=JOB,
        ),
    },
    "/downloads/{jobId}/{action}": {
        "post": op(
            "controlDownload",
            "downloads",
            "Cancel, pause, resume or retry a download",
            {
                "200": ok("The job after the action.", ref("Job")),
                "400": INVALID_JOB_ID,
                "404": error("No such job, or no such action.", "not_found"),
                "409": error("The job's status does not allow this action.", "conflict"),
            },
            description="`cancel`: queued, running or paused jobs. `pause`: queued or running. "
            "`resume`: paused. `retry`: failed or cancelled.",
            parameters=(*JOB, "Action"),
        ),
    },
    "/files/{jobId}": {
        "get": op(
            "getFile",
            "files",
            "Read a finished file's metadata",
            {
                "200": ok("The file.", ref("FileInfo")),
                "400": INVALID_JOB_ID,
                "404": FILE_NOT_FOUND,
                "409": NOT_COMPLETED,
            },
            parameters=JOB,
        ),
    },
    "/files/{jobId}/download": {
        "get": op(
            "downloadFile",
            "files",
            "Fetch a finished file's bytes",
            {
                "200": {"description": "The whole file.", "headers": FILE_HEADERS, "content": BINARY},
                "206": {
                    "description": "The requested byte range.",
                    "headers": {
                        **FILE_HEADERS,
                        "Content-Range": header("`bytes first-last/size`.", required=True),
                    },
                    "content": BINARY,
                },
                "304": {"description": "If-None-Match matched the file's ETag; no body."},
                "400": INVALID_JOB_ID,
                "404": FILE_NOT_FOUND,
                "409": NOT_COMPLETED,
                "416": {
                    "description": "The Range is malformed or starts past the end; no body.",
                    "headers": {"Content-Range": header("`bytes */size`.", required=True)},
                },
            },
            description="The content type is guessed from the file name.",
            parameters=(*JOB, "Range", "IfNoneMatch"),
        ),
    },
    "/health": {
        "get": probe(
            "health",
            "Readiness, with the state of each dependency",
            {
                "200": ok(
                    "Ready: jobstore, Redis (if configured) and the change feed are ok.", ref("HealthReport")
                ),
                "503": ok("Live but not ready; `checks` says which dependency is down.", ref("HealthReport")),
            },
        ),
    },
    "/health/live": {
        "get": probe("liveness", "Liveness", {"200": ok("The process is up.", ref("Liveness"))})
    },
    "/metrics": {
        "get": op(
            "metrics",
            "service",
            "Prometheus metrics",
            {"200": text("The Prometheus text exposition format.", "text/plain")},
            jobstore=False,
        ),
    },
    "/openapi.json": {
        "get": probe("openapi", "This document", {"200": ok("OpenAPI 3.0.3.", {"type": "object"})})
    },
    "/docs": {"get": probe("docs", "This document, as a page", {"200": text("HTML.", "text/html")})},
}

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "haul",
        "version": "1",
        "description": "A self-hosted download service. Every error is JSON: "
        '`{"error": {"code": "...", "message": "..."}}`; the codes each response can carry are listed with it.',
    },
    "tags": [
        {"name": "downloads", "description": "Queue, list and control download jobs."},
        {"name": "files", "description": "Finished files."},
        {"name": "service", "description": "Probes, metrics and this description."},
    ],
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "parameters": PARAMETERS,
        "responses": RESPONSES,
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "The server's API token; required only when the server is configured with one.",
            }
        },
    },
    # No credentials (a server without an API token), or the bearer token.
    "security": [{}, {"bearerAuth": []}],
}

# -- /docs ---------------------------------------------------------------------------------------

CSS = """
body{font:15px/1.5 system-ui,sans-serif;color:#1d2330;max-width:64rem;margin:2rem auto;padding:0 1rem}
h1{margin-bottom:0}h2{border-bottom:2px solid #dde1e8;padding-bottom:.2rem;margin-top:2.5rem}
code{font:13px ui-monospace,monospace;background:#f1f3f6;padding:0 .25rem;border-radius:3px}
a{color:#2457b5;text-decoration:none}a:hover{text-decoration:underline}
section{border:1px solid #dde1e8;border-radius:6px;padding:.3rem 1rem .8rem;margin:1rem 0}
h3{font-size:1.05rem;margin:.6rem 0 .2rem}h4{margin:.8rem 0 .3rem;font-size:.9rem;color:#4a5466}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;vertical-align:top;padding:.3rem .5rem;border-bottom:1px solid #eceef2}
th{background:#f7f8fa;font-weight:600}.m{font:bold 12px ui-monospace,monospace;color:#fff;padding:.15rem .45rem;border-radius:4px;margin-right:.4rem}
.get{background:#2b7a3d}.post{background:#2457b5}.delete{background:#b3261e}.note{color:#5c6678;font-size:13px}
ul.toc{list-style:none;padding:0;columns:2}ul.toc li{margin:.15rem 0}
"""


def esc(value: object) -> str:
    """Escape, then show `backticked` words as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(str(value), quote=False))


def code(value: object) -> str:
    return f"<code>{esc(value)}</code>"


def row(*cells: str, tag: str = "td") -> str:
    return "<tr>" + "".join(f"<{tag}>{cell}</{tag}>" for cell in cells) + "</tr>"


def table(head: tuple[str, ...], rows: list[str]) -> str:
    return f"<table>{row(*head, tag='th')}{''.join(rows)}</table>"


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        _, _, kind, name = node["$ref"].split("/")
        node = SPEC["components"][kind][name]
    return node


def type_label(schema: Schema) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return f'<a href="#schema-{name}">{name}</a>'
    if "allOf" in schema:  # the references, plus any property an inline part adds (not one it narrows)
        refs = [part for part in schema["allOf"] if "$ref" in part]
        known = {name for part in refs for name in resolve(part).get("properties", {})}
        added = [name for part in schema["allOf"] for name in part.get("properties", {}) if name not in known]
        return " + ".join([*map(type_label, refs), *(["{" + ", ".join(added) + "}"] if added else [])])
    if "enum" in schema:
        return " | ".join("null" if value is None else code(value) for value in schema["enum"])
    if schema.get("type") == "array":
        return f"array of {type_label(schema['items'])}"
    if "properties" in schema:
        return "object {" + ", ".join(schema["properties"]) + "}"
    label = esc(schema.get("type", "any")) + (f" ({esc(schema['format'])})" if "format" in schema else "")
    return label + (" | null" if schema.get("nullable") else "")


NOTES = {
    "minimum": "≥ {}",
    "maximum": "≤ {}",
    "minLength": "length ≥ {}",
    "maxLength": "length ≤ {}",
    "pattern": "matches {}",
    "default": "default {}",
}


def notes(schema: Schema) -> str:
    limits = " · ".join(say.format(code(schema[key])) for key, say in NOTES.items() if key in schema)
    return esc(schema.get("description", "")) + (f' <span class="note">{limits}</span>' if limits else "")


def field_rows(schema: Schema, prefix: str = "", expand: bool = True) -> list[str]:
    """A row per property, and dotted rows for nested objects: inline ones, and with `expand` referenced ones."""
    schema, rows = (resolve(schema) if expand else schema), []
    for part in schema.get("allOf", []):
        rows += field_rows(part, prefix)
    for name, prop in schema.get("properties", {}).items():
        required = "yes" if name in schema.get("required", []) else ""
        rows.append(row(code(prefix + name), type_label(prop), required, notes(prop)))
        if "properties" in prop or (expand and "properties" in resolve(prop)):
            rows += field_rows(prop, f"{prefix}{name}.", expand)
    return rows


def parameter_row(parameter: dict[str, Any]) -> str:
    parameter = resolve(parameter)
    schema, required = parameter["schema"], "yes" if parameter.get("required") else ""
    described = notes({**schema, "description": parameter.get("description", "")})
    return row(code(parameter["name"]), parameter["in"], type_label(schema), required, described)


def response_row(status: str, response: dict[str, Any]) -> str:
    response = resolve(response)
    content = response.get("content", {})
    body = ", ".join(f"{code(media)} {type_label(c['schema'])}" for media, c in content.items())
    codes = error_codes(content.get(JSON, {}).get("schema", {}))
    headers = ", ".join(map(code, response.get("headers", {})))
    return row(f"<b>{status}</b>", esc(response["description"]), body, headers, ", ".join(map(code, codes)))


def operation_html(path: str, method: str, operation: dict[str, Any]) -> str:
    auth = (
        "No credentials." if operation.get("security") == [] else "Bearer API token, when the server has one."
    )
    parts = [
        f'<section id="{operation["operationId"]}"><h3><span class="m {method}">{method.upper()}</span>'
        f"{code(path)} {esc(operation['summary'])}</h3><p>{esc(operation.get('description', ''))}</p>",
        f'<p class="note">{auth}</p>',
    ]
    if parameters := operation.get("parameters"):
        rows = [parameter_row(parameter) for parameter in parameters]
        parts += ["<h4>Parameters</h4>", table(("Name", "In", "Type", "Required", "Notes"), rows)]
    if body := operation.get("requestBody"):
        ((media, content),) = body["content"].items()
        parts.append(f"<h4>Request body {code(media)} {type_label(content['schema'])}</h4>")
        parts.append(table(("Field", "Type", "Required", "Notes"), field_rows(content["schema"])))
    rows = [response_row(status, response) for status, response in operation["responses"].items()]
    parts += ["<h4>Responses</h4>", table(("Status", "Meaning", "Body", "Headers", "Error codes"), rows)]
    return "".join(parts) + "</section>"


@functools.cache
def render() -> str:
    """The whole /docs page, from SPEC."""
    info, title = SPEC["info"], esc(SPEC["info"]["title"])
    ops = [(path, method, o) for path, item in SPEC["paths"].items() for method, o in item.items()]
    links = (f'<li><a href="#{o["operationId"]}"><span class="m {m}">{m.upper()}</span>{code(p)}</a></li>' for p, m, o in ops)  # fmt: skip
    body = [
        f"<h1>{title} API</h1><p>{esc(info['description'])}</p>",
        '<p class="note">Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.0.3).</p>',
        f'<ul class="toc">{"".join(links)}</ul>',
    ]
    for tag in SPEC["tags"]:
        body.append(f"<h2>{esc(tag['name'])}</h2><p>{esc(tag['description'])}</p>")
        body += [operation_html(p, m, o) for p, m, o in ops if tag["name"] in o["tags"]]
    body.append("<h2>Schemas</h2>")
    for name, schema in SCHEMAS.items():
        fields = table(("Field", "Type", "Required", "Notes"), field_rows(schema, expand=False))
        body.append(f'<section id="schema-{name}"><h3>{name}</h3><p>{esc(schema.get("description", ""))}</p>{fields}</section>')  # fmt: skip
    head = (
        f'<meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{title} API</title>'
    )
    return f'<!doctype html><html lang="en"><head>{head}<style>{CSS}</style></head><body>{"".join(body)}</body></html>'


async def openapi_json(_request: web.Request) -> web.Response:
    return web.json_response(SPEC)


async def docs(_request: web.Request) -> web.Response:
    return web.Response(text=render(), content_type="text/html")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/openapi.json", openapi_json)
    app.router.add_get("/docs", docs)
