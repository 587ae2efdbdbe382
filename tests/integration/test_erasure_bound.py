"""Erasure within a bound: with small compaction settings on the state changelog
(``max.compaction.lag.ms``, ``segment.ms``: the worker's settings), an erased customer's name
is gone from the changelog once the broker's cleaner ran, and from every file of the
worker's RocksDB store right after the erasure (the worker compacts the key's range)."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest

from guardrail.config import Settings
from guardrail.devstack.kafka import LocalKafka
from guardrail.worker.process import WorkerProcess
from kafka_helpers import produce, read_topic, wait_decisions, worker_settings

pytestmark = pytest.mark.integration

NAME = "Zelphinia"  # recognizable bytes: the test greps for them


def files_holding(root: Path, needle: bytes) -> list[str]:
    """Every file under ``root`` whose bytes contain ``needle``."""
    found = []
    for path in root.rglob("*"):
        try:
            if path.is_file() and needle in path.read_bytes():
                found.append(str(path.relative_to(root)))
        except OSError:  # RocksDB removed it meanwhile
            continue
    return found


def send(settings: Settings, kind: str, doc: dict[str, object]) -> None:
    key = str(doc["customer_id"]).encode()
    produce(settings, [(settings.topic(kind), key, json.dumps(doc).encode())])


def browse(settings: Settings, n: int, now: int) -> None:
    """A state write on the changelog for another customer (keeps segments rolling)."""
    send(settings, "browsing", {"event_id": f"f-{n}", "customer_id": f"c-filler-{n % 7}",
                                "ts": now + n, "action": "view", "sku": f"S-{n}"})  # fmt: skip


def test_the_erased_name_leaves_the_changelog_and_the_store_files(
    kafka_broker: LocalKafka, tmp_path: Path, runtime: str
) -> None:
    customer = f"c-erase-{uuid.uuid4().hex[:6]}"
    data_dir = tmp_path / "state"
    settings = worker_settings(
        kafka_broker,
        data_dir,
        runtime=runtime,
        store="rocksdb://",
        partitions=1,  # one changelog partition: every filler write rolls the same log
        changelog_max_compaction_lag_ms=2_000,
        changelog_segment_ms=1_000,
    )
    now = int(time.time() * 1000) - 60_000
    with WorkerProcess(settings, tmp_path / "worker.log").start():
        send(settings, "profile", {"event_id": "p-1", "customer_id": customer, "ts": now,
                                   "first_name": NAME, "timezone": "Europe/Oslo"})  # fmt: skip
        rec = {"rec_id": "r-1", "customer_id": customer, "ts": now + 1_000, "channel": "email",
               "trigger": "batch", "items": [], "body": "Hi [First Name], news.",
               "data_sources": []}  # fmt: skip
        send(settings, "recommendation", rec)
        first = wait_decisions(settings, ["r-1"])["r-1"]
        assert first.recommendation is not None and NAME in first.recommendation.body
        changelog = read_topic(settings, settings.changelog_topic, at_least=1)
        assert any(m.value() and NAME.encode() in m.value() for m in changelog)

        send(settings, "profile", {"event_id": "p-2", "customer_id": customer,
                                   "ts": now + 2_000, "erase": True})  # fmt: skip
        send(settings, "recommendation", {**rec, "rec_id": "r-2", "ts": now + 3_000})
        wait_decisions(settings, ["r-2"])  # the erasure was applied before r-2 was decided
        # The store: no file of the worker's data dir holds the name any more.
        assert files_holding(data_dir, NAME.encode()) == []

        # The changelog: later writes roll its segments; the cleaner compacts the old ones.
        deadline = time.monotonic() + 180
        n = 0
        while True:
            browse(settings, n, now + 5_000)
            n += 1
            time.sleep(0.3)
            if n % 10:
                continue
            values = [m.value() for m in read_topic(settings, settings.changelog_topic)]
            if not any(v and NAME.encode() in v for v in values):
                break
            assert time.monotonic() < deadline, "the name is still in the changelog"
