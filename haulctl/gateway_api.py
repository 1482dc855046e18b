"""The gateway's REST API over the standard library's HTTP client.

The gateway is also the only place finished files come from, so downloads go through here
even when jobs are managed over gRPC.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from haulctl.api import Job, JobList, Submission
from haulctl.errors import EXIT_UNREACHABLE, CliError
from haulctl.follow import SocketWatch

CHUNK = 1024 * 1024
TOKEN_HINT = " (give it with --token or HAUL_API_TOKEN)"


def api_error(status: int, body: bytes) -> CliError:
    """The gateway's `{"error": {"code", "message"}}` as a CliError; anything else, in words."""
    code, message = f"http_{status}", f"the gateway answered HTTP {status}"
    with contextlib.suppress(ValueError, AttributeError, TypeError):
        error = json.loads(body)["error"]
        code, message = str(error["code"]), str(error["message"])
    if status == 401:
        message += TOKEN_HINT
    return CliError(message, code, EXIT_UNREACHABLE if status == 503 else 1)


class GatewayApi:
    def __init__(self, base_url: str, token: str | None, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    # -- plumbing ------------------------------------------------------------------------

    def _open(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        """An open response for a 2xx answer; a CliError for anything else."""
        all_headers = {"Accept": "application/json", **(headers or {})}
        if self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base_url + path, data, all_headers, method=method)
        try:
            return urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            with exc:
                raise api_error(exc.code, exc.read()) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise CliError(
                f"cannot reach the gateway at {self.base_url}: {reason}", "unreachable", EXIT_UNREACHABLE
            ) from None

    def _json(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        with self._open(method, path, body, headers) as response:
            raw = response.read()
        try:
            return json.loads(raw)
        except ValueError:
            raise CliError(
                f"the gateway at {self.base_url} did not answer with JSON", "bad_response"
            ) from None

    # -- jobs ----------------------------------------------------------------------------

    def submit(self, submission: Submission) -> Job:
        headers = {"Idempotency-Key": submission.idempotency_key} if submission.idempotency_key else {}
        created = self._json("POST", "/downloads", submission.body(), headers)
        return self.get(str(created["jobId"]))

    def get(self, job_id: str) -> Job:
        job: Job = self._json("GET", f"/downloads/{urllib.parse.quote(job_id, safe='')}")
        return job

    def list(self, statuses: list[str], limit: int, cursor: str | None, parent: str | None = None) -> JobList:
        query = {"limit": str(limit)}
        if parent:
            query["parent"] = parent
        if statuses:
            query["status"] = ",".join(statuses)
        if cursor:
            query["cursor"] = cursor
        page = self._json("GET", f"/downloads?{urllib.parse.urlencode(query)}")
        return JobList(list(page["items"]), page.get("nextCursor"))

    def control(self, job_id: str, action: str) -> Job:
        job: Job = self._json("POST", f"/downloads/{urllib.parse.quote(job_id, safe='')}/{action}")
        return job

    def delete(self, job_id: str) -> dict[str, Any]:
        reply: dict[str, Any] = self._json("DELETE", f"/downloads/{urllib.parse.quote(job_id, safe='')}")
        return reply

    def live_watch(self, job_id: str) -> Callable[[], SocketWatch]:
        return lambda: SocketWatch(self.base_url, self.token, job_id, self.timeout)

    def close(self) -> None:
        pass

    # -- files ---------------------------------------------------------------------------

    def file_url(self, job_id: str) -> str:
        return f"{self.base_url}/files/{urllib.parse.quote(job_id, safe='')}/download"

    def download(self, job: Job, destination: Path) -> Path:
        """Save the job's file at `destination` (or inside it, when it is a folder), checking
        its SHA-256 against the job's before it takes the final name."""
        target = destination / Path(str(job["filename"])).name if destination.is_dir() else destination
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        fd, partial = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out, self._open("GET", f"/files/{job['id']}/download") as response:
                try:
                    while chunk := response.read(CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
                    raise CliError(
                        f"the download from {self.base_url} broke off: {exc}", "unreachable", EXIT_UNREACHABLE
                    ) from None
            if job.get("sha256") and digest.hexdigest() != job["sha256"]:
                raise CliError(
                    f"the downloaded file's SHA-256 is {digest.hexdigest()}, the job says {job['sha256']}",
                    "checksum_mismatch",
                )
            os.replace(partial, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)
        return target
