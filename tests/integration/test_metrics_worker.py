"""A real worker's /metrics after real traffic: duplicates, consumer lag, customers, rebalance.

A golden file replayed twice with the same rec_ids: the second time every recommendation is a
redelivery, so it gets the same decision again (re-sent) and is counted as a ``duplicate``
event, never as a second decision. (The file is ``mistaken``: no customer in it has more
recommendations than the policy's ``max_remembered_rec_ids``, so every one is still
remembered; an older rec_id is forgotten by design and decided afresh.) Once drained,
every owned input partition reports a consumer lag of 0; a second worker joining takes half of
the partitions, and the first one drops their lag series. Every rebalance (the first
assignment, the second worker joining, then leaving) moves ``guardrail_rebalances_total`` on
both runtimes: the counter GuardrailRebalanceStorm alerts on.
"""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest

from guardrail.devstack.kafka import LocalKafka, free_port
from guardrail.kafka.replay import replay_to_kafka
from guardrail.metrics.metric_set import (
    CONSUMER_LAG,
    CUSTOMERS,
    DECISIONS,
    EVENTS,
    REBALANCES,
    TOPICS,
)
from guardrail.worker.process import WorkerProcess
from kafka_helpers import worker_settings
from metrics_helpers import GOLDEN, Samples, eventually, scrape, series, total

pytestmark = pytest.mark.integration

GAUGE_INTERVAL_S = 0.5
PARTITIONS = 2


def lag_partitions(samples: Samples) -> dict[tuple[str, str], float]:
    return {
        (dict(labels)["topic"], dict(labels)["partition"]): value
        for labels, value in series(samples, CONSUMER_LAG).items()
    }


def test_redelivered_recommendations_count_as_duplicates_and_lag_drains_to_zero(
    kafka_broker: LocalKafka, tmp_path: Path, runtime: str
) -> None:
    port = free_port()
    settings = worker_settings(
        kafka_broker,
        tmp_path / "data",
        metrics_port=port,
        gauge_interval_s=GAUGE_INTERVAL_S,
        partitions=PARTITIONS,
        store="rocksdb://",  # as in production: the customers gauge counts RocksDB keys
        runtime=runtime,
    )
    lines = (GOLDEN / "mistaken.events.jsonl").read_text().splitlines()
    with WorkerProcess(settings, tmp_path / "worker.log").start():
        first = replay_to_kafka(lines, settings, timeout_s=90)
        n = len(first.decisions)
        assert n > 0 and not first.rejected
        by_action = collections.Counter(d.action for d in first.decisions)

        def decided_once() -> Samples:
            samples = scrape(port)
            assert total(samples, DECISIONS) == n
            return samples

        samples = eventually(decided_once, 30, "decisions counted")
        for action, count in by_action.items():
            assert total(samples, DECISIONS, action=action) == count
        assert total(samples, EVENTS, topic="recommendation", outcome="decided") == n
        assert total(samples, EVENTS, outcome="duplicate") == 0
        signals = total(samples, EVENTS, outcome="signal")
        assert signals == first.events - n

        # The same events again: every recommendation is a redelivery.
        second = replay_to_kafka(lines, settings, timeout_s=90)
        assert second.decisions == first.decisions, "a redelivery gets the identical decision"

        def duplicates_counted() -> Samples:
            samples = scrape(port)
            assert total(samples, EVENTS, topic="recommendation", outcome="duplicate") == n
            return samples

        samples = eventually(duplicates_counted, 30, "duplicates counted")
        assert total(samples, DECISIONS) == n, "a duplicate is not a second decision"
        for action, count in by_action.items():
            assert total(samples, DECISIONS, action=action) == count
        assert total(samples, EVENTS, topic="recommendation", outcome="decided") == n
        assert total(samples, EVENTS, outcome="signal") == 2 * signals

        def drained() -> Samples:
            samples = scrape(port)
            lags = lag_partitions(samples)
            wanted = {(t, str(p)) for t in TOPICS for p in range(PARTITIONS)}
            assert set(lags) == wanted, sorted(lags)
            assert all(v == 0 for v in lags.values()), lags
            return samples

        # faust commits offsets every few seconds; the gauge follows within GAUGE_INTERVAL_S.
        samples = eventually(drained, 30, "consumer lag 0 on every input partition")
        customers = {json.loads(line)["customer_id"] for line in lines if line.strip()}
        assert 0 < total(samples, CUSTOMERS) <= len(customers)


def rebalances(port: int) -> float:
    return total(scrape(port), REBALANCES)


def test_a_worker_drops_the_lag_series_of_partitions_it_loses_in_a_rebalance_and_counts_it(
    kafka_broker: LocalKafka, tmp_path: Path, runtime: str
) -> None:
    first_port, second_port = free_port(), free_port()
    settings = worker_settings(
        kafka_broker,
        tmp_path / "one",
        metrics_port=first_port,
        gauge_interval_s=GAUGE_INTERVAL_S,
        partitions=PARTITIONS,
        runtime=runtime,
    )
    every = {(t, str(p)) for t in TOPICS for p in range(PARTITIONS)}
    with WorkerProcess(settings, tmp_path / "worker-1.log").start():

        def owns(port: int, expected: set[tuple[str, str]] | None = None) -> set[tuple[str, str]]:
            owned = set(lag_partitions(scrape(port)))
            if expected is not None:
                assert owned == expected, sorted(owned)
            return owned

        eventually(lambda: owns(first_port, every), 30, "the only worker owns every partition")
        assert rebalances(first_port) == 1, "the first assignment is the first rebalance"
        second = settings.model_copy(
            update={
                "metrics_port": second_port,
                "web_port": free_port(),
                "data_dir": tmp_path / "two",
            }
        )
        with WorkerProcess(second, tmp_path / "worker-2.log").start():

            def split() -> None:
                one, two = owns(first_port), owns(second_port)
                assert one and two, (sorted(one), sorted(two))
                assert one | two == every and not one & two, (sorted(one), sorted(two))

            # co-partitioned topics: each worker gets whole partition numbers, all five topics
            eventually(split, 60, "partitions split between the two workers")
            joined = rebalances(first_port)
            assert joined >= 2, "the second worker joining rebalanced the first one"
            assert rebalances(second_port) >= 1

        def rebalanced_again() -> None:
            assert rebalances(first_port) > joined

        # The second worker left: the first one gets every partition back, in a new rebalance.
        eventually(rebalanced_again, 60, "the second worker's leaving counted")
        eventually(lambda: owns(first_port, every), 30, "the first worker owns every partition")
