"""The small interfaces the pipeline talks to; each runtime implements them for its client.

The pipeline is synchronous: everything asynchronous (sending on faust, sleeping before a
retry, committing) stays in the runtime, which sends the records the pipeline returns.
"""

from __future__ import annotations

import time
from typing import Protocol

from pydantic import BaseModel

from guardrail.core.records import Decision, Event
from guardrail.core.state import CustomerState
from guardrail.pipeline.records import InputRecord, OutputRecord


class Store(Protocol):
    """Customer states (serialized) of the partitions this worker owns."""

    def get(self, partition: int, key: bytes) -> bytes | None: ...

    def put(self, partition: int, key: bytes, value: bytes) -> None: ...

    def delete(self, partition: int, key: bytes) -> None:
        """Forget ``key`` (stored): a tombstone on the changelog."""
        ...

    def erase(self, partition: int, key: bytes) -> None:
        """Forget ``key`` (stored) for an erasure: a tombstone on the changelog that stays
        even when a new value of the key follows, so that compaction forgets every earlier
        state of the customer."""
        ...


class Send(Protocol):
    """Hand one output record to the producer (in the order given)."""

    def send(self, record: OutputRecord) -> None: ...


class Acknowledge(Protocol):
    """The commit interface: which input records are done with."""

    def finished(self, record: InputRecord) -> None:
        """``record``'s outputs were handed to the producer (called in any order: the hold
        releases by event time). A runtime that commits only in offset order ignores it."""
        ...

    def ack(self, record: InputRecord) -> None:
        """``record`` and everything read before it on its topic-partition is finished, so
        the offset after it may be committed. Called in offset order per topic-partition."""
        ...


class Decide(Protocol):
    """The decision core (``guardrail.core.engine.Engine``): one event on one state."""

    def decide(
        self, state: CustomerState, event: Event
    ) -> tuple[CustomerState, Decision | None]: ...


class Clock(Protocol):
    """The wall clock (epoch seconds): hold timeouts, ts sanity checks, dead-letter times.
    Decisions never read it; they go by event time."""

    def time(self) -> float: ...


class FetchHealth(Protocol):
    """Whether the consumer has read everything of a partition, as far as it knows."""

    def caught_up(self, topic: str, partition: int, since: float, last_read: int | None) -> bool:
        """True when ``topic``'s ``partition`` had nothing unread after ``last_read`` (the last
        offset the pipeline was given, None if none yet), by broker information received
        after wall time ``since``."""
        ...


class Codec(Protocol):
    """Bytes <-> records (``guardrail.kafka.serde.Codec``)."""

    def decode(self, kind: str, value: bytes | None) -> BaseModel: ...

    def encode(self, kind: str, record: BaseModel, topic: str) -> bytes: ...


class Metrics(Protocol):
    """What the pipeline counts (``guardrail.metrics.metric_set.GuardrailMetrics``)."""

    def record_decision(
        self,
        decision: Decision,
        latency_s: float,
        lag_s: float,
        channel: str | None = None,
        message_class: str | None = None,
    ) -> None: ...

    def record_event(self, topic: str, outcome: str) -> None: ...

    def record_dead_letter(self, topic: str, error_kind: str) -> None: ...


class SystemClock:
    """The real wall clock."""

    __slots__ = ()

    def time(self) -> float:
        return time.time()
