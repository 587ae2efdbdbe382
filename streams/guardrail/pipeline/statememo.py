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
    """The last decoded (or encoded) states, by partition and key, as many as fit in
    ``budget`` bytes of serialized state (0: none). Decoded, a state takes several times its
    bytes, so the budget bounds the memo's memory whatever the customers' state sizes."""

    __slots__ = ("_entries", "budget", "held")

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.held = 0  # serialized bytes of the states remembered
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
        if entry is not None:
            if entry[0] is stored or entry[0] == stored:
                entries[where] = entry  # last again: the least recently used go first
                return entry[1]
            self.held -= len(entry[0])
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
        entry = self._entries.pop((partition, key), None)
        if entry is not None:
            self.held -= len(entry[0])

    def forget(self, partitions: set[int] | None = None) -> None:
        """Forget the customers of ``partitions`` (or all)."""
        entries = self._entries
        for where in [where for where in entries if partitions is None or where[0] in partitions]:
            self.held -= len(entries.pop(where)[0])

    def _remember(self, where: tuple[int, bytes], data: bytes, state: CustomerState) -> None:
        entries = self._entries
        old = entries.pop(where, None)  # re-inserted last: the least recently used go first
        if old is not None:
            self.held -= len(old[0])
        if len(data) > self.budget:
            return
        entries[where] = (data, state)
        self.held += len(data)
        while self.held > self.budget:
            self.held -= len(entries.pop(next(iter(entries)))[0])
