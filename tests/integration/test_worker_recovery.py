"""Issue 3, point 6: a restarted worker recovers its table from the changelog topic.

The first worker (RocksDB store in its own data dir) sees a laptop purchase and is stopped;
a new worker with the same app id and a fresh, empty data dir has nothing local, so when it
suppresses a laptop recommendation with ``already_purchased`` the state came from the
changelog. (A SIGKILL variant would wait out the dead member's group session timeout, about
a minute, before the new worker gets partitions: too slow for this suite.)
"""

from __future__ import annotations

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
    running_worker,
    with_web_port,
    worker_settings,
)

pytestmark = pytest.mark.integration


def test_restarted_worker_recovers_state_from_the_changelog(
    kafka_broker: LocalKafka, tmp_path: Path, runtime: str
) -> None:
    first = worker_settings(
        kafka_broker,
        tmp_path,
        store="rocksdb://",
        data_dir=tmp_path / "first",
        partitions=2,
        runtime=runtime,
    )
    before = [
        line("purchase", **laptop_purchase("c-restart", T0)),
        # A decision after the purchase: the purchase is applied when this one is decided.
        line("recommendation", **laptop_recommendation("c-restart", T0 + DAY_MS, "r-before")),
        line("recommendation", **laptop_recommendation("c-other", T0 + DAY_MS, "r-other")),
    ]
    with running_worker(first, tmp_path / "worker-1.log") as worker:
        decided = replay_to_kafka(before, first, timeout_s=60).decisions
        assert [(d.rec_id, d.action) for d in decided] == [
            ("r-before", "suppress"),
            ("r-other", "deliver"),
        ]
        assert worker.stop() == 0  # SIGTERM: a clean shutdown
    assert any((tmp_path / "first").rglob("*")), "the first worker kept no RocksDB state"

    fresh = tmp_path / "second"
    second = with_web_port(first, data_dir=fresh)
    after = [
        line("recommendation", **laptop_recommendation("c-restart", T0 + 2 * DAY_MS, "r-after"))
    ]
    with running_worker(second, tmp_path / "worker-2.log"):
        (decision,) = replay_to_kafka(after, second, timeout_s=60).decisions

    assert decision.rec_id == "r-after"
    assert decision.action == "suppress"
    assert [r.code for r in decision.reasons] == ["already_purchased"]
    assert not (tmp_path / "first" / "second").exists()
