"""The confluent runtime's caught-up signal: librdkafka's cached high watermarks, sampled,
counted only while the partition's leader answers, as librdkafka's statistics report it (an
outage leaves the cache as it was, and it would still read "caught up")."""

from __future__ import annotations

import json
import time

from confluent_kafka import TopicPartition

from guardrail.worker.confluent.fetch import FRESH_S, RX_IDLE_MAX_US, FetchState

T = 1_000_000.0  # a wall time


def stats(topics: tuple[str, ...], state: str = "UP", rxidle: int = 10_000) -> str:
    """librdkafka's statistics: broker 1, leader of partition 0 of ``topics``."""
    partitions = {"0": {"leader": 1}, "-1": {"leader": -1}}
    return json.dumps(
        {
            "brokers": {"127.0.0.1:9092/1": {"nodeid": 1, "state": state, "rxidle": rxidle}},
            "topics": {topic: {"partitions": partitions} for topic in topics},
        }
    )


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
    fetch.on_stats(stats(("a", "b")))
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
    fetch.on_stats(stats(("a",)))
    fetch.read(("a", 0), 9)
    fetch.sample([0], T)
    # The event arrived after that poll: only a later sample can say that a was caught up.
    assert not fetch.caught_up("a", 0, T, now=T)
    watermarks.highs[("a", 0)] = 12  # two more records produced before the next poll
    fetch.sample([0], T + FRESH_S + 0.01)
    assert not fetch.caught_up("a", 0, T, now=T + FRESH_S + 0.01)
    fetch.read(("a", 0), 11)
    assert fetch.caught_up("a", 0, T, now=T + FRESH_S + 0.02)


def caught_up_fetch(report: str | None, high: int = 5, last: int = 4) -> FetchState:
    fetch = FetchState(["a"])
    fetch.consumer = Watermarks({("a", 0): high})  # type: ignore[assignment]
    fetch.read(("a", 0), last)
    if report is not None:
        fetch.on_stats(report)
    return fetch


def test_read_to_the_cached_watermark_of_an_answering_leader_is_caught_up() -> None:
    assert caught_up_fetch(stats(("a",))).caught_up("a", 0, since=time.time() - 1)


def test_a_leader_down_or_silent_gives_no_answer_however_the_cache_reads() -> None:
    reports = (
        stats(("a",), state="DOWN"),
        stats(("a",), rxidle=RX_IDLE_MAX_US + 1),
        stats(("a",), rxidle=-1),
        None,  # no statistics yet
    )
    for report in reports:
        assert not caught_up_fetch(report).caught_up("a", 0, since=time.time() - 1)


def test_statistics_vouch_for_a_short_time_only() -> None:
    fetch = caught_up_fetch(stats(("a",)))
    fetch.live_until[fetch.leaders[("a", 0)]] = time.time() - 0.001  # the report is too old
    assert not fetch.caught_up("a", 0, since=time.time() - 1)
