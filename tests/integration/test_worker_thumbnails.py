"""Thumbnails through the whole service: the browser only ever loads them from haul itself.

A page's `<video poster=...>` is what yt-dlp reports as the thumbnail. A real worker fetches it
through the job's egress guard and keeps a copy; the gateway serves the copy at
`/files/{id}/thumbnail`, and REST shows that link and never the site's URL. The attacker's move
is a poster whose name looks public but resolves to an address inside: the worker here runs in
its own mount namespace whose /etc/hosts sends `cdn.thumbs-example.com` to an "intranet" server on
127.0.0.9, and the guard allows only the media origin (127.0.0.1). The job completes, no copy
is kept, the guard logs the refusal, the intranet sees no request, and the page never gets the
URL. A poster that is SVG, HTML or too large is not kept either.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from aiohttp import web

from tests.integration.haul_stack import Haul, run_haul
from tests.integration.processes import ServiceProcess
from tests.support.databases import TEMPLATE_DB, clone_pg_database
from tests.support.hosts_namespace import HOSTS_FILE_ENV, available
from tests.support.loop_thread import AppThread
from tests.support.media_server import MediaServer, thumbnail_jpeg
from tests.support.servers import PostgresServer, RedisServer

API_TOKEN = "thumbnail-test-api-token-0123456789"
EVIL_NAME = "cdn.thumbs-example.com"
INTRANET_HOST = "127.0.0.9"
NO_HOSTS_NAMESPACE = available()


class Intranet(AppThread):
    """A service inside the network that a browser could reach and the guard must not: it counts
    every request and would answer with a perfectly good JPEG."""

    def __init__(self, jpeg: Path) -> None:
        super().__init__("intranet", INTRANET_HOST, timeout=30, access_log=None)
        self.jpeg = jpeg
        self.requests = 0

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/{name}", self._any)
        return app

    async def _any(self, _request: web.Request) -> web.FileResponse:
        self.requests += 1
        return web.FileResponse(self.jpeg)


@pytest.fixture(scope="module")
def intranet(media: MediaServer) -> Iterator[Intranet]:
    server = Intranet(thumbnail_jpeg(media.media.folder))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def haul(
    pg_server: PostgresServer,
    redis_server: RedisServer,
    media: MediaServer,
    intranet: Intranet,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Haul]:
    """Every service as a real process, an API token set, the guard letting only 127.0.0.1 through;
    the worker pool in a mount namespace with its own /etc/hosts, where that works."""
    folder = tmp_path_factory.mktemp("haul")
    database = pg_server.url(clone_pg_database(pg_server, TEMPLATE_DB))
    env = {"HAUL_EGRESS_ALLOWED_NETWORKS": "127.0.0.1/32", "HAUL_API_TOKEN": API_TOKEN}
    for haul in run_haul(database, redis_server.url(6), media, folder, **env):
        haul.http.headers["Authorization"] = f"Bearer {API_TOKEN}"
        if NO_HOSTS_NAMESPACE is None:
            haul.kill_worker_tree()
            hosts = folder / "hosts"
            hosts.write_text(f"127.0.0.1 localhost\n{INTRANET_HOST} {EVIL_NAME}\n", encoding="utf-8")
            worker_env = {**haul.worker_env, HOSTS_FILE_ENV: str(hosts)}
            worker = ServiceProcess(
                "tests.support.hosts_namespace", worker_env, folder / "worker.log", lambda: True
            )
            haul.worker = worker  # run_haul stops it, whatever happens next
            worker.start()
        yield haul


def download_with_poster(haul: Haul, poster: str) -> tuple[str, dict[str, object]]:
    job_id = haul.submit(haul.media.url(f"/poster?src={quote(poster, safe='')}"), "video")
    job = haul.wait_for(job_id)
    assert job["status"] == "completed", job
    return job_id, job


def thumbnail(haul: Haul, job_id: str) -> requests.Response:
    return haul.http.get(f"{haul.base_url}/files/{job_id}/thumbnail")


def saved_copies(haul: Haul, job_id: str) -> list[str]:
    return sorted(p.name for p in (haul.data_dir / job_id).glob(".thumbnail*"))


def shown_except_the_url(haul: Haul, job_id: str) -> str:
    """What REST shows of the job (alone and in the list), without the page's own URL, which
    carries the poster's address in its query."""
    detail = haul.http.get(f"{haul.base_url}/downloads/{job_id}").json()
    listed = [j for j in haul.http.get(f"{haul.base_url}/downloads").json()["items"] if j["id"] == job_id]
    shown = [detail, *listed]
    for body in shown:
        body.pop("url")
    return json.dumps(shown)


def test_a_poster_is_fetched_through_the_worker_and_served_by_haul(haul: Haul) -> None:
    source = thumbnail_jpeg(haul.media.media.folder).read_bytes()
    job_id, job = download_with_poster(haul, "/thumb.jpg")
    link = f"/files/{job_id}/thumbnail"
    assert job["meta"] == {**job["meta"], "thumbnail": link}  # type: ignore[dict-item]
    assert saved_copies(haul, job_id) == [".thumbnail.jpg"]
    assert not (haul.tmp_dir / job_id).exists()

    served = thumbnail(haul, job_id)
    assert served.status_code == 200
    assert served.content == source
    assert served.headers["Content-Type"] == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Cache-Control"] == "private, max-age=3600"
    again = haul.http.get(f"{haul.base_url}{link}", headers={"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304
    assert requests.get(f"{haul.base_url}{link}", timeout=10).status_code == 401, "the API token is needed"

    shown = shown_except_the_url(haul, job_id)
    assert link in shown and "thumb.jpg" not in shown, "the page gets haul's link, never the poster's"

    assert haul.http.delete(f"{haul.base_url}/downloads/{job_id}").status_code == 200
    assert thumbnail(haul, job_id).status_code == 404


def refusals_logged(haul: Haul, job_id: str) -> list[dict[str, object]]:
    lines = (haul.worker.log_path.read_text(errors="replace")).splitlines()
    events = []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if (
            isinstance(event, dict)
            and event.get("event") == "egress_refused"
            and event.get("job_id") == job_id
        ):
            events.append(event)
    return events


@pytest.mark.skipif(NO_HOSTS_NAMESPACE is not None, reason=f"no private /etc/hosts: {NO_HOSTS_NAMESPACE}")
def test_a_public_looking_poster_name_that_resolves_inside_is_refused_by_the_guard(
    haul: Haul, intranet: Intranet
) -> None:
    poster = f"http://{EVIL_NAME}:{intranet.port}/cam.jpg"
    job_id, job = download_with_poster(haul, poster)
    assert job["meta"]["thumbnail"] is None  # type: ignore[index]
    assert saved_copies(haul, job_id) == []
    assert thumbnail(haul, job_id).status_code == 404
    refused = refusals_logged(haul, job_id)
    assert [(e["host"], e["port"]) for e in refused] == [(EVIL_NAME, intranet.port)], refused
    assert INTRANET_HOST in str(refused[0]["reasons"]), "the name really resolved to the intranet"
    assert intranet.requests == 0, "nothing reached the address inside"
    assert EVIL_NAME not in shown_except_the_url(haul, job_id)


@pytest.mark.parametrize("poster", ["/thumb.svg", "/thumb-html.jpg", "/thumb-large.jpg"])
def test_a_poster_that_is_not_a_small_raster_image_is_not_kept(haul: Haul, poster: str) -> None:
    since = haul.media.mark()
    job_id, job = download_with_poster(haul, poster)
    assert haul.media.requests_for(poster, since), "the worker did fetch it"
    assert job["meta"]["thumbnail"] is None  # type: ignore[index]
    assert saved_copies(haul, job_id) == []
    assert thumbnail(haul, job_id).status_code == 404
