"""The event-time hold alone (``PartitionOrderer``): when an event may go, and what it keeps.

``caught_up(topic, since)`` is the runtime's answer "this topic's partition had nothing unread,
by broker information received after ``since``"; the tests give it as a table.
"""

from __future__ import annotations

from guardrail.pipeline.hold import RECOMMENDATION_RANK, SIGNAL_RANK, PartitionOrderer

TOPICS = ("signals", "recs")
REC, SIG = RECOMMENDATION_RANK, SIGNAL_RANK


def never(_topic: str, _since: float) -> bool:
    return False


def always(_topic: str, _since: float) -> bool:
    return True


def confirmed_after(when: float) -> object:
    """Caught up, by a fetch response received at ``when``."""

    def caught_up(_topic: str, since: float) -> bool:
        return since <= when

    return caught_up


def orderer(**kwargs: object) -> PartitionOrderer[str]:
    return PartitionOrderer(TOPICS, **kwargs)  # type: ignore[arg-type]


def test_events_go_in_event_time_order_once_every_topic_is_caught_up() -> None:
    hold = orderer()
    hold.push("recs", ts=20, rank=REC, item="rec", wall=0.0, key="c1")
    hold.push("signals", ts=10, rank=SIG, item="purchase", wall=0.1, key="c1")
    assert hold.pop_ready(never) == []
    assert hold.pop_ready(always) == ["purchase", "rec"]


def test_ties_put_signals_before_recommendations() -> None:
    hold = orderer()
    hold.push("recs", ts=10, rank=REC, item="rec", wall=0.0, key="c1")
    hold.push("signals", ts=10, rank=SIG, item="signal", wall=0.1, key="c1")
    assert hold.pop_ready(always) == ["signal", "rec"]


def test_no_timeout_an_event_waits_however_long_a_topic_is_behind() -> None:
    hold = orderer()
    hold.push("recs", ts=20, rank=REC, item="rec", wall=0.0, key="c1")
    for _ in range(3):
        assert hold.pop_ready(never) == []
    assert len(hold) == 1


def test_a_later_event_of_the_same_customer_on_each_topic_releases_it() -> None:
    hold = orderer()
    hold.push("recs", ts=20, rank=REC, item="rec", wall=0.0, key="c1")
    hold.push("signals", ts=30, rank=SIG, item="later", wall=0.1, key="c1")
    hold.push("recs", ts=40, rank=REC, item="rec2", wall=0.2, key="c1")
    assert hold.pop_ready(never) == ["rec"]  # both topics moved past ts 20 for c1


def test_another_customers_later_event_does_not_release_it() -> None:
    hold = orderer()
    hold.push("recs", ts=20, rank=REC, item="rec", wall=0.0, key="c1")
    hold.push("signals", ts=30, rank=SIG, item="other", wall=0.1, key="c2")
    hold.push("recs", ts=40, rank=REC, item="rec2", wall=0.2, key="c2")
    assert hold.pop_ready(never) == []


def test_a_record_produced_after_the_grace_on_each_topic_releases_it() -> None:
    hold = orderer(grace_ms=20)
    hold.push("recs", ts=20, rank=REC, item="rec", wall=0.0, key="c1", produced=1_000)
    # Produced within the grace: a producer's batching may still write an earlier record.
    hold.push("signals", ts=30, rank=SIG, item="s2", wall=0.1, key="c2", produced=1_020)
    hold.push("recs", ts=31, rank=REC, item="r2", wall=0.1, key="c2", produced=1_020)
    assert hold.pop_ready(never) == []
    hold.push("signals", ts=40, rank=SIG, item="s3", wall=0.2, key="c3", produced=1_021)
    hold.push("recs", ts=41, rank=REC, item="r3", wall=0.2, key="c3", produced=1_021)
    # Both topics were read up to a record produced 21 ms after "rec": it may go; the later
    # ones wait for records produced after them.
    assert hold.pop_ready(never) == ["rec"]


def test_caught_up_counts_only_from_a_fetch_response_a_grace_after_the_event_arrived() -> None:
    hold = orderer(grace_ms=20)
    hold.push("recs", ts=20, rank=REC, item="rec", wall=10.0, key="c1")
    # A response 10 ms after the event came showed nothing unread: a record produced before
    # it can still be in a producer's batch, on its way.
    assert hold.pop_ready(confirmed_after(10.010)) == []  # type: ignore[arg-type]
    assert hold.pop_ready(confirmed_after(10.020)) == ["rec"]  # type: ignore[arg-type]


def test_grace_0_takes_any_response_after_the_event_arrived() -> None:
    hold = orderer(grace_ms=0)
    hold.push("recs", ts=20, rank=REC, item="rec", wall=10.0, key="c1")
    assert hold.pop_ready(confirmed_after(9.999)) == []  # type: ignore[arg-type]
    assert hold.pop_ready(confirmed_after(10.0)) == ["rec"]  # type: ignore[arg-type]


def test_more_than_max_held_releases_the_earliest_and_counts_them() -> None:
    hold = orderer(max_held=3)
    for n in range(5):
        hold.push("recs", ts=n, rank=REC, item=f"r{n}", wall=0.0, key=f"c{n}")
    assert hold.pop_ready(never) == ["r0", "r1"]
    assert (len(hold), hold.forced) == (3, 2)


def test_hold_off_releases_every_event_as_it_comes() -> None:
    hold = orderer(hold=False)
    hold.push("recs", ts=20, rank=REC, item="late", wall=0.0, key="c1")
    assert hold.pop_ready(never) == ["late"]
    assert hold.forced == 0


def test_oldest_wall_and_head_follow_releases() -> None:
    hold = orderer()
    hold.push("signals", ts=10, rank=SIG, item="late-ts", wall=0.0, key="c1")
    hold.push("signals", ts=5, rank=SIG, item="early-ts", wall=0.5, key="c2")
    assert hold.oldest_wall() == 0.0
    head = hold.head()
    assert head is not None and head.item == "early-ts"
    assert hold.waiting_for(head, never) == "signals"
    assert hold.pop_ready(always) == ["early-ts", "late-ts"]
    assert (hold.oldest_wall(), hold.head()) == (None, None)
    assert hold.drain() == []


def test_released_events_are_not_kept_when_released_at_once() -> None:
    # Caught-up partitions and the hold off release every event as it comes: the orderer
    # must not keep them (it kept each one, and the worker's RSS grew ~40 MB/min in a soak).
    for hold, caught_up in ((orderer(hold=False), never), (orderer(), always)):
        for n in range(10_000):
            hold.push("signals", ts=n, rank=SIG, item=f"e{n}", wall=n / 1000, key="c1")
            assert hold.pop_ready(caught_up) == [f"e{n}"]
        assert hold.tracked() == 0


def test_what_is_read_per_customer_is_dropped_with_its_last_held_event() -> None:
    hold = orderer()
    hold.push("signals", ts=1, rank=SIG, item="x", wall=0.0, key="c1")
    assert hold.pop_ready(always) == ["x"]
    assert hold.last_ts == {}
