"""/livez and /readyz of a real worker: served from the start, alive and not ready while it
restores a large changelog, ready once recovered; every other path is a 404."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from confluent_kafka import Producer

from guardrail.devstack.kafka import LocalKafka, free_port
from guardrail.kafka.replay import producer_config
from guardrail.kafka.topics import ensure_topics
from guardrail.worker.process import WorkerProcess
from kafka_helpers import worker_settings

pytestmark = pytest.mark.integration

CHANGELOG_RECORDS = 60_000  # a restore that takes seconds, not milliseconds
STATE = b'{"v":1,"purchases":[' + b'{"sku":"SKU-0001","ts":1},' * 12 + b"]}"


def probe(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode().strip()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode().strip()
    except OSError:
        return 0, "unreachable"


def fill_changelog(topic: str, config: dict[str, object]) -> None:
    producer = Producer({**config, "linger.ms": 50})
    for i in range(CHANGELOG_RECORDS):
        while True:
            try:
                producer.produce(topic, key=f"c-{i:07d}".encode(), value=STATE)
                break
            except BufferError:
                producer.poll(0.1)
    assert producer.flush(120) == 0


def test_a_recovering_worker_is_alive_and_not_ready_then_ready(
    kafka_broker: LocalKafka, tmp_path: Path
) -> None:
    port = free_port()
    settings = worker_settings(
        kafka_broker, tmp_path / "data", metrics_port=port, store="rocksdb://", partitions=1
    )
    ensure_topics(settings)
    fill_changelog(settings.changelog_topic, producer_config(settings))

    seen: list[tuple[int, str, int, str]] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen.append((*probe(port, "/livez"), *probe(port, "/readyz")))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    worker = WorkerProcess(settings, tmp_path / "worker.log")
    try:
        worker.start(timeout=240)
        deadline = time.monotonic() + 120
        while probe(port, "/readyz")[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        stop.set()
        watcher.join(10)
        seen.append((*probe(port, "/livez"), *probe(port, "/readyz")))  # ready, at the end
        assert probe(port, "/livez") == (200, "ok")
        assert probe(port, "/readyz") == (200, "ok")
        assert probe(port, "/table/customer-state/c-0000001/")[0] == 404
        assert probe(port, "/")[0] == 404
    finally:
        stop.set()
        worker.stop()

    answered = [s for s in seen if s[0] != 0]
    assert answered, "the metrics port never answered"
    # Alive and not ready while restoring: the orchestrator waits instead of restarting it.
    recovering = [
        s for s in answered if s[:2] == (200, "ok") and s[2:] == (503, "recovering state")
    ]
    assert recovering, sorted(set(answered))
    # Never ready before recovered, and once ready it was alive too.
    first_ready = next(i for i, s in enumerate(answered) if s[2] == 200)
    assert all(s[3] != "recovering state" for s in answered[first_ready:])
    assert all(s[0] == 200 for s in answered[first_ready:])
