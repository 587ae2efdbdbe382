"""The pipeline's ports (``guardrail.pipeline.ports``) on the confluent runtime's parts: the
partition stores, the positions the next checkpoint commits, librdkafka's fetch state."""

from __future__ import annotations

import time

from guardrail.pipeline import InputRecord
from guardrail.worker.confluent.fetch import FetchState
from guardrail.worker.confluent.offsets import Positions
from guardrail.worker.confluent.store import PartitionStore


class PartitionStores:
    """The pipeline's store: one ``PartitionStore`` per assigned partition."""

    __slots__ = ("stores",)

    def __init__(self, stores: dict[int, PartitionStore]) -> None:
        self.stores = stores

    def get(self, partition: int, key: bytes) -> bytes | None:
        return self.stores[partition].get(key)

    def put(self, partition: int, key: bytes, value: bytes) -> None:
        self.stores[partition].put(key, value)

    def delete(self, partition: int, key: bytes) -> None:
        self.stores[partition].delete(key)

    def erase(self, partition: int, key: bytes) -> None:
        self.stores[partition].erase(key)  # a tombstone first: compaction forgets all that was


class PositionAcks:
    """The pipeline's acknowledgements, into the positions the next checkpoint commits."""

    __slots__ = ("positions",)

    def __init__(self, positions: Positions) -> None:
        self.positions = positions

    def finished(self, record: InputRecord) -> None:
        self.positions.finished((record.topic, record.partition), record.offset)

    def ack(self, record: InputRecord) -> None:
        self.positions.acknowledged((record.topic, record.partition), record.offset)


class FetchSignal:
    """The pipeline's caught-up signal, from what librdkafka reported (``FetchState``)."""

    __slots__ = ("fetch",)

    def __init__(self, fetch: FetchState) -> None:
        self.fetch = fetch

    def caught_up(self, topic: str, partition: int, since: float, last_read: int | None) -> bool:
        return self.fetch.caught_up(topic, partition, since, time.time())
