"""No record can stop a partition: recommendations of every size up to the worker's input
limit are decided, non-JSON values of the same sizes and any value beyond the limit are
dead-lettered with a bounded value, and every input partition commits to its end. Before, a
valid 900 KB recommendation became a 1.8 MB approved record (value and decision header) that
the broker refused, and the worker stopped."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Producer

from guardrail.devstack.kafka import LocalKafka
from guardrail.kafka import serde
from guardrail.kafka.bounds import DEAD_LETTER_VALUE_BYTES
from guardrail.kafka.replay import producer_config
from guardrail.kafka.topics import ensure_topics
from guardrail.worker.process import WorkerProcess
from kafka_helpers import committed_to_the_end, read_topic, wait_decisions, worker_settings

pytestmark = pytest.mark.integration

SIZES = [1_000, 100_000, 500_000, 900_000, 1_000_000]
LIMIT = 950_000


def recommendation(customer: str, rec_id: str, size: int, ts: int) -> bytes:
    doc = {"rec_id": rec_id, "customer_id": customer, "ts": ts, "channel": "email",
           "trigger": "batch", "items": [{"sku": "B-1", "category": "books"}],
           "title": None, "body": "", "data_sources": []}  # fmt: skip
    filler = size - len(json.dumps(doc))
    doc["body"] = ("New books are in. " * (filler // 18 + 1))[:filler]
    value = json.dumps(doc).encode()
    assert len(value) == size
    return value


def test_every_size_is_decided_or_dead_lettered_and_every_partition_commits(
    kafka_broker: LocalKafka, tmp_path: Path, runtime: str
) -> None:
    # An input limit the broker lets us exceed: 1,000,000 bytes is beyond it, 900 KB under it.
    settings = worker_settings(
        kafka_broker, tmp_path / "data", runtime=runtime, max_value_bytes=LIMIT
    )
    ensure_topics(settings)
    tag = uuid.uuid4().hex[:6]
    now = int(time.time() * 1000)
    producer = Producer({**producer_config(settings), "message.max.bytes": 1_048_588})
    rec_topic = settings.topic("recommendation")
    wanted, garbage = [], 0
    for i, size in enumerate(SIZES):
        for p in range(settings.partitions):
            customer = f"c-size-{tag}-{i}-{p}"
            rec_id = f"r-{i}-{p}"
            value = recommendation(customer, rec_id, size, now)
            producer.produce(rec_topic, key=customer.encode(), value=value)
            producer.produce(rec_topic, key=customer.encode(), value=b"\xff" * size)
            producer.flush(60)
            if size <= LIMIT:
                wanted.append(rec_id)
                garbage += 1
            else:
                garbage += 2  # both oversized
    after = [f"r-after-{p}" for p in range(settings.partitions * 2)]
    for rec_id in after:  # decided behind every big record of its partition
        customer = f"c-after-{tag}-{rec_id}"
        producer.produce(rec_topic, key=customer.encode(),
                         value=recommendation(customer, rec_id, 500, now))  # fmt: skip
    assert producer.flush(60) == 0

    with WorkerProcess(settings, tmp_path / "worker.log").start():
        decisions = wait_decisions(settings, [*wanted, *after], timeout=180)
        letters = read_topic(settings, settings.topic("deadletter"), at_least=garbage)
        deadline = time.monotonic() + 60
        while committed_to_the_end(settings) and time.monotonic() < deadline:
            time.sleep(1)
        assert committed_to_the_end(settings) == {}
    assert all(decisions[r].action in ("deliver", "rewrite") for r in wanted)
    for message in letters:
        letter = serde.decode_json("deadletter", message.value())
        assert letter.value is not None and len(letter.value) <= DEAD_LETTER_VALUE_BYTES
        if len(letter.value) == DEAD_LETTER_VALUE_BYTES:
            assert "sha256" in letter.error and "bytes" in letter.error
    approved = read_topic(settings, settings.topic("approved"), at_least=len(wanted))
    assert max(len(m.value()) + sum(len(v) for _, v in m.headers() or []) for m in approved) < (
        1_048_576
    )
