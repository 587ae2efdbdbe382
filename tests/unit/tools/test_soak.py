"""The soak report's arithmetic: percentiles, RSS growth after warm-up, the summary text."""

from __future__ import annotations

import os

import pytest

from guardrail.tools.soak import Tracker, rss_mb
from guardrail.tools.soak_report import Sample, format_sample, rss_trend, summary_lines


def _samples(rss: list[float], every: float = 30.0) -> list[Sample]:
    return [
        Sample(
            t_s=every * (i + 1),
            produced=3000,
            decided=600,
            p50_ms=40.0,
            p99_ms=120.0 + i,
            rss_mb=mb,
            interval_s=every,
        )
        for i, mb in enumerate(rss)
    ]


def test_flat_rss_after_a_warm_up_climb_is_stable() -> None:
    trend = rss_trend(_samples([80, 95, 110, 120, 121, 120, 121, 120, 121]))
    assert trend is not None
    assert trend.grew is False
    assert abs(trend.growth_pct) < 1.0
    assert abs(trend.slope_mb_per_min) < 0.5


def test_steadily_growing_rss_is_flagged() -> None:
    trend = rss_trend(_samples([100 + 10 * i for i in range(9)]))
    assert trend is not None
    assert trend.grew is True
    assert trend.slope_mb_per_min == pytest.approx(20.0)  # 10 MB per 30 s
    assert trend.last_third_mb == pytest.approx(170.0)
    assert trend.second_third_mb == pytest.approx(140.0)


def test_too_few_samples_cannot_judge() -> None:
    assert rss_trend(_samples([100, 101])) is None
    assert rss_trend([]) is None
    assert "too few samples" in "\n".join(summary_lines(_samples([1.0]), 10, 2, 2))


def test_sample_rates_and_text() -> None:
    sample = _samples([123.4])[0]
    assert sample.events_per_s == 100.0
    assert sample.decisions_per_s == 20.0
    text = format_sample(sample)
    assert "100 ev/s" in text and "p99 120 ms" in text and "123.4 MB" in text


def test_summary_states_the_verdict() -> None:
    lines = summary_lines(_samples([90, 100, 100, 100, 100, 100]), 18_000, 3_600, 3_600)
    assert "18,000 events produced" in lines[0]
    assert "stable" in lines[-1]


def test_tracker_times_each_recommendation_once() -> None:
    tracker = Tracker()
    tracker.on_sent(None, 1.0)  # a signal
    tracker.on_sent("r-1", 1.0)
    tracker.on_decided("r-1", 1.25)
    tracker.on_decided("r-1", 1.5)  # a duplicate decision: not timed again
    produced, decided, latencies = tracker.take()
    assert (produced, decided, tracker.recommendations) == (2, 1, 1)
    assert latencies == [250.0]
    assert tracker.take()[2] == []


def test_rss_of_this_process() -> None:
    mb = rss_mb(os.getpid())
    assert mb is not None and mb > 1
    assert rss_mb(2**22 + 12345) is None  # beyond pid_max: no such process
