"""`guardrail ingest` at work: a brand's topics in, the contract's input topics out.

Stateless, on confluent-kafka (no faust). Per batch: map each record (or dead-letter it with
its source topic, partition and offset), produce the outputs keyed by ``customer_id`` with
librdkafka's ``murmur2_random`` (the Java partitioner: the worker's partition for the key),
wait until every output is acknowledged (delivery reports, then ``flush``), and only then
store the batch's offsets for the next commit. A crash re-reads the uncommitted batch: at
least once, nothing lost. Several instances with one group id share the source partitions.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition

from guardrail.config import Settings
from guardrail.core.records import DeadLetter
from guardrail.errors import KafkaUnavailable
from guardrail.ingest.mapping import Mapping
from guardrail.ingest.transform import CompiledSource, MapError, decode_json
from guardrail.kafka import serde
from guardrail.kafka.replay import producer_config
from guardrail.metrics.health import Check
from guardrail.metrics.ingest_metrics import IngestMetrics

log = logging.getLogger(__name__)

BATCH = 500
POLL_S = 0.5
FLUSH_TIMEOUT_S = 60.0
# A poll loop silent for this long is stuck: /livez fails.
LIVE_TIMEOUT_S = 30.0
# Dead letters keep at most this much of the source value (the rest is named by its size).
DEAD_LETTER_VALUE_BYTES = 64 * 1024


class IngestError(KafkaUnavailable):
    """Outputs could not be written; the offsets were not stored (the batch is re-read)."""


class Ingest:
    def __init__(self, settings: Settings, mapping: Mapping, metrics: IngestMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.sources = {s.topic: CompiledSource.of(s) for s in mapping.sources}
        registry = serde.registry_client_or_none(settings.schema_registry_url)
        self.codec = serde.Codec(registry, max_value_bytes=settings.max_value_bytes)
        self.avro = _avro_decoder(registry) if registry is not None else None
        self.group = settings.ingest_group or f"{settings.app_id}-ingest"
        self.consumer = Consumer(
            {
                **settings.confluent_config(),
                "group.id": self.group,
                "auto.offset.reset": "earliest",
                "enable.auto.commit": True,
                "enable.auto.offset.store": False,  # stored once the outputs are acknowledged
                "partition.assignment.strategy": "cooperative-sticky",
            }
        )
        self.producer = Producer(producer_config(settings))
        self.failed: list[tuple[Message, str]] = []  # outputs not acknowledged, with why
        self.beat = time.monotonic()
        self.assigned: set[tuple[str, int]] = set()
        self.joined = False

    # -- probes ---------------------------------------------------------------------------
    def checks(self) -> tuple[Check, Check]:
        def live() -> tuple[bool, str]:
            if time.monotonic() - self.beat > LIVE_TIMEOUT_S:
                return False, "the poll loop does not run"
            return True, "ok"

        def ready() -> tuple[bool, str]:
            if not self.joined:
                return False, "joining the group"
            return True, "ok"

        return live, ready

    # -- the loop ---------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        self.consumer.subscribe(
            list(self.sources), on_assign=self._on_assign, on_revoke=self._on_revoke
        )
        log.info("ingest: group %s reads %s", self.group, ", ".join(self.sources))
        try:
            while not stop.is_set():
                messages = self.consumer.consume(BATCH, POLL_S)
                self.beat = time.monotonic()
                if messages:
                    self.process(messages)
        finally:
            self.consumer.close()  # commits what was stored, leaves the group
            self.producer.flush(FLUSH_TIMEOUT_S)

    def process(self, messages: list[Message]) -> None:
        """Map, produce, wait for every acknowledgement, then store the offsets."""
        last: dict[tuple[str, int], int] = {}
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    log.warning("ingest: consumer error: %s", error.str())
                continue
            topic, partition, offset = message.topic(), message.partition(), message.offset()
            assert topic is not None and partition is not None and offset is not None
            self._one(message, topic)
            last[(topic, partition)] = max(offset, last.get((topic, partition), -1))
        self._acknowledge()
        if last:
            self.consumer.store_offsets(
                offsets=[TopicPartition(t, p, o + 1) for (t, p), o in last.items()]
            )

    def _one(self, message: Message, topic: str) -> None:
        source = self.sources[topic]
        try:
            doc = self._decode(source, message.value())
            customer, record = source.map(doc)
        except MapError as exc:
            if exc.error_kind == "registry_unavailable":  # not the record's fault: re-read
                raise IngestError(f"schema registry unavailable: {exc}") from None
            self._dead_letter(message, source.kind, exc.error_kind, str(exc))
            return
        out = self.settings.topic(source.kind)
        value = self.codec.encode(source.kind, record, out)
        self._produce(out, customer.encode(), value, self._report(message, source.kind))
        self.metrics.mapped(source.kind)

    def _decode(self, source: CompiledSource, value: bytes | None) -> Any:
        if source.source.format == "json":
            return decode_json(value)
        if self.avro is None:
            raise MapError("not_json_or_avro", "avro source without GUARDRAIL_SCHEMA_REGISTRY_URL")
        if not value or value[0] != 0 or len(value) < 5:
            raise MapError("not_json_or_avro", "not in the Confluent wire format")
        return self.avro(value)

    def _produce(
        self, topic: str, key: bytes | None, value: bytes, report: Callable[..., None]
    ) -> None:
        while True:
            try:
                self.producer.produce(topic, key=key, value=value, on_delivery=report)
                return
            except BufferError:  # the local queue is full: let deliveries drain
                self.producer.poll(0.1)

    def _report(self, message: Message, kind: str) -> Callable[..., None]:
        def delivered(err: KafkaError | None, _msg: Message) -> None:
            if err is not None:
                self.failed.append((message, f"{kind}: {err.str()}"))

        return delivered

    def _dead_letter(self, message: Message, kind: str, error_kind: str, error: str) -> None:
        value = message.value()
        letter = DeadLetter(
            source_topic=message.topic() or "",
            partition=message.partition() or 0,
            offset=message.offset() or 0,
            key=message.key(),
            value=value[:DEAD_LETTER_VALUE_BYTES] if value is not None else None,
            error=error if error.startswith(error_kind) else f"{error_kind}: {error}",
            ts=int(time.time() * 1000),
        )
        topic = self.settings.topic("deadletter")
        encoded = self.codec.encode("deadletter", letter, topic)

        def delivered(err: KafkaError | None, _msg: Message) -> None:
            if err is not None:
                raise IngestError(f"cannot write the dead letter to {topic}: {err.str()}")

        self._produce(topic, message.key(), encoded, delivered)
        self.metrics.dead_lettered(kind, error_kind)
        log.warning(
            "ingest: dead-lettered %s[%d]@%d: %s",
            message.topic(),
            message.partition(),
            message.offset(),
            error_kind,
        )

    def _acknowledge(self) -> None:
        """Every output written (failed ones dead-lettered), or :class:`IngestError`."""
        if self.producer.flush(FLUSH_TIMEOUT_S):
            raise IngestError(f"outputs not acknowledged within {FLUSH_TIMEOUT_S:g} s")
        failed, self.failed = self.failed, []
        for message, why in failed:
            kind = why.split(":", 1)[0]
            self._dead_letter(message, kind, "send_failed", f"send_failed: {why}")
        if failed and self.producer.flush(FLUSH_TIMEOUT_S):
            raise IngestError(f"dead letters not acknowledged within {FLUSH_TIMEOUT_S:g} s")

    # -- rebalance ----------------------------------------------------------------------------
    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.assigned |= {(tp.topic, tp.partition) for tp in partitions}
        self.metrics.assigned.set(len(self.assigned))
        self.joined = True
        log.info("ingest: assigned %d partitions (%d in all)", len(partitions), len(self.assigned))

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Nothing is in flight here (each batch is acknowledged before the next poll), and
        # the stored offsets are committed by the client as the partitions go.
        self.assigned -= {(tp.topic, tp.partition) for tp in partitions}
        self.metrics.assigned.set(len(self.assigned))


def _avro_decoder(registry: Any) -> Callable[[bytes], Any]:
    """Confluent wire format -> dict, with the writer's schema from the registry."""
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    deserializer = AvroDeserializer(registry)
    context = SerializationContext("ingest", MessageField.VALUE)

    def decode(value: bytes) -> Any:
        try:
            return deserializer(value, context)
        except Exception as exc:  # the registry's and the decoder's errors, many types
            kind = "registry_unavailable" if registry_down(exc) else "not_json_or_avro"
            raise MapError(kind, f"avro value not decodable ({type(exc).__name__})") from None

    return decode


# Registry answers that are not about the record: credentials, timeouts, rate limits.
REGISTRY_REFUSALS = frozenset({401, 403, 408, 429})


def registry_down(exc: Exception) -> bool:
    """The registry could not or would not answer (network, timeout, a server error, rate
    limits, credentials): not the record's fault. (httpx's connection errors are
    ``ConnectError``, ``ReadTimeout``, ...: not named "Connection", which is what this once
    looked for.)"""
    import httpx
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    if isinstance(exc, httpx.TransportError | ConnectionError | TimeoutError):
        return True
    if not isinstance(exc, SchemaRegistryError):
        return False
    return exc.http_status_code >= 500 or exc.http_status_code in REGISTRY_REFUSALS
