"""Acknowledge events in offset order per topic-partition, whatever order they finish in.

The worker finishes events out of offset order: the event-time hold releases them by time,
and a bad record is dead-lettered at once while an earlier one is still held. faust commits
the highest *contiguous* acknowledged offset, but its gap check misses a gap of exactly one
offset and any gap at offset 0 (faust-streaming 0.15.3, ``Consumer._new_offset`` compares
with the committed offset as if it were the last one read; it is the next one to read), so
one held event could be committed past and lost on a crash. Acknowledging only from the head
of each partition's queue never leaves faust a gap to miss.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

T = TypeVar("T")


class _Queue(Generic[T]):
    __slots__ = ("done", "events", "offsets")

    def __init__(self) -> None:
        self.offsets: deque[int] = deque()  # in the order read
        self.events: dict[int, T] = {}
        self.done: set[int] = set()  # finished, not acknowledged yet


class InOrderAcks(Generic[T]):
    """Per topic-partition queues of events in the order they were read; ``ack(event)`` is
    called for each in offset order."""

    __slots__ = ("_ack", "_queues")

    def __init__(self, ack: Callable[[T], object]) -> None:
        self._ack = ack
        self._queues: dict[tuple[str, int], _Queue[T]] = {}

    def read(self, tp: tuple[str, int], offset: int, event: T) -> None:
        """Note an event as read (in the order its partition delivers them)."""
        queue = self._queues.get(tp)
        if queue is None:
            queue = self._queues[tp] = _Queue()
        if offset not in queue.events:
            queue.offsets.append(offset)
        queue.events[offset] = event  # read again: the newest copy is the one to finish

    def finished(self, tp: tuple[str, int], offset: int, event: T) -> int:
        """Mark ``event`` finished; acknowledge every finished event at the head of its
        partition's queue. Returns how many were acknowledged."""
        queue = self._queues.get(tp)
        if queue is None or queue.events.get(offset) is not event:
            return 0  # read before a rebalance forgot it: read again, acknowledged then
        offsets, events, done, ack = queue.offsets, queue.events, queue.done, self._ack
        done.add(offset)
        acked = 0
        while offsets and offsets[0] in done:
            head = offsets.popleft()
            done.discard(head)
            ack(events.pop(head))
            acked += 1
        return acked

    def pending(self) -> int:
        """Events read and not acknowledged yet."""
        return sum(len(q.offsets) for q in self._queues.values())

    def forget(self, partitions: Iterable[int] | None = None) -> None:
        """Drop the queues (of ``partitions``, or all), acknowledging nothing (rebalance,
        shutdown): what was not acknowledged is read again from the committed offsets."""
        if partitions is None:
            self._queues.clear()
            return
        numbers = set(partitions)
        for tp in [tp for tp in self._queues if tp[1] in numbers]:
            del self._queues[tp]
