"""The partition guard: records produced with librdkafka's default partitioner
(``consistent_random``, CRC32) land on other partitions than the contract's murmur2 for most
keys. The worker dead-letters those as ``wrong_partition`` (never deciding them against
another partition's state) and decides the ones that happen to sit on the right partition."""

from __future__ import annotations

import time
import zlib
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer

from guardrail.core.records import DeadLetter
from guardrail.devstack.kafka import LocalKafka
from guardrail.kafka import serde
from guardrail.pipeline.partitioning import partition_for
from guardrail.worker.process import WorkerProcess
from helpers import json_value, laptop_purchase, laptop_recommendation, read_topic
from kafka_helpers import worker_settings

pytestmark = pytest.mark.integration

PARTITIONS = 4
TS = 1_795_000_000_000


def keys(where: str, n: int) -> list[str]:
    """Customer ids whose CRC32 partition differs from (``misplaced``) or equals murmur2's."""
    out = []
    for i in range(10_000):
        key = f"c-{i:06d}"
        same = zlib.crc32(key.encode()) % PARTITIONS == partition_for(key.encode(), PARTITIONS)
        if same == (where == "right"):
            out.append(key)
            if len(out) == n:
                return out
    raise AssertionError("not enough keys")


def test_records_from_librdkafkas_default_partitioner_are_dead_lettered_not_decided(
    kafka_broker: LocalKafka, tmp_path: Path, runtime: str
) -> None:
    settings = worker_settings(
        kafka_broker, tmp_path / "data", runtime=runtime, partitions=PARTITIONS
    )
    misplaced, right = keys("misplaced", 5), keys("right", 3)
    reports: list[tuple[Any, Any]] = []
    # a producer as most non-Java clients configure it: librdkafka's default partitioner
    producer = Producer({**settings.confluent_config(), "linger.ms": 5})
    with WorkerProcess(settings, tmp_path / "worker.log").start():
        for n, customer in enumerate(misplaced + right):
            for topic, record in (
                ("purchase", laptop_purchase(customer, TS + n, event_id=f"p-{n}")),
                ("recommendation", laptop_recommendation(customer, TS + 60_000 + n, f"r-{n}")),
            ):
                producer.produce(
                    settings.topic(topic),
                    key=customer.encode(),
                    value=json_value(record),
                    on_delivery=lambda err, msg: reports.append((err, msg)),
                )
        assert producer.flush(30) == 0
        letters = read_topic(settings, settings.topic("deadletter"), at_least=2 * len(misplaced))
        decided = [
            *read_topic(settings, settings.topic("approved"), timeout=5),
            *read_topic(settings, settings.topic("suppressed"), timeout=5),
        ]
        deadline = time.monotonic() + 60
        while len(decided) < len(right) and time.monotonic() < deadline:
            time.sleep(1)
            decided = [
                *read_topic(settings, settings.topic("approved"), timeout=5),
                *read_topic(settings, settings.topic("suppressed"), timeout=5),
            ]
    # the setup is what it claims: librdkafka put every record on CRC32's partition
    for err, msg in reports:
        assert err is None
        assert msg.partition() == zlib.crc32(msg.key()) % PARTITIONS
    codec = serde.Codec()
    dead = [codec.decode("deadletter", m.value()) for m in letters]
    assert all(isinstance(d, DeadLetter) for d in dead)
    wrong = [d for d in dead if d.error.startswith("wrong_partition")]  # type: ignore[attr-defined]
    assert sorted(d.key.decode() for d in wrong) == sorted(misplaced * 2)  # type: ignore[attr-defined]
    for letter in wrong:
        key = letter.key  # type: ignore[attr-defined]
        expected = partition_for(key, PARTITIONS)
        assert letter.partition == zlib.crc32(key) % PARTITIONS != expected  # type: ignore[attr-defined]
        assert f"belongs on partition {expected} of {PARTITIONS}" in letter.error  # type: ignore[attr-defined]
    # only the records that sat on the right partition were decided
    assert sorted(m.key().decode() for m in decided) == sorted(right)
    assert "wrong_partition" in (tmp_path / "worker.log").read_text()
