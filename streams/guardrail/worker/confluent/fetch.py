"""Whether the consumer has read everything of an input partition, as known since a time.

The event-time hold releases a held event early once every input topic of its partition is
read up to where it ended when the event arrived: records produced later do not matter, and
information older than the event's arrival could miss a record produced before it and not
fetched yet. librdkafka refreshes each assigned partition's cached high watermark with every
fetch response (the broker answers a waiting fetch as soon as new data arrives, or after
``fetch.wait.max.ms``). The worker samples that cached watermark of every input topic of a
partition with held events once per poll (:meth:`FetchState.sample`; ``caught_up`` samples
too, at most every ``SAMPLE_EVERY_S`` per partition) and takes a sample read at time t as
known at ``t - FRESH_S`` (the response behind it may be that much older); it judges by the
*first* sample after the event arrived, as the faust runtime does with aiokafka's fetch times:
under a steady stream the newest watermark keeps moving ahead, the first one after the event
does not. (Judging by the newest one held most events for the whole ``max_hold_ms``.)

All topics of a partition are sampled together: sampled only when the hold asked about it, a
topic was asked only once the topics before it had caught up, so its first sample came one
poll after theirs, and an event waited a poll per topic (five of them).
"""

from __future__ import annotations

import bisect
import time
from collections import deque
from collections.abc import Iterable

from confluent_kafka import Consumer, TopicPartition

# The broker answers a fetch once FETCH_MIN_BYTES are there, else after FETCH_WAIT_MAX_MS:
# a cached watermark is at most about that old (FRESH_S, with a margin for the round trip).
FETCH_WAIT_MAX_MS = 10
FETCH_MIN_BYTES = 100_000
FRESH_S = 0.012
SAMPLE_EVERY_S = 0.002
HISTORY = 64  # samples kept per partition


def _when(sample: tuple[float, int]) -> float:
    return sample[0]


class FetchState:
    """Per input topic-partition: last offset read, where reading began, sampled watermarks."""

    __slots__ = ("consumer", "last", "low", "seen", "start", "topics", "tps")

    def __init__(self, topics: Iterable[str] = ()) -> None:
        self.consumer: Consumer | None = None
        self.topics = tuple(topics)  # the input topics, sampled together per partition
        self.last: dict[tuple[str, int], int] = {}
        self.start: dict[tuple[str, int], int] = {}  # where reading began (committed offset)
        self.low: dict[tuple[str, int], int] = {}
        self.seen: dict[tuple[str, int], deque[tuple[float, int]]] = {}
        self.tps: dict[tuple[str, int], TopicPartition] = {}

    def read(self, tp: tuple[str, int], offset: int) -> None:
        self.last[tp] = offset

    def forget(self, partitions: set[int] | None = None) -> None:
        mappings = (self.last, self.start, self.low, self.seen, self.tps)
        if partitions is None:
            for mapping in mappings:
                mapping.clear()
            return
        for mapping in mappings:
            for tp in [tp for tp in mapping if tp[1] in partitions]:
                del mapping[tp]

    def sample(self, partitions: Iterable[int], now: float) -> None:
        """Sample every input topic of ``partitions`` (those with held events) at ``now``."""
        seen_of = self.seen
        for partition in partitions:
            for topic in self.topics:
                tp = (topic, partition)
                seen = seen_of.get(tp)
                if seen is None:
                    seen = seen_of[tp] = deque(maxlen=HISTORY)
                self._sample(tp, seen, now)

    def _sample(self, tp: tuple[str, int], seen: deque[tuple[float, int]], now: float) -> None:
        consumer = self.consumer
        if consumer is None or (seen and now - FRESH_S - seen[-1][0] < SAMPLE_EVERY_S):
            return
        tpo = self.tps.get(tp)
        if tpo is None:
            tpo = self.tps[tp] = TopicPartition(*tp)
        try:
            low, high = consumer.get_watermark_offsets(tpo, cached=True)
        except Exception:  # not assigned (any more)
            return
        if high >= 0:
            seen.append((now - FRESH_S, high))
            self.low[tp] = low

    def caught_up(
        self,
        topic: str,
        partition: int,
        since: float,
        now: float | None = None,
        last: int | None = None,
    ) -> bool:
        """Nothing unread in ``topic``'s ``partition`` (after offset ``last``, else the last
        one noted by :meth:`read`) that was there at wall time ``since``."""
        tp = (topic, partition)
        seen = self.seen.get(tp)
        if seen is None:
            seen = self.seen[tp] = deque(maxlen=HISTORY)
        self._sample(tp, seen, time.time() if now is None else now)
        first = bisect.bisect_left(seen, since, key=_when)
        if first == len(seen):
            return False
        high = seen[first][1]
        if last is None:
            last = self.last.get(tp)
        if last is not None:
            return last + 1 >= high
        upto = self.start.get(tp, self.low.get(tp))  # nothing read: reading starts there
        return upto is not None and upto >= high
