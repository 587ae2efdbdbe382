"""The Grafana dashboard and provisioning: valid, and querying only what the worker exports."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from deploy_helpers import COMPOSE, GRAFANA, allowed_series, load_yaml, metric_names

DASHBOARD = GRAFANA / "dashboards" / "guardrail.json"
PANEL_KEYS = {"id", "type", "title", "gridPos", "datasource"}
DATASOURCE_UID = "prometheus"


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def panels(data: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for panel in data["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))  # panels inside collapsed rows
    return out


def test_dashboard_has_the_required_top_level_keys() -> None:
    data = dashboard()
    for key in ("uid", "title", "panels", "schemaVersion", "templating", "time"):
        assert key in data, key
    assert re.fullmatch(r"[\w-]{1,40}", data["uid"])
    assert data.get("id") is None, "a provisioned dashboard carries no database id"


def test_panel_ids_unique_and_grid_positions_valid() -> None:
    seen: set[int] = set()
    cells: set[tuple[int, int]] = set()
    for panel in panels(dashboard()):
        assert PANEL_KEYS - {"datasource"} <= panel.keys(), panel.get("title")
        assert panel["id"] not in seen, f"duplicate panel id {panel['id']}"
        seen.add(panel["id"])
        pos = panel["gridPos"]
        assert {"x", "y", "w", "h"} <= pos.keys()
        assert pos["x"] >= 0 and pos["w"] > 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        assert pos["h"] > 0 and pos["y"] >= 0
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps another panel"
                cells.add((x, y))


def test_datasource_refs_point_at_the_variable_or_the_provisioned_uid() -> None:
    data = dashboard()
    variables = {v["name"]: v for v in data["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ok = {"${datasource}", "$datasource", DATASOURCE_UID}
    for panel in panels(data):
        if panel["type"] == "row":
            continue
        refs = [panel["datasource"], *(t.get("datasource", panel["datasource"]) for t in
                                      panel["targets"])]  # fmt: skip
        for ref in refs:
            assert ref["type"] == "prometheus" and ref["uid"] in ok, (panel["title"], ref)
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)) and all(t["expr"] for t in panel["targets"])


def test_every_panel_queries_only_exported_metrics() -> None:
    allowed = allowed_series()
    queried: set[str] = set()
    for panel in panels(dashboard()):
        for target in panel.get("targets", []):
            names = metric_names(target["expr"])
            assert names, (panel["title"], target["expr"])
            unknown = names - allowed
            assert not unknown, (panel["title"], unknown)
            queried |= names
    for variable in dashboard()["templating"]["list"]:
        query = variable.get("definition", "")
        for name in re.findall(r"label_values\(\s*([a-zA-Z_:][\w:]*)", query):
            assert name in allowed, (variable["name"], name)
    for required in (
        "guardrail_decisions_total",
        "guardrail_decision_reasons_total",
        "guardrail_decision_latency_seconds_bucket",
        "guardrail_event_time_lag_seconds_bucket",
        "guardrail_consumer_lag",
        "guardrail_dead_letters_total",
        "guardrail_dead_letters_unsent_total",
        "guardrail_info",
        "guardrail:suppression_ratio:rate1h",
    ):
        assert required in queried, required


@pytest.mark.parametrize(
    "title",
    [
        "Decisions by action",
        "Decisions by reason",
        "Suppression ratio by channel",
        "Top reasons per channel",
        "Decision latency p50 / p99",
        "Event-time lag p50 / p99",
        "Consumer lag by topic",
        "Dead letters by topic and error kind",
        "Unsent dead letters (records lost)",
        "Policy version",
    ],
)
def test_required_panel_exists(title: str) -> None:
    assert title in {p["title"] for p in panels(dashboard())}


def test_provisioning_matches_the_dashboard_and_compose() -> None:
    (source,) = load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")[
        "datasources"
    ]
    assert source["uid"] == DATASOURCE_UID and source["type"] == "prometheus"
    prometheus_service = load_yaml(COMPOSE)["services"]["prometheus"]
    assert source["url"] == "http://prometheus:9090"
    assert any(p.split(":")[-1] == "9090" for p in prometheus_service.get("ports", []))
    (provider,) = load_yaml(GRAFANA / "provisioning" / "dashboards" / "guardrail.yml")["providers"]
    grafana = load_yaml(COMPOSE)["services"]["grafana"]
    targets = {v.split(":")[1]: v.split(":")[0] for v in grafana["volumes"]}
    assert targets[provider["options"]["path"]] == "./deploy/grafana/dashboards"


def test_every_panel_honours_the_job_and_namespace_variables() -> None:
    data = dashboard()
    variables = [v["name"] for v in data["templating"]["list"]]
    assert variables.index("job") < variables.index("namespace") < variables.index("instance")
    for panel in panels(data):
        for target in panel.get("targets", []):
            for selector in re.findall(r"[a-zA-Z_:][\w:]*\{[^}]*\}", target["expr"]):
                assert 'job=~"$job"' in selector and 'namespace=~"$namespace"' in selector, (
                    panel["title"],
                    selector,
                )
            bare = re.findall(
                r"(?<![\w:])(?:guardrail|process|faust)[\w:]*(?![\w:{])", target["expr"]
            )
            assert not bare, (panel["title"], bare)


def test_units_say_what_they_count() -> None:
    for panel in panels(dashboard()):
        unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit")
        assert unit not in ("reqps", "ops", "short"), (panel["title"], unit)
        if unit and "/s" in unit:
            assert unit.startswith("suffix: "), (panel["title"], unit)


def test_process_cpu_and_memory_panels() -> None:
    by_title = {p["title"]: p for p in panels(dashboard())}
    cpu = by_title["Process CPU per worker"]
    assert "process_cpu_seconds_total" in cpu["targets"][0]["expr"]
    rss = by_title["Process memory (RSS) per worker"]
    assert "process_resident_memory_bytes" in rss["targets"][0]["expr"]
    assert rss["fieldConfig"]["defaults"]["unit"] == "bytes"


def test_policy_changes_are_annotated() -> None:
    (annotation,) = [a for a in dashboard()["annotations"]["list"] if a["name"] == "Policy changes"]
    assert annotation["enable"] and "guardrail_info" in annotation["expr"]
    assert "offset" in annotation["expr"] and "{{policy_version}}" in annotation["titleFormat"]
