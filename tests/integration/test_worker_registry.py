"""Issue 3, point 3 and 6: the Confluent wire format through the real schema registry.

Worker and replay both use the registry: the replay produces wire-format events, the worker
decides exactly as the pure replay, and what it writes on the approved and suppressed topics
is wire format (magic byte 0, a registered schema id) that decodes with the registry.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from guardrail.core.records import Decision, Recommendation, decision_to_json
from guardrail.devstack.kafka import LocalKafka
from guardrail.devstack.registry import LocalRegistry
from guardrail.kafka import serde
from guardrail.kafka.replay import decision_of, replay_to_kafka
from helpers import (
    GOLDEN_CASES,
    golden_lines,
    pure_decisions,
    read_topic,
    running_worker,
    worker_settings,
)

pytestmark = pytest.mark.integration


def test_wire_format_worker_decides_as_the_pure_replay(
    kafka_broker: LocalKafka, schema_registry: LocalRegistry, tmp_path: Path, runtime: str
) -> None:
    settings = worker_settings(
        kafka_broker, tmp_path, schema_registry_url=schema_registry.url, runtime=runtime
    )
    # Every golden file at once (their customers are disjoint): every kind of input record.
    lines = [line for case in GOLDEN_CASES for line in golden_lines(case)]
    expected = pure_decisions(lines)

    with running_worker(settings, tmp_path / "worker.log"):
        result = replay_to_kafka(lines, settings, timeout_s=90)

    assert [decision_to_json(d) for d in result.decisions] == expected

    # The input records the replay wrote are wire format, registered under <topic>-value.
    registry = serde.registry_client(schema_registry.url)
    subjects = set(registry.get_subjects())
    for topic in (*settings.input_topics().values(), settings.topic("approved")):
        assert serde.subject_for(topic) in subjects
    (first_input,) = read_topic(settings, settings.topic("profile"), at_least=1)[:1]
    assert first_input.value()[0] == 0

    codec = serde.Codec(registry)
    by_rec = {d.rec_id: d for d in result.decisions}
    approved = read_topic(settings, settings.topic("approved"))
    suppressed = read_topic(settings, settings.topic("suppressed"))
    assert len(approved) + len(suppressed) == len(expected)
    assert approved and suppressed
    for message in approved:
        value = message.value()
        assert value[0] == 0 and len(value) > 5, "approved value is not the wire format"
        recommendation = codec.decode("recommendation", value)
        assert isinstance(recommendation, Recommendation)
        decision = decision_of("approved", value, message.headers(), codec)
        assert decision_to_json(decision) == decision_to_json(by_rec[decision.rec_id])
        assert recommendation == by_rec[decision.rec_id].recommendation
        assert recommendation.guardrail is not None
        assert recommendation.guardrail.action == decision.action
    for message in suppressed:
        value = message.value()
        assert value[0] == 0 and len(value) > 5, "suppressed value is not the wire format"
        decision = codec.decode("decision", value)
        assert isinstance(decision, Decision)
        assert decision.action == "suppress"
        assert decision_to_json(decision) == decision_to_json(by_rec[decision.rec_id])
    # Without the registry, the wire format cannot be read: it really is not JSON.
    with pytest.raises(serde.DecodeError):
        serde.Codec().decode("decision", suppressed[0].value())
