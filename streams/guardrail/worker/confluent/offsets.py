"""Input positions to commit, with the records already finished beyond them.

The event-time hold finishes records out of offset order: a partition's record at offset 7
may be decided while the one at offset 5 is still held. The committed offset can only be 5
(the next one to read after a crash), but 7's decision and state are in the same committed
transaction. Read again, 7 would be decided a second time: a duplicate, and after an erasure
a different one. So the commit carries, in its offset metadata (committed atomically with the
transaction), the offsets at or above it that are finished already; the partition's next
owner skips exactly those.
"""

from __future__ import annotations

from collections.abc import Iterable

# Kafka's default offset.metadata.max.bytes is 4096; stay below it with room to spare.
MAX_METADATA = 3_500
PREFIX = "g1:"


def encode_done(committed: int, done: Iterable[int]) -> str | None:
    """Offsets in ``done`` (all >= ``committed``) as ranges relative to ``committed``, e.g.
    ``g1:2,5-9``; None when they do not fit into the metadata."""
    offsets = sorted(set(done))
    parts: list[str] = []
    i = 0
    while i < len(offsets):
        start = end = offsets[i]
        while i + 1 < len(offsets) and offsets[i + 1] == end + 1:
            i += 1
            end = offsets[i]
        first, last = start - committed, end - committed
        parts.append(f"{first:x}" if first == last else f"{first:x}-{last:x}")
        i += 1
    text = PREFIX + ",".join(parts)
    return text if len(text) <= MAX_METADATA else None


def decode_done(committed: int, metadata: str | None) -> set[int]:
    """The finished offsets encoded by :func:`encode_done` (empty for anything else)."""
    if not metadata or not metadata.startswith(PREFIX):
        return set()
    done: set[int] = set()
    body = metadata[len(PREFIX) :]
    if not body:
        return done
    try:
        for part in body.split(","):
            first, _, last = part.partition("-")
            start = int(first, 16)
            end = int(last, 16) if last else start
            done.update(range(committed + start, committed + end + 1))
    except ValueError:
        return set()
    return done


class Positions:
    """Per input topic-partition: the next offset to commit and the finished ones beyond it."""

    __slots__ = ("committed", "done", "next", "touched")

    def __init__(self) -> None:
        self.next: dict[tuple[str, int], int] = {}  # acknowledged in order: commit this
        self.done: dict[tuple[str, int], set[int]] = {}  # finished beyond ``next``
        self.committed: dict[tuple[str, int], int] = {}  # as of the last commit
        self.touched: set[tuple[str, int]] = set()  # changed since the last commit

    def start(self, tp: tuple[str, int], committed: int, done: set[int]) -> None:
        """A partition assigned: its committed offset and what was finished beyond it."""
        self.next[tp] = committed
        self.committed[tp] = committed
        self.done[tp] = {o for o in done if o >= committed}

    def skip(self, tp: tuple[str, int], offset: int) -> bool:
        """True when the record at ``offset`` was finished in a committed transaction."""
        done = self.done.get(tp)
        return bool(done) and offset in done  # type: ignore[operator]

    def finished(self, tp: tuple[str, int], offset: int) -> None:
        """``offset`` is finished (decided or dead-lettered), in any order."""
        done = self.done.get(tp)
        if done is None:
            done = self.done[tp] = set()
        done.add(offset)
        self.touched.add(tp)

    def acknowledged(self, tp: tuple[str, int], offset: int) -> None:
        """Everything up to ``offset`` is finished (called in offset order, usually for
        every record: so only ``offset`` leaves ``done`` here, in O(1); anything else at or
        below it is dropped when the checkpoint is taken)."""
        self.next[tp] = offset + 1
        done = self.done.get(tp)
        if done:
            done.discard(offset)
        self.touched.add(tp)

    def to_commit(self) -> dict[tuple[str, int], tuple[int, str | None]] | None:
        """The offsets (and metadata) of every touched partition; None when one does not fit
        (the checkpoint waits for the hold to release what lies between)."""
        result: dict[tuple[str, int], tuple[int, str | None]] = {}
        for tp in self.touched:
            offset = self.next.get(tp)
            if offset is None:
                continue
            done = self.done.get(tp) or set()
            if done and min(done) < offset:
                done = self.done[tp] = {o for o in done if o >= offset}
            metadata = encode_done(offset, done) if done else None
            if done and metadata is None:
                return None
            result[tp] = (offset, metadata)
        return result

    def committed_now(self, offsets: dict[tuple[str, int], tuple[int, str | None]]) -> None:
        for tp, (offset, _) in offsets.items():
            self.committed[tp] = offset
        self.touched.clear()

    def forget(self, tps: Iterable[tuple[str, int]] | None = None) -> None:
        """Drop partitions (revoked, or all of them after an abort)."""
        if tps is None:
            self.next.clear()
            self.done.clear()
            self.committed.clear()
            self.touched.clear()
            return
        for tp in tps:
            self.next.pop(tp, None)
            self.done.pop(tp, None)
            self.committed.pop(tp, None)
            self.touched.discard(tp)
