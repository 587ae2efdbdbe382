"""Event-time ordering across the input topics of one partition.

A customer's signals and recommendations arrive on five topics, and Kafka orders nothing
across topics: a recommendation can reach the worker before a purchase that was produced
earlier on another topic. Like Kafka Streams' timestamp synchronization (`max.task.idle.ms`),
the worker holds each partition's events in a small buffer and releases them in event-time
order (ties: signals before recommendations, then arrival order) once every input topic of that
partition has been read past the event's time *for the event's customer* or has nothing more
to read (caught up). An event held longer than ``max_hold_s`` of wall time is released anyway,
so a stalled topic delays decisions by at most that much and never blocks them.

"Read past" is per customer (the record key), not per partition: a partition mixes many
customers whose event times need not be monotonic (a replay file, a backfill, a slow
producer), so another customer's later event on a topic says nothing about this customer's
earlier one still unread there. Per customer it is sound as long as each producer writes one
customer's events of one topic in event-time order. What was read per customer is only kept
while that customer has held events, so the memory stays bounded by the buffer.

This module is pure (the wall clock is passed in) so the release rule is unit-tested alone.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

T = TypeVar("T")

# (topic, since_wall) -> the partition of topic had nothing unread, as known after since_wall
CaughtUp = Callable[[str, float], bool]

SIGNAL_RANK = 0
RECOMMENDATION_RANK = 1


class _Held(Generic[T]):
    """One held event; the heap orders ``(ts, rank, seq, held)`` tuples (compared in C)."""

    __slots__ = ("item", "key", "released", "ts", "wall")

    def __init__(self, ts: int, wall: float, key: str, item: T) -> None:
        self.ts = ts
        self.wall = wall
        self.key = key
        self.item = item
        self.released = False


class PartitionOrderer(Generic[T]):
    """Holds one partition's events and releases them in event-time order."""

    def __init__(self, topics: Iterable[str], max_hold_s: float) -> None:
        self.topics = tuple(topics)
        self.max_hold_s = max_hold_s
        # (ts, rank, seq, held): seq is unique, so the held object itself is never compared.
        self._heap: list[tuple[int, int, int, _Held[T]]] = []
        # The same events in arrival (wall) order, released ones dropped lazily from the
        # left: the longest-held event in O(1), not a scan of the heap per release.
        self._arrivals: deque[_Held[T]] = deque()
        self._seq = itertools.count()
        # Per customer with held events: the latest event time read from each topic.
        self.last_ts: dict[str, dict[str, int]] = {}
        self._held: dict[str, int] = {}  # customer -> how many of its events are held

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, topic: str, ts: int, rank: int, item: T, wall: float, key: str = "") -> None:
        """Hold ``item`` of customer ``key``, read from ``topic`` with event time ``ts``."""
        seen = self.last_ts.setdefault(key, {})
        previous = seen.get(topic)
        if previous is None or ts > previous:
            seen[topic] = ts
        self._held[key] = self._held.get(key, 0) + 1
        held = _Held(ts, wall, key, item)
        heapq.heappush(self._heap, (ts, rank, next(self._seq), held))
        self._arrivals.append(held)

    def _pop(self) -> T:
        held = heapq.heappop(self._heap)[3]
        held.released = True
        # Drop released events from the arrival queue as they go, so its head is always the
        # longest-held event. (Trimmed only when the oldest was asked for, it kept every event
        # released at once, caught up or with max_hold_s 0: ~3 KB per event, seen in a soak.)
        arrivals = self._arrivals
        while arrivals and arrivals[0].released:
            arrivals.popleft()
        left = self._held[held.key] - 1
        if left:
            self._held[held.key] = left
        else:
            del self._held[held.key]
            del self.last_ts[held.key]
        return held.item

    def oldest_wall(self) -> float | None:
        """Wall time at which the longest-held event arrived (None when empty)."""
        arrivals = self._arrivals
        return arrivals[0].wall if arrivals else None

    def tracked(self) -> int:
        """Events still referenced: the held ones and released ones queued behind a held one."""
        return len(self._arrivals)

    def _may_release(self, held: _Held[T], caught_up: CaughtUp) -> bool:
        seen = self.last_ts.get(held.key, {})
        for topic in self.topics:
            last = seen.get(topic)
            if last is not None and last > held.ts:
                continue  # this topic has moved past the event's time, for this customer
            if caught_up(topic, held.wall):
                continue  # nothing more to read from it, as known since the event arrived
            return False
        return True

    def pop_ready(self, caught_up: CaughtUp, wall: float) -> list[T]:
        """Every held event that may go now, in release order.

        ``caught_up(topic, since)`` says whether this partition of ``topic`` had no unread
        records, according to broker information received after wall time ``since``.
        """
        ready: list[T] = []
        heap = self._heap
        while heap:
            held = heap[0][3]
            overdue = wall - held.wall >= self.max_hold_s
            # An overdue event further down the heap also forces release of everything before
            # it, so that the order stays intact.
            if not overdue and not self._may_release(held, caught_up):
                oldest = self.oldest_wall()
                if oldest is None or wall - oldest < self.max_hold_s:
                    break
            ready.append(self._pop())
        return ready

    def drain(self) -> list[T]:
        """Release everything, in order (shutdown or partition revoked)."""
        ready = []
        while self._heap:
            ready.append(self._pop())
        return ready
