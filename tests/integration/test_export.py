"""`guardrail export` on a real broker: a time range of the five input topics (JSON and Avro
through a real schema registry) becomes a replay file in per-customer event order that
replays to the same decisions; the decision topics come along with --decisions."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from confluent_kafka import Producer

from factories import browsing, days, hours, profile, purchase, rec
from guardrail.config import DECISION_HEADER, Settings
from guardrail.core.policy import default_policy
from guardrail.core.records import Event, decision_to_json, event_type
from guardrail.core.replay import Replayer
from guardrail.devstack.kafka import LocalKafka
from guardrail.devstack.registry import LocalRegistry
from guardrail.kafka import serde
from guardrail.kafka.replay import producer_config
from guardrail.kafka.topics import ensure_topics
from guardrail.tools.export import Exporter
from guardrail.tools.outcomes import replay_line
from guardrail.worker.process import settings_env
from kafka_helpers import worker_settings

pytestmark = pytest.mark.integration

# Kafka record timestamps: day 1 and day 2 of the export window (record time = event time),
# recent ones: the broker's retention would delete records stamped months ago.
DAY1 = (int(time.time() * 1000) // days(1) - 3) * days(1)
DAY2 = DAY1 + days(1)
NOON = DAY1 + hours(12)


def _make_events() -> list[Event]:
    """Two customers, signals and recommendations spread over two days, several topics."""
    return [
        profile(customer="c-b", ts=DAY1 + hours(1), first_name="Bea"),
        purchase(customer="c-a", ts=DAY1 + hours(2), items=(("SKU-1", "books/fiction"),)),
        browsing(customer="c-a", ts=DAY1 + hours(3), category="books/fiction"),
        rec(customer="c-a", ts=DAY1 + hours(3), items=(("SKU-1", "books/fiction"),)),
        rec(customer="c-b", ts=NOON, body="Hi [First Name], new arrivals."),
        rec(customer="c-a", ts=DAY2 + hours(5), items=(("SKU-2", "books/fiction"),)),
        browsing(customer="c-b", ts=DAY2 + hours(6), category="garden"),
    ]


EVENTS = _make_events()


def _events() -> list[Event]:
    return EVENTS


def _produce(settings: Settings, events: list[Event], codec: serde.Codec) -> None:
    """Each event on its topic, keyed by customer, with the event time as record time, in
    time order: the customers interleave, so the export has to sort."""
    producer = Producer(producer_config(settings))
    topics = settings.input_topics()
    for event in sorted(events, key=lambda e: e.ts):
        kind = event_type(event)
        producer.produce(
            topics[kind],
            key=event.customer_id.encode(),
            value=codec.encode(kind, event, topics[kind]),
            timestamp=event.ts,
        )
    assert producer.flush(30) == 0


def _export(settings: Settings, since: int | None, until: int | None, **kw: object) -> str:
    out = io.StringIO()
    Exporter(settings, since, until, chunk=2, **kw).run(out)  # type: ignore[arg-type]
    return out.getvalue()


def _customers_in_order(text: str) -> list[tuple[str, int, str]]:
    return [(d["customer_id"], d["ts"], d["type"]) for d in map(json.loads, text.splitlines())]


def _decisions(lines: list[str]) -> list[str]:
    replayer = Replayer(default_policy())
    return sorted(decision_to_json(d) for d in replayer.replay_lines(lines))


@pytest.fixture
def json_topics(kafka_broker: LocalKafka, tmp_path: Path) -> Settings:
    settings = worker_settings(kafka_broker, tmp_path)
    ensure_topics(settings)
    _produce(settings, _events(), serde.Codec())
    return settings


def test_export_writes_per_customer_event_order_that_replays_the_same(
    json_topics: Settings,
) -> None:
    text = _export(json_topics, None, None)
    order = _customers_in_order(text)
    expected = sorted(
        ((e.customer_id, e.ts, event_type(e)) for e in _events()),
        key=lambda t: (t[0], t[1], t[2] == "recommendation"),
    )
    assert order == expected  # customer by customer; browsing before the rec at the same ts
    assert _decisions(text.splitlines()) == _decisions([replay_line(e) for e in _events()])


def test_since_and_until_select_by_record_time(json_topics: Settings) -> None:
    day1 = _customers_in_order(_export(json_topics, DAY1, DAY2))
    day2 = _customers_in_order(_export(json_topics, DAY2, None))
    assert {ts for _, ts, _ in day1} == {e.ts for e in _events() if e.ts < DAY2}
    assert {ts for _, ts, _ in day2} == {e.ts for e in _events() if e.ts >= DAY2}


def test_bad_records_are_left_out_and_counted(json_topics: Settings) -> None:
    producer = Producer(producer_config(json_topics))
    producer.produce(json_topics.topic("browsing"), key=b"c-z", value=b"{not json", timestamp=DAY1)
    half = b'{"event_id": "x"}'
    producer.produce(json_topics.topic("purchase"), key=b"c-z", value=half, timestamp=DAY1)
    assert producer.flush(30) == 0
    out = io.StringIO()
    result = Exporter(json_topics, None, None).run(out)
    assert result.events == len(_events())
    assert result.skipped == {"not_json_or_avro": 1, "missing_field": 1}


def test_decisions_come_along(json_topics: Settings) -> None:
    lines = [replay_line(e) for e in _events()]
    decided = list(Replayer(default_policy()).replay_lines(lines))
    producer = Producer(producer_config(json_topics))
    out = json_topics.output_topics()
    for d in decided:
        key, doc = d.customer_id.encode(), decision_to_json(d).encode()
        if d.action == "suppress":
            producer.produce(out["suppressed"], key=key, value=doc, timestamp=d.ts)
        else:
            value = serde.encode_json(d.recommendation)  # type: ignore[arg-type]
            producer.produce(out["approved"], key=key, value=value, timestamp=d.ts,
                             headers=[(DECISION_HEADER, doc)])  # fmt: skip
    assert producer.flush(30) == 0
    events, decisions = io.StringIO(), io.StringIO()
    result = Exporter(json_topics, None, None).run(events, decisions)
    assert result.decisions == len(decided)
    assert sorted(decisions.getvalue().splitlines()) == sorted(decision_to_json(d) for d in decided)


def test_avro_topics_through_the_schema_registry(
    kafka_broker: LocalKafka, schema_registry: LocalRegistry, tmp_path: Path
) -> None:
    settings = worker_settings(kafka_broker, tmp_path, schema_registry_url=schema_registry.url)
    ensure_topics(settings)
    codec = serde.Codec(serde.registry_client(schema_registry.url))
    _produce(settings, _events(), codec)
    raw = Producer(producer_config(settings))
    raw.produce(settings.topic("browsing"), key=b"c-a", value=b"\x00\x00\x00\x7f\x00")
    assert raw.flush(30) == 0
    out = io.StringIO()
    result = Exporter(settings, None, None, chunk=3).run(out)
    assert result.skipped == {"unknown_schema_id": 1}
    assert _decisions(out.getvalue().splitlines()) == _decisions(
        [replay_line(e) for e in _events()]
    )


def test_the_command_with_iso_times_and_progress(json_topics: Settings, tmp_path: Path) -> None:
    out = tmp_path / "day1.jsonl"
    since = datetime.fromtimestamp(DAY1 / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    until = datetime.fromtimestamp(DAY2 / 1000, UTC).isoformat()
    done = subprocess.run(
        [sys.executable, "-m", "guardrail", "export", "--since", since, "--until", until,
         "--out", str(out)],
        env={**settings_env(json_topics), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "export: wrote 5 events" in done.stderr
    assert "records" in done.stderr  # the progress line
    assert len(out.read_text().splitlines()) == sum(1 for e in _events() if e.ts < DAY2)


def test_a_missing_topic_is_a_one_line_error(kafka_broker: LocalKafka, tmp_path: Path) -> None:
    settings = worker_settings(kafka_broker, tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "guardrail", "export", "--out", str(tmp_path / "x.jsonl")],
        env={**settings_env(settings), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert "Error: topic" in done.stderr and "does not exist" in done.stderr
    assert "Traceback" not in done.stderr
