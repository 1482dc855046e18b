"""The gateway against its own OpenAPI document.

The document must be valid OpenAPI 3.0, name every route the app serves, render as /docs, and
describe what the live API really does: schemathesis generates requests for every operation,
sends them to a running stack (jobstore on PostgreSQL plus the gateway) and checks each reply's
status code, content type, headers and body against the document, and that none is a 5xx.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re

import aiohttp
import openapi_spec_validator
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import checks

from haul.jobstore.v1 import jobstore_pb2 as pb
from tests.support.inprocess import Stack
from tests.support.worker_barrage import connect_worker

# Bounded and repeatable: the same cases every run, no example database, no shrinking.
EXAMPLES_PER_OPERATION = 30
HYPOTHESIS = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=list(HealthCheck),
    report_multiple_bugs=False,
    print_blob=False,
)
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
# Served by the app but not part of the REST API: Socket.IO and the web UI.
NOT_REST = re.compile(r"^/socket\.io/|^/$|^/assets")
FILE_BYTES = b"\x00haul test file\xff" * 512


def placeholders(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


async def fetch(stack: Stack, path: str) -> tuple[int, str, bytes]:
    async with aiohttp.ClientSession() as http, http.get(stack.base_url + path) as response:
        return response.status, response.content_type, await response.read()


async def create(http: aiohttp.ClientSession, stack: Stack, url: str) -> str:
    async with http.post(f"{stack.base_url}/downloads", json={"url": url}) as response:
        assert response.status == 202, await response.text()
        job_id: str = (await response.json())["jobId"]
        return job_id


async def seed_jobs(stack: Stack) -> dict[str, str]:
    """One job in each status, so generated requests reach past 404: files need a completed one."""
    client, ids = stack.gateway.jobstore, {}
    async with aiohttp.ClientSession() as http:
        for status in ("queued", "running", "paused", "completed", "failed", "cancelled"):
            ids[status] = await create(http, stack, f"https://media.example/{status}.mp4")
        for action, status in (("pause", "paused"), ("cancel", "cancelled")):
            async with http.post(f"{stack.base_url}/downloads/{ids[status]}/{action}") as response:
                assert response.status == 200, await response.text()
    claims = {s: await client.claim(ids[s], "openapi-test") for s in ("running", "completed", "failed")}
    folder = stack.data_dir / ids["completed"]
    folder.mkdir(parents=True)
    (folder / "clip.mp4").write_bytes(FILE_BYTES)
    completed = pb.CompleteJobRequest(
        job_id=ids["completed"],
        attempt=claims["completed"].attempt,
        filename="clip.mp4",
        output_path=f"{ids['completed']}/clip.mp4",
        size=len(FILE_BYTES),
        sha256=hashlib.sha256(FILE_BYTES).hexdigest(),
    )
    assert (await client.complete(completed)).accepted
    failed = pb.FailJobRequest(
        job_id=ids["failed"],
        attempt=claims["failed"].attempt,
        error_code="HTTP_ERROR",
        error_message="the server said 404",
        retryable=False,
    )
    assert (await client.fail(failed)).accepted
    return ids


def job_ids(operation: schemathesis.APIOperation, seeds: dict[str, str]) -> st.SearchStrategy[str | None]:
    """Half the time a seeded job (for /files, the completed one); else None, to keep the generated id."""
    if "{jobId}" not in operation.path:
        return st.none()
    if operation.path.startswith("/files"):
        return st.one_of(st.none(), st.just(seeds["completed"]))
    return st.one_of(st.none(), st.sampled_from(list(seeds.values())))


def fuzz(base_url: str, seeds: dict[str, str]) -> list[str]:
    """Run every operation's generated cases against the server; return the failures. Blocking."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", timeout=10)
    operations = [result.ok() for result in schema.get_all_operations()]
    # Deleting last keeps the seeded jobs alive for every other operation.
    operations.sort(key=lambda operation: operation.method.upper() == "DELETE")
    failures: list[str] = []
    with requests.Session() as session:
        for operation in operations:

            @HYPOTHESIS
            @given(case=operation.as_strategy(), job_id=job_ids(operation, seeds))
            def run(case: schemathesis.Case, job_id: str | None) -> None:
                if job_id is not None:
                    case.path_parameters["jobId"] = job_id
                response = case.call(base_url=base_url, session=session, timeout=10)
                transport = {"base_url": base_url, "session": session}
                case.validate_response(response, checks=CHECKS, transport_kwargs=transport)

            try:
                run()
            except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup is the latter
                failures.append(f"{operation.label}:\n{exc}")
    return failures


async def test_openapi_json_is_a_valid_document_naming_every_route(stack: Stack) -> None:
    status, content_type, raw = await fetch(stack, "/openapi.json")
    assert (status, content_type) == (200, "application/json")
    document = json.loads(raw)
    openapi_spec_validator.validate(document)
    assert document["openapi"] == "3.0.3"

    served = {
        (route.method, placeholders(route.resource.canonical))
        for route in stack.app.router.routes()
        if route.resource is not None
        and route.method not in ("HEAD", "OPTIONS", "*")
        and not NOT_REST.search(route.resource.canonical)
    }
    documented = {
        (method.upper(), placeholders(path)) for path, item in document["paths"].items() for method in item
    }
    assert documented == served
    assert {path for _, path in served} >= {"/downloads", "/files/{}/download", "/health", "/metrics"}


async def test_docs_page_is_self_contained_and_lists_every_operation(stack: Stack) -> None:
    status, content_type, raw = await fetch(stack, "/docs")
    assert (status, content_type) == (200, "text/html")
    page = raw.decode()
    _, _, spec = await fetch(stack, "/openapi.json")
    document = json.loads(spec)
    for path, item in document["paths"].items():
        assert f"<code>{path}</code>" in page
        for method, operation in item.items():
            assert f'id="{operation["operationId"]}"' in page
            assert f">{method.upper()}</span>" in page
    for code in ("invalid_json", "url_refused", "idempotency_key_reused", "not_completed", "conflict"):
        assert f"<code>{code}</code>" in page
    for name in document["components"]["schemas"]:
        assert f'id="schema-{name}"' in page
    assert "<script" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "the page must not load anything"


async def test_the_live_api_conforms_to_its_document(stack: Stack) -> None:
    seeds = await seed_jobs(stack)
    # A worker connected, as in any running haul: /health is ready (200) rather than 503.
    worker = await connect_worker(stack)
    try:
        await worker.emit("hello", {"workerId": "openapi-check-worker", "tools": {"aria2": "ok (system)"}})
        async with aiohttp.ClientSession() as http:
            for _ in range(100):  # hello is not acked: poll, bounded
                if (await http.get(f"{stack.base_url}/health")).status == 200:
                    break
                await asyncio.sleep(0.05)
        # schemathesis blocks; the stack keeps serving from this event loop meanwhile.
        failures = await asyncio.to_thread(fuzz, stack.base_url, seeds)
    finally:
        await worker.client.disconnect()
    assert not failures, "\n\n".join(failures)


async def test_a_cursor_the_server_did_not_issue_is_400_invalid_cursor(stack: Stack) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{stack.base_url}/downloads?cursor=abc") as response,
    ):
        assert (response.status, (await response.json())["error"]["code"]) == (400, "invalid_cursor")


GOOD_BODY = b'{"url": "https://media.example/a.mp4"}'
UNUSABLE_BODIES = {
    "nested-30000-deep": (b"[" * 30_000 + b"]" * 30_000, "application/json"),
    "5000-digit-number": (
        GOOD_BODY[:-1] + b', "options": {"maxHeight": 1' + b"0" * 5000 + b"}}",
        "application/json",
    ),
    "unknown-charset": (GOOD_BODY, "application/json; charset=no-such-charset"),
}


@pytest.mark.parametrize("name", UNUSABLE_BODIES)
async def test_an_unusable_body_is_a_4xx_error_not_a_500(stack: Stack, name: str) -> None:
    body, content_type = UNUSABLE_BODIES[name]
    headers = {"Content-Type": content_type}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{stack.base_url}/downloads", data=body, headers=headers) as response,
    ):
        error = (await response.json())["error"]
        assert 400 <= response.status < 500, f"{response.status} {error}"
