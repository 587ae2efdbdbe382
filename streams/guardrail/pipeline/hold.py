"""Event-time ordering across the input topics of one partition.

A customer's signals and recommendations arrive on five topics, and Kafka orders nothing
across topics: a recommendation can reach the worker before a purchase that was produced
earlier on another topic. Like Kafka Streams' timestamp synchronization (`max.task.idle.ms`),
the worker holds each partition's events in a small buffer and releases them in event-time
order (ties: signals before recommendations, then arrival order) once every input topic of
that partition is known to hold nothing more that could come before the event:

- the topic was read past the event's time *for the event's customer* (a partition mixes many
  customers whose event times need not be monotonic, so only the customer's own later event
  says so; sound as long as a producer writes one customer's events of one topic in
  event-time order);
- or the topic's partition was read up to a record *produced* more than ``grace_ms`` after the
  event was (the records' Kafka timestamps: a producer writes a partition in the order it
  produced, so anything it produced before the event is at a lower offset; the grace covers
  several producers' clocks and batching);
- or the topic's partition had nothing unread by a fetch response received more than
  ``grace_ms`` after the event arrived (a producer's batching can write a record produced
  earlier a little later, on another partition: its ``linger.ms``; keep the grace above it).

There is no timeout: while a topic cannot be read (broker down, leader moving) or is behind,
the events that wait for it stay held, so an outage delays decisions and never changes them.
A partition holding more than ``max_held`` events releases its earliest ones anyway, so
memory stays bounded (counted: :attr:`PartitionOrderer.forced`). ``hold`` False releases every
event as it comes (no ordering at all: ``GUARDRAIL_MAX_HOLD_MS=0``).

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
# Events held per partition before the earliest are released anyway (memory bound).
MAX_HELD = 200_000


class _Held(Generic[T]):
    """One held event; the heap orders ``(ts, rank, seq, held)`` tuples (compared in C)."""

    __slots__ = ("item", "key", "produced", "released", "ts", "wall")

    def __init__(self, ts: int, wall: float, key: str, item: T, produced: int | None) -> None:
        self.ts = ts
        self.wall = wall
        self.key = key
        self.item = item
        self.produced = produced
        self.released = False


class PartitionOrderer(Generic[T]):
    """Holds one partition's events and releases them in event-time order."""

    def __init__(
        self,
        topics: Iterable[str],
        *,
        grace_ms: int = 0,
        hold: bool = True,
        max_held: int = MAX_HELD,
    ) -> None:
        self.topics = tuple(topics)
        self.grace_ms = grace_ms
        self.hold = hold
        self.max_held = max_held
        self.forced = 0  # events released because the partition held max_held
        # (ts, rank, seq, held): seq is unique, so the held object itself is never compared.
        self._heap: list[tuple[int, int, int, _Held[T]]] = []
        # The same events in arrival (wall) order, released ones dropped lazily from the
        # left: the longest-held event in O(1), not a scan of the heap.
        self._arrivals: deque[_Held[T]] = deque()
        self._seq = itertools.count()
        # Per customer with held events: the latest event time read from each topic.
        self.last_ts: dict[str, dict[str, int]] = {}
        self._held: dict[str, int] = {}  # customer -> how many of its events are held
        # Per topic: the latest record timestamp (producer time, epoch ms) read.
        self.produced: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._heap)

    def push(
        self,
        topic: str,
        ts: int,
        rank: int,
        item: T,
        wall: float,
        key: str = "",
        produced: int | None = None,
    ) -> None:
        """Hold ``item`` of customer ``key``, read from ``topic`` with event time ``ts`` and
        record timestamp ``produced`` (None when the record has none)."""
        seen = self.last_ts.setdefault(key, {})
        previous = seen.get(topic)
        if previous is None or ts > previous:
            seen[topic] = ts
        if produced is not None and produced > self.produced.get(topic, -1):
            self.produced[topic] = produced
        self._held[key] = self._held.get(key, 0) + 1
        held = _Held(ts, wall, key, item, produced)
        heapq.heappush(self._heap, (ts, rank, next(self._seq), held))
        self._arrivals.append(held)

    def _pop(self) -> T:
        held = heapq.heappop(self._heap)[3]
        held.released = True
        # Drop released events from the arrival queue as they go, so its head is always the
        # longest-held event. (Trimmed only when the oldest was asked for, it kept every event
        # released at once: ~3 KB per event, seen in a soak.)
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

    def head(self) -> _Held[T] | None:
        """The event to be released next (None when empty)."""
        return self._heap[0][3] if self._heap else None

    def tracked(self) -> int:
        """Events still referenced: the held ones and released ones queued behind a held one."""
        return len(self._arrivals)

    def waiting_for(self, held: _Held[T], caught_up: CaughtUp) -> str | None:
        """The first topic ``held`` still waits for, None when it may go."""
        seen = self.last_ts.get(held.key, {})
        after = None if held.produced is None else held.produced + self.grace_ms
        since = held.wall + self.grace_ms / 1000
        for topic in self.topics:
            last = seen.get(topic)
            if last is not None and last > held.ts:
                continue  # this topic has moved past the event's time, for this customer
            if after is not None and self.produced.get(topic, -1) > after:
                continue  # read up to a record produced (well) after this one
            if caught_up(topic, since):
                continue  # nothing more to read from it, as known (well) after it arrived
            return topic
        return None

    def pop_ready(self, caught_up: CaughtUp) -> list[T]:
        """Every held event that may go now, in release order.

        ``caught_up(topic, since)`` says whether this partition of ``topic`` had no unread
        records, according to broker information received after wall time ``since`` (none
        yet when ``since`` is still ahead).
        """
        ready: list[T] = []
        heap = self._heap
        while heap:
            if self.hold:
                if len(heap) > self.max_held:
                    self.forced += 1
                elif self.waiting_for(heap[0][3], caught_up) is not None:
                    break
            ready.append(self._pop())
        return ready

    def drain(self) -> list[T]:
        """Release everything, in order (shutdown or partition revoked)."""
        ready = []
        while self._heap:
            ready.append(self._pop())
        return ready
