"""The faust runtime: a thin adapter between faust's agent and ``guardrail.pipeline``.

faust gives events and sends; the pipeline decides. This module turns each faust event into
an :class:`~guardrail.pipeline.records.InputRecord`, sends what the pipeline returns (dead
letters, decisions) through faust's producer (``faust_sends``: an input record is
acknowledged once the broker has its outputs; a record the broker refuses is dead-lettered),
implements the pipeline's interfaces on faust
(the customer-state ``Table`` as the store, ``event.ack()`` as the acknowledgement, the
aiokafka fetcher as the caught-up signal) and refreshes the store and lag gauges.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust
from faust.types import TP, EventT

from guardrail.config import Settings
from guardrail.core.policy import Policy
from guardrail.kafka import serde
from guardrail.metrics.metric_set import GuardrailMetrics
from guardrail.pipeline import InputRecord, OutputRecord, Pipeline, RetryLater
from guardrail.worker import faust_compat
from guardrail.worker.confluent.store import purge_rocksdb
from guardrail.worker.faust_fetch import FaustFetchHealth
from guardrail.worker.faust_sends import FaustSender

log = logging.getLogger(__name__)

TABLE_NAME = "customer-state"
# How long a commit waits for the sends in flight (the producer retries for longer only while
# the broker is away; what is not acknowledged by then is read again).
SETTLE_S = 60.0
Ev = EventT[bytes]


class TableStore:
    """The pipeline's store on a faust ``Table``: faust picks the partition store (and the
    changelog partition) from the current event, so ``partition`` needs no use here."""

    __slots__ = ("table",)

    def __init__(self, table: Any) -> None:
        self.table = table

    def get(self, partition: int, key: bytes) -> bytes | None:
        value: bytes | None = self.table.get(key)
        return value

    def put(self, partition: int, key: bytes, value: bytes) -> None:
        self.table[key] = value

    def delete(self, partition: int, key: bytes) -> None:
        del self.table[key]

    def erase(self, partition: int, key: bytes) -> None:
        del self.table[key]  # the tombstone goes to the changelog now, before any new value
        # The customer's earlier values leave the store's files now, not at RocksDB's next
        # compaction of their range (the memory store has none).
        db = faust_compat.rocksdb_of_partition(self.table, partition)
        if db is not None:
            purge_rocksdb(db, {key})


class EventAcks:
    """Acknowledge through faust's event (faust commits the acknowledged offsets)."""

    __slots__ = ()

    def finished(self, record: InputRecord) -> None:
        pass  # faust commits in offset order only

    def ack(self, record: InputRecord) -> None:
        record.handle.ack()


async def commit_acknowledged(app: faust.App) -> None:
    """Commit every acknowledged offset now (outputs and changelog flushed first by faust)."""
    consumer: Any = app.consumer
    # A commit already under way makes the call only wait for it; the second one commits
    # what was acknowledged since.
    if not await consumer.commit():
        await consumer.commit()


def customer_table(app: faust.App, settings: Settings) -> Any:
    """The ``Table`` of serialized customer states."""
    table = app.Table(
        TABLE_NAME,
        default=None,
        partitions=settings.partitions,
        key_type=bytes,
        value_type=bytes,
        # RocksDB memory per partition store (faust's defaults: 3 x 64 MB memtables, 2 GB
        # cache); ignored by the memory store.
        options={
            "write_buffer_size": settings.rocksdb_write_buffer_mb << 20,
            "max_write_buffer_number": 2,
            "block_cache_size": settings.rocksdb_block_cache_mb << 20,
            "block_cache_compressed_size": settings.rocksdb_block_cache_mb << 20,
        },
    )
    if settings.topic_changelog is not None:  # a name of the brand's choosing
        table.changelog_topic = app.topic(
            settings.changelog_topic,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=settings.partitions,
            compacting=True,
            acks=False,
            internal=True,
        )
    return table


class FaustRuntime:
    """One worker's pipeline on a faust app: the agent's step, releases, gauges."""

    def __init__(
        self, app: faust.App, settings: Settings, policy: Policy, metrics: GuardrailMetrics
    ) -> None:
        self.app = app
        self.metrics = metrics
        codec = serde.Codec(
            serde.registry_client_or_none(settings.schema_registry_url),
            max_value_bytes=settings.max_value_bytes,
        )
        self.inputs = frozenset(settings.input_topics().values())
        # One Topic object per output, built once (app.topic() per send was a hot spot).
        out_topics = {topic: app.topic(topic) for topic in settings.output_topics().values()}
        self.table = customer_table(app, settings)
        self.pipeline = Pipeline.from_settings(
            settings,
            policy,
            codec,
            store=TableStore(self.table),
            acknowledge=EventAcks(),
            fetch=FaustFetchHealth(app, settings.input_topics().values()),
            metrics=metrics,
        )
        self.sender = FaustSender(app, out_topics, self.pipeline, metrics)
        # The agent and the hold timer both release held events; one at a time, or one
        # could decide a later event while the other still awaits the send of an earlier one.
        self.releasing = asyncio.Lock()
        self.lag_partitions: set[TP] = set()  # partitions with a consumer-lag series

    # -- the agent's step -------------------------------------------------------------------

    async def on_event(self, event: Ev) -> None:
        message = event.message
        record = InputRecord(
            message.topic,
            message.partition,
            message.offset,
            message.key,
            message.value,
            message.headers,
            timestamp=_epoch_ms(message.timestamp),
            handle=event,
        )
        letter = await self.read(record)
        if letter is not None:
            await self.sender.send([letter], record)
            return
        await self.release(message.partition)

    async def read(self, record: InputRecord) -> OutputRecord | None:
        """``Pipeline.read``, pausing while the schema registry is unavailable."""
        attempt = 0
        while True:
            try:
                return self.pipeline.read(record, attempt)
            except RetryLater as retry:
                await asyncio.sleep(retry.delay_s)
                attempt += 1

    async def release(self, partition: int) -> None:
        """Decide, send and acknowledge what ``partition`` may release now.

        Nothing is released during a rebalance: a held event's partition may belong to
        another worker afterwards, which reads it again from the committed offset.
        """
        if self.app.rebalancing:
            return
        async with self.releasing:
            for held in self.pipeline.release(partition):
                if self.app.rebalancing:
                    break  # the rest is read again from the committed offset afterwards
                # Table writes take their changelog partition from the current event; the
                # hold timer runs outside the stream, so each release runs in its event's.
                with faust_compat.current_event(held.record.handle):
                    if held.commit_first:
                        await self.commit_settled()
                    await self.sender.send(self.pipeline.process(held), held.record)

    async def commit_settled(self, timeout: float = SETTLE_S) -> None:
        """Commit every record whose outputs the broker has, once the sends so far completed
        (or ``timeout`` passed: what is not acknowledged then is read again)."""
        await self.sender.settle(timeout)
        await commit_acknowledged(self.app)

    # -- periodic ---------------------------------------------------------------------------

    async def release_held(self) -> None:
        """Release held events that may go although no record arrived since (a topic they
        waited for was confirmed caught up: see ``PartitionOrderer``); say which wait long."""
        if self.app.rebalancing:
            return
        for partition in self.pipeline.holding():
            await self.release(partition)
        self.pipeline.warn_long_holds()

    def refresh_gauges(self) -> None:
        """Customers in the store; consumer lag (end offset minus committed offset) per
        assigned input partition. Partitions no longer assigned lose their lag series."""
        self.metrics.set_customers(len(self.table))  # RocksDB: a key scan
        consumer: Any = self.app.consumer
        assigned = {tp for tp in consumer.assignment() if tp.topic in self.inputs}
        self.forget_partitions(assigned)
        for tp in assigned:
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            committed = faust_compat.committed_offset(self.app, tp)  # the next offset to read
            if committed is None:  # nothing committed by the group yet
                last = self.pipeline.last_read(tp.topic, tp.partition)
                committed = last + 1 if last is not None else 0
            self.metrics.set_consumer_lag(tp.topic, tp.partition, highwater - committed)
            self.lag_partitions.add(tp)

    def drop_all_held(self) -> None:
        """Forget every held and unacknowledged event (a rebalance or shutdown): each is read
        again from the committed offsets, here or by the partition's next owner; dropping
        the references also lets faust stop waiting for them (its unacked set is weak)."""
        self.sender.forget()
        self.pipeline.forget()

    def forget_partitions(self, assigned: set[TP]) -> None:
        """Drop the lag series of every partition not in ``assigned`` (after a rebalance)."""
        for tp in self.lag_partitions - assigned:
            self.metrics.remove_consumer_lag(tp.topic, tp.partition)
        self.lag_partitions &= assigned


def _epoch_ms(seconds: float | None) -> int | None:
    """faust gives a record's Kafka timestamp in seconds (None or <= 0 when it has none)."""
    return int(seconds * 1000) if seconds and seconds > 0 else None
