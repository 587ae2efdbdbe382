"""Issue 3, point 6: two workers in one consumer group decide exactly as one (and as the pure
replay): the partitions are split between them, each customer stays on one of them."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from guardrail.core.records import decision_to_json
from guardrail.devstack.kafka import LocalKafka
from guardrail.generate.stream import GeneratorConfig, generate_lines
from guardrail.kafka.replay import decision_of, replay_to_kafka
from helpers import (
    group_members,
    pure_decisions,
    read_topic,
    running_worker,
    with_web_port,
    worker_settings,
)

pytestmark = pytest.mark.integration


def test_two_workers_in_one_group_decide_as_one(
    kafka_broker: LocalKafka, tmp_path: Path, runtime: str
) -> None:
    lines = list(generate_lines(GeneratorConfig(customers=200, events=3000, seed=20261123)))
    expected = pure_decisions(lines)
    first = worker_settings(kafka_broker, tmp_path, partitions=4, runtime=runtime)
    second = with_web_port(first)

    with (
        running_worker(first, tmp_path / "worker-1.log"),
        running_worker(second, tmp_path / "worker-2.log"),
    ):
        members = group_members(first)
        result = replay_to_kafka(lines, first, timeout_s=120)
        assert group_members(first) == members, "the group rebalanced during the replay"

    # Both workers took part: two members, the 4 partitions of every input topic split.
    assert len(members) == 2
    assigned = list(members.values())
    assert all(assigned), f"a worker has no partitions: {members}"
    assert not (assigned[0] & assigned[1])
    assert len(assigned[0] | assigned[1]) == 5 * 4

    # The same decisions, per rec_id (and in input order, which replay_to_kafka restores).
    got = [decision_to_json(d) for d in result.decisions]
    assert len(got) == len(expected)
    assert {json.loads(g)["rec_id"]: g for g in got} == {
        json.loads(e)["rec_id"]: e for e in expected
    }
    assert got == expected

    # Per customer, the output topics hold the decisions in the pure replay's order. Delivery
    # is at least once: a record read again after a rebalance is decided again, and every such
    # copy must equal the first (the state remembers its rec_id; signals apply once).
    by_rec = {json.loads(e)["rec_id"]: e for e in expected}
    differing: list[str] = []
    for kind, action_kept in (("approved", True), ("suppressed", False)):
        want: dict[str, list[str]] = defaultdict(list)
        for e in expected:
            decision = json.loads(e)
            if (decision["recommendation"] is not None) == action_kept:
                want[decision["customer_id"]].append(decision["rec_id"])
        seen: dict[str, list[str]] = defaultdict(list)
        first_copy: set[str] = set()
        for message in read_topic(first, first.topic(kind), at_least=sum(map(len, want.values()))):
            decision = decision_of(kind, message.value(), message.headers())
            is_first = decision.rec_id in want.get(decision.customer_id, ()) and (
                decision.rec_id not in first_copy
            )
            if is_first:
                first_copy.add(decision.rec_id)
                assert decision_to_json(decision) == by_rec[decision.rec_id]
                seen[decision.customer_id].append(decision.rec_id)
            elif decision_to_json(decision) != by_rec[decision.rec_id]:
                differing.append(f"{by_rec[decision.rec_id]}\n  then {decision_to_json(decision)}")
        assert seen == want, f"per-customer order on {kind} differs"
    assert not differing, "redelivered decisions differ from the first:\n" + "\n".join(differing)
