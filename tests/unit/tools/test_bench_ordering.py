"""PartitionOrderer: the O(1) longest-held lookup (a bench optimisation) and what it keeps."""

from __future__ import annotations

from guardrail.pipeline.hold import RECOMMENDATION_RANK, SIGNAL_RANK, PartitionOrderer

TOPICS = ("a", "b")


def never(_topic: str, _since: float) -> bool:
    return False


def test_oldest_wall_skips_released_events() -> None:
    orderer: PartitionOrderer[str] = PartitionOrderer(TOPICS, max_hold_s=1.0)
    orderer.push("a", ts=10, rank=SIGNAL_RANK, item="late-ts", wall=0.0, key="c1")
    orderer.push("a", ts=5, rank=SIGNAL_RANK, item="early-ts", wall=0.5, key="c2")
    assert orderer.oldest_wall() == 0.0
    # At 1.2 the first arrival is overdue: it forces out everything before it, in ts order.
    assert orderer.pop_ready(never, wall=1.2) == ["early-ts", "late-ts"]
    assert orderer.oldest_wall() is None
    assert len(orderer) == 0


def test_an_overdue_event_deeper_in_the_heap_releases_the_ones_before_it() -> None:
    orderer: PartitionOrderer[str] = PartitionOrderer(TOPICS, max_hold_s=1.0)
    orderer.push("a", ts=50, rank=RECOMMENDATION_RANK, item="old-arrival", wall=0.0, key="c1")
    orderer.push("b", ts=10, rank=SIGNAL_RANK, item="new-arrival", wall=0.9, key="c2")
    assert orderer.pop_ready(never, wall=0.5) == []
    assert orderer.pop_ready(never, wall=1.0) == ["new-arrival", "old-arrival"]


def test_nothing_overdue_keeps_everything_held() -> None:
    orderer: PartitionOrderer[str] = PartitionOrderer(TOPICS, max_hold_s=1.0)
    orderer.push("a", ts=1, rank=SIGNAL_RANK, item="x", wall=0.0, key="c1")
    orderer.push("a", ts=2, rank=SIGNAL_RANK, item="y", wall=0.1, key="c1")
    assert orderer.pop_ready(never, wall=0.9) == []
    assert orderer.oldest_wall() == 0.0
    assert orderer.drain() == ["x", "y"]
    assert orderer.oldest_wall() is None


def always(_topic: str, _since: float) -> bool:
    return True


def test_released_events_are_not_kept_when_released_at_once() -> None:
    # Caught-up partitions and max_hold 0 release every event as it comes: the orderer must
    # not keep them (it kept each one, and the worker's RSS grew ~40 MB/min in a soak).
    for max_hold_s, caught_up in ((0.0, never), (2.0, always)):
        orderer: PartitionOrderer[str] = PartitionOrderer(TOPICS, max_hold_s=max_hold_s)
        for n in range(10_000):
            orderer.push("a", ts=n, rank=SIGNAL_RANK, item=f"e{n}", wall=n / 1000, key="c1")
            assert orderer.pop_ready(caught_up, wall=n / 1000) == [f"e{n}"]
        assert orderer.tracked() == 0
