"""The step before a download: is the job's URL a collection (a playlist, channel or feed)?

Which jobs are resolved: `auto`, `video` and `audio` jobs without a parent. A `file` job never
is (a file URL is downloaded as it is), nor is a collection's entry (one level: a parent's
counts are its children's). A collection ends the attempt: the worker reports its entries
(`collection` on /worker) and jobstore creates one child job per entry; nothing is downloaded.
Anything else goes on to the download exactly as before.

Where it runs: in the process the download would run in, through the same `ToolEgress`: the
isolated child when there is one (worker.isolation; its only way out is the guard's socket),
else the work horse. A feed is fetched by the same tool (yt-dlp) under the same guard as its
media would be.

What it costs a single video: one flat extraction before the download, i.e. the extractor
reads the page (or a site's API) once more; for a direct file, one GET whose body is not read
past what the generic extractor sniffs. Not avoided, because nothing cheaper tells: a probe's
Content-Type cannot (a podcast feed is served as XML, which the engine choice takes for a plain
file), and the download's own full extraction runs with `noplaylist`, which reads a feed as
its entries' media one by one.

A URL that looks like a page or a feed but that yt-dlp cannot read (COLLECTION_UNREADABLE: a
malformed feed, a page without media) fails the job, not retried, with a message that says
`type: file` downloads it as it is: a subscription's check of a broken feed must fail with a
clear reason rather than "complete" by saving the broken XML. Before collections, an `auto`
job of such a URL served as XML was saved as a plain file; a plain file whose first bytes are
not markup is still a single download (yt-dlp's generic extractor takes it for direct media).

How many entries: the job's max_items when it has one, else MAX_COLLECTION_ENTRIES (jobstore's
hard cap). jobstore applies its own default (HAUL_COLLECTION_MAX_ITEMS) and says `truncated`
when that cut entries; the worker does not know that setting.
"""

from __future__ import annotations

import os
import time

import structlog

from haul.contract import events as wire
from haul.contract.enums import JobType
from haul.contract.events import MAX_COLLECTION_ENTRIES, MAX_ENTRY_INDEX, CollectionEvent, JobSpec
from haul.contract.limits import MAX_MESSAGE, MAX_PATH
from haul.contract.urls import MAX_URL_LENGTH
from worker.collection_entries import Collection, CollectionEntry
from worker.collections import CollectionResolver
from worker.download import DownloadJob, WarmAria2, download
from worker.egress.tools import ToolEgress
from worker.engines.base import Downloaded, DownloadFailed, OnSample, StopCheck
from worker.finish import crash_point
from worker.link import GatewayLink
from worker.samples import Sample

log = structlog.get_logger(__name__)

# A report stays well under the gateway's Socket.IO message limit (2 MB): entries past this
# many bytes of JSON are cut off the end, and the collection says it was truncated.
REPORT_BYTES = 1536 * 1024
# How often resolving says it is alive (jobstore's reaper re-queues a job without a heartbeat).
BEAT_SECONDS = 1.0
UNREADABLE = "COLLECTION_UNREADABLE"
AS_A_FILE = "to download the URL as it is, submit it with type file"


def expands(spec: JobSpec) -> bool:
    """Whether the job's URL is resolved before it is downloaded."""
    return spec.type != JobType.FILE and spec.parent_id is None


def resolve_or_download(
    job: DownloadJob,
    egress: ToolEgress,
    on_sample: OnSample,
    should_stop: StopCheck,
    warm: WarmAria2 | None = None,
) -> Downloaded | Collection:
    """The collection the job's URL lists, or, when it lists none, its downloaded file (`warm`:
    see worker.download.download; the caller stops it when a collection ends the attempt)."""
    if expands(job.spec):
        egress.scrub_process_environment(os.environ)  # as the download does: only the guard is a way out
        resolver = CollectionResolver(egress)
        try:
            collection = resolver.resolve(
                job.spec.url,
                job.spec.max_items or MAX_COLLECTION_ENTRIES,
                job.spec.items,
                _beating(on_sample, should_stop),
            )
        except DownloadFailed as failure:
            if failure.code != UNREADABLE:
                raise
            raise DownloadFailed(UNREADABLE, f"{failure.message}; {AS_A_FILE}", retryable=False) from None
        if collection is not None:
            return collection
    return download(job, egress, on_sample, should_stop, warm)


def _beating(on_sample: OnSample, should_stop: StopCheck) -> StopCheck:
    """`should_stop`, which the resolver calls between requests, chunks and entries, sending a
    `resolving` reading at most once per BEAT_SECONDS: the job's heartbeat while it lists."""
    last = 0.0

    def check() -> str | None:
        nonlocal last
        now = time.monotonic()
        if now - last >= BEAT_SECONDS:
            last = now
            on_sample(Sample("resolving", 0.0))
        return should_stop()

    return check


def _report_entry(entry: CollectionEntry) -> wire.CollectionEntry:
    """The entry as the event carries it. A refused entry's URL is kept for the record only:
    cut and cleaned rather than refusing the whole report."""
    url = entry.url if entry.refused is None else entry.url.replace("\x00", "")[:MAX_URL_LENGTH]
    refused = (
        None if entry.refused is None else (entry.refused.replace("\x00", "")[:MAX_MESSAGE] or "refused")
    )
    return wire.CollectionEntry(
        key=entry.key.replace("\x00", "")[:MAX_PATH] or f"entry-{entry.index}",
        url=url,
        title=entry.title,
        index=entry.index,
        refused=refused,
        archive_id=entry.archive_id or None,
    )


def collection_event(job_id: str, attempt: int, seq: int, collection: Collection) -> CollectionEvent:
    """The `collection` event for a resolved collection, at most REPORT_BYTES of entries."""
    entries: list[wire.CollectionEntry] = []
    size, truncated = 0, collection.truncated
    for entry in collection.entries[:MAX_COLLECTION_ENTRIES]:
        if entry.index > MAX_ENTRY_INDEX:  # past any real listing: not one jobstore would store
            truncated = True
            continue
        report = _report_entry(entry)
        size += len(report.model_dump_json(by_alias=True, exclude_none=True)) + 1
        if size > REPORT_BYTES:
            truncated = True
            break
        entries.append(report)
    truncated = truncated or len(collection.entries) > MAX_COLLECTION_ENTRIES
    return CollectionEvent(
        job_id=job_id,
        attempt=attempt,
        seq=seq,
        title=collection.title,
        listed=min(collection.listed, MAX_ENTRY_INDEX),
        truncated=truncated,
        entries=entries,
    )


def report_collection(link: GatewayLink, job_id: str, collection: Collection, window: float) -> str:
    """Report the collection's entries (jobstore creates the children), resending for up to
    `window` s like an outcome. A resent report, or one from a later attempt after a crash,
    creates no child twice: jobstore keys children by (parent, entry key)."""
    attempt = link.attempt
    event = collection_event(job_id, attempt, link.next_seq(), collection)
    crash_point("resolved", attempt)
    reply = link.send_outcome("collection", event.wire(), window)
    crash_point("reported", attempt)
    log.info("collection reported", entries=len(event.entries), listed=event.listed,
             truncated=event.truncated, acknowledged=reply.ok, refusal=reply.refusal)  # fmt: skip
    if not reply.ok:
        return f"collection, not recorded: {reply.refusal}"
    return f"collection: {len(event.entries)} entries"
