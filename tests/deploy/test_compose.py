"""docker-compose.yml and deploy/Dockerfile, checked without a Docker engine."""

from __future__ import annotations

import glob
import re
from typing import Any

import click

from deploy_helpers import (
    COMPOSE,
    DEPLOY,
    METRICS_PORT,
    PROMETHEUS,
    ROOT,
    WORKER_ENV,
    check_worker_env,
    load_yaml,
)
from guardrail.cli.main import main

SERVICES = {"kafka", "registry", "worker", "generator", "prometheus", "grafana"}
DOCKERFILE = DEPLOY / "Dockerfile"


def compose() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(COMPOSE)
    return data


def services() -> dict[str, Any]:
    result: dict[str, Any] = compose()["services"]
    return result


def test_the_expected_services_exist() -> None:
    assert set(services()) == SERVICES


def test_images_are_the_expected_ones_and_pinned() -> None:
    s = services()
    assert s["kafka"]["image"].startswith("apache/kafka:")
    assert s["registry"]["image"].startswith("apicurio/apicurio-registry:")
    for name, service in s.items():
        image = service.get("image", "")
        assert ":" in image and not image.endswith(":latest"), name


def test_kafka_runs_kraft_single_node() -> None:
    env = services()["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", env["CLUSTER_ID"]), "16 bytes base64url"
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093"


def test_every_mounted_or_built_file_exists() -> None:
    for name, service in services().items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
        build = service.get("build")
        if build:
            assert (ROOT / build["context"] / build["dockerfile"]).is_file(), name


def test_dockerfile_copies_only_what_exists_and_runs_the_worker() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim", text, re.M)
    for line in re.findall(r"^COPY (?!--from)(.+)$", text, re.M):
        sources = line.split()[:-1]
        matched = [s for s in sources if glob.glob(str(ROOT / s))]
        assert matched, f"COPY {line}: no source exists"
        for source in sources:
            if not glob.has_magic(source):
                assert (ROOT / source).exists(), source
    assert 'ENTRYPOINT ["guardrail"]' in text and 'CMD ["worker"]' in text
    assert f"GUARDRAIL_METRICS_PORT={METRICS_PORT}" in text
    env = dict(re.findall(r"(GUARDRAIL_\w+)=(\S+)", text))
    check_worker_env(env)


def test_worker_env_uses_only_known_names_and_agrees_with_the_stack() -> None:
    s = services()
    env = s["worker"]["environment"]
    # one broker in compose: the broker's defaults (replication factor 1) fit it
    assert set(env) == WORKER_ENV - {
        "GUARDRAIL_REPLICATION_FACTOR",
        "GUARDRAIL_MIN_INSYNC_REPLICAS",
    }
    for name in ("worker", "generator"):
        check_worker_env(s[name]["environment"])
    assert env["GUARDRAIL_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert env["GUARDRAIL_SCHEMA_REGISTRY_URL"] == "http://registry:8080/apis/ccompat/v7"
    assert env["GUARDRAIL_STORE"].startswith(("rocksdb://", "memory://"))
    mounts = {v.split(":")[1]: v.split(":")[0] for v in s["worker"]["volumes"]}
    assert env["GUARDRAIL_POLICY"] in mounts, "the policy file is mounted where it is read"


def test_ports_agree_with_the_scrape_config() -> None:
    s = services()
    port = int(s["worker"]["environment"]["GUARDRAIL_METRICS_PORT"])
    assert port == METRICS_PORT
    assert str(port) in s["worker"]["expose"]
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "guardrail"]
    targets = [t for sc in job["static_configs"] for t in sc["targets"]]
    assert targets == [f"worker:{port}"]
    prometheus = s["prometheus"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in prometheus["volumes"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    assert "9090:9090" in prometheus["ports"]
    assert "8080" in s["registry"]["ports"][0].split(":")


def _options(command: click.Command) -> set[str]:
    return {opt for param in command.params for opt in getattr(param, "opts", [])}


def test_generator_feeds_kafka_with_the_cli() -> None:
    script = " ".join(services()["generator"]["command"]).replace("\\\n", " ")
    assert "guardrail generate" in script
    assert "guardrail replay --kafka" in script
    # every option the script passes exists on its subcommand
    for name, command in main.commands.items():
        for call in re.findall(rf"guardrail {name}\b(.*?)(?:&&|;|\n|$)", script):
            flags = set(re.findall(r"(?<!\S)(--[a-z-]+)", call))
            assert flags <= _options(command), (name, flags - _options(command))
    assert services()["worker"]["command"] == ["worker"] and "worker" in main.commands


def test_the_worker_is_healthy_once_ready_and_the_generator_waits_for_it() -> None:
    s = services()
    check = " ".join(s["worker"]["healthcheck"]["test"])
    assert f"http://127.0.0.1:{METRICS_PORT}/readyz" in check
    assert s["generator"]["depends_on"]["worker"]["condition"] == "service_healthy"
    assert s["worker"]["environment"]["GUARDRAIL_METRICS_BIND"] == "0.0.0.0"


def test_the_image_checks_liveness_and_listens_beyond_loopback() -> None:
    text = DOCKERFILE.read_text()
    healthcheck = text[text.index("HEALTHCHECK") :].split("\nENTRYPOINT")[0]
    assert "/livez" in healthcheck
    assert "GUARDRAIL_METRICS_BIND=0.0.0.0" in text
