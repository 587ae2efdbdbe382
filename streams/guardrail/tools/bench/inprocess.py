"""The record path (``guardrail.pipeline``) without Kafka, on the confluent runtime's store.

bytes -> record (decode, key check) -> customer state from RocksDB (through the partition's
update buffer) -> ``decide`` -> state write -> output record bytes, with a checkpoint every
``checkpoint_records`` records that collects the changed keys (what would go to the
changelog) and writes them to RocksDB in one batch. No broker, no transaction and no wait in
the hold (every topic counts as caught up): the runtime's figure against this one is what
Kafka, transactions and holding cost on top.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from prometheus_client import CollectorRegistry

from guardrail.config import Settings
from guardrail.core.policy import load_policy
from guardrail.kafka import serde
from guardrail.pipeline import InputRecord, OutputRecord, Pipeline, drive
from guardrail.pipeline.partitioning import partition_for
from guardrail.tools.bench.load import Stream
from guardrail.tools.bench.report import Figures, rate, vm_hwm_mb
from guardrail.worker.confluent.adapters import PartitionStores, PositionAcks
from guardrail.worker.confluent.counts import CheckpointMetrics
from guardrail.worker.confluent.offsets import Positions
from guardrail.worker.confluent.store import PartitionStore, open_store
from guardrail.worker.run import gc_tuned


class Counted:
    """Output records counted, not sent."""

    def __init__(self) -> None:
        self.records = 0

    def send(self, record: OutputRecord) -> None:
        self.records += 1


class CaughtUp:
    """Every input topic counts as read to its end: nothing waits in the hold."""

    def caught_up(self, topic: str, partition: int, since: float, last_read: int | None) -> bool:
        return True


def _nothing() -> None:
    pass


def inprocess_figures(stream: Stream, work: Path, partitions: int) -> Figures:
    """Run ``stream`` through the record path in this process; CPU and wall time."""
    settings = Settings(
        data_dir=work, app_id="bench-inprocess", max_future_ms=0, partitions=partitions
    )
    topics = settings.input_topics()
    stores: dict[int, PartitionStore] = {p: open_store(settings, p) for p in range(partitions)}
    sent = Counted()
    metrics = CheckpointMetrics(CollectorRegistry())  # the runtime's: counted per checkpoint
    pipeline = Pipeline.from_settings(
        settings,
        load_policy(None),
        serde.Codec(None, max_value_bytes=settings.max_value_bytes),
        store=PartitionStores(stores),
        acknowledge=PositionAcks(Positions()),
        fetch=CaughtUp(),
        metrics=metrics,
    )
    # Each record on its key's partition, as a producer with the contract's partitioner puts
    # it (any other is dead-lettered as wrong_partition by the pipeline's partition guard).
    records = [
        InputRecord(topics[m.kind], partition_for(m.key, partitions), n, m.key, m.value)
        for n, m in enumerate(stream.messages)
    ]
    every = settings.checkpoint_records
    changelog = 0
    try:
        with gc_tuned():  # as a worker runs
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            for n, record in enumerate(records, start=1):
                drive.feed(pipeline, record, sent, _nothing)
                if n % every == 0 or n == len(records):
                    for store in stores.values():
                        changelog += len(list(store.changes()))
                        store.flush(changelog)
                    metrics.committed()
            cpu = time.process_time() - cpu_start
            wall = time.perf_counter() - wall_start
    finally:
        for store in stores.values():
            store.close()
        shutil.rmtree(work, ignore_errors=True)
    return Figures(
        "inprocess",
        events=stream.events,
        recommendations=stream.recommendations,
        seconds=round(wall, 2),
        events_per_s=rate(stream.events, wall),
        recommendations_per_s=rate(stream.recommendations, wall),
        drain_cpu_s=round(cpu, 2),
        events_per_cpu_s=rate(stream.events, cpu),
        peak_rss_mb=vm_hwm_mb(os.getpid()),
        notes=[f"{sent.records:,} output records, {changelog:,} changelog records (not sent)"],
    )
