"""Measuring a run: percentiles, and a process's memory and CPU time from /proc.

Shared by `guardrail soak` and `guardrail bench`, so that their figures mean the same.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from pathlib import Path


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0..100) of ``values``; None when there are none.

    Linear interpolation between the closest ranks: ``statistics.quantiles`` with
    ``method="inclusive"`` (numpy's default method too), so p0 is the minimum and p100 the
    maximum. ``q`` may have up to two decimals (p99.99).
    """
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} outside 0..100")
    if not values:
        return None
    cut = round(q * 100)  # the cut point among 10,000 quantiles
    if len(values) == 1 or cut in (0, 10_000):
        return float(min(values) if cut == 0 else max(values))
    return statistics.quantiles(values, n=10_000, method="inclusive")[cut - 1]


def proc_status_mb(pid: int, field: str) -> float | None:
    """A memory field (``VmHWM``, ``VmRSS``) of a live process in MB, from /proc/PID/status;
    None when the process is gone or has no such field."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    return status_field_mb(text, field)


def status_field_mb(status: str, field: str) -> float | None:
    for line in status.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # kB
    return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a live process (all its threads), from /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return parse_cpu_seconds(text, os.sysconf("SC_CLK_TCK"))


def parse_cpu_seconds(stat: str, ticks_per_s: int) -> float:
    fields = stat.rsplit(")", 1)[1].split()  # the command name may hold spaces
    return (int(fields[11]) + int(fields[12])) / ticks_per_s  # utime, stime


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"
