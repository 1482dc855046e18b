"""Serves the API description: the document at `GET /openapi.json` and a readable page at
`GET /docs`, rendered from the document on the server (no script, nothing fetched).
"""

from __future__ import annotations

import functools
import html
import re
from typing import Any

from aiohttp import web

from gateway.openapi import SPEC
from gateway.openapi_builders import JSON, Schema, error_codes
from gateway.openapi_components import SCHEMAS

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
        label = " + ".join([*map(type_label, refs), *(["{" + ", ".join(added) + "}"] if added else [])])
        return label + (" | null" if schema.get("nullable") else "")
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
        if "enum" in schema:  # an enum's members, instead of a table of fields
            fields = f"<p>One of {type_label(schema)}.</p>"
        else:
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
