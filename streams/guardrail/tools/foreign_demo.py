"""`guardrail demo --foreign`: the guardrail on a brand's own topics, through `guardrail ingest`.

A brand writes purchases and clicks in its own shapes (nested customer ids, seconds or ISO
times, its own words for actions) onto its own topics, keyed by order or click id, with
librdkafka's default partitioner and a partition count of its own. `guardrail ingest` maps
them into the contract's topics, keyed by customer_id on the murmur2 partition; the worker
decides; the decisions are compared with a pure replay of the same events in the order the
worker got them (the brand's signals first: they were all ingested before the rest was sent).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from guardrail.config import Settings
from guardrail.errors import ProcessFailed
from guardrail.ingest.process import IngestProcess
from guardrail.pipeline.partitioning import partition_for
from guardrail.tools.demo import DemoOptions, Stack, _say, _step, start_stack
from guardrail.tools.demo_report import compare, comparison_line, decision_table, heading
from guardrail.worker.process import WorkerProcess

BRAND_PARTITIONS = 3
ORDERS, CLICKS = "shop.orders", "web.clicks"
BAD_KEYS = (b"o-broken", b"o-garbled")
KIND = {"view": "pv", "search": "search", "add_to_cart": "basket_add",
        "remove_from_cart": "basket_remove"}  # fmt: skip

MAPPING = f"""\
# The brand's shapes -> the contract's records (docs/integration.md)
sources:
  - topic: {ORDERS}
    type: purchase
    key: buyer.id
    fields:
      event_id: order_ref
      order_id: order_no
      ts: {{path: placed_at, unit: s}}
      items: "lines[].{{sku: sku, category: category, quantity: qty, price: price}}"
      gift: {{path: gift_wrapped, default: false}}
  - topic: {CLICKS}
    type: browsing
    key: visitor.id
    fields:
      event_id: click_id
      ts: {{path: at, unit: iso8601}}
      action: {{path: kind, map: {json.dumps({v: k for k, v in KIND.items()})}}}
      sku: product.sku
      category: product.category
      query: q
"""


def order_of(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "order_no": event["order_id"],
        "order_ref": event["event_id"],
        "buyer": {"id": event["customer_id"], "segment": "loyal"},
        "placed_at": event["ts"] // 1000,
        "lines": [
            {"sku": i["sku"], "category": i["category"], "qty": i["quantity"], "price": i["price"]}
            for i in event["items"]
        ],
        "gift_wrapped": event.get("gift", False),
    }


def click_of(event: dict[str, Any]) -> dict[str, Any]:
    at = datetime.fromtimestamp(event["ts"] / 1000, UTC).isoformat(timespec="milliseconds")
    return {
        "click_id": event["event_id"],
        "visitor": {"id": event["customer_id"]},
        "at": at,
        "kind": KIND[event["action"]],
        "product": {"sku": event.get("sku"), "category": event.get("category")},
        "q": event.get("query"),
    }


def split(lines: list[str]) -> tuple[list[str], list[tuple[str, bytes, bytes]]]:
    """(all lines, purchases' ts in whole seconds as the brand sends them; the brand's records)."""
    adjusted: list[str] = []
    foreign: list[tuple[str, bytes, bytes]] = []
    for line in lines:
        event = json.loads(line)
        if event["type"] == "purchase":
            event["ts"] = event["ts"] // 1000 * 1000  # the brand keeps seconds
            order = order_of(event)
            foreign.append((ORDERS, order["order_no"].encode(), json.dumps(order).encode()))
        elif event["type"] == "browsing":
            click = click_of(event)
            foreign.append((CLICKS, click["click_id"].encode(), json.dumps(click).encode()))
        adjusted.append(json.dumps(event))
    bad_order = {"order_no": "o-broken", "lines": []}  # no buyer: dead-lettered by ingest
    foreign.append((ORDERS, b"o-broken", json.dumps(bad_order).encode()))
    foreign.append((ORDERS, b"o-garbled", b"<order id='7'/>"))  # not JSON
    return adjusted, foreign


def create_brand_topics(settings: Settings) -> None:
    admin = AdminClient(settings.confluent_config())
    new = [
        NewTopic(t, num_partitions=BRAND_PARTITIONS, replication_factor=1) for t in (ORDERS, CLICKS)
    ]
    for future in admin.create_topics(new).values():
        future.result(30)


def produce_foreign(settings: Settings, records: list[tuple[str, bytes, bytes]]) -> None:
    """The brand's producer: librdkafka's default partitioner (consistent_random)."""
    producer = Producer({**settings.confluent_config(), "linger.ms": 5})
    for topic, key, value in records:
        while True:
            try:
                producer.produce(topic, key=key, value=value)
                break
            except BufferError:
                producer.poll(0.1)
    producer.flush(60)


def read_all(settings: Settings, topic: str, wanted: int, timeout: float) -> list[Any]:
    """Every record of ``topic`` once there are ``wanted``."""
    consumer = Consumer({**settings.confluent_config(), "group.id": "guardrail-demo-read",
                         "enable.auto.commit": False, "enable.partition.eof": True})  # fmt: skip
    try:
        partitions = consumer.list_topics(topic, timeout=15).topics[topic].partitions
        deadline = time.monotonic() + timeout
        while True:
            consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
            records: list[Any] = []
            ends = 0
            while ends < len(partitions) and time.monotonic() < deadline:
                for message in consumer.consume(1000, 0.5):
                    if message.error() is None:
                        records.append(message)
                    else:
                        ends += 1
            if len(records) >= wanted:
                return records
            if time.monotonic() > deadline:
                raise ProcessFailed(f"{topic}: {len(records)} of {wanted} records from ingest")
            time.sleep(0.5)
    finally:
        consumer.close()


def run_ingest_stage(
    settings: Settings, data_dir: Path, records: list[tuple[str, bytes, bytes]], timeout: float
) -> tuple[IngestProcess, dict[str, int]]:
    """Start ingest, produce the brand's records, wait for its outputs; what it wrote."""
    mapping = data_dir / "mapping.yaml"
    mapping.write_text(MAPPING)
    ingest = IngestProcess(settings, mapping, data_dir / "ingest.log", "guardrail-demo-ingest")
    ingest.wait_ready(timeout)
    _say(f"      ingest ready (mapping {mapping}, log {data_dir / 'ingest.log'})")
    produce_foreign(settings, records)
    wanted = {
        "purchase": sum(1 for t, k, _ in records if t == ORDERS and k not in BAD_KEYS),
        "browsing": sum(1 for t, _, _ in records if t == CLICKS),
    }
    counts: dict[str, int] = {}
    for kind, n in wanted.items():
        outputs = read_all(settings, settings.topic(kind), n, timeout)
        counts[kind] = len(outputs)
        counts[f"{kind} on the key's partition"] = sum(
            1 for m in outputs if m.partition() == partition_for(m.key(), settings.partitions)
        )
    counts["dead letters"] = len(read_all(settings, settings.topic("deadletter"), 2, timeout))
    return ingest, counts


def run_foreign_demo(opts: DemoOptions, stack: Stack) -> bool:
    """Everything up to the report; returns whether Kafka agreed with the pure replay."""
    from guardrail.core.policy import load_policy
    from guardrail.core.replay import Replayer
    from guardrail.generate.stream import GeneratorConfig, generate_lines
    from guardrail.kafka.replay import replay_to_kafka
    from guardrail.kafka.topics import ensure_topics

    data_dir = opts.data_dir
    settings = start_stack(opts, stack)
    with stack.stage("create topics") as notes:
        _step(3, f"creating the contract's topics and the brand's own ({ORDERS}, {CLICKS}: "
                 f"{BRAND_PARTITIONS} partitions)")  # fmt: skip
        settings = settings.model_copy(update={"partitions": ensure_topics(settings)})
        create_brand_topics(settings)
        notes.append(f"{settings.partitions} + {BRAND_PARTITIONS} partitions")
    with stack.stage("start worker"):
        _step(4, f"starting a worker (log {data_dir / 'worker.log'})")
        stack.worker = WorkerProcess(settings, data_dir / "worker.log")
        stack.worker.start(timeout=opts.timeout)
    cfg = GeneratorConfig(seed=opts.seed, customers=opts.customers, events=opts.events,
                          failure_rate=opts.failure_rate)  # fmt: skip
    lines, foreign = split(list(generate_lines(cfg)))
    contract = [line for line in lines if json.loads(line)["type"] not in ("purchase", "browsing")]
    with stack.stage("ingest the brand's topics") as notes:
        _step(5, f"the brand writes {len(foreign):,} orders and clicks in its own shapes, keyed "
                 "by order/click id, librdkafka's default partitioner; guardrail ingest maps "
                 "them")  # fmt: skip
        ingest, counts = run_ingest_stage(settings, data_dir, foreign, opts.timeout)
        stack.extra.append(ingest)
        for name, n in counts.items():
            _say(f"      {name:<40} {n:>7,}")
        notes.append(f"{counts['purchase'] + counts['browsing']:,} records mapped")
    with stack.stage("stream the rest through the worker") as notes:
        recs = sum('"recommendation"' in c for c in contract)
        _step(6, f"profiles, locations and {recs:,} recommendations straight onto the contract's"
                 " topics; the worker decides")  # fmt: skip
        result = replay_to_kafka(contract, settings, timeout_s=opts.timeout)
        notes.append(f"{len(result.decisions):,} decisions")
    # The brand's signals went first (all ingested before the rest was produced), so the pure
    # replay takes the events in that order too.
    signals = [line for line in lines if line not in set(contract)]
    pure = list(Replayer(load_policy(settings.policy)).replay_lines([*signals, *contract]))
    click.echo(decision_table(result.decisions))
    comparison = compare(result.decisions, pure)
    click.echo(heading("Check"))
    placed = all(
        counts[f"{k} on the key's partition"] == counts[k] for k in ("purchase", "browsing")
    )
    click.echo(
        f"every ingested record on its key's murmur2 partition: {'yes' if placed else 'NO'}; "
        f"{counts['dead letters']} unmappable brand records dead-lettered with their source "
        "topic, partition and offset"
    )
    click.echo(comparison_line(comparison, len(pure)))
    return comparison.same and placed
