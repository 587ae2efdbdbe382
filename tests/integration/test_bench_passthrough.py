"""The benchmark's confluent-kafka baselines forward every input record once, on a real broker.

``confluent_txn`` is the floor the confluent runtime's latency is compared with: what it
forwards becomes visible to read_committed readers with its input offsets committed, and
SIGTERM commits its open transaction instead of dropping it.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from guardrail.config import Settings
from guardrail.devstack.kafka import LocalKafka
from guardrail.kafka.topics import ensure_topics
from guardrail.tools.bench.load import OutputCount
from guardrail.tools.bench.passthrough import ChildProcess
from kafka_helpers import produce, read_topic, worker_settings


def _records(settings: Settings, n: int) -> list[tuple[str, bytes, bytes]]:
    inputs = list(settings.input_topics().values())
    return [(inputs[i % len(inputs)], f"c{i % 7}".encode(), f"v{i}".encode()) for i in range(n)]


def _committed_to_the_end(settings: Settings) -> bool:
    """The passthrough's group has committed every input partition up to its end."""
    consumer = Consumer({**settings.confluent_config(), "group.id": settings.app_id})
    try:
        metadata = consumer.list_topics(timeout=15)
        tps = [
            TopicPartition(topic, p)
            for topic in settings.input_topics().values()
            for p in metadata.topics[topic].partitions
        ]
        committed = consumer.committed(tps, timeout=15)
        ends = [consumer.get_watermark_offsets(tp, timeout=15)[1] for tp in tps]
        return all(max(c.offset, 0) == end for c, end in zip(committed, ends, strict=True))
    finally:
        consumer.close()


def _offsets_used(settings: Settings, topic: str) -> int:
    """Offsets taken on ``topic``, open transactions and commit markers included."""
    consumer = Consumer(
        {
            **settings.confluent_config(),
            "group.id": f"peek-{uuid.uuid4().hex[:8]}",
            "isolation.level": "read_uncommitted",  # librdkafka's default is read_committed
        }
    )
    try:
        partitions = consumer.list_topics(topic, timeout=15).topics[topic].partitions
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=15)[1]
            for p in partitions
        )
    finally:
        consumer.close()


@pytest.mark.parametrize("kind", ["confluent", "confluent_txn"])
def test_passthrough_forwards_every_record_once(
    kafka_broker: LocalKafka, tmp_path: Path, kind: str
) -> None:
    settings = worker_settings(kafka_broker, tmp_path / "data", checkpoint_ms=50)
    ensure_topics(settings)
    sent = _records(settings, 60)
    child = ChildProcess(kind, settings, tmp_path / f"{kind}.log")
    try:
        child.start()
        produce(settings, sent)
        out = read_topic(settings, settings.topic("approved"), at_least=len(sent))
    finally:
        child.stop()
    assert child.process is not None and child.process.returncode == 0, child.tail()
    assert Counter(m.value() for m in out) == Counter(value for _, _, value in sent)
    assert {m.value(): m.key() for m in out} == {value: key for _, key, value in sent}
    assert _committed_to_the_end(settings)
    # The bench's count is of records: commit markers take offsets but are none.
    count = OutputCount(settings, [settings.topic("approved")])
    try:
        assert count.update() == len(sent)
    finally:
        count.close()
    if kind == "confluent_txn":
        assert _offsets_used(settings, settings.topic("approved")) > len(sent)


def test_exactly_once_passthrough_commits_its_open_transaction_on_sigterm(
    kafka_broker: LocalKafka, tmp_path: Path
) -> None:
    # No checkpoint would come for a minute: only the shutdown can commit.
    settings = worker_settings(kafka_broker, tmp_path / "data", checkpoint_ms=60_000)
    ensure_topics(settings)
    sent = _records(settings, 40)
    output = settings.topic("approved")
    child = ChildProcess("confluent_txn", settings, tmp_path / "txn.log")
    try:
        child.start()
        produce(settings, sent)
        deadline = time.monotonic() + 60
        while _offsets_used(settings, output) < len(sent):  # forwarded, not committed
            assert time.monotonic() < deadline, "the passthrough forwarded nothing in 60 s"
            time.sleep(0.2)
    finally:
        child.stop()
    assert child.process is not None and child.process.returncode == 0, child.tail()
    out = read_topic(settings, output, at_least=len(sent), timeout=30)
    assert sorted(m.value() for m in out) == sorted(value for _, _, value in sent)
    assert _committed_to_the_end(settings)
