"""`guardrail replay --kafka`: produce a replay file onto the input topics, collect decisions.

Every event goes to its topic keyed by ``customer_id`` (one producer, idempotent, so each
partition keeps file order). A customer's events also reach the broker in file order across
topics: the producer batches per partition, so an event could otherwise be written before an
earlier one of the same customer still lingering in another topic's batch, where no consumer
can see it yet. Before an event goes to another topic than its customer's events still in
flight, those are flushed. Then the decisions are read back from the approved and
suppressed topics, starting at their end offsets from before the first send, and written in
input order. A running worker decides; this command only feeds it and listens.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from guardrail.config import DECISION_HEADER, Settings
from guardrail.core.records import Decision, Event, Recommendation, event_type
from guardrail.core.replay import LineError, parse_line
from guardrail.errors import KafkaUnavailable
from guardrail.kafka import serde

Progress = Callable[[str, int, int], None]


class ReplayTimeout(KafkaUnavailable):
    """Not every recommendation got its decision in time."""


@dataclass
class KafkaReplayResult:
    decisions: list[Decision]
    events: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def producer_config(settings: Settings) -> dict[str, object]:
    return {
        **settings.confluent_config(),
        # The Java clients' partitioner: the same key lands on the same partition number in
        # every topic, whichever client produced it (librdkafka's default differs).
        "partitioner": "murmur2_random",
        "enable.idempotence": True,
        "linger.ms": 5,
    }


def end_offsets(consumer: Consumer, topics: Iterable[str]) -> list[TopicPartition]:
    metadata = consumer.list_topics(timeout=15)
    positions = []
    for topic in topics:
        if topic not in metadata.topics:
            raise KafkaException(f"topic {topic} does not exist: is a worker running?")
        for partition in metadata.topics[topic].partitions:
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=15)
            positions.append(TopicPartition(topic, partition, high))
    return positions


def parse_events(lines: Iterable[str]) -> tuple[list[Event], list[tuple[int, str]]]:
    """The valid events of a replay file and the rejected lines, as the pure replay does."""
    events: list[Event] = []
    rejected: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            events.append(parse_line(line))
        except LineError as exc:
            rejected.append((number, str(exc)))
    return events, rejected


def decision_of(
    topic_kind: str,
    value: bytes,
    headers: list[tuple[str, bytes]] | None,
    codec: serde.Codec | None = None,
) -> Decision:
    """The full decision carried by an output record (approved ones carry it in a header).

    Suppressed values are in the wire format when the worker has a schema registry: pass a
    ``codec`` with that registry to read them.
    """
    from guardrail.kafka.bounds import decision_from_output

    decision = decision_from_output(topic_kind, value, headers, codec)
    if decision is not None:
        return decision
    raise ValueError(f"approved record without a {DECISION_HEADER} header")


def decision_topics(settings: Settings) -> dict[str, str]:
    """The topics decisions come out on, with the kind of record each holds."""
    outputs = settings.output_topics()
    return {outputs["approved"]: "approved", outputs["suppressed"]: "suppressed"}


def decision_consumer(settings: Settings, group_id: str, **extra: object) -> Consumer:
    """A consumer for :func:`collect_decisions`: committed records only, nothing committed."""
    return Consumer(
        {
            **settings.confluent_config(),
            "group.id": group_id,
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
            **extra,
        }
    )


def replay_to_kafka(
    lines: Iterable[str],
    settings: Settings,
    *,
    timeout_s: float = 120.0,
    progress: Progress | None = None,
) -> KafkaReplayResult:
    """Produce ``lines`` and wait for every recommendation's decision (in input order)."""
    events, rejected = parse_events(lines)
    listen = decision_topics(settings)
    consumer = decision_consumer(settings, "guardrail-replay")
    try:
        consumer.assign(end_offsets(consumer, listen))
        produce_events(events, settings, progress)
        wanted = [e.rec_id for e in events if isinstance(e, Recommendation)]
        got = collect_decisions(
            consumer, listen, wanted, timeout_s, progress, codec=_codec(settings)
        )
    finally:
        consumer.close()
    queues: dict[str, deque[Decision]] = defaultdict(deque)
    for decision in got:
        queues[decision.rec_id].append(decision)
    ordered = [queues[rec_id].popleft() for rec_id in wanted]
    return KafkaReplayResult(ordered, len(events), rejected)


def _codec(settings: Settings) -> serde.Codec:
    return serde.Codec(serde.registry_client_or_none(settings.schema_registry_url))


def produce_events(
    events: list[Event],
    settings: Settings,
    progress: Progress | None = None,
    *,
    logger: Any = None,
) -> int:
    """Produce ``events`` so that each customer's events reach the broker in file order.

    One producer keeps order within a partition, not across topics: a customer's purchase
    and the recommendation after it sit on different topics, and squeezing days of events
    into a second lets the later one land first, which the worker cannot tell from real
    time. So before a customer's event goes to another topic than their previous
    unacknowledged one, the producer is flushed. Returns the number of flushes.
    """
    codec = _codec(settings)
    topics = settings.input_topics()
    config = producer_config(settings)
    if logger is not None:
        config["logger"] = logger
    producer = Producer(config)
    failures: list[str] = []

    def delivered(err: object, _msg: object) -> None:
        if err is not None:
            failures.append(str(err))

    in_flight: dict[str, str] = {}  # customer -> topic of their unacknowledged events
    flushes = 0
    for n, event in enumerate(events, start=1):
        kind = event_type(event)
        topic = topics[kind]
        if in_flight.get(event.customer_id, topic) != topic:
            producer.flush(60)
            in_flight.clear()
            flushes += 1
        in_flight[event.customer_id] = topic
        value = codec.encode(kind, event, topic)
        while True:
            try:
                producer.produce(
                    topic, value=value, key=event.customer_id.encode(), on_delivery=delivered
                )
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
        if progress and n % 250 == 0:
            progress("produced", n, len(events))
    remaining = producer.flush(60)
    if failures or remaining:
        raise KafkaException(
            f"{len(failures) + remaining} events not delivered: {failures[:1] or 'flush timeout'}"
        )
    if progress:
        progress("produced", len(events), len(events))
    return flushes


def collect_decisions(
    consumer: Consumer,
    listen: dict[str, str],
    wanted: list[str],
    timeout_s: float,
    progress: Progress | None,
    codec: serde.Codec | None = None,
) -> list[Decision]:
    missing: dict[str, int] = defaultdict(int)
    for rec_id in wanted:
        missing[rec_id] += 1
    outstanding = len(wanted)
    got: list[Decision] = []
    deadline = time.monotonic() + timeout_s
    while outstanding and time.monotonic() < deadline:
        for message in consumer.consume(num_messages=1000, timeout=0.5):
            if message.error():
                raise KafkaException(message.error())
            topic, value = message.topic(), message.value()
            if topic is None or value is None:
                continue
            raw_headers: Any = message.headers() or []
            headers = [(k, v) for k, v in raw_headers if isinstance(v, bytes)]
            decision = decision_of(listen[topic], value, headers, codec)
            if missing.get(decision.rec_id, 0) > 0:
                missing[decision.rec_id] -= 1
                outstanding -= 1
                got.append(decision)
        if progress:
            progress("decided", len(wanted) - outstanding, len(wanted))
    if outstanding:
        raise ReplayTimeout(
            f"{outstanding} of {len(wanted)} recommendations got no decision within "
            f"{timeout_s:g} s: is a worker running on these topics?"
        )
    return got
