"""Whether a partition is caught up, from what faust's aiokafka consumer last fetched.

The event-time hold (``guardrail.pipeline.hold``) releases an event early when every input
topic of its partition is known to have nothing unread. Known means: a fetch response that
arrived after the event did showed a high watermark the worker has read up to. A high
watermark older than the held event could miss a record produced before it (on another
topic) and not fetched yet, so only a fresher one counts.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterable
from typing import Any

from faust.types import TP

from guardrail.worker import faust_compat

# faust hardcodes aiokafka's fetch_max_wait_ms=1500: on a quiet broker the fetch response that
# confirms a partition caught up came up to 1.5 s late. Set on the live fetcher.
FETCH_MAX_WAIT_MS = 50
# High watermarks seen per input partition, with the time of their fetch response.
HIGHWATER_HISTORY = 32
# What aiokafka raises for a partition that is not (or no longer) assigned to this worker.
NOT_ASSIGNED = (AssertionError, AttributeError, KeyError)


def _fetched_at(entry: tuple[int, int]) -> int:
    return entry[0]


class FaustFetchHealth:
    """``guardrail.pipeline.ports.FetchHealth`` for a faust app's consumer."""

    def __init__(self, app: Any, topics: Iterable[str]) -> None:
        self.app = app
        self.topics = tuple(topics)
        self.highwaters: dict[TP, deque[tuple[int, int]]] = {}
        self.fetch_tuned = False

    def caught_up(self, topic: str, partition: int, since: float, last_read: int | None) -> bool:
        tp = TP(topic, partition)
        try:
            aio = faust_compat.aiokafka_consumer(self.app)
            # aiokafka's time (epoch ms) of the fetch response that last set the high watermark
            polled = aio.last_poll_timestamp(tp)
        except NOT_ASSIGNED:
            # Not assigned here (any more): nothing is known, so nothing is released on it.
            # (Taking it as caught up let a rebalance release a signal ahead of an earlier
            # recommendation; the revocation drops the held events anyway.)
            return False
        if not self.fetch_tuned:
            self.fetch_tuned = faust_compat.set_fetch_max_wait(aio, FETCH_MAX_WAIT_MS)
        if polled is None:
            return False
        # Any high watermark from a response after ``since`` bounds what was there before;
        # the first such one is the easiest to reach (later ones count newer records too,
        # and under a steady stream every partition's newest one keeps moving ahead).
        seen = self.highwaters.get(tp)
        if not seen or seen[-1][0] != polled:
            # A new fetch response: note it for every input topic of the partition now, not
            # only when a release check reaches that topic (by then its watermark moved on).
            self.observe(aio, partition)
            seen = self.highwaters.get(tp)
            if not seen:
                return False
        # The history is in fetch order: binary search for the first response after since.
        first = bisect.bisect_left(seen, since * 1000, key=_fetched_at)
        if first == len(seen):
            return False
        highwater = seen[first][1]
        if last_read is None:
            committed = faust_compat.committed_offset(self.app, tp)
            return bool(highwater == 0 or (committed is not None and committed >= highwater))
        return bool(last_read + 1 >= highwater)

    def observe(self, aio: Any, partition: int) -> None:
        """Note each input topic's high watermark of ``partition`` with its fetch time."""
        consumer = self.app.consumer
        for topic in self.topics:
            tp = TP(topic, partition)
            try:
                polled = aio.last_poll_timestamp(tp)
                highwater = consumer.highwater(tp)
            except NOT_ASSIGNED:  # not assigned here
                continue
            if polled is None or highwater is None:
                continue
            seen = self.highwaters.get(tp)
            if seen is None:
                seen = self.highwaters[tp] = deque(maxlen=HIGHWATER_HISTORY)
            if not seen or seen[-1][0] != polled:
                seen.append((polled, highwater))
