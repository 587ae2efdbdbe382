"""A real Prometheus scrapes a real worker and reads the guardrail's metrics back.

The worker decides a golden file (a policy with one rule in shadow mode), then Prometheus (the
Debian package's binary; missing is a failure) scrapes it every second with
``deploy/prometheus/alerts.yml`` loaded. Through Prometheus' HTTP API: decisions by action
equal the replay's, shadow reasons are visible, ``guardrail_info`` carries the policy version,
faust's own sensor metrics are there, and every recording and alert rule evaluates cleanly.
"""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

import pytest
import yaml

from guardrail.core.policy import load_policy
from guardrail.devstack.kafka import LocalKafka, free_port
from guardrail.kafka.replay import replay_to_kafka
from guardrail.metrics.metric_set import DECISIONS, FAUST_METRIC_NAMES, package_version
from guardrail.worker.process import WorkerProcess
from kafka_helpers import worker_settings
from metrics_helpers import ALERTS, GOLDEN, PrometheusServer, eventually, scrape, total

pytestmark = pytest.mark.integration

SHADOW_RULE = "quiet_hours"
#: Set by faust's sensor once the worker consumed, sent and committed.
FAUST_SERIES = (
    "faust_messages_received_total",
    "faust_messages_received_per_topic_total",
    "faust_topic_messages_sent_total",
    "faust_topic_partition_end_offset",
    "faust_topic_partition_offset_commited",
)


def _faust_series(prom: Any, events: int) -> None:
    names = {
        r["metric"]["__name__"] for r in prom.query('count by (__name__) ({__name__=~"faust_.+"})')
    }
    assert set(FAUST_SERIES) <= names, sorted(names)
    assert set(FAUST_SERIES) <= set(FAUST_METRIC_NAMES)
    (received,) = prom.query("faust_messages_received_total")
    assert float(received["value"][1]) >= events


def test_prometheus_scrapes_the_worker_and_evaluates_the_alert_rules(
    kafka_broker: LocalKafka, tmp_path: Path, runtime: str
) -> None:
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(yaml.safe_dump({"rules": {SHADOW_RULE: {"mode": "shadow"}}}))
    policy = load_policy(policy_file)
    port = free_port()
    settings = worker_settings(
        kafka_broker, tmp_path / "data", metrics_port=port, policy=policy_file, runtime=runtime
    )
    lines = (GOLDEN / "intrusive.events.jsonl").read_text().splitlines()
    with WorkerProcess(settings, tmp_path / "worker.log").start():
        result = replay_to_kafka(lines, settings, timeout_s=90)
        decisions = result.decisions
        by_action = collections.Counter(d.action for d in decisions)
        shadow = sum(1 for d in decisions for r in d.reasons if r.shadow)
        assert len(by_action) == 3 and shadow > 0, (by_action, shadow)
        assert {d.policy_version for d in decisions} == {policy.version}

        def counted() -> None:  # the worker counts after it sends: wait for the last one
            assert total(scrape(port), DECISIONS) == len(decisions)

        eventually(counted, 30, "the worker counted every decision")

        target = f"127.0.0.1:{port}"
        with PrometheusServer(tmp_path / "prometheus", target, [ALERTS]).start() as prom:

            def scraped() -> dict[str, float]:
                result = prom.query("sum by (action) (guardrail_decisions_total)")
                got = {r["metric"]["action"]: float(r["value"][1]) for r in result}
                assert got, prom.query('up{job="guardrail"}')
                return got

            got = eventually(scraped, 30, "Prometheus scraped the worker")
            assert {a: n for a, n in got.items() if n} == dict(by_action)
            assert prom.query('up{job="guardrail"}')[0]["value"][1] == "1"

            (info,) = prom.query("guardrail_info")
            assert info["metric"]["policy_version"] == policy.version
            assert info["metric"]["version"] == package_version()
            assert info["metric"]["instance"] == target

            (row,) = prom.query(
                f'sum(guardrail_decision_reasons_total{{shadow="true",reason="{SHADOW_RULE}"}})'
            )
            assert float(row["value"][1]) == shadow

            if runtime == "confluent":  # faust's sensor series come with the faust runtime
                assert not prom.query('count by (__name__) ({__name__=~"faust_.+"})')
            else:
                _faust_series(prom, result.events)

            def rules_evaluated() -> list[dict[str, object]]:
                groups = prom.api("/api/v1/rules")["groups"]
                rules = [rule for group in groups for rule in group["rules"]]
                assert rules, "no rules loaded"
                pending = [r["name"] for r in rules if r["health"] == "unknown"]
                assert not pending, f"not evaluated yet: {pending}"
                return rules

            rules = eventually(rules_evaluated, 30, "every rule evaluated")
            broken = {r["name"]: r.get("lastError") for r in rules if r["health"] != "ok"}
            assert not broken, broken
            loaded = {(r["type"], r["name"]) for r in rules}
            expected = yaml.safe_load(ALERTS.read_text())
            wanted = {
                ("alerting", r["alert"]) if "alert" in r else ("recording", r["record"])
                for g in expected["groups"]
                for r in g["rules"]
            }
            assert loaded == wanted
            # A healthy worker that just decided: nothing fires (a rule evaluated before the
            # first scrape may be pending for a moment: `absent(up)`).
            alerts = prom.api("/api/v1/alerts")["alerts"]
            firing = [a["labels"]["alertname"] for a in alerts if a["state"] == "firing"]
            assert not firing, alerts
