"""The pure parts of `make bench-latency`: step marks read from log lines, a job's timeline
relative to its submit, and percentiles over runs.

The services log `event="timeline"` lines (haul.runtime.timeline) as JSON, one a line, among
their other output; a mark names its job by `job_id`, or, in a work horse before the job's
arguments are read, by RQ's id (`haul-<job id>-a<attempt>`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

RQ_ID = re.compile(r"haul-([0-9a-f-]{36})-a[0-9]+")

Marks = dict[str, dict[str, float]]  # job id -> step -> first wall-clock time seen


def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def mark_job_id(record: Mapping[str, object]) -> str | None:
    job_id = record.get("job_id")
    if isinstance(job_id, str) and job_id:
        return job_id
    rq_id = record.get("rq_job_id")
    if isinstance(rq_id, str) and (match := RQ_ID.fullmatch(rq_id)):
        return match.group(1)
    return None


def read_marks(lines: Iterable[str], into: Marks | None = None) -> Marks:
    """Every timeline mark in `lines`, by job and step; a step marked twice keeps its first time
    (an enqueue repeated by the reconciler, say)."""
    marks: Marks = {} if into is None else into
    for line in lines:
        if '"timeline"' not in line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict) or record.get("event") != "timeline":
            continue
        job_id, step, at = mark_job_id(record), record.get("step"), record.get("t")
        if job_id is None or not isinstance(step, str) or not isinstance(at, int | float):
            continue
        marks.setdefault(job_id, {}).setdefault(step, float(at))
    return marks


def offsets_ms(submitted_at: float, steps: Mapping[str, float]) -> dict[str, float]:
    """Each step's time in ms after the submit (the client's send time)."""
    return {step: (at - submitted_at) * 1000.0 for step, at in steps.items()}


@dataclass(frozen=True)
class StepFigure:
    step: str
    p50_ms: float
    p95_ms: float
    seen: int


def summarize(runs: Sequence[Mapping[str, float]], order: Sequence[str] = ()) -> list[StepFigure]:
    """p50 and p95 of each step over the runs that reached it, ordered by p50 (steps happen in
    that order on most runs; a fixed order would hide a step that moved); `order` breaks ties."""
    rank = {step: index for index, step in enumerate(order)}
    steps = {step for run in runs for step in run}
    figures = []
    for step in steps:
        values = [run[step] for run in runs if step in run]
        figures.append(StepFigure(step, percentile(values, 0.5), percentile(values, 0.95), len(values)))
    return sorted(figures, key=lambda f: (f.p50_ms, rank.get(f.step, len(rank)), f.step))


def timeline_table(title: str, figures: Sequence[StepFigure], runs: int, labels: Mapping[str, str]) -> str:
    """Step, p50, p95, the p50 gap from the step before, and in how many runs it was seen."""
    lines = [title, f"  {'step':34} {'p50 ms':>8} {'p95 ms':>8} {'+p50 ms':>8} {'seen':>7}"]
    previous = 0.0
    for figure in figures:
        gap = figure.p50_ms - previous
        previous = figure.p50_ms
        label = labels.get(figure.step, figure.step)
        lines.append(
            f"  {label:34} {figure.p50_ms:8.0f} {figure.p95_ms:8.0f} {gap:8.0f} {figure.seen:>3}/{runs:<3}"
        )
    return "\n".join(lines)
