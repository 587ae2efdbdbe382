"""Committed offsets with the records finished beyond them (offset commit metadata)."""

from __future__ import annotations

from guardrail.worker.confluent.offsets import MAX_METADATA, Positions, decode_done, encode_done


def test_finished_offsets_beyond_the_commit_round_trip_as_ranges() -> None:
    done = {105, 106, 107, 110, 200}
    text = encode_done(100, done)
    assert text == "g1:5-7,a,64"
    assert decode_done(100, text) == done


def test_metadata_of_someone_else_or_garbage_means_nothing_finished() -> None:
    assert decode_done(100, None) == set()
    assert decode_done(100, "") == set()
    assert decode_done(100, "kafka-streams-v2") == set()
    assert decode_done(100, "g1:zz") == set()


def test_too_many_scattered_offsets_do_not_fit() -> None:
    assert encode_done(0, range(0, 20_000, 2)) is None
    assert len(encode_done(0, range(0, 1000, 2)) or "") <= MAX_METADATA


def test_a_record_finished_out_of_order_is_committed_in_the_metadata_then_skipped() -> None:
    tp = ("t", 0)
    positions = Positions()
    positions.start(tp, 5, set())
    positions.finished(tp, 7)  # 5 and 6 still held
    offsets = positions.to_commit()
    assert offsets == {tp: (5, "g1:2")}
    # The next owner starts from the commit and skips what was finished beyond it.
    after = Positions()
    after.start(tp, 5, decode_done(5, "g1:2"))
    assert [o for o in (5, 6, 7, 8) if after.skip(tp, o)] == [7]


def test_acknowledging_in_order_moves_the_commit_past_the_finished_ones() -> None:
    tp = ("t", 0)
    positions = Positions()
    positions.start(tp, 5, set())
    positions.finished(tp, 7)
    positions.finished(tp, 5)
    positions.acknowledged(tp, 5)
    positions.finished(tp, 6)
    positions.acknowledged(tp, 7)
    assert positions.to_commit() == {tp: (8, None)}
    positions.committed_now({tp: (8, None)})
    assert positions.to_commit() == {}
