"""GuardrailMetrics: the right series and values, and no customer data in any label."""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from guardrail.core.reasons import REASON_CODES
from guardrail.core.records import ACTIONS, CHANNELS, Decision, Recommendation
from guardrail.metrics.metric_set import (
    CONSUMER_LAG,
    CUSTOMERS,
    DEAD_LETTERS,
    DECISION_GROUPS,
    DECISION_LATENCY,
    DECISION_REASONS,
    DECISIONS,
    ERROR_KINDS,
    EVENT_TIME_LAG,
    EVENTS,
    HOLDOUT_RATIO,
    INFO,
    METRIC_NAMES,
    OUTCOMES,
    TOPICS,
    GuardrailMetrics,
    logical_topic,
    package_version,
)

POLICY_VERSION = "0123456789ab"

# Customer data that must never become a label value.
CUSTOMER_IDS = ["cust-000042", "c_9f8e7d6c", "alice@example.com", "+44 7700 900123"]
NAMES = ["Ana Müller", "Jean-Luc", "O'Brien", "null", "張偉"]
SKUS = ["SKU-1001", "LAP-15-PRO", "B00X4WHP5E", "sku/with/slash"]
QUERIES = ["pregnancy test", "payday loans near me", "divorce lawyer", "size 14 jeans"]
PLACES = ["St Mary's Hospital", "Planned Parenthood Clinic", "Main St Pharmacy", "Casino Royale"]
SECRETS = CUSTOMER_IDS + NAMES + SKUS + QUERIES + PLACES


@pytest.fixture
def metrics() -> GuardrailMetrics:
    return GuardrailMetrics(CollectorRegistry())


def rec(**overrides: Any) -> Recommendation:
    fields: dict[str, Any] = {
        "rec_id": "r1",
        "customer_id": "cust-000042",
        "ts": 1_700_000_000_000,
        "channel": "email",
        "trigger": "batch",
        "items": [{"sku": "SKU-1001", "category": "electronics/laptops"}],
        "title": "Hi Ana Müller",
        "body": "You searched for pregnancy test near Main St Pharmacy",
        "data_sources": ["browsing"],
    }
    fields.update(overrides)
    return Recommendation.model_validate(fields)


def decision(action: str, reasons: list[tuple[str, bool]], **overrides: Any) -> Decision:
    recommendation = None if action == "suppress" else rec(**overrides)
    return Decision.model_validate(
        {
            "rec_id": "r1",
            "customer_id": overrides.get("customer_id", "cust-000042"),
            "ts": 1_700_000_000_000,
            "action": action,
            "reasons": [
                {"code": c, "detail": "SKU-1001 at Main St", "shadow": s} for c, s in reasons
            ],
            "policy_version": POLICY_VERSION,
            "explanation": "Because you bought a laptop",
            "recommendation": recommendation,
        }
    )


def value(m: GuardrailMetrics, name: str, **labels: str) -> float | None:
    return m.registry.get_sample_value(name, labels)


# --- values ------------------------------------------------------------------------------------


def test_a_decision_counts_once_by_action_and_channel_and_once_per_reason(
    metrics: GuardrailMetrics,
) -> None:
    d = decision("suppress", [("frequency_cap", False), ("quiet_hours", True)])
    metrics.record_decision(d, latency_s=0.0004, lag_s=2.5, channel="push")
    assert value(metrics, DECISIONS, action="suppress", channel="push") == 1
    assert value(metrics, DECISIONS, action="deliver", channel="push") == 0
    reason = DECISION_REASONS
    assert value(metrics, reason, reason="frequency_cap", action="suppress", channel="push",
                 shadow="false") == 1  # fmt: skip
    assert value(metrics, reason, reason="quiet_hours", action="suppress", channel="push",
                 shadow="true") == 1  # fmt: skip
    assert value(metrics, EVENTS, topic="recommendation", outcome="decided") == 1
    assert value(metrics, DECISION_LATENCY + "_count") == 1
    assert value(metrics, DECISION_LATENCY + "_bucket", le="0.0005") == 1
    assert value(metrics, DECISION_LATENCY + "_bucket", le="0.00025") == 0
    assert value(metrics, EVENT_TIME_LAG + "_sum") == 2.5
    assert value(metrics, EVENT_TIME_LAG + "_bucket", le="5.0") == 1


def test_a_delivered_decision_takes_its_channel_from_the_recommendation(
    metrics: GuardrailMetrics,
) -> None:
    metrics.record_decision(decision("deliver", [], channel="sms"), 0.001, 1.0)
    metrics.record_decision(decision("suppress", [("erased", False)]), 0.001, 1.0)
    assert value(metrics, DECISIONS, action="deliver", channel="sms") == 1
    assert value(metrics, DECISIONS, action="suppress", channel="other") == 1
    # no reason series for a decision without reasons: no "none" reason
    assert all(
        s.labels.get("reason") != "none"
        for family in metrics.registry.collect()
        for s in family.samples
    )


def test_decisions_count_by_message_class_and_holdout(metrics: GuardrailMetrics) -> None:
    treated = decision("deliver", [], message_class="transactional")
    held = decision("deliver", [("frequency_cap", True)]).model_copy(update={"holdout": True})
    metrics.record_decision(treated, 0.001, 1.0)
    metrics.record_decision(held, 0.001, 1.0)
    suppressed = decision("suppress", [("erased", False)])
    metrics.record_decision(suppressed, 0.001, 1.0, channel="push", message_class="transactional")
    metrics.record_decision(suppressed, 0.001, 1.0)  # no recommendation, no class given
    groups = DECISION_GROUPS
    assert value(metrics, groups, message_class="transactional", holdout="false",
                 action="deliver") == 1  # fmt: skip
    assert value(metrics, groups, message_class="marketing", holdout="true",
                 action="deliver") == 1  # fmt: skip
    assert value(metrics, groups, message_class="transactional", holdout="false",
                 action="suppress") == 1  # fmt: skip
    assert value(metrics, groups, message_class="other", holdout="false",
                 action="suppress") == 1  # fmt: skip
    # every closed combination exists from the start, at 0
    assert value(metrics, groups, message_class="marketing", holdout="true",
                 action="suppress") == 0  # fmt: skip


def test_the_holdout_share_is_exported(metrics: GuardrailMetrics) -> None:
    assert value(metrics, HOLDOUT_RATIO) == 0
    metrics.set_holdout_percent(12.5)
    assert value(metrics, HOLDOUT_RATIO) == 0.125
    metrics.set_holdout_percent(250)
    assert value(metrics, HOLDOUT_RATIO) == 1


def test_negative_lag_counts_as_zero(metrics: GuardrailMetrics) -> None:
    metrics.record_decision(decision("deliver", []), 0.001, -30.0)
    assert value(metrics, EVENT_TIME_LAG + "_sum") == 0
    assert value(metrics, EVENT_TIME_LAG + "_bucket", le="0.1") == 1


@pytest.mark.parametrize(
    ("topic", "logical"),
    [
        ("purchase", "purchase"),
        ("purchases", "other"),
        ("customer.purchases", "purchase"),
        ("acme.customer.locations", "location"),
        ("staging-customer.browsing", "browsing"),
        ("customer.profiles", "profile"),
        ("recommendations.proposed", "recommendation"),
        ("recommendations.approved", "other"),
        ("customer.purchasesX", "other"),
        ("SKU-1001", "other"),
    ],
)
def test_topic_names_map_to_logical_names(topic: str, logical: str) -> None:
    assert logical_topic(topic) == logical


def test_events_dead_letters_gauges_and_info(metrics: GuardrailMetrics) -> None:
    metrics.record_event("acme.customer.purchases", "signal")
    metrics.record_event("recommendations.proposed", "duplicate")
    metrics.record_dead_letter("customer.browsing", "missing_field")
    metrics.record_dead_letter("customer.browsing", "stack trace with cust-000042")
    metrics.set_customers(1234)
    metrics.set_consumer_lag("customer.purchases", 3, 250)
    metrics.set_consumer_lag("customer.purchases", 4, 9)
    metrics.remove_consumer_lag("customer.purchases", 4)
    metrics.remove_consumer_lag("customer.purchases", 99)  # never set: no error
    metrics.set_info(POLICY_VERSION, "0.1.0")
    assert value(metrics, EVENTS, topic="purchase", outcome="signal") == 1
    assert value(metrics, EVENTS, topic="recommendation", outcome="duplicate") == 1
    assert value(metrics, EVENTS, topic="browsing", outcome="dead_lettered") == 2
    assert value(metrics, DEAD_LETTERS, topic="browsing", error_kind="missing_field") == 1
    assert value(metrics, DEAD_LETTERS, topic="browsing", error_kind="other") == 1
    assert value(metrics, CUSTOMERS) == 1234
    assert value(metrics, CONSUMER_LAG, topic="purchase", partition="3") == 250
    assert value(metrics, CONSUMER_LAG, topic="purchase", partition="4") is None
    assert value(metrics, INFO, policy_version=POLICY_VERSION, version="0.1.0") == 1


def test_alerted_series_exist_at_zero_before_anything_happens(metrics: GuardrailMetrics) -> None:
    assert value(metrics, DECISIONS, action="suppress", channel="email") == 0
    assert value(metrics, EVENTS, topic="recommendation", outcome="decided") == 0
    assert value(metrics, DEAD_LETTERS, topic="profile", error_kind="not_json_or_avro") == 0
    assert value(metrics, INFO, policy_version="unknown", version=package_version()) == 1


def test_metric_names_are_the_exported_ones(metrics: GuardrailMetrics) -> None:
    metrics.set_consumer_lag("customer.profiles", 0, 1)
    metrics.record_decision(decision("rewrite", [("quiet_hours", False)]), 0.001, 1.0)
    exported = {s.name for family in metrics.registry.collect() for s in family.samples}
    for name, kind in METRIC_NAMES.items():
        wanted = name + "_count" if kind == "histogram" else name
        assert wanted in exported, name
        assert name.startswith(("guardrail_", "process_"))


def test_serve_exposes_the_registry_over_http(metrics: GuardrailMetrics) -> None:
    metrics.set_customers(7)
    server, thread = metrics.serve(0, "127.0.0.1")
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            body = response.read().decode()
    finally:
        server.shutdown()
        server.server_close()
    thread.join(timeout=5)
    assert re.search(r"^guardrail_customers 7\.0$", body, re.M)
    assert "guardrail_decisions_total{" in body


# --- no customer data in labels ----------------------------------------------------------------

ALLOWED: dict[str, set[str]] = {
    "action": set(ACTIONS),
    "channel": {*CHANNELS, "other"},
    "reason": {*REASON_CODES, "other"},
    "shadow": {"true", "false"},
    "holdout": {"true", "false"},
    "message_class": {"marketing", "transactional", "other"},
    "topic": {*TOPICS, "other"},
    "outcome": {*OUTCOMES, "other"},
    "error_kind": {*ERROR_KINDS, "other"},
}


def label_values(m: GuardrailMetrics) -> Iterator[tuple[str, str, str]]:
    for family in m.registry.collect():
        for sample in family.samples:
            for label, label_value in sample.labels.items():
                yield sample.name, label, label_value


def assert_no_customer_data(m: GuardrailMetrics, secrets: list[str]) -> None:
    for name, label, label_value in label_values(m):
        assert label_value not in secrets, (name, label, label_value)
        if label in ALLOWED:
            assert label_value in ALLOWED[label], (name, label, label_value)
        elif label == "partition":
            assert label_value == "other" or re.fullmatch(r"\d{1,4}", label_value)
        elif label == "le":
            float(label_value)
        elif label == "policy_version":
            assert label_value in ("unknown", "other") or re.fullmatch(r"[0-9a-f]+", label_value)
        elif label == "version":
            assert label_value in ("unknown", "other", package_version()), label_value
        else:
            pytest.fail(f"unexpected label {label!r} on {name}")


secret = st.sampled_from(SECRETS)
free_text = st.one_of(secret, st.text(min_size=1, max_size=20))


@st.composite
def hostile_decision(draw: st.DrawFn) -> tuple[Decision, str | None]:
    customer = draw(secret)
    reasons = draw(
        st.lists(
            st.tuples(st.one_of(st.sampled_from(REASON_CODES), free_text), st.booleans()),
            max_size=4,
        )
    )
    action = draw(st.sampled_from(ACTIONS))
    d = decision(
        action,
        reasons,
        customer_id=customer,
        rec_id=draw(secret),
        channel=draw(st.sampled_from(CHANNELS)),
        title=f"Hi {draw(secret)}",
        body=f"Near {draw(secret)} you searched {draw(secret)}",
        items=[{"sku": draw(secret), "category": draw(secret)}],
        campaign_id=draw(secret),
    )
    channel = draw(st.one_of(st.none(), st.sampled_from(CHANNELS), free_text))
    return d, channel


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    decisions=st.lists(hostile_decision(), max_size=5),
    events=st.lists(st.tuples(free_text, free_text), max_size=5),
    dead=st.lists(st.tuples(free_text, free_text), max_size=5),
    lags=st.lists(
        st.tuples(free_text, st.one_of(st.integers(-5, 20_000), st.just(True)), st.integers()),
        max_size=5,
    ),
    info=st.tuples(free_text, free_text),
)
def test_no_label_value_is_ever_customer_data(
    decisions: list[tuple[Decision, str | None]],
    events: list[tuple[str, str]],
    dead: list[tuple[str, str]],
    lags: list[tuple[str, int, int]],
    info: tuple[str, str],
) -> None:
    m = GuardrailMetrics(CollectorRegistry())
    fed: list[str] = list(SECRETS)
    for d, channel in decisions:
        m.record_decision(d, 0.001, 10.0, channel=channel, message_class=channel)
        fed += [d.customer_id, d.rec_id, *(r.code for r in d.reasons)]
    for topic, outcome in events:
        m.record_event(topic, outcome)
        fed += [topic, outcome]
    for topic, kind in dead:
        m.record_dead_letter(topic, kind)
        fed += [topic, kind]
    for topic, partition, lag in lags:
        m.set_consumer_lag(topic, partition, lag)
        fed.append(topic)
    m.set_info(*info)
    fed += list(info)
    # Generated text that happens to be a legitimate label value ("email", "3", a hex hash)
    # is no leak; every label value is also checked against its closed set.
    closed_values = set().union(*ALLOWED.values())
    leaks = [v for v in fed if v not in closed_values and not re.fullmatch(r"[0-9a-f.]+", v)]
    assert_no_customer_data(m, leaks)


@pytest.mark.parametrize("text", SECRETS)
def test_table_every_secret_in_every_argument(text: str) -> None:
    m = GuardrailMetrics(CollectorRegistry())
    d = decision("rewrite", [(text, False), ("too_granular", True)], customer_id=text)
    m.record_decision(d, 0.001, 1.0, channel=text)
    m.record_event(text, text)
    m.record_dead_letter(text, text)
    m.set_consumer_lag(text, 1, 5)
    m.set_info(text, text)
    assert_no_customer_data(m, [text])
