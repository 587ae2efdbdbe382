"""The confluent worker counts decisions, events and dead letters when their checkpoint
commits: the same figures as counting each at once, none before the commit, none from an
aborted checkpoint (whose records are decided again)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry

from guardrail.core.records import Decision
from guardrail.metrics.metric_set import GuardrailMetrics
from guardrail.worker.confluent.counts import CheckpointMetrics

DECIDED = "guardrail_decisions_total"


def decision(action: str, reasons: list[tuple[str, bool]], **extra: Any) -> Decision:
    recommendation = None
    if action != "suppress":
        recommendation = {
            "rec_id": "r1",
            "customer_id": "c1",
            "ts": 1_700_000_000_000,
            "channel": extra.pop("channel", "email"),
            "trigger": "batch",
            "items": [{"sku": "SKU-1", "category": "books"}],
            "title": "t",
            "body": "b",
        }
    return Decision.model_validate(
        {
            "rec_id": "r1",
            "customer_id": "c1",
            "ts": 1_700_000_000_000,
            "action": action,
            "reasons": [{"code": c, "detail": "d", "shadow": s} for c, s in reasons],
            "policy_version": "v1",
            "recommendation": recommendation,
            **extra,
        }
    )


def feed(metrics: GuardrailMetrics) -> None:
    for n in range(3):
        metrics.record_decision(decision("deliver", []), 0.004 * n, 2.0)
    metrics.record_decision(decision("deliver", [("quiet_hours", True)], channel="push"), 0.2, 1)
    metrics.record_decision(
        decision("suppress", [("frequency_cap", False), ("quiet_hours", False)]),
        0.03,
        -5.0,
        channel="sms",
        message_class="marketing",
    )
    metrics.record_decision(decision("deliver", [], holdout=True), 0.01, 0.5)
    for outcome in ("signal", "signal", "duplicate"):
        metrics.record_event("t.purchases", outcome)
    metrics.record_dead_letter("t.purchases", "not_json_or_avro")


def samples(metrics: GuardrailMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in metrics.registry.collect()
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


def total(metrics: GuardrailMetrics) -> float:
    return sum(value for (name, _), value in samples(metrics).items() if name == DECIDED)


def test_committed_counts_equal_counting_each_at_once() -> None:
    direct = GuardrailMetrics(CollectorRegistry())
    feed(direct)
    held = CheckpointMetrics(CollectorRegistry())
    feed(held)
    assert total(held) == 0  # nothing before the commit
    held.committed()
    assert total(direct) == 6
    assert samples(held) == samples(direct)


def test_an_aborted_checkpoint_counts_nothing_and_its_redo_counts_once() -> None:
    held = CheckpointMetrics(CollectorRegistry())
    feed(held)
    held.aborted()
    held.committed()
    assert total(held) == 0
    assert held.registry.get_sample_value("guardrail_decision_latency_seconds_count") == 0
    feed(held)  # the redo
    held.committed()
    direct = GuardrailMetrics(CollectorRegistry())
    feed(direct)
    assert samples(held) == samples(direct)
