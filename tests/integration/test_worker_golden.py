"""Issue 3, point 4: every golden file through Kafka gives exactly the pure replay's decisions.

One worker serves the whole module (the golden files' customers are disjoint, so their
states never meet). Together the files make every reason code fire, so this is every reason
code through Kafka, byte for byte (``decision_to_json``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from guardrail.config import Settings
from guardrail.core.records import decision_to_json
from guardrail.devstack.kafka import LocalKafka
from guardrail.kafka.replay import replay_to_kafka
from helpers import (
    GOLDEN_CASES,
    golden_expected,
    golden_lines,
    pure_decisions,
    running_worker,
    worker_settings,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def golden_worker(
    kafka_broker: LocalKafka, tmp_path_factory: pytest.TempPathFactory, runtime: str
) -> Iterator[Settings]:
    root = tmp_path_factory.mktemp("worker-golden")
    settings = worker_settings(kafka_broker, root, runtime=runtime)
    with running_worker(settings, root / "worker.log"):
        yield settings


@pytest.mark.parametrize("case", GOLDEN_CASES)
def test_kafka_replay_gives_the_pure_replay_decisions(golden_worker: Settings, case: str) -> None:
    lines = golden_lines(case)
    expected = golden_expected(case)
    assert pure_decisions(lines) == expected  # the expected file is the pure replay

    result = replay_to_kafka(lines, golden_worker, timeout_s=60)

    assert result.rejected == []
    got = [decision_to_json(d) for d in result.decisions]
    for number, (g, e) in enumerate(zip(got, expected, strict=True), start=1):
        assert g == e, f"{case}: decision {number} differs through Kafka"


def test_golden_customers_are_disjoint() -> None:
    """The shared worker is only sound while no customer appears in two golden files."""
    import json

    seen: dict[str, str] = {}
    for case in GOLDEN_CASES:
        for customer in {json.loads(line)["customer_id"] for line in golden_lines(case)}:
            assert seen.setdefault(customer, case) == case, (
                f"{customer} in {seen[customer]} and {case}"
            )
