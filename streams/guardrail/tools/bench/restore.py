"""`guardrail bench restore`: how long the confluent runtime takes to restore state.

N customers' states (real ones: the engine folded over a generated stream, then copied
under new customer ids to reach N) are written to a compacted changelog topic; a fresh
RocksDB store per partition is then restored from it (what a worker with an empty disk
does on assignment), and again from the store it just filled (what a restart does: nothing
missed, nothing read).
"""

from __future__ import annotations

import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from guardrail.config import Settings
from guardrail.core.engine import Engine
from guardrail.core.policy import load_policy
from guardrail.core.records import Event
from guardrail.core.state import EMPTY_STATE, CustomerState, state_to_json
from guardrail.generate.stream import GeneratorConfig, generate_events
from guardrail.kafka import serde
from guardrail.worker.confluent import changelog
from guardrail.worker.confluent.store import open_store


@dataclass
class RestoreFigures:
    customers: int
    partitions: int
    mean_state_bytes: int
    changelog_mb: float
    produce_s: float
    restore_s: float
    records_per_s: float
    restart_restore_s: float
    restart_records: int
    store_mb: float


def sample_states(customers: int = 2_000, events: int = 40_000) -> list[bytes]:
    """Serialized states of real customers after 90 days of generated events."""
    engine = Engine(load_policy(None))
    states: dict[str, CustomerState] = {}
    for raw in generate_events(GeneratorConfig(seed=3, customers=customers, events=events)):
        kind = raw.pop("type")
        event: Event = serde.from_avro(kind, raw)  # type: ignore[assignment]
        state = states.get(event.customer_id, EMPTY_STATE)
        states[event.customer_id], _ = engine.decide(state, event)
    return [state_to_json(s) for s in states.values() if not s.is_empty()]


def _du_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


def _fill_changelog(
    settings: Settings, topic: str, customers: int, states: list[bytes], echo: Any
) -> int:
    """Write one state per customer to the changelog; returns the bytes written."""
    producer = Producer(
        {
            **settings.confluent_config(),
            "linger.ms": 50,
            "batch.size": 1_000_000,
            "compression.type": "lz4",
            "enable.idempotence": True,
            "partitioner": "murmur2_random",
            "queue.buffering.max.messages": 1_000_000,
        }
    )
    total = 0
    for n in range(customers):
        value = states[n % len(states)]
        total += len(value)
        while True:
            try:
                producer.produce(topic, value, f"c-{n:09d}".encode())
                break
            except BufferError:
                producer.poll(0.05)
        if n % 100_000 == 0:
            producer.poll(0)
            echo(f"produced {n:,}")
    producer.flush(300)
    return total


def run_restore_bench(
    bootstrap: str, customers: int, partitions: int, say: object = print
) -> RestoreFigures:
    echo = say if callable(say) else print
    settings = Settings(bootstrap_servers=bootstrap, app_id=f"bench-restore-{uuid.uuid4().hex[:8]}")
    topic = settings.changelog_topic
    admin = AdminClient(settings.confluent_config())
    new = NewTopic(topic, partitions, 1, config={"cleanup.policy": "compact"})
    admin.create_topics([new])[topic].result(60)
    states = sample_states()
    echo(f"{len(states):,} sample states, mean {sum(map(len, states)) // len(states)} bytes")
    started = time.perf_counter()
    total = _fill_changelog(settings, topic, customers, states, echo)
    produce_s = time.perf_counter() - started
    work = Path(tempfile.mkdtemp(prefix="guardrail-restore-"))
    local = settings.model_copy(update={"data_dir": work})
    consumer = changelog.restore_consumer(settings.confluent_config())
    try:
        stores = [open_store(local, p) for p in range(partitions)]
        started = time.perf_counter()
        restored = sum(changelog.restore(consumer, topic, store) for store in stores)
        restore_s = time.perf_counter() - started
        echo(f"restored {restored:,} records in {restore_s:.1f} s")
        started = time.perf_counter()
        again = sum(changelog.restore(consumer, topic, store) for store in stores)
        restart_s = time.perf_counter() - started
        for store in stores:
            store.close()
        store_mb = _du_mb(work)
    finally:
        consumer.close()
        shutil.rmtree(work, ignore_errors=True)
        admin.delete_topics([topic])
    return RestoreFigures(
        customers=customers,
        partitions=partitions,
        mean_state_bytes=total // max(customers, 1),
        changelog_mb=round(total / 1e6, 1),
        produce_s=round(produce_s, 1),
        restore_s=round(restore_s, 1),
        records_per_s=round(restored / restore_s) if restore_s else 0.0,
        restart_restore_s=round(restart_s, 2),
        restart_records=again,
        store_mb=round(store_mb, 1),
    )
