"""The benchmark's confluent-kafka baselines forward every input record once, on a real broker.

``confluent_txn`` is the floor the confluent runtime's latency is compared with: it must
commit what it forwards (read_committed readers see every record, none twice) and stop
cleanly on SIGTERM, its open transaction committed.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from guardrail.devstack.kafka import LocalKafka
from guardrail.kafka.topics import ensure_topics
from guardrail.tools.bench.passthrough import ChildProcess
from kafka_helpers import produce, read_topic, worker_settings


@pytest.mark.parametrize("kind", ["confluent", "confluent_txn"])
def test_passthrough_forwards_every_record_once(
    kafka_broker: LocalKafka, tmp_path: Path, kind: str
) -> None:
    settings = worker_settings(kafka_broker, tmp_path / "data", checkpoint_ms=50)
    ensure_topics(settings)
    inputs = list(settings.input_topics().values())
    sent = [(inputs[n % len(inputs)], f"c{n % 7}".encode(), f"v{n}".encode()) for n in range(60)]
    child = ChildProcess(kind, settings, tmp_path / f"{kind}.log").start()
    try:
        produce(settings, sent)
        out = read_topic(settings, settings.topic("approved"), at_least=len(sent))
    finally:
        child.stop()
    assert child.process is not None and child.process.returncode == 0, child.tail()
    assert Counter(m.value() for m in out) == Counter(value for _, _, value in sent)
    assert {m.value(): m.key() for m in out} == {value: key for _, key, value in sent}
