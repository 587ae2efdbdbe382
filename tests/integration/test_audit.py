"""`guardrail audit` on a real broker: topics written by hand with known faults (a missing
decision, identical and differing duplicates, dead letters, a re-proposed rec_id, time
ranges), the command's exit status and JSON, and its speed on a bigger topic."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer

from guardrail.config import DECISION_HEADER, Settings
from guardrail.core.records import DeadLetter, Decision, Recommendation
from guardrail.devstack.kafka import LocalKafka
from guardrail.kafka import serde
from guardrail.kafka.replay import producer_config
from guardrail.kafka.topics import ensure_topics
from guardrail.tools.audit import audit
from guardrail.worker.process import settings_env
from kafka_helpers import worker_settings

pytestmark = pytest.mark.integration

TS = 1_767_225_600_000


def recommendation(rec_id: str, customer: str = "c-1", body: str = "Hello.") -> Recommendation:
    return Recommendation(
        rec_id=rec_id, customer_id=customer, ts=TS, channel="email", trigger="batch", body=body
    )


def decision(rec: Recommendation, action: str = "deliver") -> Decision:
    return Decision(
        rec_id=rec.rec_id,
        customer_id=rec.customer_id,
        ts=rec.ts,
        action=action,  # type: ignore[arg-type]
        reasons=(),
        policy_version="p1",
        recommendation=rec if action != "suppress" else None,
    )


class Topics:
    """Writes the four audited topics the way a worker would (JSON values)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.out = settings.output_topics()
        self.producer = Producer(producer_config(settings))
        self.positions: dict[str, tuple[int, int]] = {}

    def _send(self, topic: str, key: bytes, value: bytes, **extra: Any) -> None:
        def delivered(err: Any, msg: Any) -> None:
            assert err is None, err
            if topic == self.settings.topic("recommendation"):
                self.positions[key.decode() + "|" + value.decode(errors="replace")[:60]] = (
                    msg.partition(),
                    msg.offset(),
                )

        while True:
            try:
                self.producer.produce(topic, key=key, value=value, on_delivery=delivered, **extra)
                break
            except BufferError:
                self.producer.poll(0.1)
        self.producer.poll(0)

    def propose(self, rec: Recommendation, **extra: Any) -> None:
        self._send(self.settings.topic("recommendation"), rec.customer_id.encode(),
                   serde.encode_json(rec), **extra)  # fmt: skip

    def propose_raw(self, key: bytes, value: bytes) -> None:
        self._send(self.settings.topic("recommendation"), key, value)

    def decide(self, d: Decision, **extra: Any) -> None:
        key = d.customer_id.encode()
        if d.recommendation is not None:
            headers = [(DECISION_HEADER, serde.encode_json(d))]
            self._send(self.out["approved"], key, serde.encode_json(d.recommendation),
                       headers=headers, **extra)  # fmt: skip
        else:
            self._send(self.out["suppressed"], key, serde.encode_json(d), **extra)

    def dead_letter(self, position: tuple[int, int], key: bytes, value: bytes, error: str,
                    source: str = "recommendation") -> None:  # fmt: skip
        letter = DeadLetter(
            source_topic=self.settings.topic(source),
            partition=position[0],
            offset=position[1],
            key=key,
            value=value,
            error=error,
            ts=TS,
        )
        self._send(self.out["deadletter"], key, serde.encode_json(letter))

    def flush(self) -> None:
        assert self.producer.flush(60) == 0


@pytest.fixture
def topics(kafka_broker: LocalKafka, tmp_path: Path) -> Topics:
    settings = worker_settings(kafka_broker, tmp_path)
    ensure_topics(settings)
    return Topics(settings)


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**settings_env(settings), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "guardrail", "audit", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_clean_run_is_ok(topics: Topics) -> None:
    recs = [recommendation(f"r-{i}", f"c-{i % 7}") for i in range(50)]
    for i, rec in enumerate(recs):
        topics.propose(rec)
        topics.decide(decision(rec, "suppress" if i % 3 == 0 else "deliver"))
    topics.flush()
    report = audit(topics.settings)
    assert report.ok
    assert (report.proposed, report.approved, report.suppressed) == (50, 33, 17)
    assert report.missing_count == report.duplicates == report.dead_letters == 0
    result = run_cli(topics.settings)
    assert result.returncode == 0, result.stderr
    assert "OK: every proposal has its decision or its dead letter" in result.stdout


def test_missing_duplicates_and_dead_letters_are_reported(topics: Topics) -> None:
    ok, lost, twice, differs, again = (
        recommendation(name) for name in ("ok", "lost", "twice", "differs", "again")
    )
    for rec in (ok, lost, twice, differs, again, again):
        topics.propose(rec)
    topics.propose_raw(b"c-1", b'{"rec_id": "bad", "channel": "fax"}')  # rec_id, yet invalid
    topics.propose_raw(b"c-1", b"\x89not json")  # dead-lettered, no rec_id to read
    topics.propose_raw(b"c-1", b"garbage, never dead-lettered")
    topics.flush()
    positions = sorted(topics.positions.items(), key=lambda kv: kv[1])
    bad_at = next(p for k, p in positions if '"bad"' in k)
    garbage_at = next(p for k, p in positions if "not json" in k)
    lost_forever = next(p for k, p in positions if "never dead" in k)
    topics.dead_letter(bad_at, b"c-1", b"...", "bad_enum: recommendation channel: ...")
    topics.dead_letter(garbage_at, b"c-1", b"...", "not_json_or_avro: recommendation ...")
    topics.dead_letter((0, 0), b"c-2", b"...", "ts_out_of_range: ...", source="browsing")
    topics.decide(decision(ok))
    topics.decide(decision(twice))
    topics.decide(decision(twice))  # a redelivery: the same decision again
    topics.decide(decision(differs))
    topics.decide(decision(differs, "suppress"))  # a second, different decision
    topics.decide(decision(again))
    topics.decide(decision(again))  # proposed twice, decided twice: not a duplicate
    topics.decide(decision(recommendation("never-proposed")))
    topics.flush()

    report = audit(topics.settings)
    assert not report.ok
    assert report.proposed == 9
    assert report.dead_lettered_proposed == 2
    assert report.dead_letters == 3
    assert report.dead_letters_by_kind == {
        "bad_enum": 1, "not_json_or_avro": 1, "ts_out_of_range": 1,
    }  # fmt: skip
    assert report.missing_count == 2
    where = f"{topics.settings.topic('recommendation')}[{lost_forever[0]}]@{lost_forever[1]}"
    assert sorted(report.missing) == sorted(["lost", where])
    assert (report.duplicates, report.duplicated_rec_ids) == (2, 2)
    assert report.duplicated == ["differs", "twice"]
    assert (report.duplicates_differing, report.differing) == (1, ["differs"])
    assert report.outside_range == 1

    result = run_cli(topics.settings, "--json")
    assert result.returncode == 1, result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] is False and doc["missing_count"] == 2 and doc["duplicates"] == 2
    text = run_cli(topics.settings)
    assert text.returncode == 1
    assert "lost" in text.stdout and "DIFFER" in text.stdout and "FAILED" in text.stdout


def test_a_time_range_audits_only_the_proposals_in_it(topics: Topics) -> None:
    base = int(time.time() * 1000) - 3_600_000
    for i in range(30):
        rec = recommendation(f"r-{i}")
        at = base + i * 60_000
        topics.propose(rec, timestamp=at)
        if i != 5:  # an old proposal, outside the range, is missing
            topics.decide(decision(rec), timestamp=at + 1_000)
    topics.flush()
    assert audit(topics.settings).missing_count == 1
    report = audit(topics.settings, since_ms=base + 10 * 60_000, until_ms=base + 20 * 60_000)
    assert report.ok
    assert report.proposed == 10
    assert report.outside_range == 10  # decisions of r-20 .. r-29, read but not proposed in range
    result = run_cli(topics.settings, "--json", "--since", str(base + 10 * 60_000))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["proposed"] == 20


def test_audit_accounts_for_a_big_topic(topics: Topics) -> None:
    # Its speed is a figure (printed), not an assertion: timed tests flake on a shared machine.
    n = 100_000
    rec_template = serde.encode_json(recommendation("RID"))
    decision_template = serde.encode_json(decision(recommendation("RID")))
    producer, settings = topics.producer, topics.settings
    out = settings.output_topics()

    def send(topic: str, items: Iterable[tuple[bytes, bytes, Any]]) -> None:
        for key, value, headers in items:
            while True:
                try:
                    producer.produce(topic, key=key, value=value, headers=headers)
                    break
                except BufferError:
                    producer.poll(0.1)

    ids = [f"rec-{i:07d}".encode() for i in range(n)]
    send(settings.topic("recommendation"),
         ((b"c-%d" % (i % 1000), rec_template.replace(b"RID", rid), None)
          for i, rid in enumerate(ids)))  # fmt: skip
    send(out["approved"],
         ((b"c-%d" % (i % 1000), rec_template.replace(b"RID", rid),
           [(DECISION_HEADER, decision_template.replace(b"RID", rid))])
          for i, rid in enumerate(ids)))  # fmt: skip
    assert producer.flush(120) == 0
    report = audit(settings)
    assert report.ok and report.proposed == n and report.approved == n, report
    print(f"audit: {report.records_read:,} records in {report.seconds:.2f} s "
          f"= {report.records_per_s:,.0f} records/s")  # fmt: skip
    assert report.records_read >= 2 * n
