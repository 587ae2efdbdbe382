"""The decision core stays pure: no Kafka, faust or Prometheus, and no wall clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[3] / "streams" / "guardrail" / "core"
FORBIDDEN_MODULES = (
    "faust",
    "aiokafka",
    "confluent_kafka",
    "prometheus_client",
    "guardrail.worker.faust_app",
)
FORBIDDEN_CALLS = ("time.time", "time.monotonic", "datetime.now", "datetime.utcnow", "date.today")


def core_files() -> list[Path]:
    return sorted(CORE.rglob("*.py"))


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(CORE)))
def test_the_core_imports_no_kafka_faust_or_prometheus(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            assert not name.startswith(FORBIDDEN_MODULES), f"{path.name} imports {name}"


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(CORE)))
def test_the_core_never_reads_the_wall_clock(path: Path) -> None:
    source = path.read_text()
    for call in FORBIDDEN_CALLS:
        assert f"{call}(" not in source, f"{path.name} calls {call}()"


def test_deciding_leaves_no_reference_cycles() -> None:
    """Everything decide() drops is freed by reference counting (the engine bench runs with
    the cyclic collector off on the strength of this)."""
    import gc

    from guardrail.core.engine import Engine
    from guardrail.core.policy import default_policy
    from guardrail.core.state import EMPTY_STATE, CustomerState
    from guardrail.generate.stream import GeneratorConfig, generate_records

    events = [record for _, record in generate_records(GeneratorConfig(events=5_000, seed=3))]
    engine = Engine(default_policy())
    states: dict[str, CustomerState] = {}
    gc.collect()
    gc.disable()
    try:
        for event in events:
            customer = event.customer_id
            states[customer], _ = engine.decide(states.get(customer, EMPTY_STATE), event)
        states.clear()
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_a_compiled_module_older_than_its_source_is_refused(tmp_path: Path) -> None:
    import os

    from guardrail.core import refuse_stale_extensions

    source = tmp_path / "rules" / "intrusive.py"
    source.parent.mkdir()
    source.write_text("")
    extension = source.with_name("intrusive.cpython-311-x86_64-linux-gnu.so")
    extension.write_bytes(b"")
    os.utime(source, (2_000_000_000, 2_000_000_000))
    os.utime(extension, (1_000_000_000, 1_000_000_000))
    with pytest.raises(ImportError, match="make compile"):
        refuse_stale_extensions(tmp_path)
    os.utime(extension, (3_000_000_000, 3_000_000_000))
    refuse_stale_extensions(tmp_path)  # newer than its source: fine
