"""The local broker and registry are real: topics, messages, restarts, schemas."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from guardrail.devstack.kafka import LocalKafka
from guardrail.devstack.registry import LocalRegistry
from guardrail.errors import LocalStackError

pytestmark = pytest.mark.integration


def _create_topic(bootstrap: str, name: str, partitions: int = 3) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions)])
    futures[name].result(timeout=30)


def _produce(bootstrap: str, topic: str, key: bytes, value: bytes) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    producer.produce(topic, key=key, value=value)
    assert producer.flush(30) == 0


def _consume_all(bootstrap: str, topic: str, expected: int) -> list[tuple[bytes, bytes]]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    # assign, not subscribe: no group rebalance to wait for.
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    seen: list[tuple[bytes, bytes]] = []
    try:
        for _ in range(60):
            msg = consumer.poll(1.0)
            if msg is None:
                if len(seen) >= expected:
                    break
                continue
            assert msg.error() is None, msg.error()
            seen.append((msg.key() or b"", msg.value() or b""))
    finally:
        consumer.close()
    return seen


def test_broker_answers_with_one_broker(kafka_broker: LocalKafka) -> None:
    metadata = AdminClient({"bootstrap.servers": kafka_broker.bootstrap}).list_topics(timeout=10)
    assert list(metadata.brokers) == [1]
    assert kafka_broker.is_running()
    assert kafka_broker.log_file.read_text().count("Kafka Server started") >= 1


def test_auto_topic_creation_is_off(kafka_broker: LocalKafka) -> None:
    topic = f"not-created-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": kafka_broker.bootstrap})
    metadata = admin.list_topics(topic=topic, timeout=10)
    assert metadata.topics[topic].error is not None


def test_message_round_trip_survives_a_restart(kafka_broker: LocalKafka) -> None:
    topic = f"roundtrip-{uuid.uuid4().hex[:8]}"
    _create_topic(kafka_broker.bootstrap, topic)
    value = json.dumps({"customer_id": "c-1", "n": 1}).encode()
    _produce(kafka_broker.bootstrap, topic, b"c-1", value)
    assert _consume_all(kafka_broker.bootstrap, topic, 1) == [(b"c-1", value)]

    kafka_broker.stop()
    assert not kafka_broker.is_running()
    kafka_broker.start()

    topics = AdminClient({"bootstrap.servers": kafka_broker.bootstrap}).list_topics(timeout=10)
    assert len(topics.topics[topic].partitions) == 3
    assert _consume_all(kafka_broker.bootstrap, topic, 1) == [(b"c-1", value)]


def test_start_when_running_is_a_no_op(kafka_broker: LocalKafka) -> None:
    pid = kafka_broker.pid()
    kafka_broker.start()
    assert kafka_broker.pid() == pid


def test_second_broker_on_a_taken_port_fails_clearly(
    kafka_broker: LocalKafka, tmp_path: Path
) -> None:
    other = LocalKafka(kafka_broker.port, controller_port=1, data_dir=tmp_path)
    with pytest.raises(LocalStackError, match=rf"port {kafka_broker.port} .* already in use"):
        other.start()
    assert not other.is_running()


def test_registry_registers_and_fetches_an_avro_schema(schema_registry: LocalRegistry) -> None:
    client = SchemaRegistryClient({"url": schema_registry.url})
    avsc = {
        "type": "record",
        "name": "Purchase",
        "namespace": "guardrail.test",
        "fields": [{"name": "customer_id", "type": "string"}, {"name": "ts", "type": "long"}],
    }
    schema_id = client.register_schema("customer.purchases-value", Schema(json.dumps(avsc), "AVRO"))
    fetched = client.get_schema(schema_id)
    assert fetched.schema_type == "AVRO"
    assert json.loads(fetched.schema_str)["name"] == "Purchase"
    latest = client.get_latest_version("customer.purchases-value")
    assert latest.schema_id == schema_id
    assert "customer.purchases-value" in client.get_subjects()
