"""The confluent-kafka runtime: a consumer loop, RocksDB per partition, exactly once.

One thread: ``consume`` a batch, hand each record to the runtime-neutral pipeline
(``guardrail.pipeline``: decode, hold, decide; its outputs go into the open transaction, the
states into the partition's update buffer), release what the hold lets go, and every
``checkpoint_records`` records or ``checkpoint_ms`` commit a checkpoint: the changed states
to the changelog (each key once), the input offsets (with the offsets finished beyond them)
and the outputs, in one Kafka transaction; then the update buffers go into RocksDB with the
changelog offset they reached. Rebalancing is eager with the range assignor, so partition
``p`` of every input topic lands on the same worker.
"""

from __future__ import annotations

import faulthandler
import logging
import signal
import time
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    OFFSET_INVALID,
    Consumer,
    KafkaException,
    TopicPartition,
)
from prometheus_client import CollectorRegistry

from guardrail.config import Settings
from guardrail.core.policy import Policy, load_policy
from guardrail.kafka import serde
from guardrail.metrics.health import Check
from guardrail.metrics.metric_set import package_version
from guardrail.pipeline import InputRecord, OutputRecord, Pipeline, drive
from guardrail.worker.confluent import changelog
from guardrail.worker.confluent.adapters import FetchSignal, PartitionStores, PositionAcks
from guardrail.worker.confluent.counts import CheckpointMetrics
from guardrail.worker.confluent.fetch import (
    FETCH_MIN_BYTES,
    FETCH_WAIT_MAX_MS,
    STATS_INTERVAL_MS,
    FetchState,
)
from guardrail.worker.confluent.offsets import Positions, decode_done
from guardrail.worker.confluent.refusals import Refusals, must_abort
from guardrail.worker.confluent.store import PartitionStore, open_store
from guardrail.worker.confluent.transactions import TransactionAborted, Transactions

log = logging.getLogger(__name__)
# A poll loop silent for this long is stuck: /livez fails (a checkpoint or a restore of one
# partition blocks the loop; the restore of a large changelog can take minutes).
LIVE_TIMEOUT_S = 120.0

BATCH = 2000
POLL_S = 0.01
READY_MESSAGE = "[confluent Worker]: Ready"


def consumer_config(settings: Settings) -> dict[str, Any]:
    return {
        **settings.confluent_config(),
        "group.id": settings.app_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        # Eager, range: partition p of all five co-partitioned topics goes to one member.
        "partition.assignment.strategy": "range",
        "session.timeout.ms": int(settings.session_timeout_s * 1000),
        "heartbeat.interval.ms": 3000,
        # No partition-EOF events: the caught-up signal samples the cached watermarks, and
        # under a steady stream every fetch that finds a partition at its end made one (about
        # 3,000 a second at 5,000 events/s over 8 partitions, each a pass through the loop).
        "enable.partition.eof": False,
        "fetch.wait.max.ms": FETCH_WAIT_MAX_MS,
        # A fetch waits for this much data (or FETCH_WAIT_MAX_MS): under a steady stream a
        # response per producer request cost the broker and librdkafka a quarter of a core
        # (5,000 events/s, measured); a drain fills every response at once anyway.
        "fetch.min.bytes": FETCH_MIN_BYTES,
        "queued.max.messages.kbytes": 32 * 1024,
        "statistics.interval.ms": STATS_INTERVAL_MS,  # FetchState.on_stats: who answers
    }


def _no_commit() -> None:
    """Before an erasure nothing needs committing here: what was decided before it is in a
    committed transaction or not at all, and what is committed is never decided again."""


class ConfluentWorker:
    """One worker: call :meth:`run`; SIGTERM or SIGINT stops it after a last checkpoint."""

    def __init__(
        self,
        settings: Settings,
        *,
        policy: Policy | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.settings = settings
        policy = policy if policy is not None else load_policy(settings.policy)
        self.metrics = CheckpointMetrics(registry if registry is not None else CollectorRegistry())
        self.metrics.set_info(policy.version, package_version())
        self.metrics.set_holdout_percent(policy.holdout.percent)
        codec = serde.Codec(
            serde.registry_client_or_none(settings.schema_registry_url),
            max_value_bytes=settings.max_value_bytes,
        )
        self.inputs = set(settings.input_topics().values())
        self.changelog_topic = settings.changelog_topic
        self.stores: dict[int, PartitionStore] = {}
        self.positions = Positions()
        self.fetch = FetchState(self.inputs)
        self.pipeline = Pipeline.from_settings(
            settings,
            policy,
            codec,
            store=PartitionStores(self.stores),
            acknowledge=PositionAcks(self.positions),
            fetch=FetchSignal(self.fetch),
            metrics=self.metrics,
        )
        self.txn: Transactions | None = None
        self.consumer: Consumer | None = None
        self.restorer: Consumer | None = None
        self.stopping = False
        self.ready = False
        self.beat = time.monotonic()
        self.since_checkpoint = 0
        self.last_checkpoint = time.monotonic()
        self.changelog_offsets: dict[int, int] = {}
        self.checkpoints = 0
        self.assigned: set[tuple[str, int]] = set()  # input topic-partitions owned
        self.refusals = Refusals(self.metrics)

    # -- sending -------------------------------------------------------------------------------

    def send(self, record: OutputRecord) -> None:
        """The pipeline's sender: into the open transaction (a record whose outputs the
        broker refused before goes alone: see ``refusals``)."""
        assert self.txn is not None
        self.refusals.produce(self.txn, record)

    def _changelog_delivered(self, err: Any, msg: Any) -> None:
        if err is None:
            partition = msg.partition()
            offset = msg.offset()
            if offset > self.changelog_offsets.get(partition, -1):
                self.changelog_offsets[partition] = offset

    # -- checkpoints ---------------------------------------------------------------------------

    def checkpoint(self) -> bool:
        """Commit what was finished since the last checkpoint; False when it has to wait."""
        txn, consumer = self.txn, self.consumer
        assert txn is not None and consumer is not None
        offsets = self.positions.to_commit()
        if offsets is None:
            return False  # finished offsets beyond a held one do not fit the metadata yet
        self.since_checkpoint = 0
        self.last_checkpoint = time.monotonic()
        if not offsets and not txn.open:
            return True
        tps = [
            TopicPartition(topic, partition, offset, metadata)
            if metadata is not None
            else TopicPartition(topic, partition, offset)
            for (topic, partition), (offset, metadata) in offsets.items()
        ]
        try:
            self._produce_changes(txn)
            # No flush first: the offsets' round trips overlap the last sends, and the commit
            # flushes (serving the delivery reports: the changelog offsets reached).
            txn.commit(tps, consumer.consumer_group_metadata())
        except (TransactionAborted, KafkaException) as exc:
            # (a produce refused because the transaction failed meanwhile: a refused record)
            if isinstance(exc, KafkaException) and not must_abort(exc):
                raise
            log.warning("checkpoint aborted (%s): redoing it from the last commit", exc)
            self.rewind()
            return True
        txn.producer.poll(0)  # any delivery report still queued
        for partition, store in self.stores.items():
            store.flush(self.changelog_offsets.pop(partition, None))
        self.changelog_offsets.clear()
        self.positions.committed_now(offsets)
        self.refusals.committed(offsets)
        self.metrics.committed()
        self.checkpoints += 1
        return True

    def _produce_changes(self, txn: Transactions) -> None:
        """Every changed state to the changelog, each key once (an erased one's tombstone
        first)."""
        topic = self.changelog_topic
        for partition, store in self.stores.items():
            if not store.buffer:
                continue
            items = list(store.changes())
            for key in store.erased:
                txn.produce(topic, key, None, None, partition)
            for key, value in items[:-1]:
                txn.produce(topic, key, value, None, partition)
            key, value = items[-1]
            txn.produce(topic, key, value, None, partition, self._changelog_delivered)

    def rewind(self) -> None:
        """After an aborted transaction: back to the last commit, state and positions."""
        assert self.txn is not None and self.consumer is not None
        self.txn.producer.flush(30)  # the delivery reports: which records were refused
        if self.refusals.seen():
            # librdkafka's idempotence state after a refused batch can need an epoch bump
            # that aborting does not give: a new producer (same id) fences this one instead.
            log.warning("transactional producer renewed after a refused record")
            self.txn = Transactions(self.settings)
        else:
            self.txn.abort()
        for store in self.stores.values():
            store.discard()
        self.changelog_offsets.clear()
        self.metrics.aborted()
        self.pipeline.forget()
        self.positions.forget()
        self.fetch.forget()
        self.refusals.failed = False
        assigned = [tp for tp in self.consumer.assignment() if tp.topic in self.inputs]
        for tp in self._start(assigned):
            # Nothing committed yet: read again from the start, as the group did at first.
            at = tp if tp.offset >= 0 else TopicPartition(tp.topic, tp.partition, OFFSET_BEGINNING)
            self.consumer.seek(at)

    # -- partitions ----------------------------------------------------------------------------

    def _start(self, tps: list[TopicPartition]) -> list[TopicPartition]:
        """Restore the stores of ``tps`` and note their committed offsets; returns ``tps``
        with the offsets to start from."""
        assert self.consumer is not None and self.restorer is not None
        if not tps:
            return []
        # Fetching committed offsets waits for a transaction still open on them (a dead
        # owner's), so the changelog read afterwards holds that transaction's outcome too.
        consumer = self.consumer
        committed = changelog.retrying(lambda: consumer.committed(tps, timeout=60))
        for partition in sorted({tp.partition for tp in tps}):
            store = self.stores.get(partition)
            if store is None:
                store = self.stores[partition] = open_store(self.settings, partition)
            changelog.restore(self.restorer, self.changelog_topic, store)
        for tp in committed:
            key = (tp.topic, tp.partition)
            if tp.offset >= 0:
                self.positions.start(key, tp.offset, decode_done(tp.offset, tp.metadata))
                self.fetch.start[key] = tp.offset
        return committed

    def on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        tps = [tp for tp in partitions if tp.topic in self.inputs]
        self.metrics.record_rebalance()
        started = time.monotonic()
        try:
            offsets = self._start(tps)
        except Exception as exc:
            log.error("assignment failed: %s", exc)
            raise
        numbers = {tp.partition for tp in tps}
        self.assigned = {(tp.topic, tp.partition) for tp in tps}
        for partition in [p for p in self.stores if p not in numbers]:
            self.stores.pop(partition).close()
        log.info(
            "assigned partitions %s (restored in %.1f s)",
            sorted(numbers),
            time.monotonic() - started,
        )
        consumer.assign(
            [
                TopicPartition(
                    tp.topic, tp.partition, tp.offset if tp.offset >= 0 else OFFSET_INVALID
                )
                for tp in offsets
            ]
        )
        if not self.ready:
            self.ready = True
            log.info(READY_MESSAGE)

    def on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Commit what was finished here; held records are read again by the next owner.
        if self.txn is not None and not self.checkpoint():
            self.txn.abort()
            self.metrics.aborted()
        for store in self.stores.values():
            store.discard()
        numbers = {tp.partition for tp in partitions if tp.topic in self.inputs}
        self.assigned = {tp for tp in self.assigned if tp[1] not in numbers}
        self.pipeline.forget(numbers)
        self.positions.forget()
        self.fetch.forget(numbers)
        for partition in numbers:
            self.metrics_forget(partition)

    def on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.warning("partitions lost: aborting the open checkpoint")
        if self.txn is not None:
            self.txn.abort()
        self.metrics.aborted()
        for store in self.stores.values():
            store.discard()
        self.pipeline.forget()
        self.positions.forget()
        self.fetch.forget()

    def metrics_forget(self, partition: int) -> None:
        for topic in self.inputs:
            self.metrics.remove_consumer_lag(topic, partition)

    # -- the loop ------------------------------------------------------------------------------

    def _stop(self, *_: Any) -> None:
        self.stopping = True

    def run(self) -> None:
        # `kill -USR1 PID` prints every thread's stack to the log (a worker that seems stuck).
        faulthandler.register(signal.SIGUSR1, all_threads=True)
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        settings = self.settings
        if settings.metrics_port:
            self.metrics.serve(settings.metrics_port)
            log.info("metrics on :%d/metrics", settings.metrics_port)
        self.txn = Transactions(settings)
        self.restorer = changelog.restore_consumer(settings.confluent_config())
        self.consumer = Consumer({**consumer_config(settings), "stats_cb": self.fetch.on_stats})
        self.fetch.consumer = self.consumer
        self.consumer.subscribe(
            sorted(self.inputs),
            on_assign=self.on_assign,
            on_revoke=self.on_revoke,
            on_lost=self.on_lost,
        )
        try:
            self._loop()
        finally:
            self._shutdown()

    def _poll(self, consumer: Consumer) -> list[Any]:
        """Up to ``BATCH`` fetched records: at once when there are some, else the first one
        within ``POLL_S`` (``consume(n, timeout)`` waits out its whole timeout unless ``n``
        records come, which made every pass of a caught-up worker take ``POLL_S``)."""
        first = consumer.poll(POLL_S)
        if first is None:
            return []
        return [first, *consumer.consume(BATCH - 1, 0)]

    def _loop(self) -> None:
        consumer = self.consumer
        assert consumer is not None
        settings = self.settings
        busy_s = settings.checkpoint_busy_ms / 1000
        quiet_s = settings.checkpoint_ms / 1000
        gauges_at = time.monotonic() + settings.gauge_interval_s
        pipeline, positions, fetch = self.pipeline, self.positions, self.fetch
        refusals = self.refusals
        while not self.stopping:
            messages = self._poll(consumer)
            self.beat = time.monotonic()  # /livez: the loop runs
            for message in messages:
                error = message.error()
                topic = message.topic()
                partition = message.partition()
                if error is not None:
                    log.warning("consumer: %s", error.name())
                    continue
                offset = message.offset()
                tp = (topic, partition)
                fetch.read(tp, offset)
                if tp not in positions.next:
                    positions.next[tp] = offset  # nothing committed: start where reading did
                stamp = message.timestamp()[1]  # (type, epoch ms); -1 when it has none
                record = InputRecord(
                    topic,
                    partition,
                    offset,
                    message.key(),
                    message.value(),
                    timestamp=stamp if stamp > 0 else None,
                )
                if positions.skip(tp, offset):
                    pipeline.skip(record)  # finished in a committed transaction already
                    continue
                if refusals.failed:
                    continue  # the transaction is redone from the last commit (below)
                if refusals.refused_before(record, pipeline, self):
                    continue
                drive.read(pipeline, record, self)
            self.since_checkpoint += len(messages)
            fetch.sample(pipeline.holding(), time.time())
            drive.release_all(pipeline, self, _no_commit)
            if refusals.failed:
                log.warning("a record's output was refused: redoing from the last commit")
                self.rewind()
            # Caught up (less than a full batch was waiting): checkpoint every checkpoint_ms,
            # so that decisions become visible soon; behind, every checkpoint_busy_ms (a
            # checkpoint's round trips then cost throughput, and latency is the backlog's).
            every_s = busy_s if len(messages) >= BATCH else quiet_s
            if self.since_checkpoint >= settings.checkpoint_records or (
                time.monotonic() - self.last_checkpoint >= every_s
            ):
                self.checkpoint()
            if time.monotonic() >= gauges_at:
                gauges_at = time.monotonic() + settings.gauge_interval_s
                self.refresh_gauges()

    def refresh_gauges(self) -> None:
        consumer = self.consumer
        assert consumer is not None
        self.metrics.set_customers(sum(store.count() for store in self.stores.values()))
        for topic, partition in self.assigned:
            committed = self.positions.committed.get((topic, partition), 0)
            try:
                _, high = consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), cached=True
                )
            except Exception:
                continue
            if high >= 0:
                self.metrics.set_consumer_lag(topic, partition, high - committed)

    def _shutdown(self) -> None:
        log.info("stopping: last checkpoint")
        try:
            if self.txn is not None and self.consumer is not None and not self.checkpoint():
                self.txn.abort()
        except Exception as exc:
            log.warning("last checkpoint failed: %s", type(exc).__name__)
        if self.consumer is not None:
            self.consumer.close()  # leaves the group (revocation commits nothing new)
        if self.restorer is not None:
            self.restorer.close()
        if self.txn is not None:
            self.txn.close()
        for store in self.stores.values():
            store.close()
        log.info("stopped")


def confluent_checks(worker: ConfluentWorker) -> tuple[Check, Check]:
    """(live, ready) probes: the poll loop ran lately; partitions assigned and restored."""

    def live() -> tuple[bool, str]:
        if worker.consumer is None or not worker.ready:
            return True, "starting"  # joining, or restoring (inside the poll: no beat)
        if time.monotonic() - worker.beat > LIVE_TIMEOUT_S:
            return False, "the poll loop does not run"
        return True, "ok"

    def ready() -> tuple[bool, str]:
        return (True, "ok") if worker.ready else (False, "starting or restoring state")

    return live, ready


def run_confluent_worker(settings: Settings) -> None:
    ConfluentWorker(settings).run()
