"""The confluent runtime's caught-up signal: librdkafka's cached high watermarks, sampled."""

from __future__ import annotations

from confluent_kafka import TopicPartition

from guardrail.worker.confluent.fetch import FRESH_S, FetchState

T = 1_000_000.0  # a wall time


class Watermarks:
    """What librdkafka's last fetch responses said: (low, high) per topic-partition."""

    def __init__(self, highs: dict[tuple[str, int], int]) -> None:
        self.highs = highs

    def get_watermark_offsets(self, tp: TopicPartition, cached: bool = False) -> tuple[int, int]:
        assert cached, "never a broker round trip per sample"
        return 0, self.highs[(tp.topic, tp.partition)]


def test_every_topic_of_a_held_partition_is_judged_by_a_sample_of_the_same_poll() -> None:
    watermarks = Watermarks({("a", 0): 10, ("b", 0): 5})
    fetch = FetchState(["a", "b"])
    fetch.consumer = watermarks  # type: ignore[assignment]
    fetch.read(("a", 0), 9)
    fetch.read(("b", 0), 4)
    arrived = T
    fetch.sample([0], arrived + FRESH_S)  # the first poll after the event arrived
    # Records produced later on b do not matter: b was read to its end as of that poll.
    watermarks.highs[("b", 0)] = 50
    assert fetch.caught_up("a", 0, arrived, now=arrived + 0.05)
    assert fetch.caught_up("b", 0, arrived, now=arrived + 0.05)


def test_a_sample_older_than_the_event_proves_nothing_and_unread_records_hold_it() -> None:
    watermarks = Watermarks({("a", 0): 10})
    fetch = FetchState(["a"])
    fetch.consumer = watermarks  # type: ignore[assignment]
    fetch.read(("a", 0), 9)
    fetch.sample([0], T)
    # The event arrived after that poll: only a later sample can say that a was caught up.
    assert not fetch.caught_up("a", 0, T, now=T)
    watermarks.highs[("a", 0)] = 12  # two more records produced before the next poll
    fetch.sample([0], T + FRESH_S + 0.01)
    assert not fetch.caught_up("a", 0, T, now=T + FRESH_S + 0.01)
    fetch.read(("a", 0), 11)
    assert fetch.caught_up("a", 0, T, now=T + FRESH_S + 0.02)
