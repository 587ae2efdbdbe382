"""`--log-format json` on a real worker: every line of every logger (ours, faust's, the Kafka
client's) is one JSON object with one schema; a dead letter's line names its record."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from guardrail.devstack.kafka import LocalKafka
from guardrail.worker.process import WorkerProcess
from kafka_helpers import produce, worker_settings

pytestmark = pytest.mark.integration


def test_every_log_line_is_one_json_object_with_one_schema(
    kafka_broker: LocalKafka, tmp_path: Path, runtime: str
) -> None:
    settings = worker_settings(kafka_broker, tmp_path / "data", runtime=runtime, log_format="json")
    log_path = tmp_path / "worker.log"
    with WorkerProcess(settings, log_path).start() as worker:
        produce(settings, [(settings.topic("purchase"), b"c-json-1", b"{not json")])
        deadline = time.monotonic() + 60
        while "dead-lettered" not in log_path.read_text():
            assert worker.running and time.monotonic() < deadline, worker.tail()
            time.sleep(0.5)
    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # raises on any line that is not JSON
    assert all({"time", "level", "logger", "message"} <= r.keys() for r in records)
    loggers = {r["logger"].split(".")[0] for r in records}
    assert "guardrail" in loggers and ({"faust", "mode"} & loggers or runtime == "confluent")
    (letter,) = [r for r in records if "dead-lettered" in r["message"]]
    assert letter["topic"] == settings.topic("purchase") and letter["offset"] == 0
    assert isinstance(letter["partition"], int) and letter["level"] == "WARNING"
    assert "c-json-1" not in log_path.read_text()
