"""Load for `guardrail bench kafka`: the generated stream as Kafka messages, produced two ways.

- Throughput (preloaded): the whole stream is produced before the processor starts; the
  processor drains it. Its rate is taken from the output records' own timestamps (set by the
  processor's producer): input events / (last output ts - first output ts).
- Latency (live): the processor is caught up; a second stream is produced at a steady rate of
  recommendations (plus their share of signals), each recommendation's send time (just
  before ``produce``, so the load generator's own linger counts) noted by ``rec_id``; a
  consumer of the output topics computes arrival - send (same process, one monotonic clock).
  The recommendations of the first ``WARMUP_S`` are sent but not counted: the processor,
  idle since the drain, and the output consumer's first fetches are not the steady state.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition

from guardrail.config import Settings
from guardrail.generate.stream import GeneratorConfig, Message, generate_messages
from guardrail.kafka.replay import producer_config

Progress = Callable[[str], None]
TAIL = 200  # records read back to find a partition's last one
WARMUP_S = 2.0


@dataclass
class Stream:
    messages: list[Message]
    recommendations: int

    @property
    def events(self) -> int:
        return len(self.messages)


def build_stream(cfg: GeneratorConfig) -> Stream:
    """The generated events as Kafka messages: key customer_id, value the record's JSON."""
    messages = list(generate_messages(cfg))
    return Stream(messages, sum(m.rec_id is not None for m in messages))


def _producer(settings: Settings, **extra: object) -> Producer:
    return Producer({**producer_config(settings), **extra})


def _produce(producer: Producer, topic: str, message: Message) -> None:
    while True:
        try:
            producer.produce(topic, message.value, message.key)
            return
        except BufferError:
            producer.poll(0.05)


def preload(settings: Settings, stream: Stream) -> float:
    """Produce every message onto the input topics; returns the seconds it took."""
    topics = settings.input_topics()
    producer = _producer(settings, **{"linger.ms": 20, "batch.size": 1_000_000})
    started = time.perf_counter()
    for n, message in enumerate(stream.messages):
        _produce(producer, topics[message.kind], message)
        if n % 1000 == 0:
            producer.poll(0)
    if producer.flush(120):
        raise KafkaException("preload: not every message was delivered within 120 s")
    return time.perf_counter() - started


def _consumer(settings: Settings, group: str) -> Consumer:
    return Consumer(
        {
            **settings.confluent_config(),
            "group.id": group,
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": 10,
        }
    )


def partitions_of(consumer: Consumer, topics: Iterable[str]) -> list[TopicPartition]:
    metadata = consumer.list_topics(timeout=15)
    return [
        TopicPartition(topic, partition)
        for topic in topics
        for partition in metadata.topics[topic].partitions
    ]


class OutputCount:
    """The records on the output topics, counted as a ``read_committed`` reader gets them.

    Not the sum of offsets: in a transactional producer's topics every commit marker takes
    an offset too (some 16 per checkpoint with 8 partitions of two topics), and counting them
    ended the wait, and the CPU measurement, before the last outputs were written.
    """

    def __init__(self, settings: Settings, topics: list[str]) -> None:
        self.consumer = _consumer(settings, f"{settings.app_id}-bench-watch")
        self.consumer.assign(
            [
                TopicPartition(tp.topic, tp.partition, OFFSET_BEGINNING)
                for tp in partitions_of(self.consumer, topics)
            ]
        )
        self.count = 0

    def update(self) -> int:
        """Read what has come since the last call; the count so far."""
        while True:
            batch = self.consumer.consume(num_messages=10_000, timeout=0.1)
            self.count += sum(1 for message in batch if message.error() is None)
            if len(batch) < 10_000:
                return self.count

    def close(self) -> None:
        self.consumer.close()


def wait_for_outputs(
    settings: Settings,
    topics: list[str],
    expected: int,
    timeout_s: float,
    alive: Callable[[], bool],
    progress: Progress,
) -> int:
    """Count the output records until ``expected`` are there (or ``timeout_s``)."""
    outputs = OutputCount(settings, topics)
    try:
        deadline = time.monotonic() + timeout_s
        count = 0
        while time.monotonic() < deadline:
            count = outputs.update()
            progress(f"{count:,}/{expected:,} outputs")
            if count >= expected:
                return count
            if not alive():
                raise RuntimeError("the processor exited before it was done")
            time.sleep(0.5)
        return count
    finally:
        outputs.close()


def output_span_s(settings: Settings, topics: list[str]) -> float:
    """Seconds from the first to the last output record (their producer timestamps)."""
    consumer = _consumer(settings, f"{settings.app_id}-bench-span")
    try:
        firsts: list[int] = []
        lasts: list[int] = []
        for tp in partitions_of(consumer, topics):
            low, high = consumer.get_watermark_offsets(tp, timeout=15)
            if high > low:
                firsts.append(_timestamp_at(consumer, tp, low))
                lasts.append(_last_timestamp(consumer, tp, low, high))
        if not firsts:
            raise RuntimeError("no output records")
        return (max(lasts) - min(firsts)) / 1000
    finally:
        consumer.close()


def _timestamp_at(consumer: Consumer, tp: TopicPartition, offset: int) -> int:
    consumer.assign([TopicPartition(tp.topic, tp.partition, offset)])
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is None or message.error():
            continue
        _, ts = message.timestamp()
        return int(ts)
    raise RuntimeError(f"no record at {tp.topic}[{tp.partition}]@{offset}")


def _last_timestamp(consumer: Consumer, tp: TopicPartition, low: int, high: int) -> int:
    """The timestamp of the partition's last record. Written in transactions, the last
    offsets are commit markers, not records: read the tail and keep the last one."""
    consumer.assign([TopicPartition(tp.topic, tp.partition, max(low, high - TAIL))])
    last: int | None = None
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is None:
            if last is not None:
                break
            continue
        if message.error():
            continue
        last = int(message.timestamp()[1])
        if (message.offset() or 0) >= high - 1:
            break
    if last is None:
        raise RuntimeError(f"no record in {tp.topic}[{tp.partition}] below {high}")
    return last


@dataclass
class LatencyResult:
    latencies_ms: list[float]
    sent: int  # recommendations measured (sent after the warm-up)
    seconds: float
    warmup: int = 0  # recommendations sent during the warm-up

    @property
    def rate(self) -> float:
        return (self.sent + self.warmup) / self.seconds if self.seconds else 0.0


class _Listener(threading.Thread):
    """Consumes the output topics from their current end; matches rec_ids to send times."""

    def __init__(
        self, settings: Settings, topics: list[str], sent: dict[str, float], warmup: set[str]
    ) -> None:
        super().__init__(daemon=True)
        self.consumer = _consumer(settings, f"{settings.app_id}-bench-latency")
        positions = []
        for tp in partitions_of(self.consumer, topics):
            _, high = self.consumer.get_watermark_offsets(tp, timeout=15)
            positions.append(TopicPartition(tp.topic, tp.partition, high))
        self.consumer.assign(positions)
        self.sent = sent
        self.warmup = warmup  # rec_ids sent during the warm-up: not counted
        self.latencies_ms: list[float] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        consumer, sent, out, warmup = self.consumer, self.sent, self.latencies_ms, self.warmup
        while not self.stopping.is_set():
            first = consumer.poll(0.05)
            if first is None:
                continue
            arrived = time.perf_counter()
            batch = [first, *consumer.consume(num_messages=1000, timeout=0)]
            for message in batch:
                value = message.value()
                if message.error() or not value or b'"rec_id"' not in value:
                    continue
                rec_id = json.loads(value).get("rec_id")
                started = sent.pop(rec_id, None)
                if started is not None and rec_id not in warmup:
                    out.append((arrived - started) * 1000)
        consumer.close()


def steady_latency(
    settings: Settings,
    stream: Stream,
    rec_rate: float,
    outputs: list[str],
    progress: Progress,
    grace_s: float = 10.0,
) -> LatencyResult:
    """Produce ``stream`` at ``rec_rate`` recommendations/s; measure each one's round trip
    (but those sent in the first ``WARMUP_S``)."""
    topics = settings.input_topics()
    sent: dict[str, float] = {}
    warmup: set[str] = set()
    listener = _Listener(settings, outputs, sent, warmup)
    listener.start()
    producer = _producer(settings, **{"linger.ms": 1})
    event_rate = rec_rate * stream.events / max(stream.recommendations, 1)
    started = time.perf_counter()
    n = shown = 0
    total = stream.events
    while n < total:
        now = time.perf_counter()
        due = min(total, int((now - started) * event_rate) + 1)
        warming = now - started < WARMUP_S
        while n < due:
            message = stream.messages[n]
            if message.rec_id is not None:
                if warming:
                    warmup.add(message.rec_id)
                sent[message.rec_id] = time.perf_counter()
            _produce(producer, topics[message.kind], message)
            n += 1
        producer.poll(0)
        if n - shown >= 5000 or n == total:
            progress(f"{n:,}/{total:,} produced at a steady rate")
            shown = n
        time.sleep(0.001)
    seconds = time.perf_counter() - started
    producer.flush(30)
    deadline = time.monotonic() + grace_s
    while sent and time.monotonic() < deadline:
        time.sleep(0.1)
    listener.stopping.set()
    listener.join(10)
    measured = stream.recommendations - len(warmup)
    return LatencyResult(listener.latencies_ms, measured, seconds, len(warmup))
