"""Decoded customer states kept beside their stored bytes, so a customer seen again is not
decoded again.

Decoding a state (JSON to the core's tuples) is a sixth of an event's CPU, and a customer's
events come in bursts (a browsing session, a purchase and its follow-ups). The memo is
checked against the bytes the store returns: equal bytes decode to an equal state (decoding
is pure), so an entry that is stale (the store changed under it: a restore, a redelivery, a
partition moved) is simply not used. Bounded; an erased or deleted customer is dropped at
once, and a partition's entries when the partition goes.
"""

from __future__ import annotations

from guardrail.core.state import EMPTY_STATE, CustomerState, state_from_json, state_to_json


class StateMemo:
    """The last decoded (or encoded) state of up to ``size`` customers (0: none), by
    partition and key."""

    __slots__ = ("_entries", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: dict[tuple[int, bytes], tuple[bytes, CustomerState]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def decode(self, partition: int, key: bytes, stored: bytes | None) -> CustomerState:
        """The state ``stored`` holds (the empty state for None)."""
        if stored is None:
            return EMPTY_STATE
        where = (partition, key)
        entries = self._entries
        entry = entries.pop(where, None)
        if entry is not None and (entry[0] is stored or entry[0] == stored):
            entries[where] = entry  # last again: the least recently used go first
            return entry[1]
        state = state_from_json(stored)
        self._remember(where, stored, state)
        return state

    def encode(self, partition: int, key: bytes, state: CustomerState) -> bytes:
        """``state``'s bytes, remembered with it (the next event of the customer finds it)."""
        data = state_to_json(state)
        self._remember((partition, key), data, state)
        return data

    def drop(self, partition: int, key: bytes) -> None:
        """Forget one customer (erased or deleted)."""
        self._entries.pop((partition, key), None)

    def forget(self, partitions: set[int] | None = None) -> None:
        """Forget the customers of ``partitions`` (or all)."""
        if partitions is None:
            self._entries.clear()
            return
        for entry in [entry for entry in self._entries if entry[0] in partitions]:
            del self._entries[entry]

    def _remember(self, where: tuple[int, bytes], data: bytes, state: CustomerState) -> None:
        if not self.size:
            return
        entries = self._entries
        entries.pop(where, None)  # re-inserted last: the least recently used go first
        if len(entries) >= self.size:
            del entries[next(iter(entries))]
        entries[where] = (data, state)
