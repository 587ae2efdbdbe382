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
does not. (Judging by the newest one kept most events held until the stream paused.)

All topics of a partition are sampled together: sampled only when the hold asked about it, a
topic was asked only once the topics before it had caught up, so its first sample came one
poll after theirs, and an event waited a poll per topic (five of them).

The cached watermark does not say how old it is: while the broker is down it stays as the
last response left it and would still read "caught up". So a sample is taken only while
librdkafka's statistics (every ``STATS_INTERVAL_MS``) show the partition's leader connected
and answering (``state`` UP, ``rxidle`` under ``RX_IDLE_MAX_US``); in an outage no sample
is taken and the events waiting on it stay held (``guardrail.pipeline.hold``).
"""

from __future__ import annotations

import bisect
import time
from collections import deque
from collections.abc import Iterable

import orjson
from confluent_kafka import Consumer, TopicPartition

# The broker answers a fetch once FETCH_MIN_BYTES are there, else after FETCH_WAIT_MAX_MS:
# a cached watermark is at most about that old (FRESH_S, with a margin for the round trip).
FETCH_WAIT_MAX_MS = 10
FETCH_MIN_BYTES = 100_000
FRESH_S = 0.012
SAMPLE_EVERY_S = 0.002
HISTORY = 64  # samples kept per partition
STATS_INTERVAL_MS = 100
# A leader that sent nothing for this long is not answering fetches: with fetch.wait.max.ms
# 10 an idle, healthy broker answers every 10 ms.
RX_IDLE_MAX_US = 250_000
# A statistics report vouches for the brokers this long (it comes every STATS_INTERVAL_MS).
LIVE_FOR_S = 3 * STATS_INTERVAL_MS / 1000


def _when(sample: tuple[float, int]) -> float:
    return sample[0]


class FetchState:
    """Per input topic-partition: last offset read, where reading began, sampled watermarks."""

    __slots__ = (
        "consumer",
        "last",
        "leaders",
        "live_until",
        "low",
        "seen",
        "start",
        "topics",
        "tps",
    )

    def __init__(self, topics: Iterable[str] = ()) -> None:
        self.consumer: Consumer | None = None
        self.topics = tuple(topics)  # the input topics, sampled together per partition
        self.last: dict[tuple[str, int], int] = {}
        self.start: dict[tuple[str, int], int] = {}  # where reading began (committed offset)
        self.low: dict[tuple[str, int], int] = {}
        self.seen: dict[tuple[str, int], deque[tuple[float, int]]] = {}
        self.tps: dict[tuple[str, int], TopicPartition] = {}
        self.leaders: dict[tuple[str, int], int] = {}  # partition -> its leader's node id
        self.live_until: dict[int, float] = {}  # node id -> answering, as known until then

    def on_stats(self, report: str) -> None:
        """librdkafka's statistics (``stats_cb``): which brokers answer, who leads what."""
        stats = orjson.loads(report)
        until = time.time() + LIVE_FOR_S
        for broker in stats.get("brokers", {}).values():
            node = broker.get("nodeid", -1)
            if node >= 0:
                idle = broker.get("rxidle", -1)
                answering = broker.get("state") == "UP" and 0 <= idle <= RX_IDLE_MAX_US
                self.live_until[node] = until if answering else 0.0
        for topic, info in stats.get("topics", {}).items():
            for number, partition in info.get("partitions", {}).items():
                if int(number) >= 0:
                    self.leaders[(topic, int(number))] = partition.get("leader", -1)

    def answering(self, tp: tuple[str, int], now: float) -> bool:
        """The partition's leader was connected and answering at the last statistics."""
        leader = self.leaders.get(tp)
        return leader is not None and self.live_until.get(leader, 0.0) >= now

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
        if not self.answering(tp, now):
            return  # the cached watermark may be from before an outage
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
