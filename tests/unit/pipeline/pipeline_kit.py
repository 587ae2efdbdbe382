"""In-process implementations of the pipeline's interfaces, for its unit tests.

Not mocks: a dict store, a list of sent records, a list of acknowledged offsets, a clock
that moves when told, and a caught-up signal that is whatever the test says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry
from pydantic import BaseModel

from guardrail.config import Settings
from guardrail.core.policy import default_policy
from guardrail.kafka import serde
from guardrail.metrics.metric_set import GuardrailMetrics
from guardrail.pipeline import InputRecord, OutputRecord, Pipeline, drive
from guardrail.pipeline.partitioning import partition_for

SETTINGS = Settings(max_hold_ms=2000)
TOPICS = SETTINGS.input_topics()
KIND_OF = {
    "Purchase": "purchase",
    "Location": "location",
    "Browsing": "browsing",
    "Profile": "profile",
    "Recommendation": "recommendation",
}
START = 1_800_000_000.0  # the wall clock's start, epoch s (2027): every factory ts is past


class MemoryStore:
    def __init__(self) -> None:
        self.data: dict[tuple[int, bytes], bytes] = {}
        self.deleted: list[bytes] = []
        self.erased: list[bytes] = []

    def get(self, partition: int, key: bytes) -> bytes | None:
        return self.data.get((partition, key))

    def put(self, partition: int, key: bytes, value: bytes) -> None:
        self.data[(partition, key)] = value

    def delete(self, partition: int, key: bytes) -> None:
        del self.data[(partition, key)]
        self.deleted.append(key)

    def erase(self, partition: int, key: bytes) -> None:
        del self.data[(partition, key)]
        self.erased.append(key)


@dataclass
class Sent:
    records: list[OutputRecord] = field(default_factory=list)

    def send(self, record: OutputRecord) -> None:
        self.records.append(record)

    def kinds(self) -> list[str]:
        return [r.kind for r in self.records]


@dataclass
class Acked:
    offsets: list[tuple[str, int]] = field(default_factory=list)
    finished_offsets: list[tuple[str, int]] = field(default_factory=list)

    def finished(self, record: InputRecord) -> None:
        self.finished_offsets.append((record.topic, record.offset))

    def ack(self, record: InputRecord) -> None:
        self.offsets.append((record.topic, record.offset))


@dataclass
class Clock:
    now: float = START

    def time(self) -> float:
        return self.now


@dataclass
class Fetch:
    """Caught up (nothing unread) on every topic unless the test says otherwise."""

    behind: set[str] = field(default_factory=set)

    def caught_up(self, topic: str, partition: int, since: float, last_read: int | None) -> bool:
        return topic not in self.behind


@dataclass
class Kit:
    """A pipeline over the in-process parts, and a way to feed it events as Kafka would."""

    store: MemoryStore = field(default_factory=MemoryStore)
    sent: Sent = field(default_factory=Sent)
    acked: Acked = field(default_factory=Acked)
    clock: Clock = field(default_factory=Clock)
    fetch: Fetch = field(default_factory=Fetch)
    commits: list[int] = field(default_factory=list)
    codec: Any = field(default_factory=serde.Codec)
    settings: Settings = SETTINGS
    offsets: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.metrics = GuardrailMetrics(CollectorRegistry())
        self.pipeline = Pipeline.from_settings(
            self.settings,
            default_policy(),
            self.codec,
            store=self.store,
            acknowledge=self.acked,
            fetch=self.fetch,
            metrics=self.metrics,
            clock=self.clock,
        )

    def record(
        self, event: BaseModel, *, key: bytes | None = None, value: bytes | None = None
    ) -> InputRecord:
        """``event`` as the next record of its topic, JSON-encoded, on the partition of its
        customer (offsets count per topic: the tests' customers share one partition)."""
        topic = TOPICS[KIND_OF[type(event).__name__]]
        offset = self.offsets.get(topic, 0)
        self.offsets[topic] = offset + 1
        customer = getattr(event, "customer_id", "c-1")
        return InputRecord(
            topic,
            partition_for(customer.encode(), self.settings.partitions),
            offset,
            key if key is not None else customer.encode(),
            value if value is not None else serde.encode_json(event),
        )

    def feed(self, *events: BaseModel | InputRecord) -> None:
        for event in events:
            record = event if isinstance(event, InputRecord) else self.record(event)
            drive.feed(self.pipeline, record, self.sent, self.commit_now)

    def commit_now(self) -> None:
        self.commits.append(len(self.acked.offsets))

    def release(self) -> int:
        return drive.release_all(self.pipeline, self.sent, self.commit_now)

    def sample(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0
