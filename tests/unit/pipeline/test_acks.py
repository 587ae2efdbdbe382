"""Acknowledgements leave no gap: only the finished head of each partition is acknowledged."""

from __future__ import annotations

from dataclasses import dataclass, field

from guardrail.pipeline.acks import InOrderAcks

TP = ("purchases", 0)
OTHER = ("browsing", 0)


@dataclass(eq=False)
class FakeEvent:
    offset: int
    log: list[int] = field(default_factory=list)

    def ack(self) -> bool:
        self.log.append(self.offset)
        return True


def read(acks: InOrderAcks, tp: tuple[str, int], offsets: range, log: list[int]) -> list[FakeEvent]:
    events = [FakeEvent(o, log) for o in offsets]
    for e in events:
        acks.read(tp, e.offset, e)
    return events


def test_in_order_finishing_acknowledges_each_at_once() -> None:
    acks, log = InOrderAcks(FakeEvent.ack), []
    events = read(acks, TP, range(3), log)
    for e in events:
        assert acks.finished(TP, e.offset, e) == 1
    assert log == [0, 1, 2]
    assert acks.pending() == 0


def test_a_held_event_holds_back_every_later_acknowledgement() -> None:
    acks, log = InOrderAcks(FakeEvent.ack), []
    held, *later = read(acks, TP, range(4), log)
    for e in later:
        assert acks.finished(TP, e.offset, e) == 0
    assert log == []  # faust would have committed past offset 0 (its gap check misses it)
    assert acks.finished(TP, held.offset, held) == 4
    assert log == [0, 1, 2, 3]


def test_partitions_are_independent() -> None:
    acks, log = InOrderAcks(FakeEvent.ack), []
    read(acks, TP, range(1), log)
    (b,) = read(acks, OTHER, range(10, 11), log)
    assert acks.finished(OTHER, b.offset, b) == 1
    assert log == [10]
    assert acks.pending() == 1


def test_after_forget_a_late_finish_of_an_old_copy_acknowledges_nothing() -> None:
    acks, log = InOrderAcks(FakeEvent.ack), []
    (old,) = read(acks, TP, range(5, 6), log)
    acks.forget()  # a rebalance: offset 5 is read again from the committed offset
    (new,) = read(acks, TP, range(5, 6), log)
    assert acks.finished(TP, old.offset, old) == 0  # the in-flight copy finishing late
    assert log == []
    assert acks.finished(TP, new.offset, new) == 1
    assert log == [5]


def test_a_copy_read_again_replaces_the_first() -> None:
    acks, log = InOrderAcks(FakeEvent.ack), []
    (first,) = read(acks, TP, range(7, 8), log)
    (again,) = read(acks, TP, range(7, 8), log)
    assert acks.pending() == 1
    assert acks.finished(TP, first.offset, first) == 0
    assert acks.finished(TP, again.offset, again) == 1
