"""Whether the consumer has read everything of an input partition, as known since a time.

The event-time hold releases a held event early once every input topic of its partition is
read to its end, judged by broker information newer than the event's arrival (older
information could miss a record produced before the event and not fetched yet). librdkafka
gives two such signals without a request of our own:

- a partition-EOF event (``enable.partition.eof``): the fetcher reached the end; noted with
  the wall time it was seen and the offset it is at;
- the cached high watermark, refreshed by every fetch response. With ``fetch.wait.max.ms``
  short, a record produced before ``since`` is fetched by ``since + FRESH_S`` at the latest,
  so a watermark read after that is fresh enough.
"""

from __future__ import annotations

from confluent_kafka import Consumer, TopicPartition

FETCH_WAIT_MAX_MS = 20
FRESH_S = 0.05


class FetchState:
    """Per input topic-partition: last offset read, last EOF seen."""

    __slots__ = ("consumer", "eof", "last", "start", "tps")

    def __init__(self) -> None:
        self.consumer: Consumer | None = None
        self.last: dict[tuple[str, int], int] = {}
        self.eof: dict[tuple[str, int], tuple[float, int]] = {}
        self.start: dict[tuple[str, int], int] = {}  # where reading began (committed offset)
        self.tps: dict[tuple[str, int], TopicPartition] = {}

    def read(self, tp: tuple[str, int], offset: int) -> None:
        self.last[tp] = offset

    def at_end(self, tp: tuple[str, int], offset: int, now: float) -> None:
        self.eof[tp] = (now, offset)

    def forget(self, partitions: set[int] | None = None) -> None:
        if partitions is None:
            self.last.clear()
            self.eof.clear()
            self.start.clear()
            return
        for mapping in (self.last, self.eof, self.start):
            for tp in [tp for tp in mapping if tp[1] in partitions]:
                del mapping[tp]

    def caught_up(self, topic: str, partition: int, since: float, now: float) -> bool:
        tp = (topic, partition)
        last = self.last.get(tp)
        upto = last + 1 if last is not None else self.start.get(tp)
        eof = self.eof.get(tp)
        if eof is not None and eof[0] >= since and (upto is None or eof[1] >= upto):
            return True
        if now - since < FRESH_S or self.consumer is None:
            return False
        tpo = self.tps.get(tp)
        if tpo is None:
            tpo = self.tps[tp] = TopicPartition(topic, partition)
        try:
            _low, high = self.consumer.get_watermark_offsets(tpo, cached=True)
        except Exception:  # not assigned (any more)
            return True
        if high < 0 or upto is None:
            return False
        return upto >= high
