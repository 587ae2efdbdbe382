"""Restore a partition's state from its compacted changelog, from where the store left off.

The changelog holds every customer state the worker committed (key: customer id, value: the
state's JSON, a tombstone for a deleted state), written inside the same Kafka transactions as
the decisions and input offsets. A read-committed consumer reads it from the offset after the
one the local store remembers, up to the end (the last stable offset), so aborted writes are
never restored and a restart reads only what it misses.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from guardrail.errors import KafkaUnavailable
from guardrail.worker.confluent.store import PartitionStore

log = logging.getLogger(__name__)

T = TypeVar("T")
BATCH = 10_000
RESTORE_TIMEOUT_S = 600.0
ENDS_WAIT_S = 30.0


class RestoreError(KafkaUnavailable):
    """The changelog could not be read to its end."""


def retrying(call: Callable[[], T], timeout: float = 60.0) -> T:
    """``call()``, again while Kafka answers with a retriable error (a leader not elected yet
    right after the topic was created or the broker restarted)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except KafkaException as exc:
            error = exc.args[0]
            if not (error.retriable() or error.code() == KafkaError.NOT_LEADER_FOR_PARTITION):
                raise
            if time.monotonic() > deadline:
                raise
            log.info("retrying after %s", error.name())
            time.sleep(0.5)


def restore_consumer(config: dict[str, Any]) -> Consumer:
    """A consumer for reading changelogs (assigned partitions only, never commits)."""
    return Consumer(
        {
            **config,
            "group.id": f"guardrail-restore-{uuid.uuid4().hex[:12]}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
            "fetch.max.bytes": 64 << 20,
            "max.partition.fetch.bytes": 16 << 20,
        }
    )


def _ends(consumer: Consumer, topic: str, partition: int, local: int | None) -> tuple[int, int]:
    """The changelog partition's low watermark and last stable offset (read committed).

    The last stable offset stays below a transaction still open there (a dead owner's, until
    the broker aborts it); while it is not past what the local store holds, wait for it."""
    deadline = time.monotonic() + ENDS_WAIT_S
    while True:
        low, high = retrying(
            lambda: consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=30)
        )
        if low >= 0 and high >= 0 and (local is None or local < high):
            return low, high
        if time.monotonic() > deadline:
            return max(low, 0), max(high, 0)
        time.sleep(0.5)


def restore(consumer: Consumer, topic: str, store: PartitionStore) -> int:
    """Bring ``store`` up to the end of its changelog partition; returns how many records
    were applied."""
    partition = store.partition
    local = store.changelog_offset()
    low, high = _ends(consumer, topic, partition, local)
    if local is not None and local >= high:
        # The changelog was recreated (or cut) below what this store holds: start over.
        log.warning("changelog %s[%d] is behind the local store: restoring all", topic, partition)
        store.reset()
        local = None
    start = max(low, local + 1) if local is not None else low
    if start >= high:
        return 0
    consumer.assign([TopicPartition(topic, partition, start)])
    applied = 0
    pending: dict[bytes, bytes | None] = {}
    last = local if local is not None else -1
    deadline = time.monotonic() + RESTORE_TIMEOUT_S
    try:
        while True:
            if time.monotonic() > deadline:
                raise RestoreError(f"changelog {topic}[{partition}] not read to its end in time")
            messages: list[Any] = consumer.consume(num_messages=BATCH, timeout=1.0)
            done = False
            for message in messages:
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        done = True
                        continue
                    raise KafkaException(error)
                pending[message.key()] = message.value()
                last = message.offset()
                applied += 1
            if pending and (len(pending) >= BATCH or done):
                store.restore(list(pending.items()), last)
                pending = {}
            if done:
                break
    finally:
        consumer.unassign()
    if applied:
        log.info("restored %d changelog records of partition %d", applied, partition)
    return applied
