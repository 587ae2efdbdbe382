"""A send the broker refuses for good does not stop the partition: the approved topic takes
at most 32 KB a batch (``max.message.bytes``), so a recommendation of 40 KB cannot be sent.
Its input record is dead-lettered (``send_failed``, with its topic, partition and offset),
the small decisions around it are decided (also those that shared its batch), every input
partition commits to its end and the worker keeps running. A 70 KB one is refused too, and so
is its dead letter (64 KiB of value kept, more than the dead-letter topic's 60 KB): its
position is logged and counted, and the partition goes on all the same."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from guardrail.config import Settings
from guardrail.devstack.kafka import LocalKafka, free_port
from guardrail.kafka import serde
from guardrail.kafka.topics import ensure_topics
from guardrail.worker.process import WorkerProcess
from kafka_helpers import (
    committed_to_the_end,
    produce,
    read_topic,
    wait_decisions,
    worker_settings,
)
from metrics_helpers import eventually, scrape, total

pytestmark = pytest.mark.integration

APPROVED_LIMIT = 32_000
DEAD_LETTER_LIMIT = 60_000


def recommendation(customer: str, rec_id: str, body_bytes: int, ts: int) -> bytes:
    body = ("New books are in. " * (body_bytes // 18 + 1))[:body_bytes]
    doc = {"rec_id": rec_id, "customer_id": customer, "ts": ts, "channel": "email",
           "trigger": "batch", "items": [{"sku": "B-1", "category": "books"}],
           "title": None, "body": body, "data_sources": []}  # fmt: skip
    return json.dumps(doc).encode()


def create_small_outputs(settings: Settings) -> None:
    """The approved and dead-letter topics with small ``max.message.bytes``; the rest as the
    worker creates them."""
    admin = AdminClient(settings.confluent_config())
    small = {
        settings.topic("approved"): APPROVED_LIMIT,
        settings.topic("deadletter"): DEAD_LETTER_LIMIT,
    }
    futures = admin.create_topics(
        [
            NewTopic(name, settings.partitions, 1, config={"max.message.bytes": str(limit)})
            for name, limit in small.items()
        ]
    )
    for future in futures.values():
        future.result(30)
    ensure_topics(settings)


def test_a_refused_decision_is_dead_lettered_and_the_partition_goes_on(
    kafka_broker: LocalKafka, tmp_path: Path, runtime: str
) -> None:
    port = free_port()
    settings = worker_settings(kafka_broker, tmp_path / "data", runtime=runtime, metrics_port=port)
    create_small_outputs(settings)
    tag = uuid.uuid4().hex[:6]
    now = int(time.time() * 1000)
    topic = settings.topic("recommendation")
    records, small, big = [], [], {}
    for p in range(4):  # one customer a record (no frequency cap), over both partitions
        for rec_id, body in ((f"r-before-{p}", 200), (f"r-big-{p}", 40_000),
                             (f"r-after-{p}", 200)):  # fmt: skip
            customer = f"c-refused-{tag}-{rec_id}"
            value = recommendation(customer, rec_id, body, now)
            records.append((topic, customer.encode(), value))
            if body > 1_000:
                big[rec_id] = value
            else:
                small.append(rec_id)
    huge = recommendation(f"c-refused-{tag}-huge", "r-huge", 70_000, now)
    records.append((topic, f"c-refused-{tag}-huge".encode(), huge))
    after = f"c-refused-{tag}-after-huge"
    records.append((topic, after.encode(), recommendation(after, "r-after-huge", 200, now)))
    small.append("r-after-huge")
    produce(settings, records)

    log_path = tmp_path / "worker.log"
    with WorkerProcess(settings, log_path).start() as worker:
        decisions = wait_decisions(settings, small, timeout=120)
        letters = read_topic(settings, settings.topic("deadletter"), at_least=len(big))

        def unsent() -> float:
            samples = scrape(port)
            count = total(samples, "guardrail_dead_letters_unsent_total", error_kind="send_failed")
            assert count == 1, count
            return count

        eventually(unsent, 60, "the refused dead letter counted")
        deadline = time.monotonic() + 60
        while committed_to_the_end(settings) and time.monotonic() < deadline:
            time.sleep(1)
        assert committed_to_the_end(settings) == {}

        def dead_letters() -> float:
            # Once each, however often a checkpoint was redone (the one whose dead letter was
            # refused too included: dead-lettered, and unsent).
            count = total(scrape(port), "guardrail_dead_letters_total", error_kind="send_failed")
            assert count == len(big) + 1, count
            return count

        eventually(dead_letters, 10, "each dead letter counted once")
        time.sleep(2)  # still running after everything was committed
        assert worker.running, worker.tail()
    assert all(decisions[r].action in ("deliver", "rewrite") for r in small)
    approved = read_topic(settings, settings.topic("approved"))
    assert not {r for r in big} & {json.loads(m.value())["rec_id"] for m in approved}

    position = {m.value(): (m.partition(), m.offset()) for m in read_topic(settings, topic)}
    dead = [serde.decode_json("deadletter", m.value()) for m in letters]
    assert sorted(json.loads(d.value)["rec_id"] for d in dead) == sorted(big)
    for letter in dead:
        assert letter.source_topic == topic and letter.error.startswith("send_failed: ")
        assert letter.value == big[json.loads(letter.value)["rec_id"]]  # the whole record
        assert (letter.partition, letter.offset) == position[letter.value]
    where = [m for m in log_path.read_text().splitlines() if "was refused too" in m]
    assert len(where) == 1 and "{}[{}]@{}".format(topic, *position[huge]) in where[0], where
