"""How jobs look on a terminal: the progress line, the `ls` table, the `show` page."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, TextIO

from haulctl.api import Job, is_terminal

BAR_WIDTH = 24
UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_size(value: float | None) -> str:
    if value is None:
        return "?"
    size, unit = float(value), 0
    while size >= 1024 and unit < len(UNITS) - 1:
        size, unit = size / 1024, unit + 1
    return f"{int(size)} B" if unit == 0 else f"{size:.1f} {UNITS[unit]}"


def human_duration(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "?"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def bar(progress: float, width: int = BAR_WIDTH) -> str:
    filled = int(width * max(0.0, min(progress, 100.0)) / 100)
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def progress_line(job: Job, width: int | None = None) -> str:
    """`[#####-----]  45.2%  downloading  12.3 MiB/27.0 MiB  2.1 MiB/s  ETA 0:07`; to fit
    `width`, the stage goes first, then the byte counts."""
    progress = float(job.get("progress") or 0)
    status = str(job.get("status"))
    if status != "running":
        return f"{bar(progress)} {status}"
    stage, done, total = str(job.get("stage")), job.get("downloadedBytes"), job.get("totalBytes")
    counts = human_size(done) + (f"/{human_size(total)}" if total else "") if done else ""
    speed = f"{human_size(job['speed'])}/s" if job.get("speed") is not None else ""
    eta = f"ETA {human_duration(job['eta'])}" if job.get("eta") is not None else ""
    head = f"{bar(progress)} {progress:5.1f}%"
    for optional in ([stage, counts], [counts], []):
        line = "  ".join(part for part in (head, *optional, speed, eta) if part)
        if width is None or len(line) <= width:
            return line
    return line


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def job_name(job: Job) -> str:
    return str(job.get("filename") or (job.get("meta") or {}).get("title") or job.get("url") or "")


def job_table(jobs: list[Job], width: int | None = None) -> str:
    """One line per job: the full id (commands take it), status, progress, size, name."""
    if not jobs:
        return "no jobs"
    width = width or shutil.get_terminal_size((120, 24)).columns
    header = f"{'ID':36}  {'STATUS':9}  {'PROGRESS':>8}  {'SIZE':>10}  NAME"
    lines = [header]
    for job in jobs:
        size = job.get("size") if job.get("status") == "completed" else job.get("totalBytes")
        line = (
            f"{job['id']:36}  {job.get('status', '?'):9}  {float(job.get('progress') or 0):7.1f}%"
            f"  {human_size(size) if size else '-':>10}  "
        )
        lines.append(line + _fit(job_name(job), max(10, width - len(line))))
    return "\n".join(lines)


def job_details(job: Job, file_url: str | None = None) -> str:
    """`show`: the job's fields that mean something now, then its history."""
    rows: list[tuple[str, Any]] = [
        ("id", job.get("id")),
        ("url", job.get("url")),
        ("type", job.get("type")),
        ("status", job.get("status")),
    ]
    if not is_terminal(job):
        rows.append(("progress", progress_line(job)))
    options = {k: v for k, v in (job.get("options") or {}).items() if v}
    if options:
        rows.append(("options", ", ".join(f"{k}={v}" for k, v in options.items())))
    title = (job.get("meta") or {}).get("title")
    rows += [
        ("title", title),
        ("file", job.get("filename")),
        ("size", job.get("size") and human_size(job["size"])),
    ]
    rows += [("sha256", job.get("sha256")), ("link", file_url if job.get("status") == "completed" else None)]
    counts = job.get("collection")
    if counts:  # a collection: its entries' counts, and its ZIP once one has a file
        rows += [("entries", _entry_counts(counts)), ("zip", file_url if counts.get("completed") else None)]
    if job.get("parentId"):
        rows.append(("entry of", f"{job['parentId']} (entry {job.get('entryIndex')})"))
    if job.get("errorCode"):
        rows.append(("error", f"{job['errorCode']}: {job.get('errorMessage') or ''}"))
    rows += [("attempt", f"{job.get('attempt')} of {job.get('maxAttempts')} per window")]
    rows += [("created", job.get("createdAt")), ("updated", job.get("updatedAt"))]
    rows += [("finished", job.get("finishedAt"))]
    lines = [f"{name:9} {value}" for name, value in rows if value not in (None, "")]
    history = job.get("history") or []
    if history:
        lines.append("history")
        for event in history:
            moved = f"{event.get('from') or '-'} -> {event.get('to')}"
            lines.append(
                f"  {event.get('at')}  {moved:22}  {event.get('actor')}  {event.get('reason') or ''}".rstrip()
            )
    return "\n".join(lines)


def _entry_counts(counts: dict[str, Any]) -> str:
    text = f"{counts.get('completed') or 0} of {counts.get('total') or 0} completed"
    for name in ("failed", "cancelled", "running", "queued", "paused", "skipped"):
        if counts.get(name):
            text += f", {counts[name]} {name}"
    if counts.get("truncated"):
        text += f" (capped: the source listed {counts.get('listed')})"
    return text


def outcome_text(job: Job, link: str, saved: Path | None) -> str:
    status = str(job.get("status"))
    if status == "completed":
        lines = [f"completed  {job.get('filename')} ({human_size(job.get('size'))})"]
        lines += [f"sha256     {job.get('sha256')}", f"link       {link}"]
        if saved is not None:
            lines.append(f"saved      {saved}")
        return "\n".join(lines)
    if job.get("errorCode") and status == "failed":
        return f"{status:10} {job['errorCode']}: {job.get('errorMessage') or ''}"
    return f"{status:10} {job.get('id')}"


class ProgressReporter:
    """Draws the progress line on a terminal (redrawn in place), or on anything else writes a
    line only when the status or stage changes, so logs stay short."""

    def __init__(self, stream: TextIO, enabled: bool = True) -> None:
        self._stream = stream
        self._enabled = enabled
        self._tty = stream.isatty()
        self._last_state: tuple[Any, Any] | None = None
        self._drawn = 0

    def update(self, job: Job) -> None:
        if not self._enabled:
            return
        if self._tty:
            width = shutil.get_terminal_size((80, 24)).columns - 1
            self.draw(_fit(progress_line(job, width), width))
            return
        state = (job.get("status"), job.get("stage"))
        if state == self._last_state:
            return
        self._last_state = state
        self._stream.write(f"{job.get('id')}  {state[0]}  {state[1]}\n")
        self._stream.flush()

    def draw(self, line: str) -> None:
        """Redraw the line in place (on a terminal)."""
        self._stream.write("\r" + line.ljust(self._drawn))
        self._drawn = len(line)
        self._stream.flush()

    def note(self, text: str) -> None:
        """A message of its own line, even while the progress line is drawn."""
        if self._tty and self._drawn:
            self._stream.write("\n")
            self._drawn = 0
        self._stream.write(f"haul: {text}\n")
        self._stream.flush()

    def finish(self) -> None:
        if self._enabled and self._tty and self._drawn:
            self._stream.write("\n")
            self._stream.flush()
            self._drawn = 0


# -- collections -------------------------------------------------------------------------------


def is_collection(job: Job) -> bool:
    return bool(job.get("collection"))


def collection_line(parent: Job, width: int | None = None) -> str:
    """`[#####-----]  45.0%  9/20 done  1 failed  3 running  A podcast`: the aggregate bar of a
    collection, its counts (those that are not zero), and its title as far as it fits."""
    counts = parent.get("collection") or {}
    progress = float(parent.get("progress") or 0)
    parts = [
        f"{bar(progress)} {progress:5.1f}%",
        f"{counts.get('completed') or 0}/{counts.get('total') or 0} done",
    ]
    for name in ("failed", "cancelled", "running", "paused", "skipped"):
        if counts.get(name):
            parts.append(f"{counts[name]} {name}")
    if is_terminal(parent):
        parts.append(str(parent.get("status")))
    line = "  ".join(parts)
    title = str(counts.get("title") or "")
    if title:
        room = None if width is None else width - len(line) - 2
        if room is None or room >= 8:
            line += "  " + (title if room is None else _fit(title, room))
    return line


def item_line(child: Job) -> str:
    """One finished entry: `completed  0003  Episode 3.mp3 (12.3 MiB)`, `failed     0004  Title:
    HTTP_ERROR: 404`, `cancelled  0005  Title`."""
    status, index = str(child.get("status")), f"{int(child.get('entryIndex') or 0):04d}"
    if status == "completed":
        return f"{status:10} {index}  {child.get('filename')} ({human_size(child.get('size'))})"
    name = str((child.get("meta") or {}).get("title") or child.get("url") or "")
    if status == "failed":
        reason = f"{child.get('errorCode') or 'FAILED'}: {child.get('errorMessage') or ''}".rstrip(": ")
        return f"{status:10} {index}  {name}: {reason}"
    return f"{status:10} {index}  {name}"


def collection_outcome(parent: Job, zip_link: str, saved: Path | None) -> str:
    """The summary after a collection ended: counts, then where its ZIP is."""
    counts = parent.get("collection") or {}
    summary = _entry_counts(counts)
    lines = [f"{parent.get('status')!s:10} {counts.get('title') or parent.get('url')}: {summary}"]
    if counts.get("completed"):
        lines.append(f"zip        {zip_link}")
    if saved is not None:
        lines.append(f"saved      {saved}")
    return "\n".join(lines)


class CollectionReporter:
    """A collection on a terminal: finished entries as lines on `out` (the results), the
    aggregate bar on `progress` (redrawn in place on a terminal, a line per change of counts
    elsewhere). On a terminal both usually are the same screen, so the bar is cleared before
    an entry's line and drawn again after it."""

    def __init__(self, out: TextIO, progress: TextIO, show_progress: bool = True) -> None:
        self._out = out
        self._bars = ProgressReporter(progress, enabled=show_progress)
        self._progress = progress
        self._show = show_progress
        self._tty = progress.isatty()
        self._last_line = ""
        self._last_counts: Any = None

    def parent(self, parent: Job) -> None:
        if not self._show:
            return
        if self._tty:
            width = shutil.get_terminal_size((80, 24)).columns - 1
            self._last_line = _fit(collection_line(parent, width), width)
            self._bars.draw(self._last_line)
            return
        counts = (parent.get("status"), parent.get("collection"))
        if counts != self._last_counts:
            self._last_counts = counts
            self._progress.write(collection_line(parent) + "\n")
            self._progress.flush()

    def item(self, child: Job) -> None:
        self._bars.finish()
        self._out.write(item_line(child) + "\n")
        self._out.flush()
        if self._show and self._tty and self._last_line:
            self._bars.draw(self._last_line)

    def finish(self) -> None:
        self._bars.finish()
