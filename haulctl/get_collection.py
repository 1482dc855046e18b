"""`haul get` on a URL that became a collection (a playlist, channel or feed): follow the parent
and its entries to the end.

On a terminal: the collection's aggregate bar on stderr, and one line per finished entry on
stdout (completed: file name and size; failed: the reason). With `--json`, stdout is JSON lines
instead: `{"event": "item", "job": {...}}` per finished entry, then `{"event": "collection",
"job": {...}}` for the parent once it ended. Exit code 0 when every entry completed, 4
(EXIT_JOB_FAILED) when any failed or was cancelled, or the collection did; `-o` saves the ZIP of
the completed entries' files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from haulctl.api import Job, JobApi, JobList
from haulctl.display import CollectionReporter, collection_outcome
from haulctl.errors import EXIT_INTERRUPTED, EXIT_JOB_FAILED, EXIT_OK, CliError
from haulctl.follow import CollectionFollower
from haulctl.gateway_api import GatewayApi

PAGE_SIZE = 200


@dataclass
class CollectionGet:
    api: JobApi
    files: GatewayApi
    as_json: bool
    quiet: bool
    stdout: TextIO
    stderr: TextIO

    def _line(self, value: dict[str, Any]) -> None:
        self.stdout.write(json.dumps(value) + "\n")
        self.stdout.flush()

    def follow(self, parent: Job, output: Path | None) -> int:
        parent_id = str(parent["id"])
        show = not self.quiet and (self.stderr.isatty() or not self.as_json)
        reporter = CollectionReporter(self.stdout, self.stderr, show_progress=show)

        def on_item(child: Job) -> None:
            if self.as_json:
                self._line({"event": "item", "job": child})
            else:
                reporter.item(child)

        def list_children(parent_id: str, statuses: list[str], cursor: str | None) -> JobList:
            return self.api.list(statuses, PAGE_SIZE, cursor, parent=parent_id)

        follower = CollectionFollower(lambda: self.api.get(parent_id), list_children)
        try:
            parent = follower.run(reporter.parent, on_item)
        except KeyboardInterrupt:
            reporter.finish()
            raise CliError(
                f"stopped following; the collection goes on (haul show {parent_id})",
                "interrupted",
                EXIT_INTERRUPTED,
            ) from None
        reporter.finish()
        counts = parent.get("collection") or {}
        saved = None
        if output is not None and counts.get("completed"):
            zip_job = {"id": parent_id, "filename": f"collection-{parent_id[:8]}.zip", "sha256": ""}
            saved = self.files.download(zip_job, output)
        if self.as_json:
            self._line({"event": "collection", "job": parent, **({"savedTo": str(saved)} if saved else {})})
        else:
            self.stdout.write(collection_outcome(parent, self.files.file_url(parent_id), saved) + "\n")
        return EXIT_OK if all_completed(parent) else EXIT_JOB_FAILED


def all_completed(parent: Job) -> bool:
    counts = parent.get("collection") or {}
    return (
        parent.get("status") == "completed"
        and not counts.get("failed")
        and not counts.get("cancelled")
        and (counts.get("completed") or 0) == (counts.get("total") or 0)
    )
