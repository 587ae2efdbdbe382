"""Helpers for the worker integration tests (issue 3): settings, workers, produce, read back.

Every test gets its own topic prefix and app id (fresh topics, group and changelog), so tests
and other engineers' runs on the same broker never see each other's records.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition

from guardrail.config import Settings
from guardrail.core.policy import default_policy
from guardrail.core.records import decision_to_json
from guardrail.core.replay import Replayer
from guardrail.devstack.kafka import LocalKafka, free_port
from guardrail.kafka.replay import producer_config
from guardrail.worker.process import WorkerProcess

GOLDEN = Path(__file__).parent.parent / "golden"
GOLDEN_CASES = sorted(p.name.removesuffix(".events.jsonl") for p in GOLDEN.glob("*.events.jsonl"))
DAY_MS = 86_400_000
T0 = 1_767_225_600_000  # 2026-01-01T00:00Z, as in the golden files


def worker_settings(broker: LocalKafka, root: Path, **overrides: Any) -> Settings:
    """A fresh prefix and app id, 4 partitions, memory store, no metrics port, free web port.

    The golden files' event times are fixed dates, so the wall-clock plausibility limit on
    ``ts`` (``max_future_ms``, where the settings have it) is off: a replay is not live data.
    """
    tag = uuid.uuid4().hex[:8]
    values: dict[str, Any] = {
        "bootstrap_servers": broker.bootstrap,
        "topic_prefix": f"it-{tag}.",
        "app_id": f"guardrail-it-{tag}",
        "partitions": 4,
        "store": "memory://",
        "data_dir": root / tag,
        "metrics_port": 0,
        "web_port": free_port(),
        "max_future_ms": 0,
    }
    values.update(overrides)
    return Settings(**values)


def with_web_port(settings: Settings, **more: Any) -> Settings:
    """The same settings (same app id and topics) for another worker process."""
    return settings.model_copy(update={"web_port": free_port(), **more})


@contextlib.contextmanager
def running_worker(
    settings: Settings, log_path: Path, timeout: float = 90.0
) -> Iterator[WorkerProcess]:
    """A started worker, stopped (SIGTERM, then SIGKILL) when the block ends."""
    worker = WorkerProcess(settings, log_path)
    try:
        worker.start(timeout=timeout)
        yield worker
    finally:
        worker.stop(timeout=20)


def golden_lines(case: str) -> list[str]:
    return (GOLDEN / f"{case}.events.jsonl").read_text(encoding="utf-8").splitlines()


def golden_expected(case: str) -> list[str]:
    return (GOLDEN / f"{case}.expected.jsonl").read_text(encoding="utf-8").splitlines()


def pure_decisions(lines: Iterable[str]) -> list[str]:
    """The decisions of the broker-less replay, as ``decision_to_json`` lines."""
    replayer = Replayer(default_policy())
    decisions = [decision_to_json(d) for d in replayer.replay_lines(lines)]
    assert replayer.summary.rejected == []
    return decisions


def line(kind: str, **fields: Any) -> str:
    """One replay-file line of ``kind``."""
    return json.dumps({"type": kind, **fields})


def laptop_purchase(customer: str, ts: int, event_id: str = "p-1") -> dict[str, Any]:
    return {
        "event_id": event_id,
        "customer_id": customer,
        "ts": ts,
        "order_id": f"o-{event_id}",
        "items": [{"sku": "L-1", "category": "electronics/laptops", "quantity": 1, "price": 999.0}],
        "gift": False,
    }


def laptop_recommendation(
    customer: str, ts: int, rec_id: str, channel: str = "email"
) -> dict[str, Any]:
    return {
        "rec_id": rec_id,
        "customer_id": customer,
        "ts": ts,
        "channel": channel,
        "campaign_id": "cmp-it",
        "trigger": "batch",
        "items": [{"sku": "L-2", "category": "electronics/laptops"}],
        "title": None,
        "body": "New laptops picked for you.",
        "data_sources": ["purchase_history"],
        "based_on": [],
        "life_event": None,
        "deliver_after": None,
    }


def json_value(record: dict[str, Any]) -> bytes:
    return json.dumps(record).encode()


def produce_in_order(
    settings: Settings, records: Iterable[tuple[str, bytes | None, bytes | None]]
) -> list[tuple[str, int, int]]:
    """Send ``(topic, key, value)`` one at a time, each acknowledged before the next (so the
    broker has them in exactly this order across topics); returns (topic, partition, offset)."""
    producer = Producer(producer_config(settings))
    reports: list[tuple[Any, Any]] = []
    for topic, key, value in records:
        producer.produce(
            topic, key=key, value=value, on_delivery=lambda err, msg: reports.append((err, msg))
        )
        assert producer.flush(30) == 0, f"not delivered to {topic}"
    assert all(err is None for err, _ in reports), reports
    where = [(msg.topic(), msg.partition(), msg.offset()) for _, msg in reports]
    return where


def read_topic(
    settings: Settings, topic: str, *, at_least: int = 0, timeout: float = 60.0
) -> list[Any]:
    """Every record of ``topic`` from the beginning, once there are ``at_least`` of them and
    every partition was read to its end."""
    consumer = Consumer(
        {
            **settings.confluent_config(),
            "group.id": f"it-read-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        }
    )
    try:
        partitions = sorted(consumer.list_topics(topic, timeout=15).topics[topic].partitions)
        deadline = time.monotonic() + timeout
        while True:
            consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
            records: list[Any] = []
            at_end: set[int] = set()
            while at_end != set(partitions) and time.monotonic() < deadline:
                for message in consumer.consume(num_messages=1000, timeout=0.5):
                    error = message.error()
                    if error is None:
                        records.append(message)
                    elif error.code() == -191:  # _PARTITION_EOF
                        at_end.add(message.partition() or 0)
                    else:
                        raise AssertionError(f"{topic}: {error}")
            if len(records) >= at_least or time.monotonic() >= deadline:
                break
            time.sleep(0.3)
        assert len(records) >= at_least, (
            f"{topic}: {len(records)} records after {timeout:g} s, wanted {at_least}"
        )
        return records
    finally:
        consumer.close()


def group_members(settings: Settings) -> dict[str, set[tuple[str, int]]]:
    """The worker group's members and the input topic partitions each one is assigned."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(settings.confluent_config())
    description = admin.describe_consumer_groups([settings.app_id])[settings.app_id].result(15)
    inputs = set(settings.input_topics().values())
    return {
        member.member_id: {
            (tp.topic, tp.partition)
            for tp in member.assignment.topic_partitions
            if tp.topic in inputs
        }
        for member in description.members
    }
