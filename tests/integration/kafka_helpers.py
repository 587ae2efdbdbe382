"""Small helpers for integration tests that run a real worker: settings, produce, read back."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition

from guardrail.config import Settings
from guardrail.core.records import Decision
from guardrail.devstack.kafka import LocalKafka, free_port
from guardrail.kafka.replay import decision_of, producer_config

# The SASL_SSL broker's user (conftest's ``secure_broker``); the password is recognizable, so
# a leak is found by a plain substring search.
USER = "guardrail"
PASSWORD = f"Pw-{uuid.uuid4().hex[:12]}-SeCrEt"


def secure_settings(broker: LocalKafka, ca_file: Path, data_dir: Path, **extra: Any) -> Settings:
    """Settings for a worker on the SASL_SSL listener, hostname checking on."""
    values: dict[str, Any] = {
        "bootstrap_servers": broker.sasl_ssl_bootstrap,
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "PLAIN",
        "sasl_username": USER,
        "sasl_password": PASSWORD,
        "ssl_cafile": ca_file,
    }
    return worker_settings(broker, data_dir, **{**values, **extra})


def worker_settings(broker: LocalKafka, data_dir: Path, **overrides: Any) -> Settings:
    """Settings for one test: its own topic prefix and app id, memory store, free ports."""
    tag = uuid.uuid4().hex[:8]
    values: dict[str, Any] = {
        "bootstrap_servers": broker.bootstrap,
        "topic_prefix": f"t{tag}.",
        "app_id": f"guardrail-test-{tag}",
        "partitions": 2,
        "store": "memory://",
        "data_dir": data_dir,
        "metrics_port": 0,
        "web_port": free_port(),
        "max_hold_ms": 200,
    }
    values.update(overrides)
    return Settings(**values)


def produce(settings: Settings, records: Iterable[tuple[str, bytes | None, bytes | None]]) -> int:
    """Send ``(topic, key, value)`` records in order; returns how many were delivered."""
    producer = Producer(producer_config(settings))
    failures: list[str] = []
    sent = 0

    def delivered(err: object, _msg: object) -> None:
        if err is not None:
            failures.append(str(err))

    for topic, key, value in records:
        while True:
            try:
                producer.produce(topic, key=key, value=value, on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
        sent += 1
    remaining = producer.flush(60)
    assert not failures and not remaining, failures[:3]
    return sent


def read_topic(
    settings: Settings, topic: str, *, at_least: int = 0, timeout: float = 60.0
) -> list[Any]:
    """Every record of ``topic`` from the beginning; waits until there are ``at_least``."""
    consumer = Consumer(
        {
            **settings.confluent_config(),
            "group.id": f"test-read-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=15)
        partitions = sorted(metadata.topics[topic].partitions)
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        records: list[Any] = []
        at_end: set[int] = set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in consumer.consume(num_messages=1000, timeout=0.5):
                error = message.error()
                if error is None:
                    records.append(message)
                    at_end.discard(message.partition() or 0)
                elif error.code() == -191:  # _PARTITION_EOF
                    at_end.add(message.partition() or 0)
            if len(records) >= at_least and at_end >= set(partitions):
                return records
        raise AssertionError(
            f"{topic}: {len(records)} records after {timeout:g} s, wanted {at_least}"
        )
    finally:
        consumer.close()


def wait_decisions(
    settings: Settings, rec_ids: Iterable[str], timeout: float = 60.0
) -> dict[str, Decision]:
    """The decisions of ``rec_ids`` from the approved and suppressed topics (JSON values)."""
    wanted = set(rec_ids)
    outputs = settings.output_topics()
    deadline = time.monotonic() + timeout
    found: dict[str, Decision] = {}
    while True:
        for kind in ("approved", "suppressed"):
            for message in read_topic(settings, outputs[kind]):
                decision = decision_of(kind, message.value(), message.headers())
                found[decision.rec_id] = decision
        if wanted <= found.keys() or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert wanted <= found.keys(), f"no decision for {sorted(wanted - found.keys())}"
    return found


def committed_to_the_end(settings: Settings) -> dict[tuple[str, int], tuple[int, int]]:
    """(topic, partition) -> (committed, end) for every input partition that lags."""
    consumer = Consumer({**settings.confluent_config(), "group.id": settings.app_id})
    try:
        parts = [
            TopicPartition(topic, p)
            for topic in settings.input_topics().values()
            for p in range(settings.partitions)
        ]
        lagging = {}
        for tp in consumer.committed(parts, timeout=15):
            _, end = consumer.get_watermark_offsets(tp, timeout=15)
            if end and tp.offset < end:
                lagging[(tp.topic, tp.partition)] = (tp.offset, end)
        return lagging
    finally:
        consumer.close()
