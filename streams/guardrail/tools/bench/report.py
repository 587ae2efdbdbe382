"""Figures of `guardrail bench kafka`: per-candidate results, ratios, the table, JSON.

Pure helpers (no broker, no clock) so they are unit-tested alone.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass, field
from typing import Any

from guardrail.tools.measure import proc_status_mb

# Candidate keys in table order, with their labels.
LABELS = {
    "confluent": "a  confluent-kafka passthrough",
    "confluent_txn": "ax passthrough, exactly once",
    "faust": "b  bare faust passthrough",
    "guardrail": "c  guardrail worker",
    "guardrail_x2": "c2 guardrail, 2 workers",
    "confluent_worker": "e  guardrail, confluent runtime",
    "confluent_worker_x2": "e2 confluent runtime, 2 workers",
    "inprocess": "f  in-process path, no Kafka",
    "engine": "d  pure engine",
}


@dataclass
class Figures:
    """What one candidate achieved. ``None`` means not measured (or not applicable)."""

    name: str
    events: int = 0
    recommendations: int = 0
    seconds: float | None = None
    events_per_s: float | None = None
    recommendations_per_s: float | None = None
    latency_p50_ms: float | None = None
    latency_p99_ms: float | None = None
    latency_max_ms: float | None = None
    latency_samples: int = 0
    latency_rate_rec_s: float | None = None
    peak_rss_mb: float | None = None
    drain_cpu_s: float | None = None  # CPU time of the processing process(es) while draining
    events_per_cpu_s: float | None = None  # robust against a busy machine, unlike events/s
    notes: list[str] = field(default_factory=list)


def rate(count: int, seconds: float | None) -> float | None:
    if not seconds or seconds <= 0:
        return None
    return round(count / seconds, 1)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)


def ratios(figures: dict[str, Figures]) -> dict[str, float | None]:
    """Throughput ratios c/a and c/b (events/s), and 2 workers / 1 worker."""

    def eps(name: str) -> float | None:
        found = figures.get(name)
        return found.events_per_s if found else None

    def cpu(name: str) -> float | None:
        found = figures.get(name)
        return found.events_per_cpu_s if found else None

    return {
        "c/a": ratio(eps("guardrail"), eps("confluent")),
        "c/b": ratio(eps("guardrail"), eps("faust")),
        "c2/c": ratio(eps("guardrail_x2"), eps("guardrail")),
        "c/a per CPU-s": ratio(cpu("guardrail"), cpu("confluent")),
        "c/b per CPU-s": ratio(cpu("guardrail"), cpu("faust")),
        "e/c per CPU-s": ratio(cpu("confluent_worker"), cpu("guardrail")),
        "e/f per CPU-s": ratio(cpu("confluent_worker"), cpu("inprocess")),
        "e/a": ratio(eps("confluent_worker"), eps("confluent")),
        "e2/e": ratio(eps("confluent_worker_x2"), eps("confluent_worker")),
    }


def vm_hwm_mb(pid: int) -> float | None:
    """Peak resident set (VmHWM) of a live process in MB; None if unreadable."""
    peak = proc_status_mb(pid, "VmHWM")
    return None if peak is None else round(peak, 1)


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "processor": platform.processor() or platform.machine(),
    }


def _cell(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def format_table(figures: dict[str, Figures]) -> str:
    """The figures as a fixed-width text table, then the ratios."""
    header = (
        f"{'candidate':<31} {'events/s':>9} {'recs/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'@recs/s':>7} {'RSS MB':>7} {'ev/CPU-s':>9}"
    )
    lines = [header, "-" * len(header)]
    for key, label in LABELS.items():
        f = figures.get(key)
        if f is None:
            continue
        lines.append(
            f"{label:<31} {_cell(f.events_per_s):>9} {_cell(f.recommendations_per_s):>8} "
            f"{_cell(f.latency_p50_ms, 1):>7} {_cell(f.latency_p99_ms, 1):>7} "
            f"{_cell(f.latency_rate_rec_s):>7} {_cell(f.peak_rss_mb):>7} "
            f"{_cell(f.events_per_cpu_s):>9}"
        )
    shown = ", ".join(
        f"{name} = {'-' if value is None else f'{value:.2f}'}"
        for name, value in ratios(figures).items()
    )
    lines.append(f"ratios (events/s): {shown}")
    return "\n".join(lines)


def to_json(
    figures: dict[str, Figures], run: dict[str, Any], load_before: str, load_after: str
) -> str:
    document = {
        "run": run,
        "machine": machine(),
        "load_average": {"before": load_before, "after": load_after},
        "candidates": {key: asdict(f) for key, f in figures.items()},
        "ratios": ratios(figures),
    }
    return json.dumps(document, indent=2) + "\n"
