"""The confluent runtime's own guarantees: its state comes back from the changelog, and a
restarted instance reads only the changelog records its local RocksDB has not seen.

Worker A decides for one customer and stops; worker B (same app, another data dir, so an
empty store) restores everything from the changelog and decides for a second customer;
A, started again on its own data dir, restores only what B wrote, and decides with it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from guardrail.devstack.kafka import LocalKafka
from guardrail.kafka.replay import replay_to_kafka
from helpers import (
    DAY_MS,
    T0,
    laptop_purchase,
    laptop_recommendation,
    line,
    read_topic,
    running_worker,
    with_web_port,
    worker_settings,
)

pytestmark = pytest.mark.integration

RESTORED = re.compile(r"restored (\d+) changelog records")


def _restored(log: Path) -> int:
    return sum(int(n) for n in RESTORED.findall(log.read_text(errors="replace")))


def _customer(name: str, day: int) -> list[str]:
    return [
        line("purchase", **laptop_purchase(name, T0 + day * DAY_MS, f"p-{name}")),
        line(
            "recommendation",
            **laptop_recommendation(name, T0 + (day + 1) * DAY_MS, f"r-{name}-{day}"),
        ),
    ]


def test_a_restart_restores_only_the_changelog_records_it_missed(
    kafka_broker: LocalKafka, tmp_path: Path
) -> None:
    a = worker_settings(
        kafka_broker,
        tmp_path,
        runtime="confluent",
        store="rocksdb://",
        data_dir=tmp_path / "a",
        partitions=2,
    )
    b = with_web_port(a, data_dir=tmp_path / "b")
    with running_worker(a, tmp_path / "a-1.log"):
        decided = replay_to_kafka(_customer("c-a", 0), a, timeout_s=60).decisions
    assert [d.action for d in decided] == ["suppress"]
    with running_worker(b, tmp_path / "b.log"):
        decided = replay_to_kafka(_customer("c-b", 0), b, timeout_s=60).decisions
    assert [d.action for d in decided] == ["suppress"]
    assert _restored(tmp_path / "b.log") >= 1  # A's state, from the changelog
    with running_worker(a, tmp_path / "a-2.log"):
        later = [
            line("recommendation", **laptop_recommendation(c, T0 + 5 * DAY_MS, f"r-{c}-5"))
            for c in ("c-a", "c-b")
        ]
        decided = replay_to_kafka(later, a, timeout_s=60).decisions
    # Both customers' purchases are known to A: its own from RocksDB, B's from the changelog.
    assert [(d.rec_id, [r.code for r in d.reasons]) for d in decided] == [
        ("r-c-a-5", ["already_purchased"]),
        ("r-c-b-5", ["already_purchased"]),
    ]
    changelog = read_topic(a, a.changelog_topic)
    restored_again = _restored(tmp_path / "a-2.log")
    assert 1 <= restored_again < len(changelog), (restored_again, len(changelog))
