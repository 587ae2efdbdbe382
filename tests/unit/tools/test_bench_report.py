"""The pure helpers of `guardrail bench kafka`: percentiles, /proc parsing, ratios, tables."""

from __future__ import annotations

import json

from guardrail.tools.bench.report import (
    Figures,
    format_table,
    rate,
    ratio,
    ratios,
    to_json,
)


def test_rate_and_ratio_need_a_positive_denominator() -> None:
    assert rate(1000, 2.0) == 500.0
    assert rate(1000, 0.0) is None
    assert rate(1000, None) is None
    assert ratio(1.0, 4.0) == 0.25
    assert ratio(None, 4.0) is None
    assert ratio(1.0, 0.0) is None


def _figures() -> dict[str, Figures]:
    return {
        "confluent": Figures("confluent", events_per_s=40_000.0, events_per_cpu_s=50_000.0),
        "faust": Figures("faust", events_per_s=10_000.0, events_per_cpu_s=8_000.0),
        "guardrail": Figures(
            "guardrail",
            events_per_s=8_000.0,
            recommendations_per_s=1_600.0,
            latency_p50_ms=12.5,
            latency_p99_ms=40.0,
            latency_rate_rec_s=1000.0,
            peak_rss_mb=150.0,
            events_per_cpu_s=6_000.0,
        ),
    }


def test_ratios_are_guardrail_over_each_baseline() -> None:
    found = ratios(_figures())
    assert found["c/a"] == 0.2
    assert found["c/b"] == 0.8
    assert found["c2/c"] is None  # not measured
    assert found["c/b per CPU-s"] == 0.75


def test_table_lists_measured_candidates_in_order_and_the_ratios() -> None:
    text = format_table(_figures())
    lines = text.splitlines()
    assert lines[2].startswith("a  confluent-kafka passthrough")
    assert lines[4].startswith("c  guardrail worker")
    assert "40.0" in lines[4] and "8,000" in lines[4]
    assert "pure engine" not in text
    assert "c/a = 0.20" in lines[-1] and "c/b = 0.80" in lines[-1]


def test_json_holds_run_load_candidates_and_ratios() -> None:
    document = json.loads(to_json(_figures(), {"events": 10}, "1.00 1.00 1.00", "2.00 2.00 2.00"))
    assert document["run"] == {"events": 10}
    assert document["load_average"] == {"before": "1.00 1.00 1.00", "after": "2.00 2.00 2.00"}
    assert document["candidates"]["guardrail"]["latency_p99_ms"] == 40.0
    assert document["ratios"]["c/a"] == 0.2
