"""`guardrail ingest` on the real broker and registry: two foreign shapes (JSON orders keyed by
order id, Avro clicks through the registry), produced with librdkafka's default partitioner;
two instances in one group. Every output is keyed by customer_id on the murmur2 partition,
bad records are dead-lettered with their source topic, partition and offset, and the group's
committed offsets reach the end once everything is written."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from guardrail.config import Settings
from guardrail.core.records import Browsing, DeadLetter, Purchase
from guardrail.devstack.kafka import LocalKafka
from guardrail.devstack.registry import LocalRegistry
from guardrail.ingest.process import IngestProcess
from guardrail.kafka import serde
from guardrail.pipeline.partitioning import partition_for
from helpers import read_topic
from kafka_helpers import worker_settings

pytestmark = pytest.mark.integration

PARTITIONS = 3
ORDERS, CLICKS = 120, 90
START_S = 1_795_846_000

CLICK_SCHEMA = json.dumps(
    {
        "type": "record",
        "name": "Click",
        "namespace": "com.brand.web",
        "fields": [
            {"name": "click_id", "type": "string"},
            {
                "name": "user",
                "type": {
                    "type": "record",
                    "name": "User",
                    "fields": [{"name": "uid", "type": "long"}],
                },
            },
            {"name": "at_ms", "type": "long"},
            {"name": "kind", "type": "string"},
            {"name": "product_sku", "type": ["null", "string"], "default": None},
        ],
    }
)

MAPPING = """
sources:
  - topic: {orders}
    type: purchase
    key: buyer.customer_ref
    fields:
      event_id: order_no
      order_id: order_no
      ts: {{path: placed_at, unit: s}}
      items: "basket[].{{sku: article, category: group, quantity: n, price: unit_price}}"
      gift: {{path: gift_wrap, default: false}}
  - topic: {clicks}
    type: browsing
    format: avro
    key: user.uid
    fields:
      event_id: click_id
      ts: at_ms
      action: {{path: kind, map: {{pv: view, cart: add_to_cart}}}}
      sku: product_sku
"""


def order(i: int) -> dict[str, Any]:
    return {
        "order_no": f"o-{i}",
        "buyer": {"customer_ref": f"cust-{i % 17}", "email": f"buyer{i}@example.com"},
        "placed_at": START_S + i,
        "basket": [{"article": f"SKU-{i}", "group": "grocery/coffee", "n": 1, "unit_price": 9.5}],
    }


def click(i: int) -> dict[str, Any]:
    return {
        "click_id": f"k-{i}",
        "user": {"uid": 1000 + i % 11},
        "at_ms": (START_S + i) * 1000,
        "kind": "pv" if i % 2 else "cart",
        "product_sku": f"SKU-{i}",
    }


def create_topics(settings: Settings, names: list[str]) -> None:
    admin = AdminClient(settings.confluent_config())
    new = [NewTopic(n, num_partitions=PARTITIONS, replication_factor=1) for n in names]
    for future in admin.create_topics(new).values():
        future.result(30)


def produce_foreign(
    settings: Settings, registry: LocalRegistry, orders: str, clicks: str
) -> list[tuple[str, int, int]]:
    """The brand's records, librdkafka's default partitioner (consistent_random), keyed by
    order or click id; returns where the two bad records landed."""
    producer = Producer({**settings.confluent_config(), "linger.ms": 5})
    bad: list[tuple[str, int, int]] = []

    def note_bad(err: Any, msg: Any) -> None:
        assert err is None
        bad.append((msg.topic(), msg.partition(), msg.offset()))

    for i in range(ORDERS):
        producer.produce(orders, key=f"o-{i}".encode(), value=json.dumps(order(i)).encode())
    producer.produce(orders, key=b"o-bad-1", value=b"<order>not json</order>", on_delivery=note_bad)
    no_customer = {**order(999), "buyer": {"email": "someone@example.com"}}
    producer.produce(
        orders, key=b"o-bad-2", value=json.dumps(no_customer).encode(), on_delivery=note_bad
    )
    serializer = AvroSerializer(serde.registry_client(registry.url), CLICK_SCHEMA)
    context = SerializationContext(clicks, MessageField.VALUE)
    for i in range(CLICKS):
        producer.produce(clicks, key=f"k-{i}".encode(), value=serializer(click(i), context))
    assert producer.flush(60) == 0
    return sorted(bad)


def committed_to_end(settings: Settings, group: str, topics: list[str]) -> bool:
    consumer = Consumer({**settings.confluent_config(), "group.id": group})
    try:
        tps = [TopicPartition(t, p) for t in topics for p in range(PARTITIONS)]
        committed = {(tp.topic, tp.partition): tp.offset for tp in consumer.committed(tps, 15)}
        for tp in tps:
            _, high = consumer.get_watermark_offsets(tp, timeout=15)
            if committed[(tp.topic, tp.partition)] != high:
                return False
        return True
    finally:
        consumer.close()


def test_ingest_maps_two_foreign_shapes_repartitions_and_dead_letters(
    kafka_broker: LocalKafka, schema_registry: LocalRegistry, tmp_path: Path
) -> None:
    settings = worker_settings(
        kafka_broker, tmp_path, partitions=PARTITIONS, schema_registry_url=schema_registry.url
    )
    tag = uuid.uuid4().hex[:6]
    orders, clicks = f"brand{tag}.shop.orders", f"brand{tag}.web.clicks"
    create_topics(settings, [orders, clicks])
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING.format(orders=orders, clicks=clicks))
    group = f"ingest-{tag}"
    instances = [
        IngestProcess(settings, mapping, tmp_path / f"ingest{n}.log", group) for n in (1, 2)
    ]
    try:
        for instance in instances:
            instance.wait_ready()
        bad = produce_foreign(settings, schema_registry, orders, clicks)
        codec = serde.Codec(serde.registry_client(schema_registry.url))
        purchases = read_topic(settings, settings.topic("purchase"), at_least=ORDERS, timeout=120)
        browsing = read_topic(settings, settings.topic("browsing"), at_least=CLICKS, timeout=120)
        letters = read_topic(settings, settings.topic("deadletter"), at_least=2, timeout=60)
        deadline = time.monotonic() + 60
        while not committed_to_end(settings, group, [orders, clicks]):
            assert time.monotonic() < deadline, "offsets not committed to the end"
            time.sleep(1)
        assert all(i.probe("/livez") == 200 for i in instances)
        metrics = [urllib_text(i.port) for i in instances]
    finally:
        codes = [instance.stop() for instance in instances]
    assert codes == [0, 0], [i.log_path.read_text()[-2000:] for i in instances]
    # both instances read: the source partitions were shared in one group
    assert all("guardrail_ingest_assigned_partitions" in m for m in metrics)
    mapped = [sum_of(m, "guardrail_ingest_records_total{", 'outcome="mapped"') for m in metrics]
    assert sum(mapped) == ORDERS + CLICKS and all(n > 0 for n in mapped), mapped

    assert len(purchases) == ORDERS and len(browsing) == CLICKS
    for message in purchases + browsing:
        kind = "purchase" if message.topic() == settings.topic("purchase") else "browsing"
        record = codec.decode(kind, message.value())
        assert message.key() == record.customer_id.encode()
        assert message.partition() == partition_for(message.key(), PARTITIONS)
    first = codec.decode("purchase", purchases[0].value())
    assert isinstance(first, Purchase) and first.ts % 1000 == 0 and first.ts > 10**12
    actions = {codec.decode("browsing", m.value()).action for m in browsing}
    assert actions == {"view", "add_to_cart"}
    assert isinstance(codec.decode("browsing", browsing[0].value()), Browsing)

    decoded = [codec.decode("deadletter", m.value()) for m in letters]
    assert all(isinstance(d, DeadLetter) for d in decoded)
    where = sorted((d.source_topic, d.partition, d.offset) for d in decoded)  # type: ignore[attr-defined]
    assert where == bad
    errors = sorted(d.error.split(":")[0] for d in decoded)  # type: ignore[attr-defined]
    assert errors == ["missing_field", "not_json_or_avro"]
    for instance in instances:
        log = instance.log_path.read_text()
        assert "someone@example.com" not in log and "buyer1@example.com" not in log


def urllib_text(port: int) -> str:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


def sum_of(text: str, prefix: str, label: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(prefix) and label in line
    )
