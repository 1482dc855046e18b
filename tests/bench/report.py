"""Turns what one benchmark phase measured into figures, and both phases into one table."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tests.bench.load import PathStats

NA = "n/a"

# (key, label) in print order.
ROWS = [
    ("offered", "offered events/s (schedule)"),
    ("emitted", "emitted events/s (workers)"),
    ("accepted", "accepted events/s at gateway"),
    ("calls", "ReportProgress calls/s"),
    ("rows", "progress rows/s sent to jobstore"),
    ("per_call", "updates per ReportProgress call"),
    ("pg_xacts", "DB write transactions/s (xids)"),
    ("pg_wal", "DB WAL written (KiB/s)"),
    ("feed", "job changes/s reaching gateway (WatchJobs)"),
    ("browser", "browser progress events/s"),
    ("p50", "emit->browser latency p50 (ms)"),
    ("p99", "emit->browser latency p99 (ms)"),
    ("matched", "latency samples (matched/emitted)"),
    ("lag", "worker send lag p99 (ms)"),
    ("cpu_gateway", "gateway CPU %"),
    ("cpu_jobstore", "jobstore CPU %"),
    ("cpu_postgres", "postgres CPU % (all backends)"),
    ("cpu_load", "load generator CPU % (workers+browser)"),
    ("cpu_others", "other processes CPU % (not haul's)"),
    ("cpu_machine", "whole machine CPU % busy"),
    ("problems", "errors / refusals / control msgs"),
]


@dataclass
class PhaseResult:
    name: str
    window: tuple[float, float]  # monotonic start and end of the measured window
    offered: int
    stats: PathStats
    job_ids: set[str]
    cpu: dict[str, float] = field(default_factory=dict)
    gateway: dict[str, float] = field(default_factory=dict)  # counter deltas over the window
    pg: dict[str, float] = field(default_factory=dict)  # PostgreSQL counter deltas over the window
    via_gateway: bool = True


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not values:
        return math.nan
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]


def _rate(value: float, seconds: float) -> str:
    return f"{value / seconds:,.1f}"


def _ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:,.1f}"


def summarize(result: PhaseResult, records: list[tuple[float, str, int]]) -> dict[str, str]:
    start, end = result.window
    seconds = end - start
    stats = result.stats
    received = 0  # inside the window, for the rate
    latencies: list[float] = []  # of every update matched, the window's last ones included
    for received_at, job_id, seq in records:
        if job_id not in result.job_ids:
            continue
        received += start <= received_at < end
        sent = stats.emitted.get((job_id, seq))
        if sent is not None:
            latencies.append(received_at - sent)
    latencies.sort()
    lags = sorted(stats.lags)
    if result.via_gateway:
        calls, rows = result.gateway["flushes"], result.gateway["updates"]
        accepted = _rate(result.gateway["accepted"], seconds)
    else:
        calls, rows = float(stats.calls_in_window), float(stats.rows_in_window)
        accepted = f"{NA} (direct)"
    cpu = result.cpu
    return {
        "offered": _rate(result.offered, seconds),
        "emitted": _rate(len(stats.emitted), seconds),
        "accepted": accepted,
        "calls": _rate(calls, seconds),
        "rows": _rate(rows, seconds),
        "per_call": f"{rows / calls:,.1f}" if calls else "-",
        "pg_xacts": _rate(result.pg["write_xacts"], seconds),
        "pg_wal": _rate(result.pg["wal_bytes"] / 1024, seconds),
        "feed": _rate(result.gateway["feed"], seconds),
        "browser": _rate(received, seconds),
        "p50": _ms(percentile(latencies, 0.50)),
        "p99": _ms(percentile(latencies, 0.99)),
        "matched": f"{len(latencies):,}/{len(stats.emitted):,}",
        "lag": _ms(percentile(lags, 0.99)),
        "cpu_gateway": f"{cpu['gateway']:.1f}",
        "cpu_jobstore": f"{cpu['jobstore']:.1f}",
        "cpu_postgres": f"{cpu['postgres']:.1f}",
        "cpu_load": f"{cpu['bench'] + cpu['browser']:.1f}",
        "cpu_others": f"{max(0.0, cpu['machine'] - sum(v for k, v in cpu.items() if k != 'machine')):.1f}",
        "cpu_machine": f"{cpu['machine']:.1f}",
        "problems": f"{stats.errors} / {stats.refused} / {stats.controls}",
    }


def render(header: list[str], columns: list[tuple[str, dict[str, str]]], notes: list[str]) -> str:
    label_width = max(len(label) for _key, label in ROWS)
    widths = [max(len(name), *(len(values[key]) for key, _ in ROWS)) for name, values in columns]
    rule = "-" * (label_width + sum(w + 3 for w in widths))
    lines = [*header, rule]
    lines.append(
        "metric".ljust(label_width)
        + "".join(f" | {name.rjust(w)}" for (name, _), w in zip(columns, widths, strict=True))
    )
    lines.append(rule)
    for key, label in ROWS:
        cells = "".join(f" | {values[key].rjust(w)}" for (_, values), w in zip(columns, widths, strict=True))
        lines.append(label.ljust(label_width) + cells)
    lines.append(rule)
    lines.extend(notes)
    return "\n".join(lines)
