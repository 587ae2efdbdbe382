"""Kubernetes manifests, validated against the bundled (offline) Kubernetes schemas."""

from __future__ import annotations

import re
from typing import Any

import kubernetes_validate
import pytest

from deploy_helpers import (
    K8S,
    METRICS_PORT,
    ROOT,
    WORKER_ENV,
    check_worker_env,
    load_yaml,
    load_yaml_all,
)
from guardrail.core.policy import load_policy

VERSION = kubernetes_validate.utils.latest_version()


def kustomization() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(K8S / "kustomization.yaml")
    return data


def generated_configmaps() -> list[dict[str, Any]]:
    """The ConfigMaps kustomize's configMapGenerator makes (without the name hash)."""
    maps = []
    for generator in kustomization()["configMapGenerator"]:
        data = {}
        for entry in generator["files"]:
            key, _, path = entry.rpartition("=")
            path = path or entry
            data[key or path.rsplit("/", 1)[-1]] = (K8S / path).read_text()
        maps.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": generator["name"], "namespace": kustomization()["namespace"]},
                "data": data,
            }
        )
    return maps


def documents() -> list[dict[str, Any]]:
    docs = [doc for name in kustomization()["resources"] for doc in load_yaml_all(K8S / name)]
    return docs + generated_configmaps()


def by_kind(kind: str) -> dict[str, Any]:
    (doc,) = [d for d in documents() if d["kind"] == kind]
    return doc


@pytest.mark.parametrize("doc", documents(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_manifest_is_valid_against_the_kubernetes_schema(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, VERSION, strict=True)


def test_the_validator_rejects_a_broken_manifest() -> None:
    broken = by_kind("StatefulSet")
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["prot"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSION, strict=True)


def test_statefulset_runs_the_worker_as_specified() -> None:
    sts = by_kind("StatefulSet")
    pod = sts["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert set(env) == WORKER_ENV
    settings = check_worker_env(env)
    assert settings.metrics_port == METRICS_PORT
    assert settings.store == "rocksdb://", "a pod keeps its state on its volume"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["metrics"] == METRICS_PORT
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["port"] in ("metrics", METRICS_PORT), probe
    # restarted when not alive; out of the service while recovering; never on /metrics
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["startupProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert settings.metrics_bind == "0.0.0.0", "probes come from outside the pod"
    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
    annotations = pod["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == METRICS_PORT
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert env["GUARDRAIL_DATA_DIR"] == mounts["data"]
    assert [t["metadata"]["name"] for t in sts["spec"]["volumeClaimTemplates"]] == ["data"]
    policy_dir, _, policy_key = env["GUARDRAIL_POLICY"].rpartition("/")
    assert mounts["policy"] == policy_dir
    (volume,) = [v for v in pod["spec"]["volumes"] if v["name"] == "policy"]
    (configmap,) = generated_configmaps()
    assert volume["configMap"]["name"] == configmap["metadata"]["name"]
    assert policy_key in configmap["data"]
    assert int(env["GUARDRAIL_PARTITIONS"]) >= sts["spec"]["replicas"]


def test_service_and_pdb_select_the_worker_pods() -> None:
    labels = by_kind("StatefulSet")["spec"]["template"]["metadata"]["labels"]
    service = by_kind("Service")
    assert service["spec"]["clusterIP"] == "None"
    assert by_kind("StatefulSet")["spec"]["serviceName"] == service["metadata"]["name"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"][0]["port"] == METRICS_PORT
    pdb = by_kind("PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_servicemonitor_is_structurally_right() -> None:
    # A CRD: the bundled schemas do not know it, so it is checked by hand and kept out of
    # the kustomize base (apply it where the Prometheus Operator runs).
    monitor = load_yaml(K8S / "servicemonitor.yaml")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["kind"] == "ServiceMonitor"
    assert "servicemonitor.yaml" not in kustomization()["resources"]
    service = by_kind("Service")
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    assert service["metadata"]["labels"][monitor["spec"]["jobLabel"]] == "guardrail"


def test_the_deployed_policy_is_valid_and_the_default_one() -> None:
    deployed = load_policy(K8S / "policy.yaml")
    assert deployed.version == load_policy(None).version, (
        "deploy/k8s/policy.yaml differs from the default policy: "
        "cp streams/guardrail/core/default_policy.yaml deploy/k8s/policy.yaml (keep its header)"
    )


def test_the_worker_pod_is_locked_down_and_its_topics_replicated() -> None:
    pod = by_kind("StatefulSet")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False and context["capabilities"]["drop"] == [
        "ALL"
    ]
    writable = {m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")}
    assert writable == {"/var/lib/guardrail", "/tmp"}
    env = {e["name"]: e["value"] for e in container["env"]}
    settings = check_worker_env(env)
    assert settings.replication_factor == 3 and settings.min_insync_replicas == 2


def test_the_cpu_request_follows_the_measured_cost_per_event() -> None:
    (container,) = by_kind("StatefulSet")["spec"]["template"]["spec"]["containers"]
    cpu = container["resources"]["requests"]["cpu"]
    millicores = int(cpu.removesuffix("m")) if cpu.endswith("m") else int(float(cpu) * 1000)
    benchmarks = (ROOT / "docs" / "benchmarks.md").read_text()
    micros = int(re.search(r"about (\d+) µs of CPU per event", benchmarks)[1])  # type: ignore[index]
    sized_for = 1500  # events/s per pod, as the manifest's comment says
    assert millicores == round(sized_for * micros / 1000, -2)
    assert "limits" not in container["resources"] or "cpu" not in container["resources"]["limits"]
