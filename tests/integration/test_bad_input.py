"""Bad input against a real worker, broker and schema registry: every bad record lands on the
dead-letter topic, raw, with an error kind a person understands, and the worker keeps going
(the good recommendation produced right after each bad record is decided)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from guardrail.config import Settings
from guardrail.core.records import DeadLetter, Recommendation
from guardrail.devstack.kafka import LocalKafka
from guardrail.devstack.registry import LocalRegistry
from guardrail.kafka import serde
from guardrail.metrics.metric_set import ERROR_KINDS
from guardrail.tools.audit import audit
from guardrail.worker.process import WorkerProcess
from kafka_helpers import produce, read_topic, worker_settings

pytestmark = pytest.mark.integration

NOW = int(time.time() * 1000)
DAY = 86_400_000
MAX_VALUE_BYTES = 2_000


def rec_doc(customer: str, rec_id: str, **changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "rec_id": rec_id,
        "customer_id": customer,
        "ts": NOW - 3_600_000,
        "channel": "email",
        "trigger": "batch",
        "items": [{"sku": "SKU-1", "category": "books/fiction"}],
        "title": "New in fiction",
        "body": "Three new novels.",
        "data_sources": ["purchase_history"],
    }
    doc.update(changes)
    return doc


def js(doc: Any) -> bytes:
    return json.dumps(doc).encode()


@dataclass(frozen=True)
class Case:
    name: str
    topic: str  # logical input topic
    key: bytes | None
    value: bytes | None
    kind: str  # the expected error kind
    says: str = ""  # a phrase the error text must hold


def cases(codec: serde.Codec, settings: Settings) -> list[Case]:
    rec_topic = settings.topic("recommendation")
    schema_id = codec.register("recommendation", rec_topic)
    avro_rec = serde.encode_avro(Recommendation.model_validate(rec_doc("c-bad-avro", "r-x")))
    no_body = rec_doc("c-bad-missing", "r-missing")
    del no_body["body"]
    padded = rec_doc("c-bad-oversized", "r-big", body="x" * (2 * MAX_VALUE_BYTES))
    profile = {"event_id": "e-tz", "customer_id": "c-bad-tz", "ts": NOW, "timezone": "Mars/Base"}
    return [
        Case("garbage", "recommendation", b"c-bad-garbage", b"\x89PNG\r\n\x1a\n\xff\xfe",
             "not_json_or_avro", "Invalid JSON"),
        Case("text", "purchase", b"c-bad-text", b"hello, world", "not_json_or_avro"),
        Case("unknown_schema_id", "recommendation", b"c-bad-schema",
             serde.encode_wire(987_654, Recommendation.model_validate(rec_doc("c-x", "r"))),
             "unknown_schema_id", "987654"),
        Case("truncated_avro", "recommendation", b"c-bad-avro",
             bytes((0,)) + schema_id.to_bytes(4, "big") + avro_rec[:7],
             "not_json_or_avro", "bad Avro body"),
        Case("wrong_shape", "recommendation", b"c-bad-shape", b"[1, 2, 3]",
             "invalid_record", "should be an object"),
        Case("missing_field", "recommendation", b"c-bad-missing", js(no_body),
             "missing_field", "body"),
        Case("unknown_enum", "recommendation", b"c-bad-enum",
             js(rec_doc("c-bad-enum", "r-enum", channel="fax")), "bad_enum", "channel"),
        Case("key_mismatch", "recommendation", b"someone-else",
             js(rec_doc("c-bad-key", "r-key")), "key_mismatch", "customer_id"),
        Case("oversized", "recommendation", b"c-bad-oversized", js(padded),
             "oversized", f"limit {MAX_VALUE_BYTES}"),
        Case("future_ts", "recommendation", b"c-bad-future",
             js(rec_doc("c-bad-future", "r-future", ts=NOW + 30 * DAY)),
             "ts_out_of_range", "max_future_ms"),
        Case("past_ts", "browsing", b"c-bad-past",
             js({"event_id": "e-old", "customer_id": "c-bad-past", "ts": 1_000_000_000_000,
                 "action": "view"}),
             "ts_out_of_range", "max_past_ms"),
        Case("seconds_ts", "recommendation", b"c-bad-seconds",
             js(rec_doc("c-bad-seconds", "r-seconds", ts=NOW // 1000)),
             "ts_out_of_range", "min_ts_ms"),
        Case("unknown_timezone", "profile", b"c-bad-tz", js(profile),
             "invalid_record", "unknown IANA timezone"),
        Case("timezone_folder", "profile", b"c-bad-tz-folder",
             js({**profile, "customer_id": "c-bad-tz-folder", "timezone": "America"}),
             "invalid_record", "unknown IANA timezone"),
        Case("tombstone", "location", b"c-bad-empty", None, "empty"),
    ]  # fmt: skip


NAMES = (
    "garbage", "text", "unknown_schema_id", "truncated_avro", "wrong_shape", "missing_field",
    "unknown_enum", "key_mismatch", "oversized", "future_ts", "past_ts", "seconds_ts",
    "unknown_timezone",
    "timezone_folder", "tombstone",
)  # fmt: skip


def decided_rec_ids(settings: Settings, codec: serde.Codec) -> set[str]:
    outputs = settings.output_topics()
    ids: set[str] = set()
    for kind, topic in (
        ("recommendation", outputs["approved"]),
        ("decision", outputs["suppressed"]),
    ):
        for message in read_topic(settings, topic):
            ids.add(codec.decode(kind, message.value()).rec_id)  # type: ignore[attr-defined]
    return ids


@dataclass
class Run:
    settings: Settings
    cases: list[Case]
    letters: dict[bytes | None, DeadLetter]
    decided: set[str]
    good: list[str]
    worker_log: Path


@pytest.fixture(scope="module")
def run(
    kafka_broker: LocalKafka,
    schema_registry: LocalRegistry,
    tmp_path_factory: pytest.TempPathFactory,
    runtime: str,
) -> Iterator[Run]:
    tmp = tmp_path_factory.mktemp("bad-input")
    settings = worker_settings(
        kafka_broker,
        tmp / "worker",
        schema_registry_url=schema_registry.url,
        max_value_bytes=MAX_VALUE_BYTES,
        max_past_ms=400 * DAY,
        runtime=runtime,
    )
    codec = serde.Codec(serde.registry_client(schema_registry.url))
    all_cases = cases(codec, settings)
    assert [c.name for c in all_cases] == list(NAMES)
    worker = WorkerProcess(settings, tmp / "worker.log").start()
    try:
        records: list[tuple[str, bytes | None, bytes | None]] = []
        good: list[str] = []
        rec_topic = settings.topic("recommendation")
        for i, case in enumerate(all_cases):
            records.append((settings.topic(case.topic), case.key, case.value))
            # Right after each bad record, a good one: in JSON and, every other time, in Avro.
            ok = Recommendation.model_validate(rec_doc(f"c-ok-{i}", f"ok-{i}"))
            value = (
                codec.encode("recommendation", ok, rec_topic)
                if i % 2
                else js(rec_doc(f"c-ok-{i}", f"ok-{i}"))
            )
            records.append((rec_topic, ok.customer_id.encode(), value))
            good.append(ok.rec_id)
        produce(settings, records)
        outputs = settings.output_topics()
        raw_letters = read_topic(settings, outputs["deadletter"], at_least=len(all_cases))
        letters: dict[bytes | None, DeadLetter] = {}
        for message in raw_letters:
            letter = codec.decode("deadletter", message.value())
            assert isinstance(letter, DeadLetter)
            letters[letter.key] = letter
        decided = decided_rec_ids(settings, codec)
        deadline = time.monotonic() + 60
        while not set(good) <= decided and time.monotonic() < deadline:
            time.sleep(1)
            decided = decided_rec_ids(settings, codec)
        yield Run(settings, all_cases, letters, decided, good, tmp / "worker.log")
    finally:
        worker.stop()


@pytest.mark.parametrize("name", NAMES)
def test_bad_record_is_dead_lettered_raw_with_a_readable_kind(run: Run, name: str) -> None:
    case = next(c for c in run.cases if c.name == name)
    letter = run.letters.get(case.key)
    assert letter is not None, (
        f"{name}: no dead letter; worker log:\n{run.worker_log.read_text()[-3000:]}"
    )
    assert letter.error.startswith(f"{case.kind}: "), letter.error
    assert case.kind in ERROR_KINDS
    assert case.says in letter.error
    assert letter.source_topic == run.settings.topic(case.topic)
    assert letter.value == case.value  # the raw record, byte for byte
    assert letter.key == case.key


def test_the_worker_keeps_going_after_every_bad_record(run: Run) -> None:
    assert set(run.good) <= run.decided
    assert len(run.letters) == len(run.cases)  # one letter per bad record, nothing else


def test_audit_accounts_for_every_proposal(run: Run) -> None:
    report = audit(run.settings)
    on_proposed = [c for c in run.cases if c.topic == "recommendation"]
    assert report.ok, report
    assert report.missing_count == 0
    assert report.proposed == len(on_proposed) + len(run.good)
    assert report.dead_lettered_proposed == len(on_proposed)
    assert report.approved + report.suppressed == len(run.good)
    assert report.duplicates == 0
    expected_kinds: dict[str, int] = {}
    for case in run.cases:
        expected_kinds[case.kind] = expected_kinds.get(case.kind, 0) + 1
    assert report.dead_letters_by_kind == expected_kinds


def test_the_worker_log_names_kinds_and_offsets_not_values(run: Run) -> None:
    log = run.worker_log.read_text(errors="replace")
    assert "dead-lettered" in log
    for secret in ("Mars/Base", "c-bad-", "someone-else", "PNG", "hello, world"):
        assert secret not in log
