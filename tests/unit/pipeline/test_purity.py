"""The pipeline is runtime-neutral: no faust, aiokafka or confluent_kafka, even indirectly."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PIPELINE = Path(__file__).resolve().parents[3] / "streams" / "guardrail" / "pipeline"
CLIENTS = ("faust", "aiokafka", "confluent_kafka", "mode", "guardrail.worker")


@pytest.mark.parametrize("path", sorted(PIPELINE.glob("*.py")), ids=lambda p: p.name)
def test_no_pipeline_module_imports_a_kafka_client_or_a_runtime(path: Path) -> None:
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            assert not name.startswith(CLIENTS), f"{path.name} imports {name}"


def test_importing_the_pipeline_loads_no_runtime_framework() -> None:
    # A runtime brings its own client; the pipeline (its murmur2 hash included) needs none.
    code = (
        "import sys, guardrail.pipeline, guardrail.pipeline.drive;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('faust', 'aiokafka', 'confluent_kafka', 'mode')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
