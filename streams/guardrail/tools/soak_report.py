"""The soak's report (pure): samples, whether RSS grew after warm-up, the summary text."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from guardrail.tools.measure import percentile


@dataclass
class Sample:
    """One report interval."""

    t_s: float  # seconds since the load started, at the end of the interval
    produced: int  # events produced in the interval
    decided: int  # decisions received in the interval
    p50_ms: float | None
    p99_ms: float | None
    rss_mb: float | None
    interval_s: float

    @property
    def events_per_s(self) -> float:
        return self.produced / self.interval_s if self.interval_s else 0.0

    @property
    def decisions_per_s(self) -> float:
        return self.decided / self.interval_s if self.interval_s else 0.0


@dataclass
class RssTrend:
    second_third_mb: float
    last_third_mb: float
    growth_pct: float
    slope_mb_per_min: float
    grew: bool


def _slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of ``(x, y)`` points (0 for fewer than two distinct x)."""
    xs = [x for x, _ in points]
    if len(set(xs)) < 2:
        return 0.0
    return statistics.linear_regression(xs, [y for _, y in points]).slope


def rss_trend(samples: list[Sample], tolerance_pct: float = 5.0) -> RssTrend | None:
    """Did RSS grow after warm-up? The first third of the samples is warm-up.

    It grew when the last third's mean exceeds the second third's by more than
    ``tolerance_pct`` percent. None with fewer than three RSS samples.
    """
    points = [(s.t_s, s.rss_mb) for s in samples if s.rss_mb is not None]
    if len(points) < 3:
        return None
    third = len(points) // 3
    second = [y for _, y in points[third : 2 * third]]
    last = [y for _, y in points[2 * third :]]
    second_mean = sum(second) / len(second)
    last_mean = sum(last) / len(last)
    growth = (last_mean - second_mean) / second_mean * 100 if second_mean else 0.0
    slope = _slope([(x / 60, y) for x, y in points[third:]])
    return RssTrend(second_mean, last_mean, growth, slope, growth > tolerance_pct)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def format_sample(sample: Sample) -> str:
    rss = "-" if sample.rss_mb is None else f"{sample.rss_mb:.1f}"
    return (
        f"soak t={sample.t_s:6.0f}s  in {sample.events_per_s:8,.0f} ev/s  "
        f"out {sample.decisions_per_s:7,.0f} dec/s  latency p50 {_ms(sample.p50_ms)} ms "
        f"p99 {_ms(sample.p99_ms)} ms  worker RSS {rss} MB"
    )


def summary_lines(samples: list[Sample], produced: int, decided: int, wanted: int) -> list[str]:
    lines = [
        f"soak summary: {produced:,} events produced, {decided:,} of {wanted:,} "
        f"recommendations decided over {samples[-1].t_s if samples else 0:.0f} s"
    ]
    p99s = [s.p99_ms for s in samples if s.p99_ms is not None]
    if p99s:
        lines.append(
            f"  decision latency p99 per interval: median {percentile(p99s, 50):,.0f} ms, "
            f"worst {max(p99s):,.0f} ms"
        )
    trend = rss_trend(samples)
    if trend is None:
        lines.append("  RSS: too few samples to judge growth")
    else:
        verdict = "GREW" if trend.grew else "stable (no growth after warm-up)"
        lines.append(
            f"  worker RSS after warm-up: second third {trend.second_third_mb:.1f} MB, "
            f"last third {trend.last_third_mb:.1f} MB ({trend.growth_pct:+.1f}%), "
            f"slope {trend.slope_mb_per_min:+.2f} MB/min: {verdict}"
        )
    return lines
