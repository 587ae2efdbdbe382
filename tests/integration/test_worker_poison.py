"""Issue 3, points 2 and 6: poison records land on the dead-letter topic and the worker goes on.

Produced with confluent-kafka straight onto the input topics, between valid events: bytes
that are neither JSON nor Avro, JSON of the wrong shape, and a valid record whose key is not
its customer_id. Each becomes one DeadLetter (source topic, partition, offset, the raw key and
value, an error naming the kind); the valid records around them are still decided.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guardrail.core.records import DeadLetter
from guardrail.devstack.kafka import LocalKafka
from guardrail.kafka import serde
from guardrail.kafka.replay import decision_of
from helpers import (
    DAY_MS,
    T0,
    json_value,
    laptop_purchase,
    laptop_recommendation,
    produce_in_order,
    read_topic,
    running_worker,
    worker_settings,
)

pytestmark = pytest.mark.integration

GARBAGE = b"\xff\xfe not JSON, not Avro \x01\x02"
WRONG_SHAPE = json.dumps({"hello": "world", "customer_id": "c-poison"}).encode()


def test_poison_records_are_dead_lettered_and_the_rest_decided(
    kafka_broker: LocalKafka, tmp_path: Path, runtime: str
) -> None:
    settings = worker_settings(kafka_broker, tmp_path, partitions=2, runtime=runtime)
    topics = settings.input_topics()
    key = b"c-poison"
    mismatched = laptop_recommendation("c-someone-else", T0 + DAY_MS, "r-mismatch")
    records = [
        (topics["purchase"], key, json_value(laptop_purchase("c-poison", T0))),
        (topics["purchase"], key, GARBAGE),
        (topics["profile"], key, WRONG_SHAPE),
        (topics["recommendation"], key, json_value(mismatched)),
        (
            topics["recommendation"],
            key,
            json_value(laptop_recommendation("c-poison", T0 + DAY_MS, "r-after")),
        ),
        (
            topics["recommendation"],
            b"c-clean",
            json_value(laptop_recommendation("c-clean", T0 + DAY_MS, "r-clean")),
        ),
    ]
    with running_worker(settings, tmp_path / "worker.log"):
        where = produce_in_order(settings, records)
        letters = read_topic(settings, settings.topic("deadletter"), at_least=3)
        suppressed = read_topic(settings, settings.topic("suppressed"), at_least=1)
        approved = read_topic(settings, settings.topic("approved"), at_least=1)

    # The valid records after the poison ones are decided, with the state from before them.
    decisions = {
        d.rec_id: d
        for kind, messages in (("suppressed", suppressed), ("approved", approved))
        for d in (decision_of(kind, m.value(), m.headers()) for m in messages)
    }
    assert set(decisions) == {"r-after", "r-clean"}
    assert decisions["r-after"].action == "suppress"
    assert [r.code for r in decisions["r-after"].reasons] == ["already_purchased"]
    assert decisions["r-clean"].action == "deliver"

    # One dead letter per poison record, pointing at it, with its raw bytes and the reason.
    assert len(letters) == 3
    by_source: dict[tuple[str, int, int], DeadLetter] = {}
    for message in letters:
        letter = serde.Codec().decode("deadletter", message.value())
        assert isinstance(letter, DeadLetter)
        assert message.key() == letter.key
        by_source[(letter.source_topic, letter.partition, letter.offset)] = letter
    expected_kinds = {1: "not_json_or_avro", 2: "missing_field", 3: "key_mismatch"}
    assert set(by_source) == {where[i] for i in expected_kinds}
    for index, kind in expected_kinds.items():
        letter = by_source[where[index]]
        _, raw_key, raw_value = records[index]
        assert letter.key == raw_key
        assert letter.value == raw_value
        assert letter.error.startswith(kind), letter.error
        assert letter.ts > 0
