"""`haul sub ...` as a real command against an in-process gateway and jobstore (PostgreSQL, an
interval floor of 2 s), over REST and over --grpc."""

from __future__ import annotations

import asyncio
import json
import subprocess
from typing import Any

import pytest

from tests.integration.test_haulctl_client import ROOT, haul_command
from tests.support.inprocess import Stack

FEED = "https://media.example/podcast.xml"


async def haul(stack: Stack, *argv: str, grpc_api: bool = False) -> subprocess.CompletedProcess[str]:
    """The command in a thread: the services it talks to run on this test's event loop."""
    where = ["--grpc", f"127.0.0.1:{stack.jobstore.port}"] if grpc_api else ["--url", stack.base_url]
    command = [*haul_command(), "sub", *argv, *where]
    return await asyncio.to_thread(
        subprocess.run, command, cwd=ROOT, capture_output=True, text=True, timeout=60
    )


async def haul_json(stack: Stack, *argv: str, grpc_api: bool = False) -> Any:
    done = await haul(stack, *argv, "--json", grpc_api=grpc_api)
    assert done.returncode == 0, (done.stdout, done.stderr)
    return json.loads(done.stdout)


async def first_check(stack: Stack, subscription_id: str, grpc_api: bool) -> str:
    for _ in range(100):
        found = await haul_json(stack, "show", subscription_id, grpc_api=grpc_api)
        if found["lastJobId"]:
            return str(found["lastJobId"])
        await asyncio.sleep(0.1)
    raise AssertionError("the first check never started")


@pytest.mark.parametrize("grpc_api", [False, True], ids=["rest", "grpc"])
async def test_sub_add_ls_show_check_pause_resume_rm(subscribing: Stack, grpc_api: bool) -> None:
    made = await haul_json(
        subscribing, "add", FEED, "--every", "1h", "--type", "audio", "--max-items", "7", grpc_api=grpc_api
    )
    assert (made["url"], made["type"], made["intervalSeconds"], made["maxItems"], made["enabled"]) == (
        FEED, "audio", 3600, 7, True,
    )  # fmt: skip
    listed = await haul(subscribing, "ls", grpc_api=grpc_api)
    assert listed.returncode == 0 and made["id"] in listed.stdout and "1h" in listed.stdout
    job_id = await first_check(subscribing, made["id"], grpc_api)
    checked = await haul_json(subscribing, "check", made["id"], grpc_api=grpc_api)
    assert checked == {"jobId": job_id}, "the first check has not listed the feed yet: it is named again"
    paused = await haul_json(subscribing, "pause", made["id"], grpc_api=grpc_api)
    assert paused["enabled"] is False
    shown = await haul(subscribing, "show", made["id"], grpc_api=grpc_api)
    assert "paused" in shown.stdout and job_id in shown.stdout
    resumed = await haul_json(subscribing, "resume", made["id"], grpc_api=grpc_api)
    assert resumed["enabled"] is True
    removed = await haul(subscribing, "rm", made["id"], grpc_api=grpc_api)
    assert removed.returncode == 0 and "downloads stay" in removed.stdout
    gone = await haul(subscribing, "show", made["id"], "--json", grpc_api=grpc_api)
    assert gone.returncode == 1 and json.loads(gone.stdout)["error"]["code"] == "not_found"


async def test_an_interval_below_the_floor_is_refused_in_words(subscribing: Stack) -> None:
    done = await haul(subscribing, "add", FEED, "--every", "1")
    assert done.returncode == 1 and "at least 2" in done.stderr, done.stderr
    bad = await haul(subscribing, "add", FEED, "--every", "soon")
    assert bad.returncode == 2 and "15m" in bad.stderr
