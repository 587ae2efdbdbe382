"""The image compiles the core and installs the tested pins; compose, the docs and the tests
run the same Kafka and Apicurio versions (the devstack's, defined once in
guardrail.devstack.jvm_fetch)."""

from __future__ import annotations

import re
from pathlib import Path

from deploy_helpers import COMPOSE, DEPLOY, ROOT, load_yaml
from guardrail.devstack.jvm_fetch import APICURIO_VERSION, KAFKA_VERSION

DOCKERFILE = DEPLOY / "Dockerfile"
CONSTRAINTS = ROOT / "constraints.txt"


def pins() -> dict[str, str]:
    out = {}
    for line in CONSTRAINTS.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            out[re.sub(r"[-_.]+", "-", name).lower()] = version
    return out


def test_compose_runs_the_kafka_and_apicurio_the_tests_run() -> None:
    services = load_yaml(COMPOSE)["services"]
    assert services["kafka"]["image"] == f"apache/kafka:{KAFKA_VERSION}"
    assert services["registry"]["image"] == f"apicurio/apicurio-registry:{APICURIO_VERSION}"


def test_the_docs_name_the_same_versions() -> None:
    readme = (DEPLOY / "README.md").read_text()
    assert f"Kafka {KAFKA_VERSION}" in readme and f"Apicurio {APICURIO_VERSION}" in readme
    for stale in re.findall(r"apache/kafka:([\d.]+)|apicurio-registry:([\d.]+)", readme):
        assert set(stale) - {""} <= {KAFKA_VERSION, APICURIO_VERSION}, stale


def test_every_runtime_dependency_is_pinned_in_the_constraints() -> None:
    import importlib.metadata as md

    from packaging.requirements import Requirement

    pinned = pins()
    requires = md.requires("personalization-guardrail") or []
    runtime = [Requirement(r) for r in requires if "extra ==" not in r]
    assert runtime
    for requirement in runtime:
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        assert name in pinned, f"{name} is not pinned in constraints.txt"
        assert requirement.specifier.contains(pinned[name]), (name, pinned[name])
    assert pinned["faust-streaming"].startswith("0.15.") and "aiokafka" in pinned


def test_make_and_the_image_both_install_with_the_constraints() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install -q -c constraints.txt -e '.[dev]'" in makefile
    text = DOCKERFILE.read_text()
    assert text.count("-c constraints.txt") >= 2 and "COPY constraints.txt" in text


def test_the_image_is_multi_stage_and_compiles_the_core() -> None:
    text = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM (\S+)(?: AS (\w+))?", text, re.M)
    assert len(stages) == 2 and stages[0][1] == "build"
    build = text[: text.index("\nFROM python:3.11-slim\n")]
    assert "gcc" in build and "scripts/compile_core.py" in build
    assert "endswith('.so')" in build, "the build checks the core imports compiled"
    # Both compiled packages refuse an extension older than its source: both are touched
    # after the install, and the pipeline is checked to import compiled too.
    assert "*/guardrail/core/*.so" in build and "*/guardrail/pipeline/*.so" in build
    assert "guardrail.pipeline.handle" in build
    assert "COPY --from=build /opt/guardrail /opt/guardrail" in text
    assert "about 330 MB" in text  # the size is written down
    package_data = (ROOT / "pyproject.toml").read_text()
    assert '"guardrail.core" = ["default_policy.yaml", "*.so"]' in package_data
    assert '"guardrail.pipeline" = ["*.so"]' in package_data


def test_the_build_context_holds_what_the_dockerfile_copies() -> None:
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text()
    for needed in ("constraints.txt", "scripts/compile_core.py", "streams/**", "schemas/**"):
        assert f"!{needed}" in ignore
    assert "**/*.so" in ignore, "a host's compiled core must not reach the image"
    assert Path(ROOT / "scripts" / "compile_core.py").is_file()
