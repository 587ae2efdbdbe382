"""`guardrail explain` against the output topics of a real broker (approved records carry the
decision in a header, suppressed ones as their value; JSON and Avro through a real schema
registry), and against files; exit status 3 when nothing is found."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from confluent_kafka import Producer

from factories import NOON, hours, policy_with, profile, purchase, rec
from guardrail.config import DECISION_HEADER, Settings
from guardrail.core.records import Decision, Event, decision_to_json, event_type
from guardrail.core.replay import Replayer
from guardrail.devstack.kafka import LocalKafka
from guardrail.devstack.registry import LocalRegistry
from guardrail.kafka import serde
from guardrail.kafka.replay import producer_config
from guardrail.kafka.topics import ensure_topics
from guardrail.tools.outcomes import replay_line
from guardrail.worker.process import settings_env
from kafka_helpers import worker_settings

pytestmark = pytest.mark.integration

# frequency_cap in shadow with a cap of 1: c-1's second message carries a shadow reason
POLICY = {"rules": {"frequency_cap": {"mode": "shadow", "max_total": 1}}}
EVENTS: list[Event] = [
    purchase(customer="c-1", ts=NOON - hours(5), items=(("SKU-1", "books/fiction"),)),
    profile(customer="c-2", ts=NOON - hours(5), channel_opt_outs=["sms"]),
    rec(
        customer="c-1",
        ts=NOON,
        rec_id="r-rewrite",
        items=(("SKU-1", "books/fiction"), ("SKU-2", "books/poetry")),
        body="New in poetry.",
    ),
    rec(customer="c-1", ts=NOON + hours(1), rec_id="r-shadow", items=(("SKU-3", "garden"),)),
    rec(customer="c-2", ts=NOON, rec_id="r-optout", channel="sms", body="Sale on now."),
]


def _decided() -> list[Decision]:
    replayer = Replayer(policy_with(POLICY))
    return list(replayer.replay_lines([replay_line(e) for e in EVENTS]))


def _write_topics(settings: Settings, codec: serde.Codec) -> None:
    """The topics as a worker leaves them: proposals, approved with the decision header,
    suppressed decisions as values (wire format when the codec has a registry)."""
    ensure_topics(settings)
    producer = Producer(producer_config(settings))
    out = settings.output_topics()
    proposed = settings.topic("recommendation")
    for event in EVENTS:
        if event_type(event) == "recommendation":
            value = codec.encode("recommendation", event, proposed)
            producer.produce(proposed, key=event.customer_id.encode(), value=value)
    for d in _decided():
        key = d.customer_id.encode()
        if d.action == "suppress":
            value = codec.encode("decision", d, out["suppressed"])
            producer.produce(out["suppressed"], key=key, value=value)
        else:
            value = codec.encode("recommendation", d.recommendation, out["approved"])  # type: ignore[arg-type]
            header = [(DECISION_HEADER, decision_to_json(d).encode())]
            producer.produce(out["approved"], key=key, value=value, headers=header)
    assert producer.flush(30) == 0


def _explain(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "guardrail", "explain", *args],
        env={**settings_env(settings), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def json_topics(kafka_broker: LocalKafka, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = worker_settings(kafka_broker, tmp_path_factory.mktemp("explain"))
    _write_topics(settings, serde.Codec())
    return settings


def test_a_rewrite_with_its_reason_detail_and_both_copies(json_topics: Settings) -> None:
    done = _explain(json_topics, "--rec-id", "r-rewrite")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    decision = next(d for d in _decided() if d.rec_id == "r-rewrite")
    assert "action: rewrite" in out
    assert f"policy_version: {decision.policy_version}" in out
    assert f"already_purchased: {decision.reasons[0].detail}" in out
    assert "items: SKU-1 (books/fiction), SKU-2 (books/poetry)" in out  # before
    assert "items: SKU-2 (books/poetry)" in out  # after
    assert "recommendations.approved[" in out


def test_a_customers_last_decisions_with_shadow_reasons(json_topics: Settings) -> None:
    done = _explain(json_topics, "--customer", "c-1", "--last", "1")
    assert done.returncode == 0, done.stderr
    assert "rec r-shadow" in done.stdout and "r-rewrite" not in done.stdout
    assert "shadow reasons (recorded, did not change the action):" in done.stdout
    assert "frequency_cap:" in done.stdout
    both = _explain(json_topics, "--customer", "c-1", "--last", "5")
    assert both.stdout.index("rec r-rewrite") < both.stdout.index("rec r-shadow")


def test_a_suppression_says_not_sent(json_topics: Settings) -> None:
    done = _explain(json_topics, "--rec-id", "r-optout")
    assert done.returncode == 0, done.stderr
    assert "action: suppress" in done.stdout
    assert "channel_opt_out:" in done.stdout
    assert "after: not sent (suppressed)" in done.stdout
    assert "body: Sale on now." in done.stdout  # before, from the proposed topic


def test_nothing_found_exits_3(json_topics: Settings) -> None:
    assert _explain(json_topics, "--rec-id", "r-nobody").returncode == 3
    done = _explain(json_topics, "--customer", "c-nobody")
    assert done.returncode == 3
    assert "no decision found for customer c-nobody" in done.stderr


def test_avro_decisions_through_the_schema_registry(
    kafka_broker: LocalKafka, schema_registry: LocalRegistry, tmp_path: Path
) -> None:
    settings = worker_settings(kafka_broker, tmp_path, schema_registry_url=schema_registry.url)
    _write_topics(settings, serde.Codec(serde.registry_client(schema_registry.url)))
    done = _explain(settings, "--rec-id", "r-optout")
    assert done.returncode == 0, done.stderr
    assert "channel_opt_out:" in done.stdout


def test_from_a_decisions_file_and_a_replay_file(tmp_path: Path, json_topics: Settings) -> None:
    decisions = tmp_path / "decisions.jsonl"
    decisions.write_text("".join(decision_to_json(d) + "\n" for d in _decided()))
    events = tmp_path / "events.jsonl"
    events.write_text("".join(replay_line(e) + "\n" for e in EVENTS))
    policy = tmp_path / "p.yaml"
    policy.write_text("rules:\n  frequency_cap:\n    mode: shadow\n    max_total: 1\n")
    done = _explain(json_topics, "--rec-id", "r-shadow", "--file", str(decisions))
    assert done.returncode == 0 and "before: not found" in done.stdout
    done = _explain(
        json_topics, "--rec-id", "r-shadow", "--file", str(events), "--policy", str(policy)
    )
    assert done.returncode == 0 and "frequency_cap:" in done.stdout and "body:" in done.stdout
    assert _explain(json_topics, "--rec-id", "r-x", "--file", str(events)).returncode == 3
