"""A demo-like run leaks no customer data into the worker's log: at INFO on the plain
listener, and at DEBUG over SASL_SSL (no password either, though aiokafka logs the SASL
handshake and every fetched record at DEBUG: the log filter masks them).

A generated stream with malformed lines mixed in (plus bad records that carry names: an
unknown timezone next to a first name, a key that disagrees with the customer id) goes
through a real worker; once the audit shows every proposal accounted for, the worker's log
is scanned for every customer id, first name, search query and place name in the stream.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from guardrail.config import Settings
from guardrail.devstack.kafka import LocalKafka
from guardrail.generate.stream import GeneratorConfig, generate_lines
from guardrail.tools.audit import AuditReport, audit
from guardrail.worker.process import WorkerProcess
from kafka_helpers import PASSWORD, produce, secure_settings, worker_settings

pytestmark = pytest.mark.integration

CONFIG = GeneratorConfig(events=1500, customers=40, days=10, seed=5, bad_line_rate=0.05)
TOPIC_OF_TYPE = {"purchase", "location", "browsing", "profile", "recommendation"}


def stream(settings: Settings) -> tuple[list[tuple[str, bytes | None, bytes]], dict[str, set[str]]]:
    """The records to produce (bad lines go where their event went) and the private values."""
    private: dict[str, set[str]] = {"customer id": set(), "first name": set(), "query": set(),
                                    "place name": set()}  # fmt: skip
    records: list[tuple[str, bytes | None, bytes]] = []
    last_topic, last_key = settings.topic("purchase"), b"c-unknown"
    for line in generate_lines(CONFIG):
        try:
            doc: Any = json.loads(line)
        except ValueError:
            doc = None
        valid = isinstance(doc, dict) and doc.get("type") in TOPIC_OF_TYPE and "ts" in doc
        if valid and isinstance(doc.get("customer_id"), str):
            last_topic, last_key = settings.topic(doc["type"]), doc["customer_id"].encode()
            private["customer id"].add(doc["customer_id"])
            for field, label in (("first_name", "first name"), ("query", "query"),
                                 ("place_name", "place name")):  # fmt: skip
                if isinstance(doc.get(field), str) and doc[field].strip():
                    private[label].add(doc[field].strip())
        records.append((last_topic, last_key, line.encode()))
    # Bad records that hold names and ids, on top of the generator's malformed lines.
    records.append((settings.topic("profile"), b"c-leaky-1", json.dumps({
        "event_id": "e-leak", "customer_id": "c-leaky-1", "ts": CONFIG.start_ms,
        "first_name": "Philippa", "timezone": "Atlantis/Capital"}).encode()))  # fmt: skip
    records.append((settings.topic("browsing"), b"c-leaky-other", json.dumps({
        "event_id": "e-leak2", "customer_id": "c-leaky-2", "ts": CONFIG.start_ms,
        "action": "search", "query": "divorce lawyer near me"}).encode()))  # fmt: skip
    private["customer id"] |= {"c-leaky-1", "c-leaky-2", "c-leaky-other"}
    private["first name"].add("Philippa")
    private["query"].add("divorce lawyer near me")
    return records, private


def settled(settings: Settings, proposals: int, timeout: float = 180.0) -> AuditReport:
    """The audit once every proposal has its decision or dead letter."""
    deadline = time.monotonic() + timeout
    while True:
        report = audit(settings)
        if (report.ok and report.proposed == proposals) or time.monotonic() > deadline:
            return report
        time.sleep(2)


def test_a_full_run_at_info_logs_no_customer_data(
    kafka_broker: LocalKafka, tmp_path: Path, runtime: str
) -> None:
    settings = worker_settings(kafka_broker, tmp_path / "worker", runtime=runtime)
    log = run_and_read_log(settings, tmp_path / "worker.log", "info")
    assert "dead-lettered" in log
    assert_no_customer_data(log, stream(settings)[1])


def test_a_run_at_debug_over_sasl_ssl_logs_no_password_and_no_customer_data(
    secure_broker: tuple[LocalKafka, Path], tmp_path: Path, runtime: str
) -> None:
    broker, ca_file = secure_broker
    settings = secure_settings(broker, ca_file, tmp_path / "worker", runtime=runtime)
    log = run_and_read_log(settings, tmp_path / "worker.log", "debug")
    assert " DEBUG " in log, "the run logged nothing at debug: the scan proves nothing"
    assert PASSWORD not in log
    assert_no_customer_data(log, stream(settings)[1])


def run_and_read_log(settings: Settings, log_path: Path, loglevel: str) -> str:
    records, _ = stream(settings)
    proposals = sum(1 for topic, _, _ in records if topic == settings.topic("recommendation"))
    with WorkerProcess(settings, log_path, loglevel=loglevel).start():
        produce(settings, records)
        report = settled(settings, proposals)
    assert report.ok and report.proposed == proposals, report
    assert report.dead_letters > 10, report  # the malformed lines went through the worker
    log = log_path.read_text(errors="replace")
    assert "Worker]: Ready" in log
    return log


def assert_no_customer_data(log: str, private: dict[str, set[str]]) -> None:
    leaks: list[str] = []
    for label, values in private.items():
        assert values, f"the stream holds no {label}: the scan would prove nothing"
        for value in sorted(values):
            pattern = re.escape(value)
            if label in ("first name", "place name") or value.isalnum():
                pattern = rf"(?<!\w){pattern}(?!\w)"  # a whole word: "Eva" is not in "Evaluate"
            for match in re.finditer(pattern, log):
                start = log.rfind("\n", 0, match.start()) + 1
                end = log.find("\n", match.end())
                leaks.append(f"{label} {value!r}: {log[start : end if end > 0 else None][:200]}")
    assert not leaks, "customer data in the worker log:\n" + "\n".join(leaks[:20])
