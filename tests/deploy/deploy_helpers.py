"""Shared by the deploy tests: paths, YAML loading, and metric names out of PromQL."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import CollectorRegistry

from guardrail.config import Settings
from guardrail.core.records import Decision
from guardrail.metrics.metric_set import (
    FAUST_METRIC_NAMES,
    FAUST_METRIC_PREFIX,
    METRIC_NAMES,
    GuardrailMetrics,
)

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROMETHEUS = DEPLOY / "prometheus"
GRAFANA = DEPLOY / "grafana"
K8S = DEPLOY / "k8s"
COMPOSE = ROOT / "docker-compose.yml"

#: The environment the worker reads (guardrail.config and the CLI).
WORKER_ENV = {
    "GUARDRAIL_BOOTSTRAP_SERVERS",
    "GUARDRAIL_SCHEMA_REGISTRY_URL",
    "GUARDRAIL_TOPIC_PREFIX",
    "GUARDRAIL_PARTITIONS",
    "GUARDRAIL_REPLICATION_FACTOR",
    "GUARDRAIL_MIN_INSYNC_REPLICAS",
    "GUARDRAIL_POLICY",
    "GUARDRAIL_METRICS_PORT",
    "GUARDRAIL_METRICS_BIND",
    "GUARDRAIL_STORE",
    "GUARDRAIL_DATA_DIR",
}
METRICS_PORT = 9108
#: Every GUARDRAIL_* name the code reads: the Settings fields, and the schemas folder (serde).
KNOWN_ENV = {f"GUARDRAIL_{name.upper()}" for name in Settings.model_fields} | {
    "GUARDRAIL_SCHEMAS_DIR"
}


def check_worker_env(env: dict[str, str]) -> Settings:
    """``env`` names only settings the worker has, and its values pass their validation."""
    unknown = {k for k in env if k.startswith("GUARDRAIL_")} - KNOWN_ENV
    assert not unknown, f"not worker settings: {sorted(unknown)}"
    values = {
        k.removeprefix("GUARDRAIL_").lower(): v
        for k, v in env.items()
        if k.startswith("GUARDRAIL_") and k != "GUARDRAIL_SCHEMAS_DIR"
    }
    return Settings(**values)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_yaml_all(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def promtool() -> str:
    """The promtool binary; a missing one is a failure (scripts/install-system-deps.sh)."""
    path = shutil.which("promtool")
    assert path, "promtool not found: run `make system-deps` (Debian package prometheus)"
    return path


def exported_series() -> set[str]:
    """Every series name a worker exports: GuardrailMetrics with each metric touched once."""
    metrics = GuardrailMetrics(CollectorRegistry())
    metrics.record_decision(
        Decision.model_validate(
            {
                "rec_id": "r",
                "customer_id": "c",
                "ts": 0,
                "action": "suppress",
                "reasons": [{"code": "erased", "detail": "d"}],
                "policy_version": "0123456789ab",
            }
        ),
        0.001,
        1.0,
        channel="email",
    )
    metrics.set_consumer_lag("customer.purchases", 0, 1)
    names = {s.name for family in metrics.registry.collect() for s in family.samples}
    # prometheus_client's *_created series exist, but nothing should rely on them
    return {n for n in names if not n.endswith("_created")}


def _series_of(names: dict[str, str]) -> set[str]:
    out: set[str] = set()
    for name, kind in names.items():
        if kind == "histogram":
            out |= {name + "_bucket", name + "_sum", name + "_count"}
        else:
            out.add(name)
    return out


def faust_series() -> set[str]:
    """The whitelisted faust sensor series, each checked against faust's real metric set."""
    from faust.sensors.prometheus import FaustMetrics

    registry = CollectorRegistry()
    FaustMetrics.create(registry, FAUST_METRIC_PREFIX)
    # labelled families have no samples yet: name them by type
    real = _series_of(
        {f.name + ("_total" if f.type == "counter" else ""): f.type for f in registry.collect()}
    )
    wanted = _series_of(dict(FAUST_METRIC_NAMES))
    assert wanted <= real, f"not faust sensor metrics: {wanted - real}"
    return wanted


def allowed_series() -> set[str]:
    """What a panel or rule may query: our metrics, faust's whitelisted ones, `up`, recordings."""
    ours = exported_series()
    assert _series_of(dict(METRIC_NAMES)) == ours, "METRIC_NAMES disagrees with the registry"
    return ours | faust_series() | {"up"} | recording_rules()


def recording_rules() -> set[str]:
    rules = load_yaml(PROMETHEUS / "alerts.yml")
    return {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}


_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset"}
_KEYWORDS |= {"and", "or", "unless", "inf", "nan", "atan2"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, labels and keywords left out).

    Handles label matchers, ranges, strings, Grafana variables and grouping clauses; enough
    for the expressions of this project's dashboard and rules.
    """
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\$\{?\w+\}?", "x", text)  # Grafana variables ($__rate_interval, ${ds})
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges and subqueries
    text = re.sub(
        r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text
    )  # grouping clauses name labels, not metrics
    names = set()
    for match in re.finditer(r"(?<![\w.:$])([a-zA-Z_:][\w:]*)(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in _KEYWORDS or name == "x":
            continue
        names.add(name)
    return names
