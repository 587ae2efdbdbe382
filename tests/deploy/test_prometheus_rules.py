"""Prometheus config and alert rules, checked and unit-tested by the real promtool."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from deploy_helpers import (
    COMPOSE,
    DEPLOY,
    METRICS_PORT,
    PROMETHEUS,
    allowed_series,
    load_yaml,
    metric_names,
    promtool,
)

ALERTS = PROMETHEUS / "alerts.yml"
RULE_TESTS = [PROMETHEUS / "alerts_test.yml", PROMETHEUS / "alerts_weekly_test.yml"]
EXPECTED_ALERTS = {
    "GuardrailWorkerDown",
    "GuardrailWorkersAbsent",
    "GuardrailConsumerLagGrowing",
    "GuardrailDeadLetters",
    "GuardrailDeadLettersUnsent",
    "GuardrailSuppressionRatioHigh",
    "GuardrailDecisionLatencyHigh",
    "GuardrailNoDecisions",
    "GuardrailEventTimeLagHigh",
    "GuardrailPolicyVersionsDiffer",
    "GuardrailRebalanceStorm",
    "GuardrailWrongPartition",
}


def run(*args: str | Path, cwd: Path = PROMETHEUS) -> str:
    result = subprocess.run(
        [promtool(), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def alert_rules() -> list[dict[str, object]]:
    groups = load_yaml(ALERTS)["groups"]
    return [r for g in groups for r in g["rules"] if "alert" in r]


def test_promtool_check_rules() -> None:
    assert "SUCCESS" in run("check", "rules", ALERTS)


@pytest.mark.parametrize("tests", RULE_TESTS, ids=lambda p: p.name)
def test_promtool_test_rules(tests: Path) -> None:
    assert "SUCCESS" in run("test", "rules", tests)


def test_promtool_check_config_for_compose() -> None:
    assert "SUCCESS" in run("check", "config", PROMETHEUS / "prometheus.yml")


def test_promtool_check_config_for_kubernetes(tmp_path: Path) -> None:
    # Debian's promtool is built without Kubernetes discovery, so the discovery block is
    # swapped for a static target; the rest (relabelling, rule files) is checked as is.
    config = load_yaml(PROMETHEUS / "prometheus-kubernetes.yml")
    for job in config["scrape_configs"]:
        sd = job.pop("kubernetes_sd_configs")
        assert sd[0]["role"] == "pod"
        job["static_configs"] = [{"targets": [f"pod:{METRICS_PORT}"]}]
    (tmp_path / "alerts.yml").write_text(ALERTS.read_text())
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    assert "SUCCESS" in run("check", "config", tmp_path / "prometheus.yml", cwd=tmp_path)


def test_every_required_alert_exists_with_annotations_and_a_runbook() -> None:
    rules = alert_rules()
    assert {r["alert"] for r in rules} == EXPECTED_ALERTS
    readme = (DEPLOY / "README.md").read_text()
    headings = {h.strip().lower() for h in re.findall(r"^#+\s+(.+)$", readme, re.M)}
    for rule in rules:
        annotations = rule["annotations"]
        assert isinstance(annotations, dict)
        assert {"summary", "description", "runbook_url"} <= annotations.keys(), rule["alert"]
        assert rule["labels"]["severity"] in ("warning", "critical")  # type: ignore[index]
        base, anchor = annotations["runbook_url"].split("#")
        assert base == "{{ $externalLabels.runbook_base }}", "a link a pager can open"
        assert anchor == str(rule["alert"]).lower()
        assert anchor in headings, f"deploy/README.md has no runbook heading {rule['alert']}"


def test_every_prometheus_config_says_where_the_runbook_is() -> None:
    for name in ("prometheus.yml", "prometheus-kubernetes.yml"):
        labels = load_yaml(PROMETHEUS / name)["global"]["external_labels"]
        assert labels["runbook_base"].startswith("https://"), name
        assert labels["runbook_base"].endswith("/deploy/README.md"), name


def test_one_bad_record_pages_nobody() -> None:
    (rule,) = [r for r in alert_rules() if r["alert"] == "GuardrailDeadLetters"]
    assert "rate(" in str(rule["expr"]) and "> 0.05" in str(rule["expr"])
    assert rule["for"] == "10m"


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    firing: set[str] = set()
    silent: set[str] = set()
    for path in RULE_TESTS:
        for case in load_yaml(path)["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else silent).add(check["alertname"])
    assert firing == EXPECTED_ALERTS
    assert silent == EXPECTED_ALERTS


def test_rules_query_only_exported_metrics() -> None:
    allowed = allowed_series()
    for group in load_yaml(ALERTS)["groups"]:
        for rule in group["rules"]:
            unknown = metric_names(rule["expr"]) - allowed
            assert not unknown, (rule.get("alert") or rule.get("record"), unknown)


def test_compose_scrape_target_is_the_worker_metrics_port() -> None:
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "guardrail"]
    targets = [t for sc in job["static_configs"] for t in sc["targets"]]
    services = load_yaml(COMPOSE)["services"]
    for target in targets:
        host, port = target.split(":")
        assert host in services
        assert int(port) == METRICS_PORT


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ('sum by (le) (rate(a_bucket{x="y"}[5m]))', {"a_bucket"}),
        ("histogram_quantile(0.99, sum(rate(b[$__rate_interval])) by (le))", {"b"}),
        ('topk by (channel) (5, c{i=~"$instance"}) / on () group_left d offset 1h', {"c", "d"}),
        ("r:ratio:rate1h > 2 * r:ratio:rate7d and on () e > 1e3", {"r:ratio:rate1h",
                                                                  "r:ratio:rate7d", "e"}),
        ('label_replace(f, "dst", "$1", "src", "(.*)")', {"f"}),
    ],
)  # fmt: skip
def test_metric_names_parser(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names
